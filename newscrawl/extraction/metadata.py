"""Article metadata from the page's own declarations: JSON-LD, OpenGraph, <meta>, <link>.

Publishers state their metadata for search engines; it beats any guess from the layout. Each
reader is defensive: structured data written by strangers has every type wrong somewhere, so a
bad value yields None for that field, never an exception.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html

from newscrawl.extraction.authors import clean_authors, split_byline
from newscrawl.extraction.boilerplate import byline_credit, normalise_space

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
        _text(meta.get("og:site_name"))
        or (_text(publisher.get("name")) if isinstance(publisher, dict) else None)
        or _text(meta.get("application-name"))
    )
    found.section = _text(meta.get("article:section")) or _first_text(article.get("articleSection"))
    found.title = choose_title(
        [
            _text(article.get("headline")),
            _text(meta.get("og:title")),
            _visible_headline(root, article, meta),
            _text(meta.get("twitter:title")),
            _document_title(root),
        ],
        found.site_name,
        found.section,
    )
    found.title_date = next(
        filter(None, map(_title_date, [meta.get("og:title"), meta.get("twitter:title")])),
        None,
    ) or _title_date(_document_title(root))
    # JSON-LD, else the first <meta> naming authors: mixing them repeats one credit in
    # several spellings ("Emma Mackenzie", "emma-mackenzie", her author page's URL).
    declared = _jsonld_people(article.get("author"), _by_id(nodes)) or next(
        (meta.getall(key) for key in _AUTHOR_META if meta.getall(key)), []
    )
    declared = _resolve_author_links(root, declared, url)
    found.authors = choose_authors(declared, lambda: _visible_bylines(root), found.site_name, url)
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
                    _text(article.get("inLanguage")),
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
        _text(meta.get("description"))
        or _text(meta.get("og:description"))
        or _text(article.get("description"))
    )
    found.tags = choose_topics(article.get("keywords"), meta) or _visible_tags(root)
    found.restricted = _declares_restricted(article)
    image = (
        meta.get("og:image")
        or meta.get("og:image:url")
        or _jsonld_image(article.get("image"))
        or meta.get("twitter:image")
    )
    found.image_url = _join(url, image) if image else None
    canonical = _canonical_href(root) or meta.get("og:url")
    found.canonical_url = _join(url, canonical) if canonical else None
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


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return normalise_space(value) or None
    return None


def _first_text(value: Any) -> str | None:
    if isinstance(value, list):
        return next((t for t in map(_text, value) if t), None)
    return _text(value)


def _by_id(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """JSON-LD nodes by their @id, to follow an author given as {"@id": ...} in a @graph."""
    return {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str) and n.get("name")}


def _jsonld_people(
    value: Any, by_id: dict[str, dict[str, Any]] | None = None, depth: int = 0
) -> list[str]:
    """Author credits from JSON-LD: a string, a Person or Organization, or a list of them.

    Organizations count: an agency or desk credited as author ("dpa") is a credit. A node
    that is only a reference ({"@id": ...}) is looked up among the page's other nodes.
    """
    if depth > 3 or value is None:
        return []
    if isinstance(value, list):
        return [name for item in value for name in _jsonld_people(item, by_id, depth + 1)]
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = _text(value.get("name"))
        if not name and by_id and isinstance(value.get("@id"), str):
            name = _text(by_id.get(value["@id"], {}).get("name"))
        return [name] if name else []
    return []


# Links to an author's page, and class/id/itemprop/rel names of a byline.
_AUTHOR_HREF = re.compile(
    r"/(?:authors?|autor(?:en|in)?|auteurs?|autores?|journalists?|reporters?|redakteure?|"
    r"profiles?/staff|staff|writers?)/[^/?#]+",
    re.IGNORECASE,
)
_BYLINE_NAME = re.compile(r"byline|author|autor|auteur|writer|reporter", re.IGNORECASE)
_NOT_BYLINE_NAME = re.compile(
    r"comment|quote|zitat|bio|avatar|image|img|photo|foto|about|more|other|social|share|follow",
    re.IGNORECASE,
)
_MAX_BYLINE_CHARS = 120
# A visible byline credit longer than this is a sentence ("X writes from Y"), not a name.
_MAX_SHOWN_WORDS = 4
_MAX_BYLINES = 4


def _visible_bylines(root: lxml_html.HtmlElement) -> list[str]:
    """Credits the page shows: links to author pages, else short byline-named elements."""
    linked: list[str] = []
    byline_box = None
    for link in root.iter("a"):
        href = link.get("href") or ""
        if "author" in (link.get("rel") or "").lower() or _AUTHOR_HREF.search(href):
            text = normalise_space(link.text_content())
            if not text or len(text) > _MAX_BYLINE_CHARS:
                continue
            if any(a.tag in {"nav", "footer", "aside"} for a in link.iterancestors()):
                continue  # the site's list of authors, not this article's byline
            if byline_box is None:
                # Co-authors sit in the first author link's byline; later author links
                # elsewhere (teasers of other stories) are not this article's.
                byline_box = link.getparent()
                byline_box = byline_box.getparent() if byline_box is not None else None
            elif byline_box not in link.iterancestors():
                continue
            linked.append(text)
        if len(linked) >= _MAX_BYLINES:
            break
    if linked:
        return linked
    found: list[str] = []
    for element in root.iter("p", "span", "div", "address"):
        names = f"{element.get('class', '')} {element.get('id', '')} {element.get('itemprop', '')}"
        if not _BYLINE_NAME.search(names) or _NOT_BYLINE_NAME.search(names):
            continue
        text = normalise_space(" ".join(element.itertext()))
        if text and len(text) <= _MAX_BYLINE_CHARS:
            found.append(text)
            if len(found) >= _MAX_BYLINES:
                break
    if found:
        return found
    for element in root.iter("p", "span", "div"):
        # An unmarked byline run into its dateline ("Par Claire Dumont — Publié le …").
        text = element.text_content()
        if len(text) <= 2 * _MAX_BYLINE_CHARS:
            credit = byline_credit(text)
            if credit:
                return [credit]
    return found


def _resolve_author_links(root: lxml_html.HtmlElement, declared: list[str], url: str) -> list[str]:
    """A declared author that is the URL of an author page on the site becomes that link's
    text ("/author/madeline-fry" -> "Madeline Fry"); a social profile's URL stays a URL."""
    host = _site_host(url)
    urls = {
        absolute
        for v in declared
        if _URL_VALUE.match(v) and (absolute := _absolute(url, v)) and _site_host(absolute) == host
    }
    if not urls:
        return declared
    names: dict[str, str] = {}
    for link in root.iter("a"):
        href = _absolute(url, link.get("href") or "")
        text = normalise_space(link.text_content())
        if href in urls and text and href not in names:
            names[href] = text
    return [names.get(_absolute(url, v) or "", v) if _URL_VALUE.match(v) else v for v in declared]


