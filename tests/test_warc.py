"""WARC work end to end: archive as you crawl, reprocess offline, WARC files as input.

The crawls are the real `scrapy crawl` / `scrapy reprocess` against our own local server;
the WARC inputs are written here with warcio's own writer, and the archives the crawl
writes are read back with warcio's own reader.
"""

from __future__ import annotations

import functools
import gzip
import io
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newscrawl.commands.reprocess import without_provenance
from newscrawl.fetch.warc import ScanResult, scan
from tests.conftest import FAST_SETTINGS, REPO, SCRAPY, CrawlResult, run_crawl
from tests.generated import article_html
from tests.newssite import NewsSite
from tests.server import PDF, FixtureServer

ARCHIVE = {"NEWSCRAWL_ARCHIVE": "true", "RETRY_TIMES": "0"}


def _records(result: CrawlResult) -> list[dict[str, Any]]:
    return result.articles + result.rejects


def _reprocess(output: Path, run_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [str(SCRAPY), "reprocess", str(run_dir), *extra]
    for name, value in {
        **FAST_SETTINGS,
        "NEWSCRAWL_OUTPUT_DIR": str(output),
        "NEWSCRAWL_STATE": str(output / "state.sqlite3"),  # the original run's history
    }.items():
        command += ["-s", f"{name}={value}"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def _response_at(path: Path, offset: int) -> tuple[str, str, bytes]:
    """The record at `offset`, read with warcio: its type, target URI and body."""
    with path.open("rb") as handle:
        handle.seek(offset)
        record = next(iter(ArchiveIterator(handle)))
        body = record.content_stream().read()
        return record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), body


def test_archive_then_reprocess_without_the_network(tmp_path: Path) -> None:
    site = FixtureServer().start()
    base = site.base
    pages = [
        *(f"{base}/gen/{n}.html" for n in range(1, 7)),
        f"{base}/articles/french_daily.html",
        f"{base}/old/german_regional",  # a redirect: the final page is archived
        f"{base}/missing",  # 404
        f"{base}/broken",  # 500
        f"{base}/files/report.pdf",  # not_html
        f"{base}/empty.html",  # no_article_text
        f"{base}/articles/section_front.html",  # a listing: no_article_text
    ]
    url_file = tmp_path / "urls.txt"
    url_file.write_text("\n".join([*pages, pages[0]]) + "\n")  # the repeat is not fetched
    try:
        crawled = run_crawl(
            tmp_path, "-a", f"urls={url_file}",
            settings={**ARCHIVE, "NEWSCRAWL_ARCHIVE_ROTATE_MB": "0.02"},
        )  # fmt: skip
    finally:
        site.stop()
    assert crawled.returncode == 0, crawled.log[-3000:]
    assert crawled.run_dir is not None
    records = _records(crawled)
    assert len(records) == len(pages) + 1
    fetched = [r for r in records if r.get("reason") != "duplicate_url"]
    assert {r.get("reason", "article") for r in fetched} == {
        "article", "http_error", "not_html", "no_article_text",
    }  # fmt: skip
    (repeat,) = [r for r in records if r.get("reason") == "duplicate_url"]
    assert repeat["warc"] is None  # never fetched, so nothing archived

    # Every fetched page's record says where its response is; warcio reads it there.
    archive = crawled.run_dir / "archive"
    files = sorted(archive.glob("*.warc.gz"))
    assert len(files) > 1  # rotated at 20 KB
    for record in fetched:
        rec_type, uri, body = _response_at(crawled.run_dir / record["warc"]["file"],
                                           record["warc"]["offset"])  # fmt: skip
        assert (rec_type, uri) == ("response", record["url"])
        if record["url"].endswith("report.pdf"):
            assert body == PDF
    responses = requests = 0
    for path in files:
        with path.open("rb") as handle:
            for warc_record in ArchiveIterator(handle):
                responses += warc_record.rec_type == "response"
                requests += warc_record.rec_type == "request"
    assert responses == requests == len(fetched)  # one per page; no robots.txt, no 301

    # The server is gone: reprocess from the archive alone.
    out = tmp_path / "re"
    done = _reprocess(out, crawled.run_dir, "--compare")
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = (out / "reprocess").iterdir()
    again = CrawlResult(done.returncode, done.stderr, run_dir)
    run = again.run
    assert run["accounting"]["ok"] is True
    assert run["counts"]["inputs"] == len(fetched)
    assert run["discovery"]["reprocessed_from"]["run_id"] == crawled.run["run_id"]
    assert again.run["counts"]["rejects_by_reason"] == {
        reason: count
        for reason, count in crawled.run["counts"]["rejects_by_reason"].items()
        if reason != "duplicate_url"
    }

    def by_place(result: CrawlResult, root: Path) -> dict[tuple[str, int], dict[str, Any]]:
        return {
            (str((root / r["warc"]["file"]).resolve()), r["warc"]["offset"]): r
            for r in _records(result)
            if r.get("warc")
        }

    before, after = by_place(crawled, crawled.run_dir), by_place(again, Path("/"))
    assert before.keys() == after.keys()
    for place, record in before.items():
        assert without_provenance(after[place]) == without_provenance(record)
        assert after[place]["spider"] == "reprocess"
        assert after[place]["input_id"] == f"{place[0]}#{place[1]}"  # the archived response
    assert f"identical (but for input_id, spider, warc): {len(fetched)}" in done.stdout
    assert "records changed, per field" not in done.stdout

    # A stricter minimum length today: --compare shows each article that no longer is one.
    stricter = _reprocess(tmp_path / "strict", crawled.run_dir, "--compare",
                          "-s", "NEWSCRAWL_MIN_WORDS=100000")  # fmt: skip
    assert stricter.returncode == 0, stricter.stderr[-3000:]
    articles = len(crawled.articles)
    assert f"outcome article -> no_article_text: {articles}" in stricter.stdout
    unchanged = len(fetched) - articles
    assert f"identical (but for input_id, spider, warc): {unchanged}" in stricter.stdout


def test_reprocess_needs_an_archive(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    done = _reprocess(tmp_path, tmp_path / "run")
    assert done.returncode == 1
    assert "no archive/ directory" in done.stdout


def _page(n: int, published: str | None = None) -> bytes:
    html = article_html(n)
    if published is not None:
        meta = f'<meta property="article:published_time" content="{published}">'
        html = html.replace(b"</head>", meta.encode() + b"</head>")
    return html


class _Warc:
    """A WARC file written with warcio's own writer."""

    def __init__(self, path: Path, *, gzip_records: bool = True) -> None:
        self.path = path
        self.handle = path.open("wb")
        self.writer = WARCWriter(self.handle, gzip=gzip_records)
        self.offsets: list[int] = []

    def response(
        self,
        url: str,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        status: str = "200 OK",
        date: str = "2025-06-01T10:00:00Z",
        extra: list[tuple[str, str]] | None = None,
    ) -> None:
        headers = [("Content-Type", content_type), *(extra or [])]
        http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
        record = self.writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )  # fmt: skip
        self.offsets.append(self.handle.tell())
        self.writer.write_record(record)

    def other(self, url: str, rec_type: str) -> None:
        if rec_type == "request":
            http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "x")], is_http_request=True)
            record = self.writer.create_warc_record(
                url, "request", payload=io.BytesIO(b""), length=0, http_headers=http
            )
        else:
            data = b'{"fetch": "ok"}'
            record = self.writer.create_warc_record(
                url, rec_type, payload=io.BytesIO(data), length=len(data),
                warc_content_type="application/json",
            )  # fmt: skip
        self.writer.write_record(record)

    def close(self) -> None:
        self.handle.close()


