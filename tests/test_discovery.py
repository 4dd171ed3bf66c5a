"""The discovery spiders (sitemap, feeds, site) against a small local news site.

Each test runs the real `scrapy crawl <spider>` and checks the exact set of exported URLs,
how each was found, what was filtered before fetching, and the accounting.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from newscrawl.sources.discovery import SourceError, decompress, parse_feed, parse_sitemap
from tests.conftest import CrawlResult, run_crawl
from tests.newssite import (
    IN_ATOM,
    IN_NEWS_SITEMAP,
    IN_RSS,
    IN_SITEMAP_2025,
    NEW,
    OLD,
    STORIES,
    NewsSite,
    story_body,
)
from tests.redis_support import free_port


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    server = NewsSite().start()
    yield server
    server.stop()


def _sources(result: CrawlResult) -> dict[str, tuple[str, str | None]]:
    base = result.run["discovery"]["sources"]
    return {s["url"].split("/", 3)[-1]: (s["status"], s["detail"]) for s in base}


def _check_accounting(result: CrawlResult) -> None:
    assert result.returncode == 0, result.log[-3000:]
    run = result.run
    assert run["accounting"]["ok"] is True
    counts = run["counts"]
    assert counts["inputs"] == counts["articles"] + counts["rejects"] + counts["navigation_pages"]


def test_sitemap_spider_reads_robots_index_gzip_and_news_sitemaps(
    site: NewsSite, tmp_path: Path
) -> None:
    result = run_crawl(
        tmp_path, "-a", f"domains={site.base}", "-a", "since=2025-01-01", spider="sitemap"
    )
    _check_accounting(result)
    base = site.base
    exported = {a["url"]: a for a in result.articles}
    assert set(exported) == {base + s.path for s in IN_SITEMAP_2025 + IN_NEWS_SITEMAP}
    assert result.rejects == []
    for story in IN_SITEMAP_2025:
        via = exported[base + story.path]["discovered_via"]
        assert via == {
            "kind": "sitemap",
            "source": f"{base}/sitemaps/articles-2025.xml.gz",
            "title": None,
            "published_at": story.date[:10],
        }
    for story in IN_NEWS_SITEMAP:
        record = exported[base + story.path]
        assert record["discovered_via"] == {
            "kind": "news_sitemap",
            "source": f"{base}/news-sitemap.xml",
            "title": story.title,
            "published_at": story.date,
        }
        assert record["title"] == story.title
        assert record["authors"] == [story.author]
    discovery = result.run["discovery"]
    assert discovery["filtered"] == {"since": len(OLD), "sitemap_already_read": 1}
    sources = _sources(result)
    status, detail = sources.pop("sitemaps/broken.xml")
    assert status == "error" and detail.startswith("malformed XML: Premature end of data")
    assert sources == {
        "robots.txt": ("ok", None),
        "sitemap_index.xml": ("ok", None),
        "news-sitemap.xml": ("ok", None),
        "sitemaps/articles-2025.xml.gz": ("ok", None),
        "sitemaps/articles-2024.xml": ("ok", None),
        "sitemaps/missing.xml": ("error", "HTTP 404"),
        "sitemaps/page.xml": ("error", "an HTML page, not a sitemap"),
        "sitemaps/empty.xml": ("error", "empty document"),
        "sitemaps/fake.xml.gz": ("error", "named .gz but is neither gzip nor XML"),
    }
    assert site.hits.get("/sitemap_index.xml") == 1  # the index listing itself is read once
    assert not any(site.hits.get(s.path) for s in OLD)  # filtered by `since`: never fetched
    # `domains=http://...`: http asked for, https never tried
    assert all(s["url"].startswith("http://") for s in discovery["sources"])


def test_a_domain_without_scheme_falls_back_to_http(site: NewsSite, tmp_path: Path) -> None:
    """`-a domains=host:port` tries https first; the local site speaks http only, so the TLS
    handshake fails and the domain is read over http: the same articles as with http://."""
    host = site.base.removeprefix("http://")
    result = run_crawl(
        tmp_path, "-a", f"domains={host}", "-a", "since=2025-01-01", spider="sitemap"
    )
    _check_accounting(result)
    base = site.base
    assert sorted(a["url"] for a in result.articles) == sorted(
        base + s.path for s in IN_SITEMAP_2025 + IN_NEWS_SITEMAP
    )
    robots = [s for s in result.run["discovery"]["sources"] if s["kind"] == "robots.txt"]
    assert [(s["url"], s["status"]) for s in robots] == [
        (f"https://{host}/robots.txt", "error"),
        (f"{base}/robots.txt", "ok"),
    ]
    assert robots[0]["detail"].endswith(f"; trying {base}/robots.txt")
    assert "SSL" in robots[0]["detail"]  # the TLS handshake is what failed
    assert "discovery FAILED" not in result.log


