"""Topics: the declared keyword lists (JSON-LD, article:tag, news_keywords, keywords), else
the article's visible tag block or its rel=tag links."""

from __future__ import annotations

import re
from typing import Any

from lxml import html as lxml_html

from newscrawl.extraction.boilerplate import normalise_space
from newscrawl.extraction.values import MetaTags, text_value


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


def choose_topics(jsonld_keywords: Any, meta: MetaTags) -> list[str]:
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


def visible_tags(root: lxml_html.HtmlElement) -> list[str]:
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


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return [t for t in (normalise_space(v) for v in value.split(",")) if t]
    if isinstance(value, list):
        return [t for t in (text_value(v) for v in value) if t]
    return []
