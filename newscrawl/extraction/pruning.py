"""Pruning the page tree before trafilatura reads it: one walk, a rule per block element.

Navigation, teaser and related-link blocks, captions and credits, share bars, hidden labels:
each element gets a verdict (`_block_rule`); the line rules it applies to a block's text are
`boilerplate.py`'s.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice

from lxml import html as lxml_html

from newscrawl.extraction.boilerplate import (
    HEADLINE_MAX_WORDS,
    SENTENCE_ENDS,
    Removal,
    classify_text,
    is_teaser_heading,
    normalise_space,
)

# class/id words that mark boilerplate containers. Names are split into words first
# ("AuthorCards_wrap__Uy2Nn" -> "author cards wrap uy2nn"), so stems match whole words only.
_BOILERPLATE_NAME = re.compile(
    r"""(?:^|\s)(?:
        captions? | credits? | figcaption | share | shares | sharing | sharebar | sharedaddy | social
      | newsletters? | signup | sign\ up | subscribe | subscription | paywall | cookies? | consent | gdpr
      | related | relatedposts | recommended | recommendations? | recirc | read\ more | readmore | read\ next
      | more\ stories | teaser\ list | teasers | promos? | advert | advertisement | adslot | ad\ slot | ads
      | dfp | outbrain | taboola | audio\ player | player\ label | listen\ button | video\ player
      | most\ read | mostread | most\ popular | trending | comments? | comment\ list | breadcrumbs?
      | tags | tag\ list | topics | topic\ list | author\ (?:bio|cards?|box|info|footer)
      | feedback | rating | rate\ this | survey
      | inline\ ad | ad\ container | ad\ wrap
    )(?:\s|$)""",
    re.VERBOSE,
)


_CAPTION_MAX_WORDS = 60


# `_holds_article`: prose paragraphs that make a boilerplate-named container the body.
_ARTICLE_MIN_PARAGRAPHS = 3


_ARTICLE_PARAGRAPH_CHARS = 120


_COMMENT_NAME = re.compile(r"comment|disqus|discussion|replies|forum", re.IGNORECASE)


# Characters as well as words (`_caption_sized`): in spaced scripts, and in scripts
# written without spaces.
_CAPTION_MAX_CHARS = 450


_UNSPACED_WORD_CHARS = 12


_CAPTION_MAX_UNSPACED = 120


_TEASER_LINK_DENSITY = 0.9


_CLUSTER_MIN_LINKS = 3


# `_is_labelled_teaser`: the separators that end a label before a linked headline.
_LABEL_SEPARATORS = ("|", ":", "»", ">", "–", "—")


# Label endings of `_is_headline_list`'s labelled items: a kicker may be a question there.
_LIST_LABEL_ENDS = (*_LABEL_SEPARATORS, "?", "!")


# Longest `<span>` kicker before a linked headline in a list item (`_is_labelled_link`).
_KICKER_MAX_WORDS = 4


# Longest caption `_is_pictured_caption` takes from a paragraph holding a picture.
_PHOTO_CAPTION_MAX_WORDS = 30


_LABEL_MAX_WORDS = 6


_URL_LIKE = re.compile(r"https?://|www\.|\.(?:com|org|net)\b", re.IGNORECASE)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


_NAME_SPLIT = re.compile(r"[\s_\-]+")


_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "aside",
        "figure",
        "figcaption",
        "blockquote",
        "header",
        "footer",
    ]
)


_PRUNED_TAGS = (*_BLOCK_TAGS, "span", "ul", "ol")


# Class names of the CSS idioms that hide an element from sight but not from screen readers
# (Bootstrap's `sr-only`, WordPress's `screen-reader-text`...) or from everyone (`hidden`),
# and the longest text `prune_tree` takes as such a label ("Main content", "New section",
# "Article content"): collapsed body text behind a "read more" is longer and stays.
_HIDDEN_CLASSES = frozenset({
    "sr-only", "visually-hidden", "visuallyhidden", "screen-reader-text", "screen-reader-only",
    "a11y-hidden", "hidden", "is-hidden", "u-hidden", "element-invisible", "offscreen",
})  # fmt: skip


_HIDDEN_LABEL_CHARS = 60


@lru_cache(maxsize=8192)
def _is_hidden_name(names: str) -> bool:
    """Whether a class attribute names one of the CSS idioms that hide an element from
    sight (_HIDDEN_CLASSES). Cached: a site's class names repeat on every page."""
    return not _HIDDEN_CLASSES.isdisjoint(names.lower().split())