def test_a_discovery_run_whose_every_source_failed_exits_6(tmp_path: Path) -> None:
    """Nothing listens on the port: https, then http robots.txt, then /sitemap.xml fail.
    Nothing was discovered: exit status 6 and a summary line saying so."""
    host = f"127.0.0.1:{free_port()}"
    result = run_crawl(
        tmp_path, "-a", f"domains={host}", settings={"RETRY_TIMES": "0"}, spider="sitemap"
    )
    assert result.returncode == 6, result.log[-3000:]
    sources = result.run["discovery"]["sources"]
    assert [(s["url"], s["status"]) for s in sources] == [
        (f"https://{host}/robots.txt", "error"),
        (f"http://{host}/robots.txt", "error"),
        (f"http://{host}/sitemap.xml", "error"),
    ]
    assert all("ConnectionRefused" in s["detail"] for s in sources)
    assert result.run["summary"]["discovery"] == {"sources": 3, "failed": 3, "all_failed": True}
    assert result.run["accounting"]["ok"] is True  # no input was opened: none is missing
    assert (
        "discovery FAILED: all 3 source(s) failed, nothing was discovered"
        " (see run.json: discovery.sources)" in result.log
    )


def test_sitemap_spider_takes_sitemap_urls_and_url_filters(site: NewsSite, tmp_path: Path) -> None:
    sitemaps = f"{site.base}/sitemaps/articles-2025.xml.gz,{site.base}/sitemaps/articles-2024.xml"
    result = run_crawl(
        tmp_path,
        "-a", f"sitemaps={sitemaps}",
        "-a", f"deny={IN_SITEMAP_2025[0].slug}",
        "-a", "max_articles=4",
        spider="sitemap",
    )  # fmt: skip
    _check_accounting(result)
    assert len(result.articles) == 4
    assert f"{site.base}{IN_SITEMAP_2025[0].path}" not in {a["url"] for a in result.articles}
    assert result.run["discovery"]["filtered"] == {"deny": 1, "max_articles": 2}


def test_feeds_spider_reads_rss_atom_and_a_list_of_feeds(site: NewsSite, tmp_path: Path) -> None:
    listing = tmp_path / "feeds.txt"
    listing.write_text(
        f"# our feeds\n{site.base}/feeds/atom.xml\n{site.base}/feeds/broken.xml\n"
        f"{site.base}/feeds/page.html\n{site.base}/feeds/missing.xml\nmailto:desk@example.org\n",
        encoding="utf-8",
    )
    result = run_crawl(
        tmp_path / "out",
        "-a", f"feeds={site.base}/feeds/rss.xml,{listing}",
        "-a", "since=2025-01-01",
        spider="feeds",
    )  # fmt: skip
    _check_accounting(result)
    base = site.base
    new_in_feeds = [s for s in IN_RSS + IN_ATOM if s in NEW]
    exported = {a["url"]: a["discovered_via"] for a in result.articles}
    assert set(exported) == {base + s.path for s in new_in_feeds}
    for story in IN_RSS:
        if story in NEW:
            via = exported[base + story.path]
            assert (via["kind"], via["source"], via["title"]) == (
                "feed", f"{base}/feeds/rss.xml", story.title,
            )  # fmt: skip
            assert via["published_at"].endswith(f"{story.year} 09:30:00 GMT")
    assert result.run["discovery"]["filtered"] == {"since": 2}
    # Each record names its input: the feed that announced it and its position there.
    records = result.articles + result.rejects
    positions: dict[str, list[int]] = {}
    for record in records:
        source, _, number = record["input_id"].rpartition("#")
        assert source == record["discovered_via"]["source"]
        positions.setdefault(source, []).append(int(number))
    assert {s: sorted(n) for s, n in positions.items()} == {
        s: list(range(1, len(n) + 1)) for s, n in positions.items()
    }
    sources = _sources(result)
    assert sources["feeds/rss.xml"] == ("ok", None)
    assert sources["feeds/atom.xml"] == ("ok", None)
    assert sources["feeds/missing.xml"] == ("error", "HTTP 404")
    assert sources["feeds/page.html"] == ("error", "an HTML page, not a feed")
    assert sources["feeds/broken.xml"][0] == "error"
    assert sources["feeds/broken.xml"][1].startswith("malformed XML")
    assert any(
        detail and "unsupported URL scheme 'mailto'" in detail for _, detail in sources.values()
    )


