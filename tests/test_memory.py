"""Memory that must not grow with the run (issue 14, point 8).

The keys the in-run checks hold for every page passed (input URL keys of the articles
spider, URLs accepted by discovery, the dedupe pipeline's URLs and body hashes) live in
`newscrawl.history.runkeys.RunKeys`, on disk beyond a bounded cache (a page's validators
and signature travel on its item: `Reruns` holds nothing per input). In-process: the real
components, fed tens of thousands of pages, with the process's resident memory read from
/proc.
"""

from __future__ import annotations

import gc
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newscrawl.history.runkeys import CACHE_KIB, RunKeys
from newscrawl.items import ArticleItem, RejectItem
from pipelines.dedupe import DedupePipeline
from schemas import Article, RejectReason

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads resident memory from /proc (Linux)"
)


def _rss_mb() -> float:
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _url(n: int) -> str:
    return f"https://www.example.org/news/2026/11/{n:07d}/harbour-pier-to-close-for-repairs.html"


def test_run_keys_behave_as_a_mapping() -> None:
    keys = RunKeys()
    assert keys.add("a", "first") is None
    assert keys.add("a", "second") == "first"  # the first value is kept
    assert keys.get("a") == "first" and "a" in keys and "b" not in keys
    keys.put("b", "x")
    keys.put("b", "y")
    assert keys.get("b") == "y"
    assert keys.first(["c", "b", "a"]) == "y"
    assert keys.first(["c"]) is None
    assert keys.add("set member") is None and keys.add("set member") == ""
    assert len(keys) == 3
    keys.close()


def test_run_keys_stay_within_their_cache_where_a_dict_grows() -> None:
    count = 200_000  # about 20 MB of keys and values
    keys = RunKeys()
    for n in range(10_000):
        keys.add(_url(n), _url(n))
    before = _rss_mb()
    for n in range(10_000, count):
        keys.add(_url(n), _url(n))
    grown = _rss_mb() - before
    assert len(keys) == count and keys.get(_url(123)) == _url(123)
    held: dict[str, str] = {}
    before = _rss_mb()
    for n in range(10_000, count):
        held[_url(n)] = _url(n)
    dict_grown = _rss_mb() - before
    print(f"RunKeys: {grown:.1f} MB for {count} keys; a dict: {dict_grown:.1f} MB")
    assert dict_grown > 20, f"the dict baseline grew only {dict_grown:.1f} MB"
    assert grown < CACHE_KIB / 1024 + 3, f"RunKeys grew {grown:.1f} MB for {count} keys"
    keys.close()


def _article(n: int, template: Article) -> ArticleItem:
    text = " ".join([f"story {n}"] * 60)
    article = template.model_copy(
        update={
            "url": _url(n),
            "requested_url": _url(n),
            "canonical_url": _url(n).replace("www.", ""),
            "text": text,
            "content_sha256": hashlib.sha256(text.encode()).hexdigest(),
        }
    )
    return ArticleItem(n, article)


@pytest.fixture(scope="module")
def template() -> Article:
    text = " ".join(["harbour pier"] * 30)
    return Article.model_validate(
        {
            "url": _url(0), "requested_url": _url(0), "canonical_url": None,
            "title": "Harbour pier to close", "text": text, "authors": [],
            "published_at": None, "modified_at": None, "language": "en", "site_name": None,
            "description": None, "section": None, "tags": [], "image_url": None,
            "word_count": 60, "content_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "fetched_at": datetime(2026, 11, 30, tzinfo=UTC), "http_status": 200,
            "spider": "articles",
            "extractor": {"name": "newscrawl", "version": "0", "trafilatura": "0"},
        },
        context={"min_words": 0},
    )  # fmt: skip


def test_the_dedupe_pipeline_does_not_grow_with_the_articles_it_passes(
    template: Article,
) -> None:
    pipeline = DedupePipeline()
    for n in range(5_000):
        assert pipeline.process_item(_article(n, template)).article.url == _url(n)
    before = _rss_mb()
    for n in range(5_000, 60_000):
        pipeline.process_item(_article(n, template))
    grown = _rss_mb() - before
    # 55,000 articles: three URL keys and a body hash each, some 25 MB in dicts.
    print(f"dedupe: 55,000 articles grew the process {grown:.1f} MB")
    assert grown < 2 * CACHE_KIB / 1024 + 3, f"the pipeline grew {grown:.1f} MB"
    # Still every article remembered: the first ones' repeats are caught.
    again = pipeline.process_item(_article(7, template))
    assert isinstance(again, RejectItem)
    assert (again.reject.reason, again.reject.duplicate_of) == (RejectReason.duplicate_url, _url(7))
    copy = _article(9, template)
    copy.article = copy.article.model_copy(
        update={"url": _url(10**6), "requested_url": _url(10**6), "canonical_url": None}
    )
    same_text = pipeline.process_item(copy)
    assert isinstance(same_text, RejectItem)
    assert same_text.reject.reason == RejectReason.duplicate_content
    assert same_text.reject.duplicate_of == _url(9)
    pipeline.close_spider()
