"""Throughput of the whole crawl beside plain trafilatura, on the same pages.

What it does, in one run:

1. Takes N pages. By default (``--set real``) the real pages of the development corpora
   (``../shared/corpus/aeb-dev`` and ``fundus-dev``, read from there at run time, never
   copied), cycled: the first round as they are, each later round a copy whose visible text
   runs have their words shuffled and whose canonical URL gets a query parameter, so neither
   exact nor near-duplicate detection fires while markup, size and words stay real.
   ``--set generated`` generates N article pages instead (seeded, so reruns see the same
   pages): five publisher templates (legacy div soup, WordPress, semantic HTML5, a Next.js-
   style app with a large JSON state blob, a European daily in German/French/Spanish), 40-150
   KB each, with header navigation, breadcrumbs, inline teasers, "most read" sidebars,
   newsletter and cookie boxes, related-article grids, footers, inline scripts and styles,
   JSON-LD and OpenGraph.
2. Serves them from memory on 127.0.0.1 (an asyncio HTTP/1.1 keep-alive server in a thread of
   this process; its own CPU time is printed, to show it is not the bottleneck).
3. Times, each in its own process tree:
   - plain trafilatura: `trafilatura.extract(html, url=url)` (its defaults) over the
     pages, one process, pages already decoded in memory (the loop alone is timed);
   - newscrawl's extractor the same way (`extract_article`), for its CPU cost per page;
   - the real `scrapy crawl articles -a urls=FILE` (downloads to JSONL, worker pool
     included), AutoThrottle and download delay off;
   - trafilatura's own command-line downloader, `trafilatura --input-file FILE --parallel 2`,
     with a config file that sets SLEEP_TIME = 0 (its default waits 5 s between requests to
     one host) and SSRF_PROTECTION = off (it refuses 127.0.0.1 otherwise).
4. Prints pages/s, CPU seconds per page for the whole process tree (worker processes
   included), peak RSS of the tree (sum over its processes, sampled every 0.1 s), ratios to
   plain trafilatura, and the targets of issue 16, met or not.

CPU time of a tree is exact: this process makes itself the "child subreaper" (Linux), so
every descendant, orphaned or not, is waited for by someone, and `getrusage(RUSAGE_CHILDREN)`
sums them all.

Usage (from the repository root)::

    .venv/bin/python benchmarks/throughput.py                 # 2,000 pages
    .venv/bin/python benchmarks/throughput.py --pages 10000   # the RSS target's size
    .venv/bin/python benchmarks/throughput.py --pages 10000 --crawl-only  # the crawl alone
    .venv/bin/python benchmarks/throughput.py --workers 1 --keep

Needs psutil (RSS sampling). Network: 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SAMPLE_EVERY = 0.1

# Targets (issue 16) on a 2-core machine, each a ratio to plain trafilatura in the same run.
TARGET_RATE_VS_PLAIN = 1.5
TARGET_RSS_MB = 400
TARGET_RSS_PAGES = 10_000
TARGET_EXTRACTOR_CPU_VS_PLAIN = 0.8
TARGET_CRAWLER_CPU_VS_PLAIN = 0.3  # the crawler process alone (extraction workers excluded)
RSS_GROWTH_TOLERANCE = 0.05  # peak after 2,000 pages within 5% of the peak before

# --------------------------------------------------------------------------------------------
# Page generation
# --------------------------------------------------------------------------------------------

EN_WORDS = """the council said on tuesday that plans for a new bridge across the river would go
ahead despite objections from residents who fear traffic will rise sharply in the town centre
officials insisted the project had been scrutinised carefully and would create hundreds of
jobs during construction while improving links between the northern estates and the station
campaigners argue that the consultation was rushed and that alternative routes were never
properly assessed by independent engineers the cost has risen from an initial estimate of
forty million pounds to nearly seventy million according to documents seen by this newspaper
ministers have promised additional funding but details remain unclear a spokesperson for the
department declined to comment on the figures saying only that the government remained
committed to investment in regional infrastructure local businesses are divided some traders
welcome the prospect of more customers others worry about years of disruption and lost trade
the leader of the opposition group described the decision as reckless and called for an
urgent review of the contracts awarded so far the chief executive responded that every step
had followed procurement rules and that delays would only add to the final bill residents
will be able to view the revised plans at the library next month before a final vote in the
spring police reported a rise in incidents linked to the closure of the old crossing while
hospital managers said ambulance times had worsened during peak hours teachers parents and
pupils joined a march through the city on saturday demanding safer streets and cleaner air
scientists at the university published research showing pollution levels near schools
exceeded legal limits on more than half of the days measured last year the report found
that children walking to school were exposed to higher concentrations than adults in cars
""".split()

DE_WORDS = """die stadt hat am dienstag beschlossen dass der neubau der brücke trotz einwänden
der anwohner fortgesetzt wird viele bürger befürchten mehr verkehr in der innenstadt während
die verwaltung betont dass das projekt sorgfältig geprüft worden sei und hunderte arbeitsplätze
schaffen werde kritiker bemängeln dass die bürgerbeteiligung überstürzt gewesen sei und
alternative strecken nie unabhängig untersucht wurden die kosten sind von ursprünglich vierzig
millionen euro auf fast siebzig millionen gestiegen wie aus unterlagen hervorgeht die unserer
zeitung vorliegen das ministerium wollte sich zu den zahlen nicht äußern händler sind geteilter
meinung manche hoffen auf mehr kundschaft andere fürchten jahre voller baustellen""".split()

FR_WORDS = """la mairie a annoncé mardi que le projet de nouveau pont sur le fleuve serait
maintenu malgré les objections des riverains qui craignent une forte hausse de la circulation
dans le centre ville les élus assurent que le dossier a été étudié avec soin et créera des
centaines d'emplois pendant les travaux les opposants estiment que la concertation a été
bâclée et que les tracés alternatifs n'ont jamais été évalués par des ingénieurs indépendants
le coût est passé de quarante millions d'euros à près de soixante-dix millions selon des
documents consultés par notre journal les commerçants sont partagés""".split()

ES_WORDS = """el ayuntamiento anunció el martes que el proyecto del nuevo puente sobre el río
seguirá adelante pese a las objeciones de los vecinos que temen un fuerte aumento del tráfico
en el centro los responsables aseguran que el proyecto ha sido examinado con cuidado y creará
cientos de empleos durante las obras los críticos sostienen que la consulta fue precipitada y
que nunca se estudiaron rutas alternativas el coste ha pasado de cuarenta millones de euros a
casi setenta millones según documentos a los que ha tenido acceso este diario""".split()

LANGUAGES = {"en": EN_WORDS, "de": DE_WORDS, "fr": FR_WORDS, "es": ES_WORDS}
FIRST_NAMES = "Harriet Daniel Amira Tomasz Sofia Kwame Elena Marcus Priya Jonas Lucia".split()
LAST_NAMES = "Okonjo Fischer Haddad Nowak Rossi Mensah Petrova Reid Sharma Berg Navarro".split()
SECTIONS = "news politics business sport culture science health world local opinion".split()


@dataclass
class Page:
    path: str
    body: bytes
    words: int


class Text:
    """Deterministic prose-like text in one language."""

    def __init__(self, rng: random.Random, language: str) -> None:
        self.rng = rng
        self.words = LANGUAGES[language]

    def sentence(self, low: int = 8, high: int = 26) -> str:
        words = self.rng.choices(self.words, k=self.rng.randint(low, high))
        if self.rng.random() < 0.3:
            words.insert(self.rng.randrange(len(words)), f"{self.rng.randint(2, 990)}")
        words[0] = words[0].capitalize()
        sentence = " ".join(words)
        if self.rng.random() < 0.25:
            sentence = f"\u201c{sentence},\u201d said {self.name()}"
        return sentence + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 6)))

    def headline(self) -> str:
        return self.sentence(6, 13).rstrip(".").replace("\u201c", "").replace("\u201d", "")

    def name(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    def slug(self) -> str:
        words = [w for w in self.rng.choices(self.words, k=8) if w.isascii() and w.isalnum()]
        return "-".join(words[:5]) or "story"


def _links(rng: random.Random, text: Text, count: int, prefix: str, tag: str = "li") -> str:
    items = []
    for _ in range(count):
        label = " ".join(rng.choices(text.words, k=rng.randint(1, 3))).title()
        href = f"{prefix}/{text.slug()}/"
        items.append(f'<{tag} class="menu-item"><a href="{href}">{label}</a></{tag}>')
    return "\n".join(items)


def _teasers(rng: random.Random, text: Text, count: int, style: str) -> str:
    blocks = []
    for index in range(count):
        href = f"/{rng.choice(SECTIONS)}/{text.slug()}-{rng.randint(10**5, 10**6)}"
        image = f"https://img.example/{rng.randint(10**6, 10**7)}.jpg?w=320&amp;h=180"
        if style == "card":
            blocks.append(
                f'<div class="card card--teaser" data-position="{index}"><a class="card__link" '
                f'href="{href}"><picture><source srcset="{image}&amp;fmt=webp" type="image/webp">'
                f'<img src="{image}" alt="{text.headline()}" loading="lazy" width="320" '
                f'height="180"></picture><h3 class="card__title">{text.headline()}</h3></a>'
                f'<p class="card__summary">{text.sentence(10, 20)}</p><span class="card__meta">'
                f"{rng.randint(1, 23)} hours ago</span></div>"
            )
        elif style == "article":
            blocks.append(
                f'<article class="teaser"><a href="{href}"><img src="{image}" alt=""></a>'
                f'<h3><a href="{href}">{text.headline()}</a></h3><p>{text.sentence(10, 18)}</p>'
                f'<time datetime="2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}">'
                f"{rng.randint(1, 28)} March</time></article>"
            )
        else:
            blocks.append(
                f'<li class="most-read__item"><span class="rank">{index + 1}</span>'
                f'<a href="{href}">{text.headline()}</a></li>'
            )
    return "\n".join(blocks)


def _script(rng: random.Random, size: int) -> str:
    """An inline script of about `size` bytes: analytics config and a bundled function soup."""
    parts = ["window.__ads = window.__ads || []; (function(w,d){"]
    total = 0
    while total < size:
        name = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(4, 10)))
        chunk = (
            f"function {name}(e,t){{var n=e.getAttribute('data-{name}')||'';if(!n)return t;"
            f"return n.split(',').map(function(x){{return x.trim()+'{rng.randint(0, 10**6)}'}})"
            f".filter(Boolean).join('|')}};w.{name}={name};"
        )
        parts.append(chunk)
        total += len(chunk)
    parts.append("})(window,document);")
    return "<script>" + "".join(parts) + "</script>"


def _style(rng: random.Random, size: int) -> str:
    rules = []
    total = 0
    while total < size:
        cls = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz-", k=rng.randint(5, 14)))
        rule = (
            f".{cls}{{margin:{rng.randint(0, 40)}px {rng.randint(0, 40)}px;"
            f"color:#{rng.randint(0, 0xFFFFFF):06x};font-size:{rng.randint(10, 32)}px}}"
        )
        rules.append(rule)
        total += len(rule)
    return "<style>" + "".join(rules) + "</style>"


def _jsonld(
    url: str, title: str, author: str, published: str, site: str, section: str, text: str
) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": title,
        "url": url,
        "mainEntityOfPage": url,
        "datePublished": published,
        "dateModified": published,
        "author": [{"@type": "Person", "name": author}],
        "publisher": {"@type": "Organization", "name": site},
        "articleSection": section,
        "description": text,
        "image": ["https://img.example/lead.jpg"],
    }
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


def make_page(index: int, seed: int) -> Page:
    """One article page; its size is drawn from 40-150 KB and filled to about that."""
    rng = random.Random(seed * 1_000_003 + index)
    template = index % 5
    language = ("en", "de", "fr", "es")[rng.randrange(4)] if template == 4 else "en"
    text = Text(rng, language)
    site = ["Capital Voice", "Lakeshore Post", "The Ashvale Echo", "Tech Circuit", "Diario"][
        template
    ]
    section = rng.choice(SECTIONS)
    path = f"/{section}/{text.slug()}-{index}.html"
    url = f"https://www.site{template}.example{path}"
    title = text.headline()
    author = text.name()
    month, day, hour = rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23)
    published = f"2025-{month:02d}-{day:02d}T{hour:02d}:15:00Z"
    target = int(rng.triangular(40_000, 144_000, 88_000))  # a last block may add ~6 KB
    paragraphs = [text.paragraph() for _ in range(rng.randint(6, 30))]
    body_parts = []
    for number, paragraph in enumerate(paragraphs):
        body_parts.append(f"<p>{paragraph}</p>")
        if number and number % 7 == 0:
            body_parts.append(f"<h2>{text.headline()}</h2>")
        if number == 3:
            body_parts.append(
                f'<aside class="inline-related"><span>Read more:</span> <a href="/{section}/'
                f'{text.slug()}">{text.headline()}</a></aside>'
            )
        if number == 5:
            body_parts.append(
                f'<figure><img src="https://img.example/{rng.randint(1, 10**6)}.jpg" '
                f'alt="{text.headline()}"><figcaption>{text.sentence(6, 12)} Photo: '
                f"{text.name()}</figcaption></figure>"
            )
    words = sum(len(p.split()) for p in paragraphs)
    description = text.sentence(12, 22)
    head = (
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{title} | {site}</title>"
        f'<meta name="description" content="{description}">'
        f'<meta property="og:title" content="{title}"><meta property="og:type" content="article">'
        f'<meta property="og:url" content="{url}"><meta property="og:site_name" content="{site}">'
        f'<meta property="article:published_time" content="{published}">'
        f'<meta name="author" content="{author}"><link rel="canonical" href="{url}">'
        + _jsonld(url, title, author, published, site, section, description)
        + _style(rng, rng.randint(3_000, 12_000))
        + _script(rng, rng.randint(4_000, 15_000))
        + "</head>"
    )
    nav = (
        f'<header class="site-header"><a class="logo" href="/">{site}</a><nav class="main-nav">'
        f"<ul>{_links(rng, text, rng.randint(40, 120), '')}</ul></nav>"
        f'<div class="breadcrumbs"><a href="/">Home</a> &gt; <a href="/{section}/">'
        f"{section.title()}</a></div></header>"
    )
    cookie = (
        '<div id="cookie-banner" class="consent"><p>We use cookies to improve your experience '
        "and to show personalised ads. By continuing you agree to our cookie policy.</p>"
        "<button>Accept all</button><button>Manage settings</button></div>"
    )
    newsletter = (
        '<div class="newsletter-signup"><h3>Get our morning briefing</h3><p>The day\'s top '
        'stories in your inbox every weekday.</p><form><input type="email"><button>Sign up'
        "</button></form></div>"
    )
    byline = (
        f'<div class="byline">By <a rel="author" href="/authors/{text.slug()}">{author}</a>'
        f'</div><time datetime="{published}">{published[:10]}</time>'
    )
    article_body = "\n".join(body_parts)
    if template == 0:  # legacy div soup
        main = (
            f'<div id="content"><div class="article-wrap"><h1 class="headline">{title}</h1>'
            f'{byline}<div class="article-body">{article_body}</div>{newsletter}</div>'
            f'<div class="sidebar"><h3>Most read</h3><ol>{_teasers(rng, text, 10, "list")}</ol>'
            "</div></div>"
        )
    elif template == 1:  # WordPress
        main = (
            f'<div id="primary" class="content-area"><main id="main" class="site-main">'
            f'<article class="post type-post status-publish"><header class="entry-header">'
            f'<h1 class="entry-title">{title}</h1><div class="entry-meta">{byline}</div></header>'
            f'<div class="entry-content">{article_body}</div><footer class="entry-footer">'
            f'<span class="cat-links">Posted in <a href="/{section}/">{section}</a></span>'
            f'</footer></article><div id="comments"><h2>{rng.randint(0, 80)} comments</h2></div>'
            f'</main></div><aside id="secondary" class="widget-area"><section class="widget">'
            f'<h2 class="widget-title">Recent posts</h2><ul>{_teasers(rng, text, 8, "list")}'
            "</ul></section></aside>"
        )
    elif template == 2:  # semantic HTML5
        main = (
            f'<main><article class="story"><header><p class="kicker">{section.title()}</p><h1>'
            f'{title}</h1>{byline}</header><section class="story-body">{article_body}</section>'
            f'</article><section class="related"><h2>More from {site}</h2>'
            f"{_teasers(rng, text, 6, 'article')}</section></main>"
        )
    elif template == 3:  # app shell with a state blob
        state = {
            "props": {
                "page": {"title": title, "teasers": [text.headline() for _ in range(30)]},
                "ads": [{"slot": f"slot-{i}", "sizes": [[300, 250], [728, 90]]} for i in range(20)],
            }
        }
        main = (
            f'<div id="__next"><div class="Layout_root__x1"><main class="Article_main__a9">'
            f'<h1 class="Headline_h1__zz">{title}</h1><div class="Byline_wrap__q2">{byline}</div>'
            f'<div class="RichText_body__k3" data-component="text-block">{article_body}</div>'
            f'</main><div class="Rail_rail__r1">{_teasers(rng, text, 8, "card")}</div></div></div>'
            f'<script id="__NEXT_DATA__" type="application/json">'
            f"{json.dumps(state, ensure_ascii=False)}</script>"
        )
    else:  # European daily
        main = (
            f'<div class="layout"><div class="col-main"><article itemscope '
            f'itemtype="https://schema.org/NewsArticle"><h1 itemprop="headline">{title}</h1>'
            f'{byline}<div itemprop="articleBody">{article_body}</div></article></div>'
            f'<div class="col-side"><div class="mas-leidas"><h3>Lo más leído</h3><ul>'
            f"{_teasers(rng, text, 10, 'list')}</ul></div></div></div>"
        )
    footer = (
        f'<footer class="site-footer"><div class="footer-links"><ul>'
        f"{_links(rng, text, rng.randint(40, 100), '/about')}</ul></div><p>&copy; 2025 {site}. "
        "All rights reserved. Registered in England and Wales.</p></footer>"
    )
    parts = [head, "<body>", cookie, nav, main]
    page = "".join(parts)
    # Fill to the drawn size the way real pages are heavy: more teaser grids and scripts.
    fill = []
    size = len(page.encode("utf-8")) + len(footer)
    while size < target:
        if rng.random() < 0.6:
            block = (
                f'<section class="more-stories"><h2>{text.headline()}</h2>'
                f'<div class="grid">{_teasers(rng, text, rng.randint(4, 12), "card")}</div>'
                "</section>"
            )
        else:
            block = _script(rng, rng.randint(2_000, 8_000))
        fill.append(block)
        size += len(block.encode("utf-8"))
    html = page + "".join(fill) + footer + "</body></html>"
    return Page(path, html.encode("utf-8"), words)


def generate(count: int, seed: int) -> list[Page]:
    return [make_page(index, seed) for index in range(count)]


# --------------------------------------------------------------------------------------------
# Real pages: the development corpora, read at run time, copies varied so no de-duplication
# --------------------------------------------------------------------------------------------

DEFAULT_CORPORA = (
    REPO.parent / "shared" / "corpus" / "aeb-dev",
    REPO.parent / "shared" / "corpus" / "fundus-dev",
)
_SKIP_BLOCKS = re.compile(r"(<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->)", re.S | re.I)
_TEXT_RUN = re.compile(r">([^<]{40,})<")
_URL_ATTR = re.compile(
    r"""(<(?:link|meta)\b[^>]*?(?:rel=["']?canonical|property=["']?og:url)[^>]*?"""
    r"""(?:href|content)=["'])([^"']+)""",
    re.I,
)


def corpus_pages(corpus: Path) -> list[tuple[str, str, str]]:
    """(name, url, html) for each page of an aeb-dev or fundus-dev style corpus, read as the
    extraction evaluation reads it."""
    sys.path.insert(0, str(REPO))
    from benchmarks.extraction_eval import is_corpus, load_corpus

    if not is_corpus(corpus):
        sys.exit(f"--corpus: {corpus} holds neither ground-truth.json nor expected.jsonl")
    return [
        (f"{corpus.name}/{page.page_id}", page.url, page.html) for page in load_corpus(corpus, None)
    ]


def vary(html: str, rng: random.Random, copy: int) -> str:
    """One more copy of a real page that no de-duplication takes for the original.

    Every run of visible text of 40+ characters (outside scripts, styles and comments) has its
    words shuffled, so no 5-word shingle of the body survives (near-duplicates do not fire) while
    the markup, the size and the words stay those of the real page; the canonical URL gets a
    query parameter of its own (else every copy would be a `duplicate_url`).
    """

    def shuffle(match: re.Match[str]) -> str:
        words = match.group(1).split()
        rng.shuffle(words)
        return ">" + " ".join(words) + "<"

    parts = _SKIP_BLOCKS.split(html)
    for index in range(0, len(parts), 2):  # the even parts are outside the skipped blocks
        parts[index] = _TEXT_RUN.sub(shuffle, parts[index])
    joined = "".join(parts)
    return _URL_ATTR.sub(
        lambda m: m.group(1) + m.group(2) + ("&" if "?" in m.group(2) else "?") + f"nc-copy={copy}",
        joined,
    )


def real(count: int, seed: int, corpora: list[Path]) -> list[Page]:
    """`count` pages cycling through the corpora's real pages: the first round as they are,
    each later round a varied copy (`vary`)."""
    bases = [page for corpus in corpora for page in corpus_pages(corpus)]
    if not bases:
        sys.exit(f"no pages found in {', '.join(map(str, corpora))}")
    pages = []
    for index in range(count):
        name, _, html = bases[index % len(bases)]
        copy = index // len(bases)
        if copy:
            html = vary(html, random.Random(f"{seed}-{index}"), copy)
        path = f"/{copy:04d}/{name.replace(' ', '_')}.html"
        words = sum(len(run.split()) for run in _TEXT_RUN.findall(html))
        pages.append(Page(path, html.encode("utf-8"), words))
    return pages


# --------------------------------------------------------------------------------------------
# Server: pages from memory, HTTP/1.1 keep-alive, in a thread of this process
# --------------------------------------------------------------------------------------------

ROBOTS = b"User-agent: *\nAllow: /\n"


class PageServer:
    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = pages
        self.port = 0
        self.requests = 0
        self.cpu = 0.0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="page-server", daemon=True)

    def start(self) -> PageServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._serve())
        self.cpu = time.thread_time()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0, backlog=256)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
                parts = request_line.split(" ")
                path = parts[1].split("?", 1)[0] if len(parts) > 1 else "/"
                if path == "/robots.txt":
                    status, ctype, body = "200 OK", "text/plain", ROBOTS
                elif (page := self.pages.get(path)) is not None:
                    status, ctype, body = "200 OK", "text/html; charset=utf-8", page
                else:
                    status, ctype, body = "404 Not Found", "text/html", b"<h1>Not found</h1>"
                close = b"connection: close" in head.lower()
                connection = "close" if close else "keep-alive"
                header = (
                    f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: {connection}\r\n\r\n"
                )
                writer.write(header.encode("latin-1") + body)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


