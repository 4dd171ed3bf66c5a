"""Article metadata from the page's own declarations: JSON-LD, OpenGraph, <meta>, <link>.

Publishers state their metadata for search engines; it beats any guess from the layout. Each
reader is defensive: structured data written by strangers has every type wrong somewhere, so a
bad value yields None for that field, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

from lxml import html as lxml_html

from newscrawl.extraction.boilerplate import normalise_space

ARTICLE_TYPES = frozenset(
    [
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "AskPublicNewsArticle",
        "SatiricalArticle",
        "BlogPosting",
        "LiveBlogPosting",
        "Report",
        "TechArticle",
        "ScholarlyArticle",
        "Review",
    ]
)
LISTING_TYPES = frozenset(["CollectionPage", "ItemList", "SearchResultsPage", "ProfilePage"])
MAX_JSONLD_CHARS = 2_000_000

_PUBLISHED_META = (
    "article:published_time", "og:published_time", "datepublished", "pubdate", "publishdate",
    "publish-date", "publish_date", "dc.date.issued", "dcterms.issued", "dc.date",
    "parsely-pub-date", "sailthru.date", "date",
)  # fmt: skip
_MODIFIED_META = (
    "article:modified_time", "og:updated_time", "datemodified", "dcterms.modified", "lastmod",
)  # fmt: skip
_AUTHOR_META = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


@dataclass(slots=True)
class PageMetadata:
    """What the page declares about itself; every field optional."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: date | None = None
    modified_at: date | None = None
    language: str | None = None
    site_name: str | None = None
    description: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None
    canonical_url: str | None = None
    article_body: str | None = None
    is_article: bool = False
    is_listing: bool = False
    problems: list[dict[str, str]] = field(default_factory=list)


def read_metadata(root: lxml_html.HtmlElement, url: str) -> PageMetadata:
    """Collect the page's declared metadata, JSON-LD first, then OpenGraph and <meta>."""
    meta = _meta_tags(root)
    nodes, problems = _jsonld_nodes(root)
    article = next((n for n in nodes if _types(n) & ARTICLE_TYPES), None) or {}
    types = set().union(*(_types(n) for n in nodes)) if nodes else set()
    found = PageMetadata(problems=problems)
    found.is_article = bool(article) or meta.get("og:type", "").lower() == "article"
    found.is_listing = bool(types & LISTING_TYPES) and not article

    found.title = (
        _text(article.get("headline"))
        or _text(meta.get("og:title"))
        or _text(meta.get("twitter:title"))
    )
    found.authors = _jsonld_people(article.get("author")) or [
        value for key in _AUTHOR_META for value in meta.getall(key) if value
    ]
    found.published_at = _first_date(
        "published_at",
        [
            article.get("datePublished"),
            *(meta.get(k) for k in _PUBLISHED_META),
            *_itemprop_dates(root, "datePublished"),
        ],
        found.problems,
    )
    found.modified_at = _first_date(
        "modified_at",
        [
            article.get("dateModified"),
            *(meta.get(k) for k in _MODIFIED_META),
            *_itemprop_dates(root, "dateModified"),
        ],
        found.problems,
    )
    found.language = _language(
        _text(article.get("inLanguage"))
        or root.get("lang")
        or root.get("{http://www.w3.org/XML/1998/namespace}lang")
        or meta.get("content-language")
        or meta.get("og:locale")
    )
    publisher = article.get("publisher")
    found.site_name = (
        _text(meta.get("og:site_name"))
        or (_text(publisher.get("name")) if isinstance(publisher, dict) else None)
        or _text(meta.get("application-name"))
    )
    found.description = (
        _text(meta.get("description"))
        or _text(meta.get("og:description"))
        or _text(article.get("description"))
    )
    found.section = _text(meta.get("article:section")) or _first_text(article.get("articleSection"))
    found.tags = meta.getall("article:tag") or _keywords(article.get("keywords"))
    image = (
        meta.get("og:image")
        or meta.get("og:image:url")
        or _jsonld_image(article.get("image"))
        or meta.get("twitter:image")
    )
    found.image_url = urljoin(url, image.strip()) if image else None
    canonical = _canonical_href(root) or meta.get("og:url")
    found.canonical_url = urljoin(url, canonical.strip()) if canonical else None
    body = article.get("articleBody")
    found.article_body = body if isinstance(body, str) and body.strip() else None
    return found


