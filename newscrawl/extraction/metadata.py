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

from lxml import html as lxml_html

from newscrawl.extraction.boilerplate import normalise_space
from newscrawl.extraction.credits import (
    choose_authors,
    join_url,
    jsonld_people,
    resolve_author_links,
    visible_bylines,
)
from newscrawl.extraction.titles import choose_title, document_title, title_date, visible_headline
from newscrawl.extraction.topics import choose_topics, visible_tags
from newscrawl.extraction.values import MetaTags, text_value

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
    # The page declares restricted access (JSON-LD isAccessibleForFree false, on the article
    # or a part of it: the paywalled-content markup).
    restricted: bool = False
    # A date the page's title ends with ("Title | Site | 28.04.2023"): the last fallback
    # for the publication date.
    title_date: date | None = None
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

    publisher = article.get("publisher")
    found.site_name = (
        text_value(meta.get("og:site_name"))
        or (text_value(publisher.get("name")) if isinstance(publisher, dict) else None)
        or text_value(meta.get("application-name"))
    )
    found.section = text_value(meta.get("article:section")) or _first_text(
        article.get("articleSection")
    )
    found.title = choose_title(
        [
            text_value(article.get("headline")),
            text_value(meta.get("og:title")),
            visible_headline(root, article, meta),
            text_value(meta.get("twitter:title")),
            document_title(root),
        ],
        found.site_name,
        found.section,
    )
    found.title_date = next(
        filter(None, map(title_date, [meta.get("og:title"), meta.get("twitter:title")])),
        None,
    ) or title_date(document_title(root))
    # JSON-LD, else the first <meta> naming authors: mixing them repeats one credit in
    # several spellings ("Emma Mackenzie", "emma-mackenzie", her author page's URL).
    declared = jsonld_people(article.get("author"), _by_id(nodes)) or next(
        (meta.getall(key) for key in _AUTHOR_META if meta.getall(key)), []
    )
    declared = resolve_author_links(root, declared, url)
    found.authors = choose_authors(declared, lambda: visible_bylines(root), found.site_name, url)
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
    found.language = next(
        filter(
            None,
            map(
                _language,
                [
                    text_value(article.get("inLanguage")),
                    root.get("lang"),
                    root.get("{http://www.w3.org/XML/1998/namespace}lang"),
                    meta.get("content-language"),
                    meta.get("og:locale"),
                ],
            ),
        ),
        None,
    )
    found.description = (
        text_value(meta.get("description"))
        or text_value(meta.get("og:description"))
        or text_value(article.get("description"))
    )
    found.tags = choose_topics(article.get("keywords"), meta) or visible_tags(root)
    found.restricted = _declares_restricted(article)
    image = (
        meta.get("og:image")
        or meta.get("og:image:url")
        or _jsonld_image(article.get("image"))
        or meta.get("twitter:image")
    )
    found.image_url = join_url(url, image) if image else None
    canonical = _canonical_href(root) or meta.get("og:url")
    found.canonical_url = join_url(url, canonical) if canonical else None
    body = article.get("articleBody")
    found.article_body = body if isinstance(body, str) and body.strip() else None
    return found


def _problem(field: str, value: str, reason: str) -> dict[str, str]:
    return {"field": field, "value": value, "reason": reason}


def _meta_tags(root: lxml_html.HtmlElement) -> MetaTags:
    tags = MetaTags()
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
    """A JSON-LD block without the comment or CDATA wrapper some CMSs put around it.

    Checked at the two ends only: a regex anchored at the end still scans the whole block,
    13 ms on a page with a 1.3 MB block."""
    text = raw.strip()
    for opener in ("<!--", "<![CDATA["):
        if text.startswith(opener):
            text = text[len(opener) :]
            break
    for closer in ("-->", "]]>"):
        if text.endswith(closer):
            text = text[: -len(closer)]
            break
    return text.strip().rstrip(";")


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


def _first_text(value: Any) -> str | None:
    if isinstance(value, list):
        return next((t for t in map(text_value, value) if t), None)
    return text_value(value)


def _by_id(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """JSON-LD nodes by their @id, to follow an author given as {"@id": ...} in a @graph."""
    return {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str) and n.get("name")}


def _declares_restricted(article: dict[str, Any]) -> bool:
    """JSON-LD isAccessibleForFree false (boolean or string), on the article or on one of
    its parts (the paywalled-content markup search engines read: hasPart + cssSelector)."""
    parts = article.get("hasPart")
    nodes = [article, *(parts if isinstance(parts, list) else [parts])]
    for node in nodes:
        flag = node.get("isAccessibleForFree") if isinstance(node, dict) else None
        if flag is False or (isinstance(flag, str) and flag.strip().lower() in {"false", "no"}):
            return True
    return False


def _jsonld_image(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    return value if isinstance(value, str) and value.strip() else None


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


# ISO 639-2 codes pages declare instead of their ISO 639-1 equivalent.
_THREE_LETTER = {
    "eng": "en", "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "spa": "es", "ita": "it",
    "por": "pt", "nld": "nl", "dut": "nl", "rus": "ru", "zho": "zh", "chi": "zh", "jpn": "ja",
    "kor": "ko", "ara": "ar", "tur": "tr", "pol": "pl", "ces": "cs", "cze": "cs", "vie": "vi",
}  # fmt: skip


def _language(value: str | None) -> str | None:
    """The primary subtag as an ISO 639-1 code, or None ("utf-8", "x-default" are not one)."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip(), maxsplit=1)[0].lower()
    primary = _THREE_LETTER.get(primary, primary)
    return primary if re.fullmatch(r"[a-z]{2}", primary) else None
