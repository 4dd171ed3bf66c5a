"""A small news site on 127.0.0.1 for the discovery spiders, generated in memory.

It has what publishers have: robots.txt with Sitemap lines, a sitemap index (gzipped child,
a 2024 archive, a loop back to itself, broken children), a Google News sitemap, RSS and Atom
feeds, a front page, section fronts with pagination, tag and author pages, and articles with
JSON-LD. Articles in 2024 are older than the tests' `since` date.
"""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass

from tests.httpd import LocalServer, QuietHandler

SENTENCES = [
    "Council officers said the plan had been revised twice after public consultation",
    "Residents packed the community hall on Tuesday evening to question the proposals",
    "The project is expected to cost about four million pounds over three years",
    "Opposition members argued that the timetable left too little room for scrutiny",
    "A spokesperson for the operator said services would continue during the works",
    "Figures published last month show demand has risen steadily since the spring",
    "Local businesses welcomed the decision but asked for clearer information on access",
    "The authority will publish a full report before the next meeting in the autumn",
    "Campaigners said they would keep pressing for an independent review of the scheme",
    "Engineers found that the original survey had underestimated the scale of repairs",
    "Several schools in the area have already changed their timetables in response",
    "The chair of the committee described the vote as a turning point for the district",
    "Independent analysts said the savings claimed in the business case looked optimistic",
    "Volunteers have spent the summer recording wildlife along the proposed route",
    "The regional transport body confirmed it had set aside money for the first phase",
    "Parents said the changes would make the morning journey safer for younger children",
]
SUBJECTS = [
    "Harbour bridge",
    "Library",
    "Tram line",
    "Market hall",
    "Riverside park",
    "Bus depot",
    "Swimming pool",
    "Cycle lane",
    "Town hall",
    "Museum",
    "Railway station",
    "Sports ground",
]


@dataclass(frozen=True)
class Story:
    """One article of the site."""

    slug: str
    year: int
    month: int
    title: str
    author: str

    @property
    def path(self) -> str:
        return f"/news/{self.year}/{self.slug}.html"

    @property
    def date(self) -> str:
        return f"{self.year}-{self.month:02d}-14T09:30:00+00:00"


def _stories() -> list[Story]:
    authors = ["Priya Natarajan", "Tom Whitcombe", "Alys Morgan"]
    stories = []
    for index, subject in enumerate(SUBJECTS[:9]):
        year = 2024 if index >= 6 else 2025
        title = f"{subject} plans approved after long debate"
        stories.append(
            Story(
                f"{subject.lower().replace(' ', '-')}-plans",
                year,
                index + 1,
                title,
                authors[index % 3],
            )
        )
    return stories


STORIES = _stories()
NEW = [s for s in STORIES if s.year == 2025]  # 6 stories
OLD = [s for s in STORIES if s.year == 2024]  # 3 stories
IN_SITEMAP_2025 = NEW[:4]
IN_NEWS_SITEMAP = NEW[4:]
IN_RSS = NEW[:3] + OLD[:1]
IN_ATOM = NEW[3:] + OLD[1:2]


def story_body(story: Story) -> list[str]:
    """The article's body paragraphs, exactly as a clean extraction returns them."""
    rng = random.Random(story.slug)
    lead = (
        f"The {story.title.split(' plans')[0].lower()} plans were approved on Thursday after a"
        f" debate that lasted well into the evening, ending months of uncertainty."
    )
    picked = rng.sample(SENTENCES, 6)
    return [lead] + [f"{sentence} ({story.slug.split('-')[0]})." for sentence in picked]


def _page(title: str, main: str, head: str = "") -> str:
    links = [
        ("/", "Home"),
        ("/news/", "News"),
        ("/sport/", "Sport"),
        ("/tag/transport", "Transport"),
        ("https://elsewhere.example/", "Partner"),
    ]
    nav = "".join(f'<li><a href="{href}">{label}</a></li>' for href, label in links)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} | Valley Post'
        f'</title><meta property="og:site_name" content="Valley Post">{head}</head><body>'
        f'<header><a href="/">Valley Post</a><nav><ul>{nav}</ul></nav></header>'
        f"<main>{main}</main><footer><p>Valley Post, 1 High Street</p>"
        f'<a href="/about">About us</a> <a href="/contact">Contact</a></footer></body></html>'
    )


def article_html(story: Story) -> str:
    head = (
        '<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",'
        f'"headline":"{story.title}","datePublished":"{story.date}",'
        f'"author":{{"@type":"Person","name":"{story.author}"}}}}</script>'
        '<meta property="og:type" content="article">'
    )
    paragraphs = "".join(f"<p>{p}</p>" for p in story_body(story))
    others = [s for s in STORIES if s != story][:3]
    related = "".join(f'<li><a href="{s.path}">{s.title}</a></li>' for s in others)
    main = (
        f'<article><h1>{story.title}</h1><p class="byline">By <a href="/author/'
        f'{story.author.split()[0].lower()}">{story.author}</a></p><time datetime="{story.date}">'
        f'{story.date[:10]}</time><div class="article-body">{paragraphs}</div></article>'
        f'<aside class="related"><h2>Related</h2><ul>{related}</ul></aside>'
    )
    return _page(story.title, main, head)


def listing_html(title: str, stories: list[Story], next_page: str | None = None) -> str:
    teasers = "".join(
        f'<article class="teaser"><h2><a href="{s.path}">{s.title}</a></h2>'
        f"<p>{story_body(s)[0][:90]}...</p></article>"
        for s in stories
    )
    more = f'<a class="next" href="{next_page}">Next page</a>' if next_page else ""
    return _page(title, f"<h1>{title}</h1>{teasers}{more}")


