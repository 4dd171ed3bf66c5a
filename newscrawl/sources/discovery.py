"""Reading the places publishers announce articles: XML sitemaps, news sitemaps, RSS and Atom.

Pure functions over bytes (no Scrapy), so they are tested directly. Scrapy's own
`scrapy.utils.sitemap.Sitemap` is not used because it drops the nested `news:news` fields
(publication date, title) and silently recovers from malformed XML, which we must report.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from xml.sax import SAXParseException

from lxml import etree

from newscrawl.extraction.metadata import parse_date

EntryKind = Literal["sitemap", "news_sitemap", "feed"]
_GZIP_MAGIC = b"\x1f\x8b"


class SourceError(ValueError):
    """A sitemap or feed that cannot be read; the message says why, for run.json."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One article URL a source announced, with the hints it gave (unverified)."""

    url: str
    kind: EntryKind
    published_at: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Sitemap:
    """A parsed sitemap: either an index (child sitemap URLs) or a list of entries."""

    is_index: bool
    children: list[str]
    entries: list[Entry]


def decompress(body: bytes, url: str, max_bytes: int) -> bytes:
    """The body unzipped if it is gzip (by magic number), at most `max_bytes` of it."""
    if not body.startswith(_GZIP_MAGIC):
        if url.split("?", 1)[0].endswith(".gz") and not body.lstrip().startswith(b"<"):
            raise SourceError("named .gz but is neither gzip nor XML")
        return body
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
            while chunk := stream.read(65536):
                out.write(chunk)
                if out.tell() > max_bytes:
                    raise SourceError(f"unzips to more than {max_bytes} bytes")
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"broken gzip: {exc}") from None
    return out.getvalue()


def parse_sitemap(body: bytes) -> Sitemap:
    """Parse a sitemap or sitemap index; SourceError if it is empty, HTML, or malformed."""
    if not body.strip():
        raise SourceError("empty document")
    if _looks_like_html(body):
        raise SourceError("an HTML page, not a sitemap")
    parser_args = {"resolve_entities": False, "no_network": True, "huge_tree": False}
    try:
        root = etree.fromstring(body, etree.XMLParser(**parser_args))
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"malformed XML: {exc}") from None
    kind = etree.QName(root).localname
    if kind == "sitemapindex":
        children = [loc for item in root for loc in _children_text(item, "loc")]
        return Sitemap(True, children, [])
    if kind != "urlset":
        raise SourceError(f"not a sitemap (root element <{kind}>)")
    return Sitemap(False, [], list(_sitemap_entries(root)))


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _children_text(element: etree._Element, name: str) -> Iterator[str]:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name and child.text:
            yield child.text.strip()


def _sitemap_entries(root: etree._Element) -> Iterator[Entry]:
    for item in root:
        if not isinstance(item.tag, str) or etree.QName(item).localname != "url":
            continue
        loc = next(_children_text(item, "loc"), None)
        if not loc:
            continue
        news = next(
            (c for c in item if isinstance(c.tag, str) and etree.QName(c).localname == "news"),
            None,
        )
        if news is not None:
            yield Entry(
                loc,
                "news_sitemap",
                next(_children_text(news, "publication_date"), None),
                next(_children_text(news, "title"), None),
            )
        else:
            yield Entry(loc, "sitemap", next(_children_text(item, "lastmod"), None))


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed: its entries, and the XML error it was recovered from (None if clean)."""

    entries: list[Entry]
    recovered_from: str | None = None


def parse_feed(body: bytes) -> Feed:
    """The item links of an RSS 2.0 or Atom feed; SourceError if it is not a feed.

    A feed that is not well-formed XML (one bare `&` is enough) is read by feedparser's
    lenient parser: when that still finds entries, they are kept and the XML error is
    returned in `recovered_from` for run.json; when it finds none, the feed is an error.
    """
    if not body.strip():
        raise SourceError("empty document")
    if _looks_like_html(body):
        raise SourceError("an HTML page, not a feed")
    import feedparser  # here, not at the top: every crawl's start would pay 0.1 s for it

    parsed = feedparser.parse(body)
    problem = parsed.get("bozo_exception")
    malformed = f"malformed XML: {problem}" if isinstance(problem, SAXParseException) else None
    if not parsed.get("version"):
        if malformed:
            raise SourceError(malformed)
        raise SourceError(f"not an RSS or Atom feed{f': {problem}' if problem else ''}")
    entries = []
    for item in parsed.entries:
        link = item.get("link") or next(
            (lk.get("href") for lk in item.get("links", []) if lk.get("rel") == "alternate"), None
        )
        if link:
            when = item.get("published") or item.get("updated")
            entries.append(Entry(link.strip(), "feed", when, item.get("title")))
    if malformed and not entries:
        raise SourceError(malformed)
    return Feed(entries, malformed)


def parse_hint_date(value: str | None) -> date | None:
    """A source's date hint as a date or datetime, or None when it cannot be read."""
    if not value:
        return None
    return parse_date(value.strip())


def is_older_than(value: str | None, since: date) -> bool:
    """Whether a source's date hint is before `since` (unknown dates are never older)."""
    hint = parse_hint_date(value)
    if hint is None:
        return False
    day = hint.date() if isinstance(hint, datetime) else hint
    return day < since