def _has_boilerplate_name(element: lxml_html.HtmlElement) -> bool:
    """Whether the element's class or id names it as boilerplate (share bar, newsletter...)."""
    names = element.get("class")
    ident = element.get("id")
    if not names and not ident:
        return False
    return _is_boilerplate_name(f"{names or ''} {ident or ''}")


@lru_cache(maxsize=8192)
def _is_boilerplate_name(names: str) -> bool:
    """`_has_boilerplate_name` on the joined class and id (cached: names repeat per site)."""
    words = _NAME_SPLIT.sub(" ", _CAMEL.sub(" ", names)).lower().strip()
    return bool(words) and _BOILERPLATE_NAME.search(words) is not None


def _link_density(element: lxml_html.HtmlElement, text_length: int) -> float:
    linked = sum(len(normalise_space(a.text_content())) for a in element.iter("a"))
    return linked / text_length if text_length else 0.0


def prune_tree(root: lxml_html.HtmlElement, body_floor: int) -> list[Removal]:
    """Remove boilerplate blocks from the parsed page in place; return what was removed.

    `body_floor` protects the article: no single removal may take more than this many
    characters of text, so a mislabelled wrapper cannot take the whole body with it.
    One walk over the page's blocks; a container's text is only read when one of its
    cheap features (a boilerplate name, a picture, a teaser heading) calls for a rule.
    An empty `div` with text after it is a line break in disguise and becomes `<br>`,
    so the text after it stays in its paragraph. A short block or span whose class hides it
    from sight (`_is_hidden_name`: a region label for screen readers, "Main content") is a
    line no reader sees and goes first, leaving a space.
    """
    removals: list[Removal] = []
    alts = {normalise_space(img.get("alt", "")) for img in root.iter("img")} - {""}
    pictured = _pictured_blocks(root)
    skip = 0
    for element in list(root.iter(*_PRUNED_TAGS)):
        if skip:
            # A block inside the one removed last: the walk is in document order, so the
            # removed block's own blocks are the next ones in the list.
            skip -= 1
            continue
        if element.getparent() is None:
            continue
        names = element.get("class")
        if names and _is_hidden_name(names):
            text = normalise_space(element.text_content())
            if len(text) <= _HIDDEN_LABEL_CHARS and element.find(".//p") is None:
                if text:
                    removals.append(Removal(text, "hidden_label"))
                skip = sum(1 for _ in element.iter(*_PRUNED_TAGS)) - 1
                # A space in its place: a hidden separator (": ") may be all that parts two words.
                element.tail = " " + (element.tail or "")
                element.drop_tree()
                continue
        tag = element.tag
        if tag == "span":
            if sum(1 for _ in islice(element.iter("a"), _CLUSTER_MIN_LINKS)) < _CLUSTER_MIN_LINKS:
                continue
            text = normalise_space(element.text_content())
            rule = "inline_link_cluster" if _is_link_cluster(element, text) else None
        elif tag in {"ul", "ol"}:
            if not _is_headline_list(element):
                continue
            text = normalise_space(element.text_content())
            rule = "link_list" if len(text) <= body_floor else None
        else:
            if tag == "div" and len(element) == 0 and _is_line_break(element):
                element.tag = "br"
                continue
            text, rule = _block_rule(element, alts, body_floor, element in pictured)
        if rule is not None:
            removals.append(Removal(text[:300], rule))
            skip = sum(1 for _ in element.iter(*_PRUNED_TAGS)) - 1
            element.drop_tree()
    return removals


def _is_line_break(element: lxml_html.HtmlElement) -> bool:
    """An empty `div` followed by text: a stand-in for `<br>` inside a paragraph."""
    return not (element.text or "").strip() and bool((element.tail or "").strip())


def _pictured_blocks(root: lxml_html.HtmlElement) -> set[lxml_html.HtmlElement]:
    """The `figure` and `div` elements with a picture or video somewhere inside, found in
    one pass up from each picture (not one search of each container's subtree). Taken
    before pruning: a container whose picture went with a removed block is still in the
    set, which only sends it to the rules that check for the picture themselves."""
    found: set[lxml_html.HtmlElement] = set()
    for media in root.iter("img", "picture", "video", "iframe"):
        for ancestor in media.iterancestors("figure", "div"):
            if ancestor in found:
                break
            found.add(ancestor)
    return found


