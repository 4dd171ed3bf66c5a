"""`extract_article`: one page's HTML in, the article's fields out.

The page is parsed once. Its declared metadata is read first (JSON-LD, OpenGraph, <meta>),
then code and page chrome are dropped and boilerplate blocks pruned from the tree while
their markup is still visible, then trafilatura finds the main text in one fast
precision-first pass (its balanced mode or the declared JSON-LD body only when that text
looks cut short). Body paragraphs it dropped (a split body's other parts, the lead,
subheadings and quotes) are put back, a guard falls back to plain trafilatura on the pages
where our body lost the article, and a last pass filters the paragraphs.
docs/extraction.md describes the rules and how they are measured.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version

import trafilatura
from htmldate import find_date
from justext.utils import get_stoplist
from lxml import etree
from lxml import html as lxml_html
from trafilatura import external as trafilatura_external
from trafilatura.settings import JUSTEXT_LANGUAGES
from trafilatura.utils import load_html

from newscrawl.extraction.authors import clean_authors
from newscrawl.extraction.body import (
    SENTENCE_END,
    drop_code,
    drop_pull_quotes,
    paragraph_chars,
    paragraphs,
    restore_headings,
    restore_siblings,
)
from newscrawl.extraction.boilerplate import (
    Removal,
    clean_paragraphs,
    normalise_space,
)
from newscrawl.extraction.language import identify, resolve_language
from newscrawl.extraction.metadata import PageMetadata, parse_date, read_metadata
from newscrawl.extraction.pruning import prune_tree

EXTRACTOR_NAME = "newscrawl"
EXTRACTOR_VERSION = "0.3.0"
TRAFILATURA_VERSION = version("trafilatura")

# The guard (`_needs_guard`): a body of fewer characters than _NEAR_EMPTY_CHARS (characters,
# not words: Chinese and Japanese text has no spaces), or with less than this share of the
# page's `<p>` text, or whose lines are mostly (_NAV_SHARE) short (_NAV_LINE_CHARS) and end
# no sentence.
_NEAR_EMPTY_CHARS = 150
_GUARD_PROSE_SHARE = 0.25
_NAV_LINE_CHARS = 90
_NAV_SHARE = 0.7
# Fallback of `_body_paragraphs`: a declared JSON-LD body of at least _MIN_DECLARED_WORDS
# words that is longer than the extraction by _CUT_FACTOR means the extraction was cut short.
_MIN_DECLARED_WORDS = 50
_CUT_FACTOR = 1.3
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ")
# A body this short on a page that declares restricted access is the teaser before a paywall.
TEASER_MAX_WORDS = 250


@dataclass(frozen=True, slots=True)
class ArticleFields:
    """The article found in one page, before validation. Plain values, picklable."""

    title: str | None
    text: str
    authors: list[str]
    published_at: date | None
    modified_at: date | None
    language: str | None
    site_name: str | None
    description: str | None
    section: str | None
    tags: list[str]
    image_url: str | None
    canonical_url: str | None
    is_listing: bool = False
    # The page's structured data (JSON-LD type, og:type) declares it an article.
    is_declared_article: bool = False
    removed: list[Removal] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    # Where `text` came from: "precision" (the usual), "balanced" or "json_ld" (fallbacks
    # for a body cut short) or "guard" (plain trafilatura, when ours lost the article).
    text_source: str = "precision"
    # The page declares restricted access and `text` is only the teaser before the paywall.
    paywalled: bool = False

    def record_fields(self) -> dict[str, object]:
        """The fields that go into an `Article` record as they are."""
        return {
            "title": self.title,
            "text": self.text,
            "authors": self.authors,
            "published_at": self.published_at,
            "modified_at": self.modified_at,
            "language": self.language,
            "site_name": self.site_name,
            "description": self.description,
            "section": self.section,
            "tags": self.tags,
            "image_url": self.image_url,
            "canonical_url": self.canonical_url,
            "paywalled": self.paywalled,
        }


def extract_article(html: str | bytes, url: str) -> ArticleFields:
    """Extract the article body and metadata from one page.

    `html` may be bytes (the encoding is then detected) or already-decoded text. `url` is the
    page's address, used to resolve relative links. Never raises on bad markup: a page with
    nothing usable gives empty `text`.
    """
    root = load_html(html) if html else None
    if root is None:
        return _empty([{"field": "html", "value": "", "reason": "page could not be parsed"}])
    meta = read_metadata(root, url)
    image_alts = {normalise_space(img.get("alt", "")) for img in root.iter("img")} - {""}
    drop_code(root)
    page_prose = paragraph_chars(root)
    removed = prune_tree(root, body_floor=max(300, int(page_prose * 0.4)))
    is_listing = meta.is_listing or (not meta.is_article and _looks_like_listing(root))
    paragraphs, text_source = _body_paragraphs(root, url, meta.article_body)
    if not is_listing and _needs_guard(paragraphs, page_prose):
        paragraphs, text_source = _guarded(paragraphs, text_source, html, url, page_prose)
    if meta.published_at is None:
        _fill_from_layout(meta, root, url)
    paragraphs, repeats = drop_pull_quotes(paragraphs)
    title = _strip_site_suffix(meta.title, meta.site_name)
    kept, dropped = clean_paragraphs(paragraphs, title, image_alts)
    dropped = repeats + dropped
    text = "\n\n".join(kept)
    return ArticleFields(
        title=title,
        text=text,
        authors=clean_authors(meta.authors),
        published_at=meta.published_at,
        modified_at=meta.modified_at,
        language=resolve_language(meta.language, title, text),
        site_name=meta.site_name,
        description=meta.description,
        section=meta.section,
        tags=meta.tags,
        image_url=meta.image_url,
        canonical_url=meta.canonical_url,
        is_listing=is_listing,
        is_declared_article=meta.is_article,
        removed=removed + dropped,
        problems=meta.problems,
        text_source=text_source,
        paywalled=meta.restricted and len(text.split()) <= TEASER_MAX_WORDS,
    )


def _body_paragraphs(
    root: lxml_html.HtmlElement, url: str, declared_body: str | None
) -> tuple[list[str], str]:
    """The article body as paragraphs, and which candidate it came from.

    trafilatura's precision-first mode, with its own fallback comparison off (`fast`), keeps
    the least boilerplate, so it is the one run on every page; `_guarded` catches the pages
    where it loses the body. It can also cut a body short, which shows when the page
    declares a longer, complete `articleBody` in JSON-LD. Only then is the balanced mode run
    as well, and the candidate closest in length to the declared body wins; the declared
    body itself is used when both extractions still fall far short of it (pages rendered by
    script).
    """
    paragraphs = _extract_paragraphs(root, url, favor_precision=True)
    words = _word_count(paragraphs)
    declared = _declared_paragraphs(declared_body)
    declared_words = _word_count(declared)
    truncated = declared_words >= _MIN_DECLARED_WORDS and declared_words > words * _CUT_FACTOR
    if not truncated:
        return paragraphs, "precision"
    balanced = _extract_paragraphs(root, url, favor_precision=False)
    balanced_words = _word_count(balanced)
    if abs(balanced_words - declared_words) < abs(words - declared_words):
        paragraphs, words, source = balanced, balanced_words, "balanced"
    else:
        source = "precision"
    if declared_words > words * _CUT_FACTOR:
        return declared, "json_ld"
    return paragraphs, source


def _needs_guard(paragraphs: list[str], page_prose: int) -> bool:
    """Whether our body may have lost the article: checked without a second extraction.

    It may when it is nearly empty, when it holds under _GUARD_PROSE_SHARE of the text the
    page has in `<p>` elements (our pruning or the precision pass dropped most of it), or
    when it reads like navigation: mostly short lines that end no sentence (a list of
    headlines, a menu).
    """
    chars = sum(len(paragraph) for paragraph in paragraphs)
    if chars < _NEAR_EMPTY_CHARS or chars < _GUARD_PROSE_SHARE * page_prose:
        return True
    return _looks_like_navigation(paragraphs)


def _looks_like_navigation(paragraphs: list[str]) -> bool:
    """Mostly short lines that end no sentence: headlines, menu entries, not article text."""
    if len(paragraphs) < 4:
        return False
    lines = sum(1 for p in paragraphs if len(p) <= _NAV_LINE_CHARS and not p.endswith(SENTENCE_END))
    return lines >= _NAV_SHARE * len(paragraphs)


def _guarded(
    paragraphs: list[str], source: str, html: str | bytes, url: str, page_prose: int
) -> tuple[list[str], str]:
    """Our body, or plain trafilatura's when ours lost most of what a plain pass finds.

    The plain pass (trafilatura's default mode on the page as served, before our pruning)
    runs only on the pages `_needs_guard` picks, first without trafilatura's own fallbacks
    (readability, justext: 20 to 60 ms on a large page). They run as well only when ours
    found nothing or a menu, and that first plain pass too finds too little
    (`_needs_guard` on its body) or no prose (a page's menus run together): where ours
    holds some prose, the fast plain pass is the comparison. Its body wins
    when ours holds less than half of its text, or ours reads like navigation and its own
    does not and is more than twice as long.
    """
    root = load_html(html)
    if root is None:
        return paragraphs, source
    plain = _extract_paragraphs(root, url, favor_precision=False, fast=True)
    lost = sum(len(p) for p in paragraphs) < _NEAR_EMPTY_CHARS or _looks_like_navigation(paragraphs)
    if lost and (_needs_guard(plain, page_prose) or not _reads_as_prose(plain)):
        root = load_html(html)
        if root is None:
            return paragraphs, source
        with _justext_stoplist_of("\n".join(plain) or normalise_space(root.text_content())):
            plain = _extract_paragraphs(root, url, favor_precision=False, fast=False)
    if not plain or _looks_like_navigation(plain):
        return paragraphs, source
    ours = "\n".join(paragraphs)
    plain_chars = sum(len(p) for p in plain)
    covered = sum(len(p) for p in plain if p in ours)
    ours_chars = sum(len(p) for p in paragraphs)
    navigation = _looks_like_navigation(paragraphs) and plain_chars > 2 * ours_chars
    if covered < 0.5 * plain_chars or navigation:
        return plain, "guard"
    return paragraphs, source


# A stopword no text holds: justext's stopword test then finds no article paragraph, as it
# does with every language's list on a page in a language justext has no list for.
_NO_STOPLIST = ("\x00",)


@contextmanager
def _justext_stoplist_of(text: str) -> Iterator[None]:
    """trafilatura's full cascade (readability, then justext) with justext reading the
    stoplist of the text's language, not the union of all 100 that trafilatura builds when
    it is given no language: that union stays in the process, 33 MB in every extraction
    worker (a tuple of 154,484 words and justext's lower-cased copy) for a pass that runs on
    about 2% of pages. It goes through trafilatura's `JT_STOPLIST`, the one place its
    justext call reads a stoplist from without also filtering the page by language."""
    code, _ = identify(text)
    name = JUSTEXT_LANGUAGES.get(code or "")
    stoplist = tuple(sorted(get_stoplist(name))) if name else _NO_STOPLIST
    saved = trafilatura_external.JT_STOPLIST
    trafilatura_external.JT_STOPLIST = stoplist  # type: ignore[assignment]  # declared None
    try:
        yield
    finally:
        trafilatura_external.JT_STOPLIST = saved


def _reads_as_prose(paragraphs: list[str]) -> bool:
    """Whether most of the text (in characters) is in paragraphs that end a sentence."""
    chars = sum(len(p) for p in paragraphs)
    prose = sum(len(p) for p in paragraphs if p.endswith(SENTENCE_END))
    return prose >= 0.5 * chars


def _extract_paragraphs(
    root: lxml_html.HtmlElement, url: str, *, favor_precision: bool, fast: bool = True
) -> list[str]:
    """Run trafilatura on the page; its body as paragraphs, subheadings restored."""
    document = trafilatura.bare_extraction(
        root,
        url=url,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        favor_precision=favor_precision,
        fast=fast,
    )
    body = getattr(document, "body", None)
    if body is None:
        return []
    return restore_headings(root, restore_siblings(root, paragraphs(body)))


def _word_count(paragraphs: list[str]) -> int:
    return sum(len(paragraph.split()) for paragraph in paragraphs)


def _declared_paragraphs(article_body: str | None) -> list[str]:
    """JSON-LD `articleBody` as paragraphs, or [] when it is visibly a teaser.

    Publishers put plain text or HTML there; a body ending in an ellipsis is an excerpt.
    """
    if not article_body:
        return []
    text = article_body.strip()
    if "<" in text and ">" in text:
        try:
            fragment = lxml_html.fragment_fromstring(text, create_parent="div")
        except (etree.ParserError, ValueError):
            return []
        for block in fragment.iter("p", "br", "div", "li", "h2", "h3", "h4"):
            block.tail = "\n" + (block.tail or "")
        text = fragment.text_content()
    text = html_lib.unescape(text).strip()
    if text.endswith(("…", "...")):
        return []
    lines = (normalise_space(line) for line in text.splitlines())
    return [line for line in lines if line]


def _empty(problems: list[dict[str, str]]) -> ArticleFields:
    return ArticleFields(
        title=None, text="", authors=[], published_at=None, modified_at=None, language=None,
        site_name=None, description=None, section=None, tags=[], image_url=None,
        canonical_url=None, problems=problems,
    )  # fmt: skip


def _fill_from_layout(meta: PageMetadata, root: lxml_html.HtmlElement, url: str) -> None:
    """Fall back on htmldate's reading of the layout for a missing publication date, and
    last on a date the page's title ends with ("Headline | Site | 28.04.2023").

    Title, credits and site name come from the page's own declarations and visible
    headline and byline (metadata.py); a second metadata pass by trafilatura added nothing
    on fundus-dev or the golden pages and cost about 6 ms per page, so it is not run.
    """
    found = find_date(root, url=url, original_date=True, extensive_search=False)
    meta.published_at = (parse_date(found) if found else None) or meta.title_date


def _strip_site_suffix(title: str | None, site_name: str | None) -> str | None:
    """Drop a trailing " | Site name" that publishers append to titles."""
    if not title:
        return None
    for separator in _TITLE_SEPARATORS:
        head, sep, tail = title.rpartition(separator)
        if sep and head and site_name and tail.strip().casefold() == site_name.casefold():
            return head.strip()
    return title


def _looks_like_listing(root: lxml_html.HtmlElement) -> bool:
    """A front or section page: many teaser headlines linking to other pages."""
    teasers = sum(1 for _ in root.iter("article"))
    linked_headings = sum(
        1
        for heading in root.iter("h2", "h3", "h4")
        if heading.find(".//a") is not None or heading.getparent().tag == "a"
    )
    return teasers >= 4 or linked_headings >= 6
