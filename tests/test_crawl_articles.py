"""The real `scrapy crawl articles` against the local fixture server, outputs read back.

One crawl covers every kind of outcome; each test checks one part of what it wrote.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from schemas import Article, Reject
from schemas.article import count_words
from tests.conftest import CrawlResult, run_crawl
from tests.golden import COMPARED_FIELDS, article_cases, as_comparable, load_cases
from tests.server import FixtureServer

CASES = load_cases()
ARTICLE_CASES = [name for name, case in CASES.items() if not case.get("no_article")]
REDIRECTED = ARTICLE_CASES[-1]  # requested only through a 301
SYNDICATED = ARTICLE_CASES[0]  # also served under another URL with its own canonical link
TRACKED = "seed_like_lbc_style"  # also requested with a tracking parameter
DIRECT = [name for name in ARTICLE_CASES if name != REDIRECTED]


@pytest.fixture(scope="module")
def inputs(server: FixtureServer, closed_port: int) -> dict[str, Any]:
    """The URL file's lines, and the outcome each one must have."""
    base = server.base
    expected: list[tuple[str, str]] = [(f"{base}/articles/{n}.html", "article") for n in DIRECT]
    expected += [
        (f"{base}/old/{REDIRECTED}", "article"),
        (f"{base}/articles/section_front.html", "no_article_text"),
        (f"{base}/articles/too_short.html", "no_article_text"),
        (f"{base}/empty.html", "no_article_text"),
        (f"{base}/missing", "http_error"),
        (f"{base}/broken", "http_error"),
        (f"http://127.0.0.1:{closed_port}/gone", "robots_forbidden"),  # robots.txt unreachable
        (f"{base}/private/leak.html", "robots_forbidden"),
        (f"{base}/files/report.pdf", "not_html"),
        (f"{base}/syndicated/{SYNDICATED}", "duplicate_content"),
        (f"{base}/articles/{TRACKED}.html?utm_source=newsletter", "duplicate_url"),
        (f"{base}/articles/{DIRECT[1]}.html", "duplicate_url"),
        ("not a url", "invalid_url"),
        ("javascript:alert(1)", "invalid_url"),
    ]
    return {"base": base, "expected": expected}