def _block_rule(
    element: lxml_html.HtmlElement, alts: set[str], body_floor: int, pictured: bool
) -> tuple[str, str | None]:
    """The block's text (or "" when it was not needed) and the rule that removes it.

    `pictured`: the block is a `figure` or `div` with a picture inside (`_pictured_blocks`).
    """
    named = _has_boilerplate_name(element)
    has_blocks = any(child.tag in _BLOCK_TAGS for child in element)
    container = has_blocks and not named and element.tag != "figcaption" and not pictured
    if container and not is_teaser_heading(_first_line(element)):
        return "", None
    text = normalise_space(element.text_content())
    if element.tag == "figcaption":
        return text, "caption_credit"
    if not text or len(text) > body_floor:
        return text, None
    if named and not _holds_quote(element) and not _holds_article(element):
        return text, "boilerplate_container"
    if _is_figure_like(element, text) or _is_pictured_caption(element, text):
        return text, "caption_credit"
    if has_blocks:
        if is_teaser_heading(_first_line(element)) and _link_density(element, len(text)) > 0.3:
            return text, "teaser_block"
        return text, None
    rule = classify_text(text)
    if rule is not None:
        return text, rule
    if text in alts:
        return text, "image_alt_text"
    if _is_teaser_link(element, text) or _is_labelled_teaser(element, text):
        return text, "link_line"
    return text, None


def _is_labelled_teaser(element: lxml_html.HtmlElement, text: str) -> bool:
    """A linked headline behind a bold label: "<b>READ ALSO |</b> <a>Headline</a>".

    Sites write "read also", "more on this" in their own language and wording, so the
    label is recognised by its form, not its words: a bold or strong lead of at most
    _LABEL_MAX_WORDS words ending in a separator (| : » > – —), then one link holding the
    rest of the line, itself a headline (a few words, no sentence end, no address).
    """
    return element.tag in {"p", "div"} and _is_labelled_link(element, _LABEL_SEPARATORS)


def _is_labelled_link(
    element: lxml_html.HtmlElement, separators: tuple[str, ...], kicker: bool = False
) -> bool:
    """The form of `_is_labelled_teaser` in any element: a bold label ending in one of
    `separators` (or, with `kicker`, a `<span>` kicker of a few words, ending in anything),
    then one linked headline holding the rest of the line."""
    if len(element) != 2 or (element.text or "").strip():
        return False
    label, link = element[0], element[1]
    if link.tag != "a" or (link.tail or "").strip():
        return False
    lead = normalise_space(label.text_content())
    if label.tag == "span" and kicker:
        labelled = 0 < len(lead.split()) <= _KICKER_MAX_WORDS
    else:
        labelled = label.tag in {"strong", "b"} and lead.endswith(separators)
        labelled = labelled and len(lead.split()) <= _LABEL_MAX_WORDS
    if not labelled:
        return False
    if (label.tail or "").strip():
        return False
    title = normalise_space(link.text_content())
    if kicker:
        # In a list of such items the form is the evidence: a headline may end in a quote.
        return 2 <= len(title.split()) <= HEADLINE_MAX_WORDS and _URL_LIKE.search(title) is None
    return _is_teaser_text(title)


def _is_teaser_link(element: lxml_html.HtmlElement, text: str) -> bool:
    """A standalone linked headline: a short block that is all link and no sentence.

    Teasers for other stories sit between body paragraphs as one link each. A linked line
    that ends a sentence ("Get more meal ideas here!"), a list item or heading (product
    names in a buying guide), or a bare web address is kept: those are the article's own.
    """
    if element.tag not in {"p", "div"} or not _is_teaser_text(text):
        return False
    return _link_density(element, len(text)) >= _TEASER_LINK_DENSITY


def _is_link_cluster(element: lxml_html.HtmlElement, text: str) -> bool:
    """An inline run of several links and nothing else: a hover card or a list of stories.

    A sentence may link a word or two; a span made of three or more links and no text of
    its own is navigation that happens to sit inside a paragraph.
    """
    links = element.findall(".//a")
    return len(links) >= _CLUSTER_MIN_LINKS and _link_density(element, len(text)) >= 0.9