def test_warc_input_written_by_warcio(tmp_path: Path) -> None:
    first = _Warc(tmp_path / "news-1.warc.gz")
    first.writer.write_record(first.writer.create_warcinfo_record("news-1.warc.gz", {"x": "y"}))
    first.response("https://news.example/a/1", _page(1))
    first.other("https://news.example/a/1", "request")
    first.other("https://news.example/a/1", "metadata")
    # Stored as sent: gzip content-encoding (warcio decodes it; so must we).
    first.response(
        "https://news.example/a/2", gzip.compress(_page(2)), extra=[("Content-Encoding", "gzip")]
    )
    first.response("https://news.example/files/x.pdf", PDF, content_type="application/pdf")
    first.response("https://news.example/a/3", b"", status="301 Moved Permanently",
                   extra=[("Location", "/a/1")])  # fmt: skip
    first.response("https://news.example/a/404", b"<html><body>gone</body></html>",
                   status="404 Not Found")  # fmt: skip
    first.close()
    second = _Warc(tmp_path / "news-2.warc.gz")
    second.response("https://sub.news.example/a/4", _page(4))
    second.response("https://other.example/a/5", _page(5))  # not in domains
    # Fetched in 2025 but the page says 2024: the page date decides `since`.
    second.response("https://news.example/a/6", _page(6, "2024-03-01T08:00:00+00:00"))
    second.response("https://news.example/a/7", _page(7), date="2024-12-30T00:00:00Z")
    second.response("https://news.example/live/8", _page(8))  # deny
    second.response("https://news.example/a/9", _page(1))  # the same text as a/1
    big = _page(10).replace(b"</body>", b"<!-- " + b"x" * 300_000 + b" --></body>")
    second.response("https://news.example/a/10", big)  # past DOWNLOAD_MAXSIZE
    second.close()

    result = run_crawl(
        tmp_path / "out", "-a", f"warcs={tmp_path}/news-*.warc.gz",
        "-a", "domains=news.example", "-a", "since=2025-01-01", "-a", "deny=/live/",
        spider="warc", settings={"DOWNLOAD_MAXSIZE": "200000"},
    )  # fmt: skip
    assert result.returncode == 0, result.log[-3000:]
    articles = {a["url"]: a for a in result.articles}
    # a/9 repeats a/1's text: whichever is extracted first is the article (as in a crawl).
    kept, copy = (
        ("https://news.example/a/1", "https://news.example/a/9")
        if "https://news.example/a/1" in articles
        else ("https://news.example/a/9", "https://news.example/a/1")
    )
    assert set(articles) == {kept, "https://news.example/a/2", "https://sub.news.example/a/4"}
    assert articles["https://news.example/a/2"]["fetched_at"] == "2025-06-01T10:00:00Z"
    assert articles["https://news.example/a/2"]["discovered_via"] == {
        "kind": "warc", "source": str(tmp_path / "news-1.warc.gz"), "title": None,
        "published_at": None,
    }  # fmt: skip
    assert articles["https://news.example/a/2"]["warc"] == {
        "file": str(tmp_path / "news-1.warc.gz"), "offset": first.offsets[1],
    }  # fmt: skip
    rejects = {r["url"]: r for r in result.rejects}
    assert {url: r["reason"] for url, r in rejects.items()} == {
        "https://news.example/a/404": "http_error",
        copy: "duplicate_content",
        "https://news.example/a/10": "too_large",
    }
    assert rejects["https://news.example/a/10"]["warc"] == {
        "file": str(tmp_path / "news-2.warc.gz"), "offset": second.offsets[-1],
    }  # fmt: skip
    run = result.run
    assert run["accounting"]["ok"] is True
    assert run["counts"]["inputs"] == 6
    assert run["discovery"]["records"] == {
        "metadata": 1, "not_html": 1, "page": 10, "redirect": 1, "request": 1, "warcinfo": 1,
    }  # fmt: skip
    assert run["discovery"]["filtered"] == {"deny": 1, "domain": 1, "since": 2}
    assert [f["status"] for f in run["discovery"]["warc_files"]] == ["ok", "ok"]