def _join(base: str, value: str) -> str | None:
    """`value` resolved against `base`; None when unparsable ("http://[broken")."""
    try:
        return urljoin(base, value.strip())
    except ValueError:
        return None


def _absolute(base: str, value: str) -> str | None:
    """`value` resolved against `base`, without a trailing slash; None when unparsable."""
    try:
        return urljoin(base, value.strip()).rstrip("/")
    except ValueError:  # "http://[broken": an invalid IPv6 host
        return None


def _site_host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").removeprefix("www.")
    except ValueError:
        return ""


_URL_VALUE = re.compile(r"\s*(?:https?://|/)\S+\s*$")


def _compact(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


_ACCOUNT_NAMES = frozenset({"admin", "administrator", "webmaster", "root", "user", "guest"})


def _is_account(name: str) -> bool:
    """A CMS login rather than a credit: "admin", "kei_eno", "user123", "105092"."""
    if not re.search(r"[^\W\d_]", name) or re.fullmatch(r"[\w.-]*\d{3,}[\w.-]*", name):
        return True
    # A login or a URL slug: "kei_eno", "emma-mackenzie".
    slug = re.fullmatch(r"[a-z0-9]+(?:[_-][a-z0-9]+)+", name)
    return name.casefold() in _ACCOUNT_NAMES or bool(slug)


def _names_site(name: str, site_name: str | None, url: str) -> bool:
    """Whether a credit is the site itself, a URL or a CMS account, not who wrote it."""
    if _is_account(name):
        return True
    compact = _compact(name)
    host = _site_host(url)
    stems = {_compact(host.rsplit(".", 1)[0])} if host else set()
    if site_name:
        stems.add(_compact(site_name))
    return any(stem and (compact == stem or compact.startswith(stem)) for stem in stems)


def choose_authors(
    declared: list[str],
    visible: Callable[[], list[str]] | list[str],
    site_name: str | None,
    url: str,
) -> list[str]:
    """The credits: declared metadata, unless it only names the site, an account or a URL.

    Then a visible byline that credits people (names of two words or more) wins; when the
    page shows none, the site's own credit is kept, as it is what the page credits.
    `visible` (the page's bylines) may be a function, so the page is searched only then.
    """
    raw_declared = [v for v in declared if v]
    credits = [name for name in clean_authors(raw_declared) if not _is_account(name)]
    suspect = (
        not credits
        or all(_names_site(name, site_name, url) for name in credits)
        or any(_HREF_LIKE.search(v) for v in raw_declared)
    )
    if not suspect:
        people = [name for name in credits if not _names_site(name, site_name, url)]
        return people if people else credits
    shown = [
        name
        for line in (visible() if callable(visible) else visible)
        for name in split_byline(line)
        if 2 <= len(name.split()) <= _MAX_SHOWN_WORDS and not _names_site(name, site_name, url)
    ]
    if shown:
        return clean_authors(shown)
    return [name for name in credits if re.search(r"[^\W\d_]", name)]


_HREF_LIKE = re.compile(r"https?://|www\.|^\d+$")


def _visible_headline(
    root: lxml_html.HtmlElement, article: dict[str, Any], meta: _MetaTags
) -> str | None:
    """The page's <h1> that best matches its declared titles (a "Log In" h1 does not)."""
    reference = " ".join(
        filter(None, [_text(article.get("headline")), meta.get("og:title"), _document_title(root)])
    )
    wanted = set(re.findall(r"\w+", reference.casefold()))
    best, best_share = None, 0.0
    for heading in root.iter("h1"):
        text = _clean_title(heading.text_content())
        if not text:
            continue
        if not wanted:
            return text
        words = set(re.findall(r"\w+", text.casefold()))
        share = len(words & wanted) / max(1, len(words))
        if share > best_share + 0.01:
            best, best_share = text, share
    return best if best_share >= 0.5 else None


def _document_title(root: lxml_html.HtmlElement) -> str | None:
    element = root.find(".//title")
    return _text(element.text_content()) if element is not None else None


_TITLE_SEPARATORS = (
    " | ", " - ", " – ", " — ", " :: ", " · ", " * ", "｜", "：", " – ", "--", "ㅣ", "-",
)  # fmt: skip


def _clean_title(value: str | None) -> str | None:
    """Entities decoded (twice: "&amp;quot;" happens), soft hyphens dropped, spaces collapsed."""
    if not value:
        return None
    text = html_lib.unescape(html_lib.unescape(value)).replace("\xad", "")
    return normalise_space(text) or None


def _strip_site(title: str, site_name: str | None, section: str | None = None) -> str:
    """Drop a trailing " | Site name" (or " - example.de") that publishers append to titles,
    and then a trailing "-Section" naming the article's declared section."""
    for separator in _TITLE_SEPARATORS:
        head, sep, tail = title.rpartition(separator)
        if not sep or not head.strip():
            continue
        tail_key = _compact(tail)
        if (site_name and tail_key and tail_key == _compact(site_name)) or re.fullmatch(
            r"[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", tail.strip().lower()
        ):
            title = head.strip()
            break
    if section:
        for separator in _TITLE_SEPARATORS:
            head, sep, tail = title.rpartition(separator)
            if sep and head.strip() and _compact(tail) == _compact(section):
                return head.strip()
    return title


# Indexes of the declared titles among choose_title's candidates (not <h1>, not <title>).
_DECLARED_TITLES = (0, 1, 3)
# Index of the page's visible headline (<h1>) among them.
_VISIBLE_TITLE = 2


def _supports(title: str, other: str) -> bool:
    """`other` is `title`, or `title` with a suffix after a separator (a site, a section)."""
    return other == title or any(other.startswith(title + sep) for sep in _TITLE_SEPARATORS)


def choose_title(
    candidates: list[str | None], site_name: str | None, section: str | None = None
) -> str | None:
    """The headline most of the page's own titles agree on.

    Candidates in order of trust: JSON-LD headline, og:title, the matching <h1>,
    twitter:title, <title>. Each is unescaped and loses a trailing site name; the one that
    the most others equal or extend with a suffix ("Title | Section | Site") wins, the
    earlier on a tie, so a site name that only some of them carry is dropped. A title that
    another of the declared ones (JSON-LD, og:title, twitter:title) repeats after a kicker
    ("Kicker: Title") is the headline without that kicker. Before counting, the visible
    headline (<h1>) wins when another title equals or extends it: what the reader sees,
    confirmed by a declaration, beats a social or SEO headline the meta tags share.
    """
    cleaned = [_clean_title(c) for c in candidates]
    titles = [_strip_site(c, site_name, section) if c else None for c in cleaned]
    declared = [t for i in _DECLARED_TITLES if i < len(titles) and (t := titles[i])]
    for short in declared:
        if any(other.endswith(": " + short) for other in declared if other != short):
            return short
    visible = titles[_VISIBLE_TITLE] if len(titles) > _VISIBLE_TITLE else None
    if visible and any(
        _supports(visible, other)
        for index, other in enumerate(cleaned)
        if other and index != _VISIBLE_TITLE
    ):
        return visible
    best, best_support = None, -1
    for index, title in enumerate(titles):
        if not title:
            continue
        support = sum(
            1 for other_index, other in enumerate(cleaned)
            if other and other_index != index and _supports(title, other)
        )  # fmt: skip
        if support > best_support:
            best, best_support = title, support
    return best


def _split_values(values: list[str]) -> list[str]:
    """Comma-separated keyword lists as single values; one joined by spaces in CJK too."""
    out: list[str] = []
    for value in values:
        parts = re.split(r"\s*[,;，、]\s*", value) if re.search(r"[,;，、]", value) else [value]
        if len(parts) == 1 and " " in value and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", value):
            parts = value.split()
        out.extend(normalise_space(p) for p in parts)
    return [p for p in out if p]


# A keyword that is an identifier, a tracking label or a CMS flag, not a topic
# ("26157981-b4f7-…", "Category: Travel", "editors_pick").
_NOT_A_TOPIC = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^[\w ]{1,30}:\s"
    r"|^[a-z0-9]+(?:_[a-z0-9]+)+$",
    re.IGNORECASE,
)