# --------------------------------------------------------------------------------------------
# Measuring a process tree
# --------------------------------------------------------------------------------------------


def become_subreaper() -> bool:
    """Orphaned descendants are re-parented to this process, so all of them get waited for."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, 1, 0, 0, 0) == 0)  # PR_SET_CHILD_SUBREAPER
    except OSError:
        return False


@dataclass
class TreeRun:
    name: str
    command: list[str]
    returncode: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    peak_rss: int = 0
    rss_series: list[tuple[float, int, int]] = field(default_factory=list)  # time, rss, done
    main_cpu: float = 0.0  # the command's own process (last sample before it ended)
    others_cores: float = 0.0  # CPU used meanwhile by processes outside the tree, in cores
    stdout: str = ""
    stderr: str = ""


def run_tree(
    name: str,
    command: list[str],
    *,
    cwd: Path,
    progress: Callable[[], int] | None = None,
    timeout: float = 3600,
) -> TreeRun:
    """Run a command; measure wall time, CPU of the whole tree, and the tree's peak RSS."""
    import psutil

    print(f"running: {name}", flush=True)
    run = TreeRun(name, command)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    busy_before = _busy_seconds()
    me = psutil.Process()
    stop = threading.Event()

    def sample() -> None:
        root = psutil.Process(process.pid)
        while not stop.is_set():
            with contextlib.suppress(psutil.Error):
                times = root.cpu_times()
                run.main_cpu = times.user + times.system
            total = 0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
            done = progress() if progress else 0
            run.rss_series.append((time.monotonic() - started, total, done))
            run.peak_rss = max(run.peak_rss, total)
            stop.wait(SAMPLE_EVERY)

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            run.returncode = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            run.returncode = process.wait()
        run.wall = time.monotonic() - started
        _reap_orphans()
        stop.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        run.stdout = out.read().decode("utf-8", "replace")
        run.stderr = err.read().decode("utf-8", "replace")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    own = (self_after.ru_utime - self_before.ru_utime) + (
        self_after.ru_stime - self_before.ru_stime
    )
    others = _busy_seconds() - busy_before - run.cpu - own
    run.others_cores = max(0.0, others / run.wall) if run.wall else 0.0
    return run


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all processes, all cores)."""
    import psutil

    times = psutil.cpu_times()
    return float(
        sum(
            getattr(times, name, 0.0)
            for name in ("user", "nice", "system", "irq", "softirq", "steal")
        )
    )


def _reap_orphans(deadline: float = 30.0) -> None:
    """Wait for descendants left behind (re-parented to us as subreaper)."""
    end = time.monotonic() + deadline
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > end:
                import psutil

                for child in psutil.Process().children(recursive=True):
                    child.kill()
                end = time.monotonic() + 5
            time.sleep(0.02)


class LineCounter:
    """Lines written so far to some files (the crawl's JSONL outputs), read incrementally."""

    def __init__(self, pattern_dir: Path, names: tuple[str, ...]) -> None:
        self.dir = pattern_dir
        self.names = names
        self.offsets: dict[Path, int] = {}
        self.count = 0

    def __call__(self) -> int:
        for name in self.names:
            for path in self.dir.glob(f"*/*/{name}"):
                offset = self.offsets.get(path, 0)
                try:
                    with path.open("rb") as handle:
                        handle.seek(offset)
                        chunk = handle.read()
                except OSError:
                    continue
                self.count += chunk.count(b"\n")
                self.offsets[path] = offset + len(chunk)
        return self.count


# --------------------------------------------------------------------------------------------
# The in-process extraction loops (run as `throughput.py --_extract KIND LIST`)
# --------------------------------------------------------------------------------------------


def extract_loop(kind: str, list_file: Path) -> None:
    """Time extraction over the listed pages in this one process; print the sums as JSON.

    `plain`: trafilatura.extract(html, url=url), its defaults. `pair`: newscrawl's
    extract_article and plain trafilatura taking turns page by page (which goes first
    alternates), so machine load hits both alike: the fair comparison of their CPU cost per
    page. Pages are read one at a time (the RSS is the extractors', not the corpus'); only the
    extraction calls are timed, after one untimed warm-up call each.
    """
    import trafilatura

    def plain(html: str, url: str) -> bool:
        return bool(trafilatura.extract(html, url=url))

    extractors: dict[str, Callable[[str, str], bool]] = {"plain": plain}
    if kind == "pair":
        sys.path.insert(0, str(REPO))
        from newscrawl.extraction import extract_article

        def ours(html: str, url: str) -> bool:
            return bool(extract_article(html, url).text)

        extractors["newscrawl"] = ours
    pages = [line.split("\t") for line in list_file.read_text().splitlines()]
    first_url, first_path = pages[0]
    for extract in extractors.values():
        extract(Path(first_path).read_bytes().decode("utf-8"), first_url)
    totals = {name: {"ok": 0, "wall": 0.0, "cpu": 0.0} for name in extractors}
    order = list(extractors)
    for url, path in pages:
        html = Path(path).read_bytes().decode("utf-8")
        order.reverse()
        for name in order:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            ok = extractors[name](html, url)
            totals[name]["wall"] += time.perf_counter() - wall0
            totals[name]["cpu"] += time.process_time() - cpu0
            totals[name]["ok"] += ok
    print(json.dumps({"pages": len(pages), **totals}))


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    pages: int
    wall: float
    cpu: float
    peak_rss: int
    note: str = ""
    others_cores: float = 0.0

    @property
    def rate(self) -> float:
        return self.pages / self.wall if self.wall else 0.0

    @property
    def cpu_per_page(self) -> float:
        return self.cpu / self.pages if self.pages else 0.0


def _mb(value: int) -> str:
    return f"{value / 2**20:.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="pages to serve (2000)")
    parser.add_argument(
        "--set",
        choices=("real", "generated"),
        default="real",
        help="real: the corpora's pages, varied copies (default); generated: the templates",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        help="a corpus directory for --set real (repeatable; default: ../shared/corpus/"
        "aeb-dev and fundus-dev beside the repository)",
    )
    parser.add_argument(
        "--workers", default="auto", help="NEWSCRAWL_EXTRACT_WORKERS for the crawl (auto)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--seed", type=int, default=6, help="page generator seed (6)")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="CONCURRENT_REQUESTS(_PER_DOMAIN) (16)"
    )
    parser.add_argument("--skip-cli", action="store_true", help="skip trafilatura's CLI")
    parser.add_argument(
        "--crawl-only",
        action="store_true",
        help="run the crawl alone (the memory targets at --pages 10000, without the references)",
    )
    parser.add_argument("--_extract", nargs=2, metavar=("KIND", "LIST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._extract:
        extract_loop(args._extract[0], Path(args._extract[1]))
        return 0
    try:
        import psutil  # noqa: F401
    except ImportError:
        sys.exit("throughput.py needs psutil: .venv/bin/pip install psutil")

    subreaper = become_subreaper()
    work = Path(tempfile.mkdtemp(prefix="newscrawl-throughput-"))
    print(f"work directory: {work}{'' if args.keep else ' (removed at the end; --keep keeps it)'}")
    try:
        return _benchmark(args, work, subreaper)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _benchmark(args: argparse.Namespace, work: Path, subreaper: bool) -> int:
    started = time.monotonic()
    if args.set == "real":
        pages = real(args.pages, args.seed, args.corpus or list(DEFAULT_CORPORA))
    else:
        pages = generate(args.pages, args.seed)
    sizes = sorted(len(page.body) for page in pages)
    print(
        f"{args.set} set, {len(pages)} pages in {time.monotonic() - started:.1f}s: "
        f"{sum(sizes) / len(sizes) / 1000:.0f} KB mean, {sizes[0] / 1000:.0f}-"
        f"{sizes[-1] / 1000:.0f} KB, "
        f"{sum(p.words for p in pages) / len(pages):.0f} words mean",
        flush=True,
    )
    page_dir = work / "pages"
    served: dict[str, bytes] = {}
    server = PageServer(served).start()
    base = f"http://127.0.0.1:{server.port}"
    url_lines, list_lines = [], []
    for number, page in enumerate(pages):
        file = page_dir / f"{number:06d}.html"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(page.body)
        served[page.path] = page.body
        url_lines.append(base + page.path)
        list_lines.append(f"{base}{page.path}\t{file}")
    del pages
    url_file = work / "urls.txt"
    url_file.write_text("\n".join(url_lines) + "\n")
    list_file = work / "pages.tsv"
    list_file.write_text("\n".join(list_lines) + "\n")
    count = len(url_lines)
    python = str(BIN / "python")
    rows: dict[str, Row] = {}

    # 1. Plain trafilatura, one process (again after the crawl: load on a shared machine
    #    drifts, so the reference rate is the mean of the two).
    def plain_loop(kind: str) -> tuple[TreeRun, dict[str, Any]]:
        run = run_tree(kind, [python, __file__, "--_extract", kind, str(list_file)], cwd=REPO)
        if run.returncode != 0:
            sys.exit(run.stderr[-3000:])
        return run, json.loads(run.stdout.strip().splitlines()[-1])

    plain_runs = [] if args.crawl_only else [plain_loop("plain")]

    # 3. The crawl.
    out_dir = work / "out"
    crawl_command = [
        str(BIN / "scrapy"), "crawl", "articles", "-a", f"urls={url_file}",
        "-s", f"NEWSCRAWL_OUTPUT_DIR={out_dir}", "-s", f"NEWSCRAWL_STATE={work / 'state.sqlite3'}",
        "-s", f"NEWSCRAWL_EXTRACT_WORKERS={args.workers}",
        "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
        "-s", f"CONCURRENT_REQUESTS={args.concurrency}",
        "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={args.concurrency}",
        "-s", "LOG_LEVEL=WARNING",
    ]  # fmt: skip
    counter = LineCounter(out_dir, ("articles.jsonl", "rejects.jsonl"))
    crawl = run_tree("crawl", crawl_command, cwd=REPO, progress=counter)
    runs = sorted(out_dir.glob("articles/*/run.json"))
    summary = json.loads(runs[-1].read_text()) if runs else {}
    counts = summary.get("counts", {})
    accounting_ok = summary.get("accounting", {}).get("ok")
    in_crawl = _crawl_seconds(summary)
    rows["crawl"] = Row(
        f"scrapy crawl articles (workers={args.workers})", count, crawl.wall, crawl.cpu,
        crawl.peak_rss,
        f"whole process, start-up included; {counts.get('articles', '?')} articles, "
        f"{counts.get('rejects', '?')} rejects {counts.get('rejects_by_reason', {})}, "
        f"accounting ok={accounting_ok}, exit {crawl.returncode}; "
        f"{count / in_crawl:.1f} pages/s from spider open to close; CPU ms/page: crawler "
        f"process {crawl.main_cpu / count * 1000:.1f}, extraction workers and the rest "
        f"{(crawl.cpu - crawl.main_cpu) / count * 1000:.1f}" if in_crawl else "",
        crawl.others_cores,
    )  # fmt: skip

    if args.crawl_only:
        server.stop()
        print()
        print("crawl command:", " ".join(crawl_command))
        row = rows["crawl"]
        print(
            f"{row.name}: {row.rate:.1f} pages/s, {row.cpu_per_page * 1000:.1f} CPU ms/page, "
            f"peak RSS {_mb(row.peak_rss)}, other load {row.others_cores:.2f} cores"
        )
        print(f"  {row.note}")
        print()
        print("targets (issue 16, 2-core machine; the rate targets need the full benchmark):")
        _memory_targets(args, crawl, row)
        return 0 if crawl.returncode == 0 and accounting_ok else 1

    # 4. trafilatura's CLI downloader.
    if not args.skip_cli:
        config = work / "trafilatura.cfg"
        default_cfg = Path(_trafilatura_settings())
        text = default_cfg.read_text()
        text = text.replace("SLEEP_TIME = 5.0", "SLEEP_TIME = 0").replace(
            "SSRF_PROTECTION = on", "SSRF_PROTECTION = off"
        )
        config.write_text(text)
        cli_out = work / "trafilatura-out"
        cli_command = [
            str(BIN / "trafilatura"), "--input-file", str(url_file), "--parallel", "2",
            "--config-file", str(config), "-o", str(cli_out),
        ]  # fmt: skip
        cli = run_tree("cli", cli_command, cwd=work)
        written = sum(1 for f in cli_out.rglob("*") if f.is_file()) if cli_out.exists() else 0
        rows["cli"] = Row(
            "trafilatura CLI --parallel 2", count, cli.wall, cli.cpu, cli.peak_rss,
            f"whole process; {written} documents written, exit {cli.returncode}",
            cli.others_cores,
        )  # fmt: skip
    # 4. Plain trafilatura again, then newscrawl's extractor and plain trafilatura in turns.
    plain_runs.append(plain_loop("plain"))
    runs_, results = zip(*plain_runs, strict=True)
    plain_walls = [result["plain"]["wall"] for result in results]
    rows["plain"] = Row(
        "plain trafilatura.extract", count,
        sum(r["plain"]["wall"] for r in results) / len(results),
        sum(r["plain"]["cpu"] for r in results) / len(results),
        max(r.peak_rss for r in runs_),
        "1 process, the extraction calls timed; mean of a run before and one after the crawl "
        f"({' and '.join(f'{count / wall:.1f}' for wall in plain_walls)} pages/s); "
        f"{results[0]['plain']['ok']} with text",
        sum(r.others_cores for r in runs_) / len(runs_),
    )  # fmt: skip
    pair_run, pair = plain_loop("pair")
    rows["newscrawl"] = Row(
        "newscrawl extract_article", count, pair["newscrawl"]["wall"],
        pair["newscrawl"]["cpu"], pair_run.peak_rss,
        "1 process, in turns with plain trafilatura page by page (RSS: both loaded); "
        f"{pair['newscrawl']['ok']} with text; plain trafilatura in the same turns: "
        f"{pair['plain']['cpu'] / count * 1000:.1f} ms/page",
        pair_run.others_cores,
    )  # fmt: skip
    rows = {name: rows[name] for name in ("plain", "newscrawl", "crawl", "cli") if name in rows}
    server.stop()

    _report(args, rows, crawl, server, subreaper, crawl_command, pair)
    return 0 if crawl.returncode == 0 and accounting_ok else 1


def _trafilatura_settings() -> str:
    out = subprocess.run(
        [str(BIN / "python"), "-c", "import trafilatura.settings as s, os; "
         "print(os.path.join(os.path.dirname(s.__file__), 'settings.cfg'))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def _crawl_seconds(summary: dict[str, Any]) -> float:
    from datetime import datetime

    try:
        start = datetime.fromisoformat(summary["started_at"])
        end = datetime.fromisoformat(summary["finished_at"])
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def _report(
    args: argparse.Namespace,
    rows: dict[str, Row],
    crawl: TreeRun,
    server: PageServer,
    subreaper: bool,
    crawl_command: list[str],
    pair: dict[str, Any],
) -> None:
    plain = rows["plain"]
    print()
    print("crawl command:", " ".join(crawl_command))
    print(
        f"{'run':<42} {'pages/s':>8} {'CPU ms/page':>12} {'peak RSS':>9} "
        f"{'rate vs plain':>14} {'CPU vs plain':>13} {'other load':>11}"
    )
    for row in rows.values():
        print(
            f"{row.name:<42} {row.rate:>8.1f} {row.cpu_per_page * 1000:>12.1f} "
            f"{_mb(row.peak_rss):>9} {row.rate / plain.rate:>13.2f}x "
            f"{row.cpu_per_page / plain.cpu_per_page:>12.2f}x {row.others_cores:>5.2f} cores"
        )
    for row in rows.values():
        print(f"  {row.name}: {row.note}")
    print(
        f"  page server: {server.requests} requests, {server.cpu:.1f}s CPU in total "
        f"({server.cpu / max(1, server.requests) * 1000:.2f} ms a request)"
    )
    print(
        "  other load: CPU used meanwhile by processes outside the measured tree (this "
        "machine has 2 cores; figures taken with other load > 0.2 cores are not reliable)"
    )
    if not subreaper:
        print("  note: not Linux; CPU of orphaned worker processes may be missing")

    crawl_row, extractor = rows["crawl"], rows["newscrawl"]
    print()
    print("targets (issue 16, 2-core machine):")
    ratio = crawl_row.rate / plain.rate
    _target(
        f"crawl rate >= {TARGET_RATE_VS_PLAIN}x plain trafilatura",
        ratio >= TARGET_RATE_VS_PLAIN, f"{ratio:.2f}x",
    )  # fmt: skip
    if "cli" in rows:
        cli = rows["cli"]
        _target(
            "crawl faster than trafilatura's CLI downloader", crawl_row.rate > cli.rate,
            f"{crawl_row.rate:.1f} vs {cli.rate:.1f} pages/s ({crawl_row.rate / cli.rate:.2f}x)",
        )  # fmt: skip
    crawler_ratio = crawl.main_cpu / crawl_row.pages / plain.cpu_per_page
    _target(
        f"crawler process CPU/page <= {TARGET_CRAWLER_CPU_VS_PLAIN}x plain trafilatura",
        crawler_ratio <= TARGET_CRAWLER_CPU_VS_PLAIN,
        f"{crawl.main_cpu / crawl_row.pages * 1000:.1f} vs {plain.cpu_per_page * 1000:.1f} ms "
        f"({crawler_ratio:.2f}x; extraction workers excluded)",
    )  # fmt: skip
    _memory_targets(args, crawl, crawl_row)
    _extractor_target(pair, extractor)


def _memory_targets(args: argparse.Namespace, crawl: TreeRun, crawl_row: Row) -> None:
    # RSS growth: the tree's peak up to 2,000 pages written vs its peak afterwards.
    mark = min(2000, len(crawl.rss_series) and max(done for _, _, done in crawl.rss_series) // 5)
    early = max((rss for _, rss, done in crawl.rss_series if done <= mark), default=0)
    late = max((rss for _, rss, done in crawl.rss_series if done > mark), default=0)
    growth = (late - early) / early if early else 0.0
    measured_at = max((done for _, _, done in crawl.rss_series), default=0)
    rss_ok = crawl_row.peak_rss < TARGET_RSS_MB * 2**20
    size_note = (
        ""
        if args.pages >= TARGET_RSS_PAGES
        else f" (at {args.pages} pages; the target is at "
        f"{TARGET_RSS_PAGES}: run --pages {TARGET_RSS_PAGES})"
    )
    _target(
        f"peak RSS of the crawl's process tree < {TARGET_RSS_MB} MB",
        rss_ok if args.pages >= TARGET_RSS_PAGES else None,
        f"{_mb(crawl_row.peak_rss)}{size_note}",
    )  # fmt: skip
    _target(
        f"no RSS growth after {mark} pages",
        (growth <= RSS_GROWTH_TOLERANCE) if args.pages >= TARGET_RSS_PAGES else None,
        f"peak up to {mark} pages {_mb(early)}, after {_mb(late)} ({growth:+.0%}; "
        f"{measured_at} records seen)",
    )  # fmt: skip


def _extractor_target(pair: dict[str, Any], extractor: Row) -> None:
    ours, theirs = pair["newscrawl"]["cpu"], pair["plain"]["cpu"]
    cpu_ratio = ours / theirs
    _target(
        f"newscrawl extractor CPU/page <= {TARGET_EXTRACTOR_CPU_VS_PLAIN}x plain trafilatura",
        cpu_ratio <= TARGET_EXTRACTOR_CPU_VS_PLAIN,
        f"{ours / extractor.pages * 1000:.1f} vs {theirs / extractor.pages * 1000:.1f} ms, "
        f"in turns page by page ({cpu_ratio:.2f}x)",
    )  # fmt: skip


def _target(name: str, met: bool | None, detail: str) -> None:
    verdict = "MET" if met else ("not measured" if met is None else "NOT MET")
    print(f"  [{verdict:^12}] {name}: {detail}")


if __name__ == "__main__":
    sys.exit(main())