class _MetaTags(dict[str, list[str]]):
    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        values = super().get(key)
        return values[0] if values else default

    def getall(self, key: str) -> list[str]:
        return [v for v in super().get(key, []) if v]


def _problem(field: str, value: str, reason: str) -> dict[str, str]:
    return {"field": field, "value": value, "reason": reason}


def _meta_tags(root: lxml_html.HtmlElement) -> _MetaTags:
    tags = _MetaTags()
    for element in root.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop")
        key = key or element.get("http-equiv")
        content = element.get("content")
        if key and content is not None:
            tags.setdefault(key.strip().lower(), []).append(normalise_space(content))
    return tags


def _canonical_href(root: lxml_html.HtmlElement) -> str | None:
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            return str(link.get("href"))
    return None


def _jsonld_nodes(
    root: lxml_html.HtmlElement,
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    nodes: list[dict[str, Any]] = []
    problems: list[dict[str, str]] = []
    for script in root.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        raw = (script.text or "").strip()
        if not raw:
            continue
        if len(raw) > MAX_JSONLD_CHARS:
            problems.append(
                _problem("json_ld", raw[:60], f"block of {len(raw)} characters skipped")
            )
            continue
        try:
            data = json.loads(_strip_wrappers(raw))
        except (ValueError, RecursionError) as exc:
            problems.append(
                _problem("json_ld", raw[:60], f"invalid JSON skipped: {str(exc)[:100]}")
            )
            continue
        nodes.extend(_flatten(data, depth=0))
    return nodes, problems


def _strip_wrappers(raw: str) -> str:
    raw = re.sub(r"^\s*(?:<!--|<!\[CDATA\[)|(?:-->|\]\]>)\s*$", "", raw)
    return raw.strip().rstrip(";")


def _flatten(data: Any, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 5:
        return
    if isinstance(data, list):
        for item in data:
            yield from _flatten(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if isinstance(data.get(key), list | dict):
                yield from _flatten(data[key], depth + 1)


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {v.rsplit("/", 1)[-1] for v in values if isinstance(v, str)}


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return normalise_space(value) or None
    return None


def _first_text(value: Any) -> str | None:
    if isinstance(value, list):
        return next((t for t in map(_text, value) if t), None)
    return _text(value)


def _jsonld_people(value: Any, depth: int = 0) -> list[str]:
    """Author names from JSON-LD: a string, a Person, or a list of them; Organizations skipped."""
    if depth > 3 or value is None:
        return []
    if isinstance(value, list):
        return [name for item in value for name in _jsonld_people(item, depth + 1)]
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and not (_types(value) & {"Organization", "NewsMediaOrganization"}):
        name = _text(value.get("name"))
        return [name] if name else []
    return []


def _jsonld_image(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    return value if isinstance(value, str) and value.strip() else None


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return [t for t in (normalise_space(v) for v in value.split(",")) if t]
    if isinstance(value, list):
        return [t for t in (_text(v) for v in value) if t]
    return []


def _itemprop_dates(root: lxml_html.HtmlElement, prop: str) -> list[str | None]:
    return [
        element.get("datetime") or element.get("content")
        for element in root.iter("time", "meta", "span")
        if element.get("itemprop") == prop
    ]


def _first_date(name: str, values: list[Any], problems: list[dict[str, str]]) -> date | None:
    for value in values:
        if not isinstance(value, str) or not value.strip():
            continue
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
        problems.append(_problem(name, value[:200], "unparsable date skipped"))
    return None


def parse_date(value: str) -> date | None:
    """An ISO 8601 (or RFC 2822) date as precise as written: no time or zone is invented."""
    text = value.strip()
    if _ISO_DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    text = _COMPACT_OFFSET.sub(r"\1:\2", text) if "T" in text else text
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _language(value: str | None) -> str | None:
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip(), maxsplit=1)[0].lower()
    return primary or None