def _unique(values: list[str]) -> list[str]:
    """Values in order, each once regardless of case."""
    seen: set[str] = set()
    unique = []
    for value in values:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            unique.append(value)
    return unique


# "Label: value" keywords whose label names a topic ("Subject: Justice", "Topic: Energy").
_TOPIC_LABEL = re.compile(r"^(?:subjects?|topics?|tags?|keywords?)\s*:\s*(\S.*)$", re.IGNORECASE)


def _labelled_topics(keywords: list[str]) -> list[str] | None:
    """In a keyword list written mostly as "Label: value" analytics pairs ("Day: Friday",
    "Page Type: Article", "Subject: Justice"), the topics are the values of the pairs whose
    label names a topic; the other pairs and the unlabelled flags among them ("Medium")
    are tracking. None when the list is not such a list."""
    labelled = [k for k in keywords if re.match(r"^[\w ]{1,30}:\s", k)]
    if len(labelled) * 2 <= len(keywords):
        return None
    return [found.group(1).strip() for k in labelled if (found := _TOPIC_LABEL.match(k))]


# A single declared keyword of more words than this, with no separator, is a list whose
# separators were lost (joined by spaces), not one topic.
_MAX_TOPIC_WORDS = 5


def _space_joined_list(keyword: str) -> bool:
    """Whether one declared keyword is several joined by spaces: more than
    `_MAX_TOPIC_WORDS` words and no comma or semicolon to split them on."""
    return len(keyword.split()) > _MAX_TOPIC_WORDS and not re.search(r"[,;，、]", keyword)