def test_truncated_warc_is_read_up_to_the_tear(tmp_path: Path) -> None:
    torn = {}
    for name, gzipped in (("cut.warc.gz", True), ("cut.warc", False)):
        warc = _Warc(tmp_path / name, gzip_records=gzipped)
        stem = 10 if gzipped else 20
        for n in range(stem, stem + 4):
            warc.response(f"https://news.example/{name}/{n}", _page(n))
        warc.close()
        data = warc.path.read_bytes()
        cut = warc.offsets[-1] + (len(data) - warc.offsets[-1]) // 2  # inside the last record
        warc.path.write_bytes(data[:cut])
        torn[str(warc.path)] = warc.offsets[-1]

    # Gzip over the whole file (not per record): readable in order, but not by offset.
    whole = tmp_path / "cut.whole.warc.gz"
    whole.write_bytes(gzip.compress((tmp_path / "cut.warc").read_bytes()))
    garbage = tmp_path / "cut.garbage"
    garbage.write_bytes(b"<html>not a WARC file at all</html>\r\n\r\n")

    result = run_crawl(tmp_path / "out", "-a", f"warcs={tmp_path}/cut.*", spider="warc")
    assert result.returncode == 0, result.log[-3000:]
    assert len(result.articles) == 6 and not result.rejects  # 3 whole records in each file
    files = {f["path"]: f for f in result.run["discovery"]["warc_files"]}
    assert files[str(whole)]["status"] == "unusable"
    assert "warcio recompress" in files[str(whole)]["detail"]
    assert files[str(whole)]["records"] == 0
    assert files[str(garbage)]["status"] == "torn"
    assert files[str(garbage)]["tear"]["offset"] == 0
    assert files[str(garbage)]["records"] == 0
    for path, offset in torn.items():
        assert files[path]["status"] == "torn"
        assert files[path]["records"] == 3
        assert files[path]["tear"]["offset"] == offset, files[path]["tear"]
    assert result.run["accounting"]["ok"] is True


