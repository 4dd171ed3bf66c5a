"""`extract_article`: one page's HTML in, the article's fields out.

The page is parsed once. Its declared metadata is read first (JSON-LD, OpenGraph, <meta>),
then boilerplate blocks are pruned from the tree while their markup is still visible, then
trafilatura finds the main text, and a last pass filters the paragraphs it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version

import trafilatura
from htmldate import find_date
from lxml import etree
from lxml import html as lxml_html
from trafilatura.metadata import extract_metadata
from trafilatura.utils import load_html

from newscrawl.extraction.authors import clean_authors
from newscrawl.extraction.boilerplate import (
    Removal,
    clean_paragraphs,
    normalise_space,
    prune_tree,
)
from newscrawl.extraction.metadata import PageMetadata, parse_date, read_metadata

EXTRACTOR_NAME = "newscrawl"
EXTRACTOR_VERSION = "0.1.0"
TRAFILATURA_VERSION = version("trafilatura")

# Paragraph-level elements of trafilatura's output tree, each one paragraph of `text`.
_LEAF_BLOCKS = frozenset({"p", "head", "item", "row", "code", "cell"})
_CONTAINERS = frozenset({"list", "quote", "table", "div", "section"})
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ")


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
    removed = prune_tree(root, body_floor=_body_floor(root))
    document = trafilatura.bare_extraction(
        root,
        url=url,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        favor_precision=True,
    )
    body = getattr(document, "body", None)
    paragraphs = _restore_headings(root, _paragraphs(body)) if body is not None else []
    if not meta.title or not meta.authors or meta.published_at is None:
        _fill_from_layout(meta, root, url)
    title = _strip_site_suffix(meta.title, meta.site_name)
    kept, dropped = clean_paragraphs(paragraphs, title, image_alts)
    return ArticleFields(
        title=title,
        text="\n\n".join(kept),
        authors=clean_authors(meta.authors),
        published_at=meta.published_at,
        modified_at=meta.modified_at,
        language=meta.language,
        site_name=meta.site_name,
        description=meta.description,
        section=meta.section,
        tags=meta.tags,
        image_url=meta.image_url,
        canonical_url=meta.canonical_url,
        is_listing=meta.is_listing or (not meta.is_article and _looks_like_listing(root)),
        is_declared_article=meta.is_article,
        removed=removed + dropped,
        problems=meta.problems,
    )


def _empty(problems: list[dict[str, str]]) -> ArticleFields:
    return ArticleFields(
        title=None, text="", authors=[], published_at=None, modified_at=None, language=None,
        site_name=None, description=None, section=None, tags=[], image_url=None,
        canonical_url=None, problems=problems,
    )  # fmt: skip


def _body_floor(root: lxml_html.HtmlElement) -> int:
    """Most text one boilerplate removal may take: 40% of the page's paragraph text."""
    total = sum(len(p.text_content()) for p in root.iter("p"))
    return max(300, int(total * 0.4))


def _paragraphs(body: etree._Element) -> list[str]:
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


def _restore_headings(root: lxml_html.HtmlElement, paragraphs: list[str]) -> list[str]:
    """Put back subheadings trafilatura dropped from between two body paragraphs it kept.

    A heading whose neighbouring paragraphs on both sides are consecutive in the output
    belongs to the body, wherever the extractor's container boundaries fell.
    """
    position = {text: index for index, text in enumerate(paragraphs)}
    inserts: dict[int, list[str]] = {}
    previous: int | None = None
    waiting: list[str] = []
    for element in root.iter("p", "h2", "h3", "h4", "h5", "h6"):
        text = normalise_space(element.text_content())
        if not text:
            continue
        if element.tag != "p":
            if text not in position and len(text) <= 200:
                waiting.append(text)
            continue
        index = position.get(text)
        if index is None:
            continue
        if waiting and previous is not None and index == previous + 1:
            inserts[index] = waiting
        waiting = []
        previous = index
    if not inserts:
        return paragraphs
    restored: list[str] = []
    for index, text in enumerate(paragraphs):
        restored.extend(inserts.get(index, []))
        restored.append(text)
    return restored


def _fill_from_layout(meta: PageMetadata, root: lxml_html.HtmlElement, url: str) -> None:
    """Fall back on trafilatura's and htmldate's reading of the layout for missing fields."""
    layout = extract_metadata(root, default_url=url, extensive=False)
    if not meta.title and layout.title:
        meta.title = normalise_space(layout.title)
    if not meta.authors and layout.author:
        meta.authors = layout.author.split(";")
    if not meta.site_name and layout.sitename:
        meta.site_name = normalise_space(layout.sitename)
    if meta.published_at is None:
        found = find_date(root, url=url, original_date=True, extensive_search=False)
        meta.published_at = parse_date(found) if found else None


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
