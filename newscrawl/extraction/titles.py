"""The title: the candidates a page declares and shows, and the one most of them agree on.

Entities decoded, a site-name suffix and a kicker prefix dropped (see `choose_title`).
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import date
from typing import Any

from lxml import html as lxml_html

from newscrawl.extraction.boilerplate import normalise_space
from newscrawl.extraction.values import MetaTags, compact_text, text_value


def visible_headline(
    root: lxml_html.HtmlElement, article: dict[str, Any], meta: MetaTags
) -> str | None:
    """The page's <h1> that best matches its declared titles (a "Log In" h1 does not)."""
    reference = " ".join(
        filter(
            None, [text_value(article.get("headline")), meta.get("og:title"), document_title(root)]
        )
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


def document_title(root: lxml_html.HtmlElement) -> str | None:
    element = root.find(".//title")
    return text_value(element.text_content()) if element is not None else None


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
        tail_key = compact_text(tail)
        if (site_name and tail_key and tail_key == compact_text(site_name)) or re.fullmatch(
            r"[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", tail.strip().lower()
        ):
            title = head.strip()
            break
    if section:
        for separator in _TITLE_SEPARATORS:
            head, sep, tail = title.rpartition(separator)
            if sep and head.strip() and compact_text(tail) == compact_text(section):
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


# A date closing a title after a separator, in the two forms that read one way only:
# day.month.year (written so in every language that uses dots) and ISO year-month-day.
_TITLE_DATE = re.compile(
    r"(?:\s[|\-–—·]\s*|[|｜])(?:(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})|(\d{4})-(\d{2})-(\d{2}))\s*$"
)


def title_date(title: str | None) -> date | None:
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