def test_warc_input_needs_files(tmp_path: Path) -> None:
    result = run_crawl(tmp_path / "out", "-a", f"warcs={tmp_path}/none-*.warc.gz", spider="warc")
    assert result.returncode == 1
    assert "-a warcs: no WARC file matches" in result.log


def test_replay_never_touches_the_network(tmp_path: Path) -> None:
    """A page whose host answers nothing (port 9) is served from the WARC; no robots.txt."""
    warc = _Warc(tmp_path / "one.warc.gz")
    warc.response("http://127.0.0.1:9/a/1", _page(1))
    warc.close()
    result = run_crawl(tmp_path / "out", "-a", f"warcs={warc.path}", spider="warc")
    assert result.returncode == 0, result.log[-3000:]
    assert [a["url"] for a in result.articles] == ["http://127.0.0.1:9/a/1"]
    assert "robotstxt/request_count" not in result.log
    assert "'newscrawl/warc/replayed': 1" in result.log


def _big_warc(path: Path, pages: int) -> int:
    """An uncompressed WARC of `pages` 1 MB pages (a large HTML comment in each); its size."""
    padding = b"<!-- " + b"archived padding " * 60_000 + b" -->"
    warc = _Warc(path, gzip_records=False)
    for n in range(pages):
        warc.response(
            f"https://big.example/a/{n}", _page(n).replace(b"</body>", padding + b"</body>")
        )
    warc.close()
    return path.stat().st_size