def choose_topics(jsonld_keywords: Any, meta: _MetaTags) -> list[str]:
    """The publisher's own keywords: JSON-LD `keywords`, `article:tag`, `news_keywords`,
    then the `keywords` meta, the first that is declared; identifiers and labels dropped
    (from a list of analytics labels, only the Subject/Topic values kept), and a
    declaration whose one keyword is a space-joined list skipped for the next one."""
    sources = [
        _keywords(jsonld_keywords),
        _split_values(meta.getall("article:tag")),
        _split_values(meta.getall("news_keywords")),
        _split_values(meta.getall("keywords")),
    ]
    for source in sources:
        topics = _labelled_topics(source)
        if topics is None:
            topics = [t for t in source if not _NOT_A_TOPIC.search(t)]
        if len(topics) == 1 and _space_joined_list(topics[0]):
            continue  # an unsplittable list ("Boxen Russland Tyson Fury ..."): read the next
        if topics:
            return _unique(topics)
    return []


_TAGS_NAME = re.compile(
    r"(?:^|[\s_-])(?:tags?|tag-?list|topics?|keywords?|schlagw\w*|stichw\w*|themen)(?:$|[\s_-])",
    re.IGNORECASE,
)
_MENU_NAME = re.compile(r"nav|menu", re.IGNORECASE)
_MAX_VISIBLE_TAGS = 20
# Characters of text outside the links a tag block may hold: its label and separators.
_MAX_TAGS_LABEL = 30


