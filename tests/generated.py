"""Article pages generated in memory for the rerun tests: many, unique, and changeable.

`article_html(n)` is story n: eight paragraphs of words drawn with a seed of n, so every
story has its own text (no two are near-duplicates). `revision` > 1 appends an update
paragraph (the page changed); `copy=True` is a syndicated near-copy: another headline and
one paragraph added, its canonical link pointing to another site.
"""

from __future__ import annotations

import random

WORDS = (
    "council water river budget school hospital police market station bridge harbour "
    "village minister report court judge teacher doctor nurse farmer worker union strike "
    "election vote campaign policy plan review inquiry evidence witness statement figure "
    "rate price cost wage pension tax benefit housing rent energy power grid wind solar "
    "storm flood drought harvest crop forest park garden road rail train bus airport "
    "flight ship port trade export import factory plant office shop bank loan debt fund "
    "charity volunteer festival museum library theatre concert match team player coach "
    "season league title record result score goal morning evening week month year decade "
    "local regional national public private new old large small early late quickly slowly "
    "said told warned promised agreed refused announced confirmed denied expected reported "
    "claimed argued suggested insisted admitted revealed described welcomed criticised"
).split()
SITE = "Test Gazette"


def _paragraphs(seed: str, count: int, words: int) -> list[str]:
    rng = random.Random(seed)
    paragraphs = []
    for _ in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(words))
        paragraphs.append(text[0].upper() + text[1:] + ".")
    return paragraphs


def article_text(n: int, revision: int = 1) -> list[str]:
    """The body paragraphs of story n at a revision."""
    paragraphs = _paragraphs(f"story-{n}", 8, 50)
    for update in range(2, revision + 1):
        paragraphs += _paragraphs(f"story-{n}-update-{update}", 1, 30)
    return paragraphs


def article_html(n: int, revision: int = 1, *, copy: bool = False) -> bytes:
    title = f"Story {n}: council publishes the figures"
    paragraphs = article_text(n, revision)
    canonical = ""
    if copy:
        title = f"Syndicated: what the council figures mean for story {n}"
        paragraphs = [*paragraphs, *_paragraphs(f"story-{n}-syndication", 1, 25)]
        canonical = f'<link rel="canonical" href="https://syndicator.example/copies/{n}">'
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} | {SITE}</title>{canonical}
<meta property="og:site_name" content="{SITE}">
<meta name="author" content="Alex Writer">
</head><body>
<header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
<main><article>
<h1>{title}</h1>
<p class="byline">By Alex Writer</p>
{body}
</article></main>
<footer><p>Copyright {SITE}</p></footer>
</body></html>
"""
    return page.encode("utf-8")