def _is_headline_list(element: lxml_html.HtmlElement) -> bool:
    """A list of linked headlines ("more on this"): every item one short link, no sentence,
    or a bold label and one linked headline ("<li><b>Drones:</b> <a>Headline</a></li>"; in
    a list whose every item has that form, the label may also be a question), or a kicker
    and one linked headline ("<li><span>Review</span><a>Headline</a></li>").

    Lists that belong to the article carry text of their own around their links, end
    sentences, or spell out web addresses; a list of nothing but story titles does not.
    """
    items = [item for item in element if item.tag == "li"]
    if len(items) < 2:
        return False
    for item in items:
        text = normalise_space(item.text_content())
        if _is_labelled_link(item, _LIST_LABEL_ENDS, kicker=True):
            continue
        if not _is_teaser_text(text) or _link_density(item, len(text)) < _TEASER_LINK_DENSITY:
            return False
    return True


def _is_teaser_text(text: str) -> bool:
    """Whether a line could be a linked headline: a few words, no sentence end, no address."""
    if not 2 <= len(text.split()) <= HEADLINE_MAX_WORDS:
        return False
    return not text.endswith(SENTENCE_ENDS) and _URL_LIKE.search(text) is None


def _caption_sized(text: str) -> bool:
    """Whether a text is short enough to be a caption, in words or, unspaced, characters.

    Chinese and Japanese text has no spaces, so a whole article is a few "words" long:
    a text whose "words" average over _UNSPACED_WORD_CHARS characters is measured in
    characters against _CAPTION_MAX_UNSPACED instead.
    """
    words = len(text.split())
    if words > _CAPTION_MAX_WORDS:
        return False
    if len(text) > _UNSPACED_WORD_CHARS * max(words, 1):
        return len(text) <= _CAPTION_MAX_UNSPACED
    return len(text) <= _CAPTION_MAX_CHARS


def _holds_article(element: lxml_html.HtmlElement) -> bool:
    """Whether a container named like boilerplate holds the article itself.

    Article wrappers carry words our boilerplate names match ("paywall-article",
    "teaser-body", "promo-story", a `<p class="paywall">` per gated paragraph). A container
    of _ARTICLE_MIN_PARAGRAPHS or more prose paragraphs, or a `<p>` that is one (each a
    sentence of _ARTICLE_PARAGRAPH_CHARS characters or more, mostly not link), is the body,
    not a teaser card or a share bar; comment threads are another matter and are removed
    whatever they hold.
    """
    if _COMMENT_NAME.search(f"{element.get('class', '')} {element.get('id', '')}"):
        return False
    needed = 1 if element.tag == "p" else _ARTICLE_MIN_PARAGRAPHS
    prose = 0
    for paragraph in element.iter("p"):
        text = normalise_space(paragraph.text_content())
        if len(text) < _ARTICLE_PARAGRAPH_CHARS or not text.endswith(SENTENCE_ENDS):
            continue
        if _link_density(paragraph, len(text)) < 0.3:
            prose += 1
            if prose >= needed:
                return True
    return False


def _holds_quote(element: lxml_html.HtmlElement) -> bool:
    """Whether the element wraps a block quote: an embedded post the article cites.

    Embeds come in wrappers named "social" or "share"; the quote inside is still content.
    """
    return element.tag == "blockquote" or next(element.iter("blockquote"), None) is not None


def _is_figure_like(element: lxml_html.HtmlElement, text: str) -> bool:
    """A picture with a short caption and credit: <figure>, or a <div> playing one."""
    if element.tag not in {"figure", "div"} or not _caption_sized(text):
        return False
    if next(element.iter("img", "picture", "video", "iframe"), None) is None:
        return False
    return element.tag == "figure" or len(element.findall(".//p")) <= 2


def _is_pictured_caption(element: lxml_html.HtmlElement, text: str) -> bool:
    """A paragraph that is a picture with its caption set in italics under it.

    Blog editors put a photo and its caption in one `<p>`: the picture first, then a short
    line in `<em>`/`<i>`/`<small>` ("<p><img><br><em>The mayor at the opening</em></p>").
    A paragraph of text with an inline picture has text of its own outside the emphasis.
    """
    if element.tag != "p" or len(element) < 2 or (element.text or "").strip():
        return False
    first = element[0]
    if first.tag not in {"img", "picture"} and not (
        first.tag == "a" and first.find("img") is not None
    ):
        return False
    if len(text.split()) > _PHOTO_CAPTION_MAX_WORDS:
        return False
    emphasised = "".join(
        "".join(child.itertext()) for child in element if child.tag in {"em", "i", "small"}
    )
    return bool(emphasised.strip()) and normalise_space(emphasised) == text


def _first_line(element: lxml_html.HtmlElement) -> str:
    for child in element:
        if child.tag in _BLOCK_TAGS or child.tag in {"a", "strong", "b"}:
            return child.text_content()
    return element.text or ""