@pytest.fixture(scope="module")
def crawl(inputs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    workdir = tmp_path_factory.mktemp("crawl")
    lines = ["# newscrawl test input: one outcome per non-comment line", ""]
    for index, (line, _) in enumerate(inputs["expected"]):
        lines.append(f"  {line}  " if index % 5 == 0 else line)
        if index == 3:
            lines += ["", "# a comment between URLs"]
    url_file = workdir / "urls.txt"
    url_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run_crawl(workdir / "out", "-a", f"urls={url_file}")


def _input_of(record: dict[str, Any]) -> str:
    return record.get("requested_url") or record["url"]


def test_crawl_exits_cleanly_and_reports_the_run_directory(crawl: CrawlResult) -> None:
    assert crawl.returncode == 0, crawl.log[-3000:]
    assert crawl.run_dir is not None
    assert sorted(p.name for p in crawl.run_dir.iterdir()) == [
        "articles.jsonl", "journal.jsonl", "rejects.jsonl", "report.html", "run.json",
    ]  # fmt: skip
    # Scrapy's robots.txt middleware logs a traceback for the unreachable host; ours log none.
    assert "Spider error processing" not in crawl.log
    assert not [
        line
        for line in crawl.log.splitlines()
        if " ERROR: " in line and ("[newscrawl" in line or "[pipelines" in line)
    ]


def test_every_input_line_ends_as_exactly_one_record(
    crawl: CrawlResult, inputs: dict[str, Any]
) -> None:
    expected = inputs["expected"]
    records = crawl.articles + crawl.rejects
    assert len(records) == len(expected)
    assert Counter(_input_of(r) for r in records) == Counter(line for line, _ in expected)
    run = crawl.run
    assert run["accounting"]["ok"] is True
    assert run["counts"]["inputs"] == len(expected)
    assert run["counts"]["articles"] == len(crawl.articles)
    assert run["counts"]["rejects"] == len(crawl.rejects)


def _racing_pairs(base: str) -> list[tuple[set[str], str]]:
    """Input pairs naming one page, fetched concurrently: which arrives first is up to the
    network, so either may be the article; the other must be the duplicate of that reason."""
    return [
        (
            {f"{base}/articles/{SYNDICATED}.html", f"{base}/syndicated/{SYNDICATED}"},
            "duplicate_content",
        ),
        (
            {
                f"{base}/articles/{TRACKED}.html",
                f"{base}/articles/{TRACKED}.html?utm_source=newsletter",
            },
            "duplicate_url",
        ),
    ]


def test_every_record_names_its_input_file_and_line(crawl: CrawlResult) -> None:
    """`input_id` is `<URL file>#<line>`: each non-comment line's record carries its own."""
    assert crawl.run_dir is not None
    url_file = (crawl.run_dir.parents[2] / "urls.txt").resolve()
    lines = {
        f"{url_file}#{number}": text.strip()
        for number, text in enumerate(url_file.read_text(encoding="utf-8").splitlines(), 1)
        if text.strip() and not text.strip().startswith("#")
    }
    records = crawl.articles + crawl.rejects
    assert Counter(r["input_id"] for r in records) == Counter(list(lines))  # each line once
    for record in records:
        assert _input_of(record) == lines[record["input_id"]]


def test_each_input_has_its_expected_outcome(crawl: CrawlResult, inputs: dict[str, Any]) -> None:
    got = Counter(
        [(_input_of(a), "article") for a in crawl.articles]
        + [(_input_of(r), r["reason"]) for r in crawl.rejects]
    )
    want = Counter(inputs["expected"])
    for pair, reason in _racing_pairs(inputs["base"]):
        outcomes = sorted(outcome for (url, outcome) in got.elements() if url in pair)
        assert outcomes == ["article", reason], pair
        for url in pair:
            for outcome in ("article", reason):
                got.pop((url, outcome), None)
                want.pop((url, outcome), None)
    assert got == want


def test_articles_carry_the_golden_fields(crawl: CrawlResult, inputs: dict[str, Any]) -> None:
    by_input = {_input_of(a): a for a in crawl.articles}
    base = inputs["base"]
    for name in ARTICLE_CASES:
        requested = f"{base}/old/{name}" if name == REDIRECTED else f"{base}/articles/{name}.html"
        if requested not in by_input:
            continue  # the syndicated pair may have lost the race; checked elsewhere
        record = by_input[requested]
        for field in COMPARED_FIELDS:
            assert as_comparable(field, record[field]) == as_comparable(
                field, CASES[name][field]
            ), (name, field)
        assert record["url"] == f"{base}/articles/{name}.html"
        assert record["requested_url"] == requested
        assert record["http_status"] == 200
        assert record["spider"] == "articles"
        assert record["word_count"] == count_words(record["text"])
        assert record["content_sha256"] == hashlib.sha256(record["text"].encode()).hexdigest()
        assert record["extractor"]["name"] == "newscrawl"
        assert record["discovered_via"]["kind"] == "list"
        assert record["discovered_via"]["source"].endswith("/urls.txt")


def test_every_line_is_a_valid_record(crawl: CrawlResult) -> None:
    assert crawl.run_dir is not None
    for line in (crawl.run_dir / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        Article.model_validate_json(line)
    for line in (crawl.run_dir / "rejects.jsonl").read_text(encoding="utf-8").splitlines():
        reject = Reject.model_validate_json(line)
        assert reject.discovered_via is not None and reject.discovered_via.kind == "list"


def test_rejects_say_what_went_wrong(crawl: CrawlResult, inputs: dict[str, Any]) -> None:
    base = inputs["base"]
    rejects = {_input_of(r): r for r in crawl.rejects}
    assert rejects[f"{base}/missing"]["http_status"] == 404
    assert rejects[f"{base}/missing"]["detail"] == "HTTP 404"
    assert rejects[f"{base}/broken"]["http_status"] == 500
    assert rejects[f"{base}/files/report.pdf"]["detail"] == "not an HTML page (application/pdf)"
    assert "robots.txt" in rejects[f"{base}/private/leak.html"]["detail"]
    gone = rejects[next(k for k in rejects if "/gone" in k)]["detail"]
    assert gone.startswith("robots.txt unavailable (DownloadConnectionRefusedError: ")
    assert "listing" in rejects[f"{base}/articles/section_front.html"]["detail"]
    short = rejects[f"{base}/articles/too_short.html"]
    assert short["detail"].startswith("text: body has ")
    assert short["record"]["title"]  # the partial record is kept
    assert rejects["not a url"]["detail"].startswith("line ")
    assert "unsupported URL scheme 'javascript'" in rejects["javascript:alert(1)"]["detail"]


def test_duplicates_name_the_first_record(crawl: CrawlResult, inputs: dict[str, Any]) -> None:
    base = inputs["base"]
    rejects = {_input_of(r): r for r in crawl.rejects}
    repeat = rejects[f"{base}/articles/{DIRECT[1]}.html"]
    assert repeat["duplicate_of"] == f"{base}/articles/{DIRECT[1]}.html"
    for pair, reason in _racing_pairs(base):
        copy = next(r for r in crawl.rejects if _input_of(r) in pair and r["reason"] == reason)
        original = next(a for a in crawl.articles if _input_of(a) in pair)
        assert copy["duplicate_of"] == original["url"] != copy["url"]


def test_server_saw_retries_and_no_forbidden_fetch(
    crawl: CrawlResult, server: FixtureServer
) -> None:
    assert crawl.returncode == 0
    assert server.hits["/broken"] == 3  # first try + RETRY_TIMES=2
    assert server.hits["/private/leak.html"] == 0
    assert server.hits["/robots.txt"] >= 1


def test_run_json_summarises_the_run(crawl: CrawlResult) -> None:
    run = crawl.run
    assert run["spider"] == "articles"
    assert run["finish_reason"] == "finished"
    assert run["run_id"] == crawl.run_dir.name  # type: ignore[union-attr]
    reasons = Counter(r["reason"] for r in crawl.rejects)
    assert run["counts"]["rejects_by_reason"] == dict(sorted(reasons.items()))
    assert run["versions"]["scrapy"]
    assert run["settings"]["ROBOTSTXT_OBEY"] is True


def test_bundled_samples_crawl_offline(tmp_path: Path) -> None:
    samples = Path(__file__).resolve().parents[1] / "data" / "samples" / "urls.txt"
    result = run_crawl(tmp_path, "-a", f"urls={samples}")
    assert result.returncode == 0, result.log[-3000:]
    listed = [
        line.strip()
        for line in samples.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert len(result.articles) == len(listed) >= 3
    assert result.rejects == []
    assert result.run["accounting"]["ok"] is True
    assert all(a["url"].startswith("file://") for a in result.articles)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give -a urls=PATH"),
        (("-a", "urls=/no/such/file.txt"), "-a urls: no such file"),
        (("-a", "url=ftp://example.org/x"), "-a url: unsupported URL scheme 'ftp'"),
        (("-a", "url=https://example.org/a", "-a", "depth=3"), "-a depth: unknown argument"),
    ],
)
def test_bad_arguments_fail_with_a_message_naming_them(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run_crawl(tmp_path, *args)
    assert result.returncode == 1
    assert f"newscrawl: {message}" in result.log  # one line saying what to fix
    assert "Traceback" not in result.log
    assert result.run_dir is None


def test_a_record_lost_in_a_pipeline_is_caught_by_the_accounting(
    server: FixtureServer, tmp_path: Path
) -> None:
    urls = tmp_path / "urls.txt"
    lost = f"{server.base}/articles/semantic_html5.html"
    kept = f"{server.base}/articles/wordpress_blog.html"
    urls.write_text(f"{lost}\n{kept}\n", encoding="utf-8")
    pipelines = (
        '{"pipelines.validate.ValidatePipeline": 100, "tests.support.lossy.LoseOneArticle": 150,'
        ' "pipelines.dedupe.DedupePipeline": 200, "pipelines.write.JsonLinesWriter": 900}'
    )
    result = run_crawl(
        tmp_path / "out", "-a", f"urls={urls}", settings={"ITEM_PIPELINES": pipelines}
    )
    assert result.returncode == 3
    assert [a["url"] for a in result.articles] == [kept]
    assert [(r["url"], r["reason"]) for r in result.rejects] == [(lost, "internal_error")]
    assert result.run["accounting"]["ok"] is False
    assert result.run["accounting"]["unsettled_at_close"] == 1


def test_a_meta_refresh_is_followed_to_the_article(server: FixtureServer, tmp_path: Path) -> None:
    name = article_cases()[0]
    moved = f"{server.base}/refresh/{name}"
    url_file = tmp_path / "urls.txt"
    url_file.write_text(moved + "\n", encoding="utf-8")
    result = run_crawl(tmp_path / "out", "-a", f"urls={url_file}")
    assert result.returncode == 0, result.log[-3000:]
    assert result.rejects == []
    assert [(a["url"], a["requested_url"]) for a in result.articles] == [
        (f"{server.base}/articles/{name}.html", moved)
    ]


_HEAD = '<html><head><meta charset="{charset}"><title>{title}</title>'


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'<html><head><meta http-equiv="refresh" content="0; url=/a.html"></head></html>', ""),
        (
            b'<head><base href="http://other.example/d/"><meta http-equiv="Refresh" '
            b'content="5;URL=p.html"></head>',
            "; charset=utf-8",
        ),
        (b'<head><noscript><meta http-equiv="refresh" content="0;url=/js"></noscript></head>', ""),
        (
            (
                _HEAD.format(charset="iso-8859-1", title="\u00c4\u00d6\u00dc")
                + '<meta http-equiv="refresh" content="0; url=/\u00fc">'
            ).encode("latin-1"),
            "",
        ),
        (
            (
                _HEAD.format(charset="utf-8", title="\u65e5\u672c\u8a9e" * 500)
                + '<meta http-equiv="refresh" content="1; url=/x">'
            ).encode("utf-8"),
            "",
        ),
        ('<head><meta http-equiv="refresh" content="1; url=/\u65e5">'.encode("utf-16"), ""),
        (
            b"<head>" + b"<!-- pad -->" * 300 + b'<meta http-equiv="refresh" content="0;url=/in">',
            "",
        ),
        (
            b"<head>" + b"<!-- pad -->" * 400 + b'<meta http-equiv="refresh" content="0;url=/out">',
            "",
        ),
        (b"<head><title>no refresh</title></head>", "; charset=iso-8859-1"),
    ],
)
def test_head_meta_refresh_finds_what_scrapy_finds(body: bytes, content_type: str) -> None:
    """The middleware reads a 16 KB head; Scrapy decodes the whole page: same answers."""
    from scrapy.http import HtmlResponse
    from scrapy.utils.response import get_meta_refresh

    from newscrawl.fetch.middlewares import head_meta_refresh

    def response() -> HtmlResponse:
        headers = {"Content-Type": "text/html" + content_type}
        return HtmlResponse("http://127.0.0.1/a/b.html", body=body, headers=headers)

    ignore = ["script", "noscript"]
    assert head_meta_refresh(response(), ignore) == get_meta_refresh(response(), ignore)


def test_a_record_refused_as_extra_is_not_counted_by_reason(
    server: FixtureServer, tmp_path: Path
) -> None:
    """A second record for one input is refused; run.json's counts then agree with the files."""
    urls = tmp_path / "urls.txt"
    missing, kept = f"{server.base}/missing", f"{server.base}/articles/wordpress_blog.html"
    urls.write_text(f"{missing}\n{kept}\n", encoding="utf-8")
    middlewares = '{"tests.support.doubled.DoubleHttpErrorReject": 10}'
    result = run_crawl(
        tmp_path / "out", "-a", f"urls={urls}", settings={"SPIDER_MIDDLEWARES": middlewares}
    )
    assert result.returncode == 3, result.log[-3000:]  # an extra record is an accounting failure
    assert [(r["url"], r["reason"]) for r in result.rejects] == [(missing, "http_error")]
    counts, accounting = result.run["counts"], result.run["accounting"]
    assert counts["rejects"] == 1
    assert counts["rejects_by_reason"] == {"http_error": 1}
    assert accounting["extra_outcomes"] == 1
    assert accounting["ok"] is False
