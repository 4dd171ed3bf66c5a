"""The pages the throughput benchmarks serve.

The real set: the corpora's pages, then varied copies of them. The generated set: five
publisher templates, seeded."""

from __future__ import annotations

import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness.corpus import is_corpus, load_corpus

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