def test_a_feed_with_a_bare_ampersand_is_recovered(site: NewsSite, tmp_path: Path) -> None:
    """One bare `&` makes the feed malformed XML; feedparser's lenient parser still reads
    every item: all are fetched, the source is listed as recovered with the XML error."""
    result = run_crawl(tmp_path, "-a", f"feeds={site.base}/feeds/ampersand.xml", spider="feeds")
    _check_accounting(result)
    base = site.base
    assert sorted(a["url"] for a in result.articles) == sorted(base + s.path for s in IN_RSS)
    titles = {a["url"]: a["discovered_via"]["title"] for a in result.articles}
    assert titles == {base + s.path: s.title for s in IN_RSS}
    [source] = result.run["discovery"]["sources"]
    assert (source["status"], source["entries"]) == ("recovered", len(IN_RSS))
    assert source["detail"].startswith("malformed XML: ") and "not well-formed" in source["detail"]
    assert f"feed {base}/feeds/ampersand.xml recovered (4 entries read)" in result.log


def test_site_spider_exports_exactly_the_articles(site: NewsSite, tmp_path: Path) -> None:
    result = run_crawl(tmp_path, "-a", f"start={site.base}/", "-a", "depth=3", spider="site")
    _check_accounting(result)
    base = site.base
    assert sorted(a["url"] for a in result.articles) == sorted(base + s.path for s in STORIES)
    assert result.rejects == []
    by_url = {a["url"]: a for a in result.articles}
    for story in STORIES:  # clean text: the body paragraphs, no teasers, nav or footer
        assert by_url[base + story.path]["text"] == "\n\n".join(story_body(story))
    for article in result.articles:
        assert article["discovered_via"]["kind"] == "link"
        assert article["discovered_via"]["source"].startswith(base)
    counts = result.run["counts"]
    # front, news (2 pages), sport, tag, 3 author pages, about, contact
    assert counts["navigation_pages"] == 10
    assert result.run["discovery"]["filtered"]["off_domain"] >= 1
    assert "elsewhere.example" not in "".join(a["url"] for a in result.articles)


def test_site_spider_depth_bounds_the_crawl(site: NewsSite, tmp_path: Path) -> None:
    result = run_crawl(tmp_path, "-a", f"start={site.base}/news/", "-a", "depth=1", spider="site")
    _check_accounting(result)
    assert sorted(a["url"] for a in result.articles) == sorted(site.base + s.path for s in NEW[:5])


@pytest.mark.parametrize(
    ("spider", "args", "message"),
    [
        ("sitemap", (), "give -a sitemaps=URL"),
        ("feeds", ("-a", "feeds=/no/such/feeds.txt"), "-a feeds: not a URL and no such file"),
        ("site", ("-a", "start=http://a.example/", "-a", "depth=50"), "-a depth:"),
        ("feeds", ("-a", "feeds=http://a.example/f.xml", "-a", "since=last week"), "-a since:"),
        ("feeds", ("-a", "feeds=http://a.example/f.xml", "-a", "deny=(("), "-a deny:"),
    ],
)
def test_bad_discovery_arguments_name_the_argument(
    tmp_path: Path, spider: str, args: tuple[str, ...], message: str
) -> None:
    result = run_crawl(tmp_path, *args, spider=spider)
    assert result.returncode == 1
    assert f"newscrawl: {message}" in result.log  # one line saying what to fix
    assert "Traceback" not in result.log