def test_warc_input_memory_stays_flat(tmp_path: Path) -> None:
    """Ten times the data (20 MB -> 200 MB of pages) costs the crawler no memory to speak of."""
    peaks = {}
    for pages in (20, 200):
        size = _big_warc(tmp_path / f"big-{pages}.warc", pages)
        assert size > pages * 1_000_000
        result = run_crawl(tmp_path / f"out-{pages}", "-a", f"warcs={tmp_path}/big-{pages}.warc",
                           spider="warc")  # fmt: skip
        assert result.returncode == 0, result.log[-3000:]
        assert len(result.articles) == pages
        peaks[pages] = result.peak_rss_mb
        (tmp_path / f"big-{pages}.warc").unlink()
    assert peaks[200] - peaks[20] < 40, peaks


@functools.cache
def _sample_warc(gzipped: bool) -> tuple[bytes, tuple[int, ...]]:
    """Three records (written once: record ids and dates make every writing differ)."""
    with tempfile.TemporaryDirectory() as directory:
        warc = _Warc(Path(directory) / "s.warc", gzip_records=gzipped)
        for n in range(3):
            warc.response(f"https://news.example/s/{n}", _page(n)[: 300 + 200 * n])
        warc.close()
        return warc.path.read_bytes(), tuple(warc.offsets)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), gzipped=st.booleans())
def test_scan_of_a_file_cut_anywhere(data: st.DataObject, gzipped: bool) -> None:
    """Cut at any byte: the scan hands on exactly the whole records before the cut, and
    reports a tear unless the cut falls between records."""
    whole_file, offsets = _sample_warc(gzipped)
    ends = [*offsets[1:], len(whole_file)]
    cut = data.draw(st.integers(0, len(whole_file)))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "s.warc"
        path.write_bytes(whole_file[:cut])
        result = ScanResult()
        records = list(scan(path, result))
    whole = sum(end <= cut for end in ends)
    assert [r.offset for r in records] == list(offsets[:whole])
    assert result.records == whole
    assert (result.tear is None) == (cut in {0, *ends}), (cut, result.tear)


def test_scan_of_an_uncompressed_file_cut_after_a_header_block() -> None:
    """A cut just after a WARC or HTTP header block leaves a tail that ends in CRLF CRLF, as
    a whole record does: the record's Content-Length tells them apart."""
    whole_file, offsets = _sample_warc(False)
    ends = {*offsets[1:], len(whole_file)}
    cuts = [i for i in range(4, len(whole_file)) if whole_file[i - 4 : i] == b"\r\n\r\n"]
    torn = [cut for cut in cuts if cut not in ends]
    assert len(torn) >= 6  # a WARC and an HTTP header block in each record
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "s.warc"
        for cut in torn:
            path.write_bytes(whole_file[:cut])
            result = ScanResult()
            records = list(scan(path, result))
            assert [r.offset for r in records] == [o for o in offsets if o < cut][:-1], cut
            assert result.tear is not None, cut


def test_reprocess_of_a_site_crawl_keeps_its_navigation_pages(tmp_path: Path) -> None:
    """Front, section, tag and author pages the site spider read for links stay navigation."""
    site = NewsSite().start()
    try:
        crawled = run_crawl(
            tmp_path, "-a", f"start={site.base}/", "-a", "depth=3", spider="site",
            settings=ARCHIVE,
        )  # fmt: skip
    finally:
        site.stop()
    assert crawled.returncode == 0, crawled.log[-3000:]
    counts = crawled.run["counts"]
    assert counts["navigation_pages"] > 0 and counts["articles"] > 0
    done = _reprocess(tmp_path / "re", crawled.run_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = (tmp_path / "re" / "reprocess").iterdir()
    again = CrawlResult(done.returncode, done.stderr, run_dir)
    fetched = [r for r in _records(crawled) if r.get("warc")]
    assert again.run["counts"]["inputs"] == len(fetched) + counts["navigation_pages"]
    assert again.run["counts"]["navigation_pages"] == counts["navigation_pages"]
    assert again.run["accounting"]["ok"] is True
    assert {r["url"]: without_provenance(r) for r in _records(again)} == {
        r["url"]: without_provenance(r) for r in fetched
    }