def _rel_tags(root: lxml_html.HtmlElement) -> list[str]:
    """Links the page marks as its tags (`rel="tag"`, HTML's link type for "a tag for the
    current document"; WordPress writes it on every post tag), outside the site's menus,
    header and footer; a category link (`rel="category tag"`) is a section, not a tag."""
    tags = []
    for link in root.iter("a"):
        rel = (link.get("rel") or "").lower().split()
        if "tag" not in rel or "category" in rel or _in_site_chrome(link):
            continue
        text = normalise_space(link.text_content())
        if text:
            tags.append(text)
    tags = _unique(tags)
    return tags if len(tags) <= _MAX_VISIBLE_TAGS else []


def _in_site_chrome(element: lxml_html.HtmlElement) -> bool:
    """Inside a <nav>, or the page's own <header>/<footer> (not an <article>'s)."""
    ancestors = list(element.iterancestors())
    in_article = next((i for i, a in enumerate(ancestors) if a.tag == "article"), None)
    return any(
        a.tag == "nav" or (a.tag in {"header", "footer"} and (in_article is None or i > in_article))
        for i, a in enumerate(ancestors)
    )


def _visible_tags(root: lxml_html.HtmlElement) -> list[str]:
    """Topics the page shows and does not declare: the first block named for tags ("tags",
    "topics", "Schlagworte"...) that is all links but for a label, outside navigation, menus
    and the site's header and footer, and untitled unless it sits in the <article>; else
    the page's `rel="tag"` links."""
    titled: set[lxml_html.HtmlElement] = set()
    for element in root.iter("ul", "div", "section", "p", "aside"):
        names = f"{element.get('class', '')} {element.get('id', '')}"
        if not _TAGS_NAME.search(names) or _MENU_NAME.search(names):
            continue
        # The site's header, footer and menus are skipped; an article's own header and
        # footer, where its tags often sit, are read.
        if _in_site_chrome(element) or any(a in titled for a in element.iterancestors()):
            continue
        in_article = any(a.tag == "article" for a in element.iterancestors())
        if not in_article and next(element.iter("h1", "h2", "h3", "h4"), None) is not None:
            # A titled block outside the article ("More Topics") is the site's; inside it
            # ("Related topics", "関連キーワード") it is the article's own.
            titled.add(element)
            continue
        links = [normalise_space(a.text_content()) for a in element.iter("a")]
        links = [text for text in links if text]
        if not links or len(links) > _MAX_VISIBLE_TAGS:
            continue
        # All links, but for a label ("Schlagworte", "Tags:") or the spaces between them.
        unlinked = len(normalise_space(element.text_content())) - sum(map(len, links))
        if unlinked > max(_MAX_TAGS_LABEL, 0.2 * sum(map(len, links))):
            continue
        return _unique(links)
    return _rel_tags(root)


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


# A date closing a title after a separator, in the two forms that read one way only:
# day.month.year (written so in every language that uses dots) and ISO year-month-day.
_TITLE_DATE = re.compile(
    r"(?:\s[|\-–—·]\s*|[|｜])(?:(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})|(\d{4})-(\d{2})-(\d{2}))\s*$"
)


def _title_date(title: str | None) -> date | None:
    """The date a title ends with ("Headline | DW | 28.04.2023"), or None."""
    match = _TITLE_DATE.search(title or "")
    if match is None:
        return None
    day, month, year, iso_year, iso_month, iso_day = match.groups()
    try:
        if year:
            return date(int(year), int(month), int(day))
        return date(int(iso_year), int(iso_month), int(iso_day))
    except ValueError:
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
