"""Whole bodies: the page tree prepared for trafilatura, and what its pass leaves out put back.

Before the pass: code blocks dropped, empty inline elements unwrapped. After it: the
subheadings inside the body, the other parts of a body split across sibling containers,
and pull quotes that repeat a paragraph removed.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache

from lxml import etree
from lxml import html as lxml_html

from newscrawl.extraction.boilerplate import (
    Removal,
    classify_line,
    normalise_space,
)

# Paragraph-level elements of trafilatura's output tree, each one paragraph of `text`.
_LEAF_BLOCKS = frozenset({"p", "head", "item", "row", "code", "cell"})


_CONTAINERS = frozenset({"list", "quote", "table", "div", "section"})


# Longest block quote `restore_headings` puts back (an embedded post, a pull quote).
_QUOTE_MAX_CHARS = 1200


# Share of a heading's text in links that makes it a teaser title (`_past_teasers`).
_LINKED_HEADING_SHARE = 0.6


_LINKED_HEADING_MAX_WORDS = 15


# class/id of a `div` standing in for a subheading, and the children such a div never has.
_SUBHEADING_NAME = re.compile(
    r"(?:^|[\s_-])(?:sub-?)?head(?:line|ing)s?(?:$|[\s_-])|subtitle|crosshead|intertitre"
    r"|zwischen(?:titel|[üu]berschrift)",
    re.IGNORECASE,
)


_DIV_BLOCK_CHILDREN = frozenset({"div", "p", "ul", "ol", "table", "section", "figure", "img"})


# `restore_siblings`: kept paragraphs that must share a container kind before another
# paragraph of that kind is put back, and the shortest paragraph put back.
_SIBLING_EVIDENCE = 3


_SIBLING_MIN_CHARS = 80


# A short sentence ("The document dump isn't over yet.") is put back only in a container
# kind that holds at least _SHORT_SIBLING_EVIDENCE kept paragraphs: the body's own.
_SHORT_SIBLING_CHARS = 25


_SHORT_SIBLING_EVIDENCE = 5


_OVERLAP_CHARS = 40


# Quote marks `drop_pull_quotes` strips before comparing a pull quote with the body.
_NO_QUOTES = str.maketrans("", "", '"“”„«»‘’‚‹›「」『』')


SENTENCE_END = (".", "!", "?", ":", "。", "！", "？", '"', "”", "»", "“", ")")


def drop_code(root: lxml_html.HtmlElement) -> None:
    """Remove code and page chrome that trafilatura discards whatever they hold.

    Scripts (but JSON-LD), styles, inline SVG and templates are code; `nav`, `footer`,
    `aside`, `menu`, `noscript`, `iframe`, `dialog` and form controls are elements
    trafilatura's own cleaning deletes before it looks for the body. Done once, after the
    declared metadata and the image captions are read: every later pass (our pruning,
    trafilatura's cleaning and the two copies of the tree it makes) then handles a smaller
    tree. Text after a removed element stays in place.
    """
    for script in list(root.iter("script")):
        if "ld+json" not in (script.get("type") or ""):
            script.drop_tree()
    # One C-level pass for the rest; the text after each removed element stays in place.
    etree.strip_elements(root, *_DROPPED_TAGS[1:], with_tail=False)
    _unwrap_inline(root)


def _unwrap_inline(root: lxml_html.HtmlElement) -> None:
    """Inline markup trafilatura would lose text with, unwrapped in one walk.

    Empty inline elements in front of text: in precision mode trafilatura deletes an empty
    `span`, `b`, `strong`, `em`, `i` together with the text that follows it (its tail), so
    a sentence after an empty `<strong></strong>` left by an editor vanishes from the body.
    Such an element carries nothing; it goes and its tail joins the text before it.

    Ruby annotations: Japanese and Chinese pages annotate words with their reading
    (`<ruby>弾劾<rp>（</rp><rt>だんがい</rt><rp>）</rp></ruby>`); the `<rp>` parentheses
    are the page's own plain-text rendering, "弾劾（だんがい）", and trafilatura would drop
    the reading but keep nothing in its place. Where the page wrote `<rp>`, the ruby markup
    is unwrapped into that text; without `<rp>` the reading has no plain form and is left to
    the extractor.
    """
    found = [
        element
        for element in root.iterdescendants(_UNWRAPPED_TAGS)
        if element.tag == "ruby"
        or (element.text is None and len(element) == 0 and element.tail and element.tail.strip())
    ]
    for element in found:
        if element.tag != "ruby":
            element.drop_tag()
        elif element.find("rp") is not None:
            etree.strip_tags(element, "rb", "rp", "rt")
            element.drop_tag()


# Inline elements trafilatura's precision mode deletes with their tail when empty, and the
# ruby annotation (`_unwrap_inline`).
_UNWRAPPED_TAGS = ("span", "b", "strong", "em", "i", "q", "ruby")


# Code and chrome `drop_code` removes before pruning.
_DROPPED_TAGS = (
    "script", "style", "svg", "template", "nav", "footer", "menu", "noscript", "iframe",
    "aside", "button", "input", "select", "textarea", "dialog",
)  # fmt: skip


def paragraph_chars(root: lxml_html.HtmlElement) -> int:
    """Characters of text the page has in `<p>` elements, before boilerplate pruning."""
    return sum(len(p.text_content()) for p in root.iter("p"))


def paragraphs(body: etree._Element) -> list[str]:
    """trafilatura's output tree as paragraphs in document order.

    Text loose in the body (before the first element, or after a heading that trafilatura
    did not wrap in a paragraph) is a paragraph of its own, not dropped.
    """
    for line_break in body.iter("lb"):
        line_break.tail = " " + (line_break.tail or "")
    paragraphs: list[str] = []
    lead = normalise_space(body.text or "")
    if lead:
        paragraphs.append(lead)
    for element in body:
        _collect(element, paragraphs)
        tail = normalise_space(element.tail or "")
        if tail:
            paragraphs.append(tail)
    return paragraphs


def _collect(element: etree._Element, out: list[str]) -> None:
    tag = element.tag
    has_blocks = any(child.tag in _LEAF_BLOCKS or child.tag in _CONTAINERS for child in element)
    if tag in _CONTAINERS or (has_blocks and tag not in {"row"}):
        lead = normalise_space(element.text or "")
        if lead:
            out.append(lead)
        for child in element:
            _collect(child, out)
            tail = normalise_space(child.tail or "")
            if tail:
                out.append(tail)
        return
    if tag == "row":
        cells = [normalise_space("".join(cell.itertext())) for cell in element]
        text = " | ".join(cell for cell in cells if cell)
    else:
        text = normalise_space("".join(element.itertext()))
    if text:
        out.append(text)


def restore_headings(root: lxml_html.HtmlElement, paragraphs: list[str]) -> list[str]:
    """Put back subheadings and quotes trafilatura dropped from between two body paragraphs.

    A heading, a subheading styled as a `div`, or a block quote (an embedded post is one)
    whose neighbours on both sides are consecutive in the output belongs to the body,
    wherever the extractor's container boundaries fell or whatever its class names say,
    but for a box of teaser headlines set in that gap (`_past_teasers`) and a linked
    heading longer than _LINKED_HEADING_MAX_WORDS words: another story's headline (a
    product name in a buying guide, the one linked heading a body has, is shorter).
    The page is walked in order and matched against the output from where the last match
    left off, so lines that repeat (a recurring "Pre-workout meal") are told apart.
    """
    occurrences: dict[str, list[int]] = {}
    for index, text in enumerate(paragraphs):
        occurrences.setdefault(text, []).append(index)
    inserts: dict[int, list[str]] = {}
    previous: int | None = None
    waiting: list[str] = []
    linked: list[int] = []
    for element in root.iter("p", "h2", "h3", "h4", "h5", "h6", "blockquote", "div"):
        if element.tag == "div" and not _is_subheading_div(element):
            continue
        text = normalise_space(element.text_content())
        if not text:
            continue
        found = _next_occurrence(occurrences.get(text, []), previous)
        if found is not None:
            if waiting and previous is not None and found == previous + 1:
                inserts[found] = _past_teasers(waiting, linked)
            waiting, linked = [], []
            previous = found
        elif element.tag == "blockquote":
            inner = (normalise_space(p.text_content()) for p in element.iter("p"))
            if len(text) <= _QUOTE_MAX_CHARS and not any(line in occurrences for line in inner):
                waiting.append(text)
        elif element.tag != "p" and len(text) <= 200 and not _in_link(element):
            if _mostly_link(element, text):
                if len(text.split()) > _LINKED_HEADING_MAX_WORDS:
                    continue
                linked.append(len(waiting))
            waiting.append(text)
    if not inserts:
        return paragraphs
    restored: list[str] = []
    for index, text in enumerate(paragraphs):
        restored.extend(inserts.get(index, []))
        restored.append(text)
    return restored


def restore_siblings(root: lxml_html.HtmlElement, paragraphs: list[str]) -> list[str]:
    """Put back body paragraphs that sit in the same kind of container as the kept ones.

    A body split by an ad, a newsletter box or a related-links block, or spread over
    several `article-body` blocks, comes back from trafilatura in part: its paragraphs
    keep one markup pattern, though. A `<p>` of the page (after pruning) whose parent and
    grandparent have the same tags and first classes (one class at least) as those of at least
    _SIBLING_EVIDENCE kept paragraphs, holding a sentence of _SIBLING_MIN_CHARS or more that
    no rule classes as boilerplate and that is not mostly link, is put back where it stands
    in the page. The walk stops at an `<h1>` after the body began: the next story. Lines are
    compared without whitespace, and one already inside a kept paragraph, or sharing its first
    or last _OVERLAP_CHARS characters with the kept text, is not added. The lead (standfirst)
    is put back too: the prose paragraph just before the first kept one, past at most two
    short lines (a byline), in the same `<article>` (precision mode drops it when it sits
    in the article's `<header>`).
    """
    if len(paragraphs) < _SIBLING_EVIDENCE:
        return paragraphs
    occurrences: dict[str, list[int]] = {}
    for index, text in enumerate(paragraphs):
        occurrences.setdefault(_bare(text), []).append(index)
    walked: list[tuple[int | None, tuple[str, ...], str, lxml_html.HtmlElement]] = []
    evidence: dict[tuple[str, ...], int] = {}
    previous: int | None = None
    for element in root.iter("p", "h1"):
        if element.tag == "h1":
            if previous is not None:
                break
            continue
        text = normalise_space(element.text_content())
        if not text:
            continue
        signature = _container_signature(element)
        found = _next_occurrence(occurrences.get(_bare(text), []), previous)
        if found is not None:
            previous = found
            evidence[signature] = evidence.get(signature, 0) + 1
        walked.append((found, signature, text, element))
    inserts: dict[int, list[str]] = {}
    after: int | None = None
    kept = _bare("".join(paragraphs))
    first = next((i for i, item in enumerate(walked) if item[0] is not None), None)
    story = walked[first][1][-1] if first else ""
    lead = walked[max(0, first - 3) : first] if first and story else []
    for _, signature, text, element in reversed(lead):
        # The lead: the prose paragraph before the first kept one, in the same <article>,
        # past at most two short lines (a byline, a dateline).
        if signature[-1] == story and _is_prose(text, element, kept):
            inserts[-1] = [text]
            kept += _bare(text)
            break
        if len(text) >= _SIBLING_MIN_CHARS:
            break
    for found, signature, text, element in walked:
        if found is not None:
            after = found
            continue
        support = evidence.get(signature, 0)
        if support < _SIBLING_EVIDENCE or not any(signature[1:4:2]):
            continue
        shortest = _SIBLING_MIN_CHARS
        if support >= _SHORT_SIBLING_EVIDENCE:
            shortest = _SHORT_SIBLING_CHARS
        if not _is_prose(text, element, kept, shortest):
            continue
        inserts.setdefault(-1 if after is None else after, []).append(text)
        kept += _bare(text)
    if not inserts:
        return paragraphs
    restored = list(inserts.get(-1, []))
    for index, text in enumerate(paragraphs):
        restored.append(text)
        restored.extend(inserts.get(index, []))
    return restored


def drop_pull_quotes(paragraphs: list[str]) -> tuple[list[str], list[Removal]]:
    """Drop a paragraph that repeats a quotation from another one: a pull quote.

    Magazines set a quote from the body again in large type (a `blockquote` widget, an
    aside) a few paragraphs away, with or without its quote marks. A line of
    _SIBLING_MIN_CHARS or more characters is that copy when, without quote marks and
    whitespace, it is a part of another paragraph that differs from it (longer, or the
    same words with quote marks added or taken away), and one of the two is a quotation
    (holds a quote mark). Lines that recur whole and alike are left alone: a meal plan's
    repeated dishes, a caption repeated as text, short subheadings.
    """
    bare = [_bare(p) for p in paragraphs]
    plain = [b.translate(_NO_QUOTES) for b in bare]
    quoted = [len(p) != len(b) for p, b in zip(plain, bare, strict=True)]
    joined = "\n".join(plain)
    kept: list[str] = []
    removed: list[Removal] = []
    for index, text in enumerate(paragraphs):
        line = plain[index]
        # One scan of the whole text first: most lines occur once, as themselves.
        repeat = (
            len(text) >= _SIBLING_MIN_CHARS
            and joined.count(line) > 1
            and any(
                bare[other] != bare[index]
                and (quoted[other] or quoted[index])
                and line in plain[other]
                and (len(plain[other]) > len(line) or not quoted[index])
                for other in range(len(paragraphs))
            )
        )
        if repeat:
            removed.append(Removal(text[:300], "pull_quote"))
        else:
            kept.append(text)
    return kept, removed


def _is_prose(
    text: str, element: lxml_html.HtmlElement, kept: str, shortest: int = _SIBLING_MIN_CHARS
) -> bool:
    """A paragraph `restore_siblings` may put back: a sentence of `shortest` characters or
    more, no boilerplate line, mostly not link, not a teaser title, not already kept."""
    if len(text) < shortest or not text.endswith(SENTENCE_END):
        return False
    if classify_line(text) is not None or _overlaps(_bare(text), kept):
        return False
    linked = sum(len(normalise_space(a.text_content())) for a in element.iter("a"))
    return linked <= 0.5 * len(text) and not _in_link(element)


def _overlaps(line: str, kept: str) -> bool:
    """Whether a line (without whitespace) is in the kept text, or starts or ends a part of it.

    A paragraph the page repeats in another version (a second copy with other links) shares
    its opening or its close with the one kept.
    """
    return line in kept or line[:_OVERLAP_CHARS] in kept or line[-_OVERLAP_CHARS:] in kept


def _bare(text: str) -> str:
    """Text without whitespace: a line break kept as a space on one side matches."""
    return "".join(text.split())


def _container_signature(element: lxml_html.HtmlElement) -> tuple[str, ...]:
    """Tags and first classes of an element's parent and grandparent: its kind of container.

    The first class names the component ("article-body" of "article-body article-body--locked",
    a styled component's name before its style hash); later ones are modifiers. The line of
    the enclosing `<article>` comes last, so a story appended below with the same markup
    (the next story, loaded on scroll) is another kind.
    """
    parts: list[str] = []
    ancestor = element.getparent()
    for _ in range(2):
        if ancestor is None:
            break
        names = ancestor.get("class", "").split()
        parts.extend((str(ancestor.tag), names[0] if names else ""))
        ancestor = ancestor.getparent()
    story = next(element.iterancestors("article"), None)
    parts.append(str(story.sourceline) if story is not None else "")
    return tuple(parts)


def _next_occurrence(indices: list[int], previous: int | None) -> int | None:
    """The first of a line's (sorted) positions in the output after `previous`."""
    start = 0 if previous is None else bisect_right(indices, previous)
    return indices[start] if start < len(indices) else None


def _is_subheading_div(element: lxml_html.HtmlElement) -> bool:
    """A `div` holding only a line of text and named as a subheading ("pf_subheadline")."""
    names = element.get("class")
    ident = element.get("id")
    if (not names and not ident) or not _is_subheading_name(f"{names or ''} {ident or ''}"):
        return False
    return not any(
        isinstance(child.tag, str) and child.tag in _DIV_BLOCK_CHILDREN for child in element
    )


@lru_cache(maxsize=4096)
def _is_subheading_name(names: str) -> bool:
    """Whether joined class and id name a subheading (cached: names repeat per site)."""
    return _SUBHEADING_NAME.search(names) is not None


def _past_teasers(waiting: list[str], linked: list[int]) -> list[str]:
    """The headings of a gap between two body paragraphs that are the body's own.

    Two or more headings that are links in one gap are a box of teaser headlines ("More on
    this", then a kicker and a linked title per story): they and the box's title before
    them go, and what follows the last of them (the subheading that opens the next
    paragraphs) stays. One linked heading is a product name in a buying guide, kept.
    """
    if len(linked) < 2:
        return waiting
    return waiting[linked[-1] + 1 :]


def _mostly_link(element: lxml_html.HtmlElement, text: str) -> bool:
    """Whether most of a heading's text (_LINKED_HEADING_SHARE: a kicker may precede the
    linked title) is the text of links to another page (an anchor, `<a name>` or
    `href="#..."`, marks a subheading as a jump target)."""
    linked = sum(
        len(normalise_space(a.text_content()))
        for a in element.iter("a")
        if not (a.get("href") or "#").startswith("#")
    )
    return linked >= _LINKED_HEADING_SHARE * len(text)


def _in_link(element: lxml_html.HtmlElement) -> bool:
    """Whether a heading is the title of a teaser card rather than a subheading.

    It is when it sits inside a link, or is all link inside a list item (a list of related
    stories). A heading that merely is a link among the body's paragraphs (a product name in
    a buying guide) is kept.
    """
    ancestors = [ancestor.tag for ancestor in element.iterancestors()]
    if "a" in ancestors:
        return True
    if "li" not in ancestors:
        return False
    text = normalise_space(element.text_content())
    linked = sum(len(normalise_space(a.text_content())) for a in element.iter("a"))
    return linked >= 0.9 * len(text)