def _urlset(base: str, stories: list[Story], news: bool = False) -> bytes:
    items = []
    for s in stories:
        extra = (
            "<news:news><news:publication><news:name>Valley Post</news:name>"
            "<news:language>en</news:language></news:publication>"
            f"<news:publication_date>{s.date}</news:publication_date>"
            f"<news:title>{s.title}</news:title></news:news>"
            if news
            else f"<lastmod>{s.date[:10]}</lastmod>"
        )
        items.append(f"<url><loc>{base}{s.path}</loc>{extra}</url>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        + "".join(items)
        + "</urlset>"
    ).encode()


def _rss(base: str, stories: list[Story]) -> bytes:
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    items = "".join(
        f"<item><title>{s.title}</title><link>{base}{s.path}</link>"
        f"<pubDate>14 {months[s.month - 1]} {s.year} 09:30:00 GMT</pubDate></item>"
        for s in stories
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Valley Post</title>'
        f"<link>{base}/</link><description>News</description>{items}</channel></rss>"
    ).encode()


def _atom(base: str, stories: list[Story]) -> bytes:
    entries = "".join(
        f'<entry><title>{s.title}</title><link rel="alternate" href="{base}{s.path}"/>'
        f"<id>{base}{s.path}</id><published>{s.date}</published><updated>{s.date}</updated></entry>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Valley Post</title><id>{base}/</id><updated>2025-09-14T09:30:00Z</updated>"
        f"{entries}</feed>"
    ).encode()


class NewsSite(LocalServer):
    """Serves the site from memory; counts hits per path."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self.hits: dict[str, int] = {}
        self.pages = self._build()

    def _build(self) -> dict[str, tuple[str, bytes]]:
        base = self.base
        xml, html = "application/xml", "text/html; charset=utf-8"
        index = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(
                f"<sitemap><loc>{base}{path}</loc></sitemap>"
                for path in [
                    "/sitemaps/articles-2025.xml.gz",
                    "/sitemaps/articles-2024.xml",
                    "/sitemap_index.xml",
                    "/sitemaps/broken.xml",
                    "/sitemaps/missing.xml",
                    "/sitemaps/page.xml",
                    "/sitemaps/empty.xml",
                    "/sitemaps/fake.xml.gz",
                ]
            )
            + "</sitemapindex>"
        ).encode()
        pages: dict[str, tuple[str, bytes]] = {
            "/robots.txt": (
                "text/plain",
                f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap_index.xml\n"
                f"Sitemap: {base}/news-sitemap.xml\n".encode(),
            ),
            "/sitemap_index.xml": (xml, index),
            "/sitemaps/articles-2025.xml.gz": (
                "application/x-gzip",
                gzip.compress(_urlset(base, IN_SITEMAP_2025)),
            ),
            "/sitemaps/articles-2024.xml": (xml, _urlset(base, OLD)),
            "/news-sitemap.xml": (xml, _urlset(base, IN_NEWS_SITEMAP, news=True)),
            "/sitemaps/broken.xml": (xml, b"<?xml version='1.0'?><urlset><url><loc>http://x"),
            "/sitemaps/page.xml": (html, b"<!doctype html><html><body>Moved</body></html>"),
            "/sitemaps/empty.xml": (xml, b""),
            "/sitemaps/fake.xml.gz": ("application/x-gzip", b"this is not gzip data at all"),
            "/feeds/rss.xml": ("application/rss+xml", _rss(base, IN_RSS)),
            "/feeds/atom.xml": ("application/atom+xml", _atom(base, IN_ATOM)),
            "/feeds/broken.xml": ("application/rss+xml", b"<rss version='2.0'><channel><item>"),
            # one bare & in the channel title: not well-formed XML, every item recoverable
            "/feeds/ampersand.xml": (
                "application/rss+xml",
                _rss(base, IN_RSS).replace(
                    b"<title>Valley Post</title>", b"<title>News & Sport</title>"
                ),
            ),
            "/feeds/page.html": (
                html,
                b"<!doctype html><html><body><p>Not a feed</p></body></html>",
            ),
            "/": (html, listing_html("Valley Post", NEW[:2] + [s for s in OLD[:1]]).encode()),
            "/news/": (html, listing_html("News", NEW[:5], "/news/?page=2").encode()),
            "/news/?page=2": (html, listing_html("News, page 2", NEW[5:] + OLD, None).encode()),
            "/sport/": (html, listing_html("Sport", []).encode()),
            "/tag/transport": (html, listing_html("Transport", NEW[2:4]).encode()),
            "/about": (
                html,
                _page("About us", "<h1>About us</h1><p>We are a local paper.</p>").encode(),
            ),
            "/contact": (html, _page("Contact", "<h1>Contact</h1><p>Write to us.</p>").encode()),
        }
        for story in STORIES:
            pages[story.path] = (html, article_html(story).encode())
        for author in {s.author.split()[0].lower() for s in STORIES}:
            mine = [s for s in STORIES if s.author.split()[0].lower() == author]
            pages[f"/author/{author}"] = (
                html,
                listing_html(f"Articles by {author}", mine).encode(),
            )
        return pages


class _Handler(QuietHandler):
    server: NewsSite

    def do_GET(self) -> None:
        self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1
        content_type, body = self.server.pages.get(self.path, ("text/html", b"<h1>Not found</h1>"))
        self.send(200 if self.path in self.server.pages else 404, content_type, body)
