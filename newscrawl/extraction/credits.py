"""Credits: declared authors (meta, JSON-LD people and organisations) against the visible byline.

A visible byline beats declared metadata that names the site, an account or a URL (see
`choose_authors`); name clean-up itself is `authors.py`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html

from newscrawl.extraction.authors import clean_authors, split_byline
from newscrawl.extraction.boilerplate import byline_credit, normalise_space
from newscrawl.extraction.values import compact_text, text_value


def jsonld_people(
    value: Any, by_id: dict[str, dict[str, Any]] | None = None, depth: int = 0
) -> list[str]:
    """Author credits from JSON-LD: a string, a Person or Organization, or a list of them.

    Organizations count: an agency or desk credited as author ("dpa") is a credit. A node
    that is only a reference ({"@id": ...}) is looked up among the page's other nodes.
    """
    if depth > 3 or value is None:
        return []
    if isinstance(value, list):
        return [name for item in value for name in jsonld_people(item, by_id, depth + 1)]
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = text_value(value.get("name"))
        if not name and by_id and isinstance(value.get("@id"), str):
            name = text_value(by_id.get(value["@id"], {}).get("name"))
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


def visible_bylines(root: lxml_html.HtmlElement) -> list[str]:
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


def resolve_author_links(root: lxml_html.HtmlElement, declared: list[str], url: str) -> list[str]:
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


def join_url(base: str, value: str) -> str | None:
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


_HREF_LIKE = re.compile(r"https?://|www\.|^\d+$")


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
    compact = compact_text(name)
    host = _site_host(url)
    stems = {compact_text(host.rsplit(".", 1)[0])} if host else set()
    if site_name:
        stems.add(compact_text(site_name))
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
