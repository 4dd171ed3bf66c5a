"""Property-based fuzzing of what reads strangers' input: the extractor and the URL-list reader.

Whatever the bytes, the outcome is one of the documented ones: fields with clean text (or
none), a valid Article or a ValidationError naming fields; an input line that is a URL or a
reason. CI runs a bounded number of examples; a longer run: NEWSCRAWL_FUZZ_EXAMPLES=20000.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from newscrawl.extraction import extract_article
from newscrawl.sources.inputs import read_url_file, to_fetchable_url
from schemas import build_article

EXAMPLES = int(os.environ.get("NEWSCRAWL_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TAGS = (
    "p div article main section h1 h2 span a ul li figure figcaption blockquote table tr td br"
    " script style"
).split()
CLASSES = ["", "article-body", "share", "newsletter", "caption", "related", "c-17 x9", "byline"]
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]), max_size=120
) | st.sampled_from(
    ["Read more: another story", "Listen to this article", "Picture: Alamy", "By Jane Doe",
     "More Latest News", "\x00\x01\x0b", "\u2028", "&amp;&#0;&#xD800;", "]]>", "<!--"]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def html_pages(draw: st.DrawFn) -> str:
    """Pages built from news-like parts, nested at random, with random JSON-LD."""

    def block(depth: int) -> str:
        tag = draw(st.sampled_from(TAGS))
        css = draw(st.sampled_from(CLASSES))
        children = "".join(
            block(depth + 1) if depth < 4 and draw(st.booleans()) else draw(TEXT)
            for _ in range(draw(st.integers(0, 4)))
        )
        return f'<{tag} class="{css}">{children}</{tag}>'

    jsonld = json.dumps(
        {
            "@type": draw(st.sampled_from(["NewsArticle", "WebPage", 7])),
            **draw(
                st.dictionaries(
                    st.sampled_from(
                        ["headline", "author", "datePublished", "inLanguage", "@graph"]
                    ),
                    JSON,
                )
            ),
        }
    )
    lang = draw(st.sampled_from(["en", "", "xx-YY", "🙂", "de"]))
    body = "".join(block(0) for _ in range(draw(st.integers(0, 6))))
    return (
        f'<html lang="{lang}"><head><title>{draw(TEXT)}</title>'
        f'<script type="application/ld+json">{jsonld}</script></head><body>{body}</body></html>'
    )


def _check(fields: object) -> None:
    text = fields.text  # type: ignore[attr-defined]
    assert isinstance(text, str)
    assert text == text.strip()
    assert "\n\n\n" not in text
    assert not [ch for ch in text if ord(ch) < 32 and ch != "\n"]
    candidate = {
        "url": "https://news.example/a", "requested_url": "https://news.example/a",
        **fields.record_fields(),  # type: ignore[attr-defined]
        "fetched_at": datetime.now(UTC), "http_status": 200, "spider": "fuzz",
        "extractor": {"name": "newscrawl", "version": "0", "trafilatura": "0"},
    }  # fmt: skip
    try:
        build_article(candidate, min_words=1)
    except ValidationError as exc:
        assert all(error["loc"] for error in exc.errors())  # every error names a field


@FUZZ
@given(html_pages())
def test_extractor_survives_generated_pages(page: str) -> None:
    _check(extract_article(page, "https://news.example/a"))


@FUZZ
@given(st.binary(max_size=2000))
def test_extractor_survives_arbitrary_bytes(page: bytes) -> None:
    _check(extract_article(page, "https://news.example/a"))


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=40))
def test_url_list_lines_end_as_a_url_or_a_reason(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "urls.txt"
        path.write_bytes(b"\n".join(lines))
        results = list(read_url_file(path, max_line=150))
    physical = b"\n".join(lines).split(b"\n")
    assert len(results) <= len(physical)
    numbers = [line.line_number for line in results]
    assert numbers == sorted(set(numbers))
    for line in results:
        assert (line.url is None) != (line.error is None)
        if line.url is not None:
            assert line.url.split(":", 1)[0] in {"http", "https", "file"}
            assert to_fetchable_url(line.url, None) == line.url  # already in canonical form