def test_sitemap_parser_rejects_what_is_not_a_sitemap() -> None:
    with pytest.raises(SourceError, match="not a sitemap"):
        parse_sitemap(b"<rss version='2.0'></rss>")
    with pytest.raises(SourceError, match="unzips to more than 100 bytes"):
        decompress(gzip.compress(b"<urlset>" + b" " * 1000 + b"</urlset>"), "x.xml.gz", 100)
    with pytest.raises(SourceError, match="broken gzip"):
        decompress(b"\x1f\x8b\x08garbage", "x.xml.gz", 1000)
    assert parse_feed(b"<rss version='2.0'><channel><title>t</title></channel></rss>").entries == []
    with pytest.raises(SourceError, match="malformed XML"):  # nothing to recover: an error
        parse_feed(b"<rss version='2.0'><channel><title>a & b</title><item>")
    with pytest.raises(SourceError, match="an HTML page, not a feed"):
        parse_feed(b"<!DOCTYPE html><html><body>x</body></html>")


def test_rerunning_a_feed_fetches_only_new_articles(site: NewsSite, tmp_path: Path) -> None:
    state = {"NEWSCRAWL_STATE": str(tmp_path / "state.sqlite3")}
    feed = f"feeds={site.base}/feeds/rss.xml"
    first = run_crawl(tmp_path / "one", "-a", feed, settings=state, spider="feeds")
    _check_accounting(first)
    assert len(first.articles) == len(IN_RSS)
    hits_before = {s.path: site.hits.get(s.path, 0) for s in IN_RSS}
    second = run_crawl(tmp_path / "two", "-a", feed, settings=state, spider="feeds")
    _check_accounting(second)
    assert second.articles == []
    assert sorted(r["reason"] for r in second.rejects) == ["seen_before"] * len(IN_RSS)
    assert {s.path: site.hits.get(s.path, 0) for s in IN_RSS} == hits_before  # nothing fetched


def test_refresh_revalidates_what_a_feed_announces_again(site: NewsSite, tmp_path: Path) -> None:
    """`-a refresh=true`: pages exported before are fetched again (conditional requests); an
    unchanged body ends as `unchanged`, a corrected story as revision 2."""
    state = {"NEWSCRAWL_STATE": str(tmp_path / "state.sqlite3")}
    feed = f"feeds={site.base}/feeds/rss.xml"
    first = run_crawl(tmp_path / "one", "-a", feed, settings=state, spider="feeds")
    _check_accounting(first)
    corrected = IN_RSS[0]
    original = site.pages[corrected.path]
    correction = b"<p>Correction: an earlier version of this story gave the wrong date.</p>"
    site.pages[corrected.path] = (
        original[0],
        original[1].replace(b"</div></article>", correction + b"</div></article>"),
    )
    try:
        hits_before = {s.path: site.hits.get(s.path, 0) for s in IN_RSS}
        second = run_crawl(
            tmp_path / "two", "-a", feed, "-a", "refresh=true", settings=state, spider="feeds"
        )
    finally:
        site.pages[corrected.path] = original
    _check_accounting(second)
    assert {s.path: site.hits.get(s.path, 0) - hits_before[s.path] for s in IN_RSS} == {
        s.path: 1 for s in IN_RSS
    }
    [article] = second.articles
    assert article["url"] == site.base + corrected.path
    assert article["revision"] == 2
    assert article["previous_sha256"] == first_sha(first, corrected.path, site)
    assert article["text"].endswith(
        "Correction: an earlier version of this story gave the wrong date."
    )
    assert article["discovered_via"]["kind"] == "feed"
    assert sorted(r["reason"] for r in second.rejects) == ["unchanged"] * (len(IN_RSS) - 1)


def first_sha(result: CrawlResult, path: str, site: NewsSite) -> str:
    [found] = [a for a in result.articles if a["url"] == site.base + path]
    return str(found["content_sha256"])
