"""Operator experience, used as a person would: the crawl's summary, report.html, exit
statuses, progress display (in a pseudo-terminal and without one), and the `extract`,
`validate` and `schema` commands, all as subprocesses against the local fixture server.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from newscrawl.runs.runreport import RunReport
from schemas import Article, Reject
from schemas.export import render
from tests.bootstrap import INSTALL_CHROMIUM, find_chromium
from tests.conftest import FAST_SETTINGS, REPO, SCRAPY, CrawlResult, run_crawl
from tests.server import FixtureServer

FIXTURES = REPO / "tests" / "fixtures"
ARTICLES = ("semantic_html5", "french_daily", "german_regional", "jsonld_graph_multi_author")
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[[\w.]+\] [A-Z]+: ")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def url_file(tmp: Path, server: FixtureServer, extra: list[str] = ()) -> Path:  # type: ignore[assignment]
    base = server.base
    lines = [f"{base}/articles/{name}.html" for name in ARTICLES]
    lines += [
        f"{base}/articles/section_front.html",  # no_article_text
        f"{base}/missing",  # 404: http_error
        f"{base}/broken",  # 500 after retries: http_error
        str(FIXTURES / "no_date_no_author.html"),  # a local file: no author, no date
        *extra,
    ]
    path = tmp / "urls.txt"
    path.write_text("# operator test\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def scrapy(*args: str, cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRAPY), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, server: FixtureServer) -> list[CrawlResult]:
    """Two crawls of the same list into one output directory (the second: a looser limit)."""
    tmp = tmp_path_factory.mktemp("operator")
    urls = url_file(tmp, server)
    out = tmp / "out"
    first = run_crawl(out, "-a", f"urls={urls}", settings={"NEWSCRAWL_MAX_ERROR_RATE": "0.2"})
    second = run_crawl(
        out, "-a", f"urls={urls}",
        settings={"NEWSCRAWL_MAX_ERROR_RATE": "0.5", "NEWSCRAWL_STATE": str(tmp / "s2.sqlite3"),
                  "NEWSCRAWL_DRIFT_MIN_PAGES": "1"},
    )  # fmt: skip
    return [first, second]


# --- the end of a crawl: summary, run.json, exit status ---


def test_error_rate_above_the_limit_exits_4_and_says_why(runs: list[CrawlResult]) -> None:
    first = runs[0]
    assert first.returncode == 4, first.log[-3000:]
    error = first.run["summary"]["error_rate"]
    # 2 http_error (404, 500) of 8 requested pages: 25%, above the limit of 20%
    assert error == {"reasons": ["download_error", "http_error"], "robots_unavailable": 0,
                     "errors": 2, "requested": 8,
                     "share": 0.25, "max": 0.2, "exceeded": True}  # fmt: skip
    assert (
        "2 of 8 requested pages failed to download (25%), above NEWSCRAWL_MAX_ERROR_RATE=0.2"
        in first.log
    )
    assert (
        "download/HTTP errors: 2 of 8 requested (25%), ABOVE NEWSCRAWL_MAX_ERROR_RATE=0.2"
        in first.log
    )


def test_summary_is_printed_and_kept_in_run_json(runs: list[CrawlResult]) -> None:
    second = runs[1]
    assert second.returncode == 0, second.log[-3000:]
    summary = second.run["summary"]
    assert summary["articles"] == 5
    assert summary["rejects_by_reason"] == {"http_error": 2, "no_article_text": 1}
    assert summary["median_words"] > 50
    assert summary["wall_time_seconds"] > 0
    domains = {d["domain"]: d for d in summary["top_domains_by_count"]}
    assert domains["127.0.0.1"] == {"domain": "127.0.0.1", "pages": 7, "articles": 4, "rejects": 3}
    # a local file counts under its publisher: the host of its canonical URL
    assert domains["www.hollowmere-parish.example"]["articles"] == 1
    assert summary["top_domains_by_reject_rate"][0]["domain"] == "127.0.0.1"
    local = summary["domains"]["www.hollowmere-parish.example"]
    assert local["with_author"] == 0 and local["with_date"] == 0 and local["with_language"] == 1
    assert summary["files"]["report"] == str(second.run_dir / "report.html")
    printed = second.log
    assert f"newscrawl run {second.run['run_id']} (articles):" in printed
    assert "5 articles, 3 rejects in " in printed
    assert "rejects by reason: http_error 2, no_article_text 1" in printed
    assert f"files: {second.run_dir}/" in printed


def test_drift_compares_with_the_previous_run_of_the_spider(runs: list[CrawlResult]) -> None:
    first, second = runs
    assert first.run_dir is not None
    assert "previous_run" in first.run["drift"] and first.run["drift"]["previous_run"] is None
    drift = second.run["drift"]
    assert drift["previous_run"] == first.run_dir.name
    assert drift["flags"] == []  # the same pages: nothing moved
    assert drift["domains"]["127.0.0.1"]["median_words"]["change"] == 0


def test_a_quiet_rerun_is_not_drift_and_a_real_failure_rise_still_is(
    tmp_path: Path, server: FixtureServer
) -> None:
    """The README's cron line, run as cron runs it: the second run finds every article
    `seen_before` (benign, not a failure): no drift warning, no flag in run.json or in the
    report. A third run whose pages now fail is flagged against the last run that requested
    enough pages (the first), not the quiet one."""
    base = server.base
    out, jobs = tmp_path / "news", tmp_path / "jobs" / "hourly"
    stories = [f"{base}/gen/{n}.html" for n in range(5101, 5109)]
    today = tmp_path / "today.txt"
    today.write_text("\n".join(stories) + "\n", encoding="utf-8")
    cron = ("-a", f"urls={today}", "-a", f"resume={jobs}")
    quiet = {"LOG_LEVEL": "WARNING"}
    first = run_crawl(out, *cron, settings=quiet)
    second = run_crawl(out, *cron, settings=quiet)
    for result in (first, second):
        assert result.returncode == 0, result.log[-3000:]
    assert first.run["summary"]["articles"] == 8
    summary = second.run["summary"]
    assert summary["rejects_by_reason"] == {"seen_before": 8}
    assert summary["benign_rejects"] == 8
    domain = summary["domains"]["127.0.0.1"]
    assert (domain["requested"], domain["failures"], domain["benign"]) == (0, 0, 8)
    assert domain["reject_rate"] == 1.0 and domain["failure_rate"] is None
    assert second.run["drift"]["previous_run"] == first.run_dir.name  # type: ignore[union-attr]
    assert second.run["drift"]["flags"] == []
    assert "drift on" not in second.log and "DRIFT" not in second.log
    assert "of the rejects, 8 benign (seen_before 8) and 0 failures" in second.log
    html = (second.run_dir / "report.html").read_text(encoding="utf-8")  # type: ignore[operator]
    assert 'class="flag"' not in html and "class=flag" not in html
    assert "127.0.0.1: 8 benign" in html and "seen_before: 8 benign" in html

    tuesday = tmp_path / "tuesday.txt"
    fresh = [f"{base}/gen/{n}.html" for n in range(5109, 5115)]
    gone = [f"{base}/gone/{n}.html" for n in range(4)]  # 404: the site lost them
    tuesday.write_text("\n".join([*fresh, *gone]) + "\n", encoding="utf-8")
    third = run_crawl(out, "-a", f"urls={tuesday}", "-a", f"resume={jobs}", settings=quiet)
    assert third.returncode == 4, third.log[-3000:]  # 4 of 10 requested failed: above 0.25
    [flag] = third.run["drift"]["flags"]
    assert flag == {
        "domain": "127.0.0.1", "metric": "failure_rate", "previous": 0.0,
        "current": 0.4, "change": 0.4, "flagged": True,
        "run": first.run_dir.name,  # type: ignore[union-attr]
    }  # fmt: skip
    assert third.run["drift"]["previous_run"] == second.run_dir.name  # type: ignore[union-attr]
    assert (
        f"drift on 127.0.0.1: failure_rate 0.0 -> 0.4 since run {first.run_dir.name}" in third.log  # type: ignore[union-attr]
    )


def test_unwritable_output_fails_at_start_before_any_fetch(
    tmp_path: Path, server: FixtureServer
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    marker = f"{server.base}/marked/unwritable-output/semantic_html5"
    urls = tmp_path / "urls.txt"
    urls.write_text(marker + "\n")
    result = run_crawl(blocker / "out", "-a", f"urls={urls}")
    assert result.returncode == 1
    assert f"cannot write the run's output under {blocker / 'out' / 'articles'}" in result.log
    assert "Not a directory" in result.log
    assert "Traceback" not in result.log
    assert server.hits["/marked/unwritable-output/semantic_html5"] == 0


@pytest.mark.parametrize("how", ["-o", "-O", "FEEDS"])
def test_feed_exports_are_refused_at_start_pointing_to_articles_jsonl(
    tmp_path: Path, server: FixtureServer, how: str
) -> None:
    path = f"/marked/feed-{how.strip('-')}/semantic_html5"
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{server.base}{path}\n")
    feed = tmp_path / "feed.jsonl"
    if how == "FEEDS":
        args = ["-s", f'FEEDS={{"{feed}": {{"format": "jsonlines"}}}}']
    else:
        args = [how, str(feed)]
    result = run_crawl(tmp_path / "out", "-a", f"urls={urls}", *args)
    assert result.returncode == 1, result.log[-3000:]
    lines = [line for line in result.log.splitlines() if line.startswith("newscrawl: ")]
    assert lines == [
        f"newscrawl: feed exports (-o/-O/FEEDS: {feed}) are not supported: each run writes"
        f" its articles to {tmp_path / 'out' / 'articles'}/<run_id>/articles.jsonl"
        " (rejects.jsonl and run.json beside it); set NEWSCRAWL_OUTPUT_DIR to choose the"
        " directory. Nothing was fetched."
    ]
    assert "Traceback" not in result.log
    assert not feed.exists()
    assert result.run_dir is None
    assert server.hits[path] == 0


# --- drift flags, on run directories written by hand ---


def _write_run(
    directory: Path, articles: list[dict[str, Any]], rejects: list[dict[str, Any]]
) -> None:
    directory.mkdir(parents=True)
    with (directory / "articles.jsonl").open("w") as handle:
        handle.writelines(json.dumps(a) + "\n" for a in articles)
    with (directory / "rejects.jsonl").open("w") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rejects)
    run = {
        "run_id": directory.name,
        "spider": "articles",
        "accounting": {"ok": True},
        "started_at": "2026-11-26T10:00:00+00:00",
        "finished_at": "2026-11-26T10:01:00+00:00",
    }
    (directory / "run.json").write_text(json.dumps(run))


def _article(host: str, words: int, dated: bool, author: bool) -> dict[str, Any]:
    return {
        "url": f"https://{host}/story-{words}",
        "word_count": words,
        "published_at": "2026-11-0" + str(1 + words % 9) if dated else None,
        "authors": ["A. Writer"] if author else [],
        "language": "en",
    }


def test_a_site_redesign_is_flagged_in_run_json_and_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "articles"
    before = [_article("news.example", 600 + i, True, True) for i in range(6)]
    before += [_article("steady.example", 400 + i, True, False) for i in range(6)]
    _write_run(runs / "20261125T100000Z-aaaaaa", before, [])
    after = [_article("news.example", 120 + i, False, True) for i in range(6)]  # text lost
    after += [_article("steady.example", 400 + i, True, False) for i in range(6)]
    rejects = [{"url": "https://news.example/x", "reason": "no_article_text"}] * 4
    _write_run(runs / "20261126T100000Z-bbbbbb", after, rejects)
    report = RunReport(
        _Stats(), max_error_rate=0.25, drift_threshold=0.25, drift_min_pages=5,
        write_report=True, print_summary=False,
    )  # fmt: skip
    run = report.finish(runs / "20261126T100000Z-bbbbbb")
    flagged = {(f["domain"], f["metric"]) for f in run["drift"]["flags"]}
    assert flagged == {
        ("news.example", "median_words"),
        ("news.example", "with_date"),
        ("news.example", "failure_rate"),
    }
    assert run["drift"]["previous_run"] == "20261125T100000Z-aaaaaa"
    written = json.loads((runs / "20261126T100000Z-bbbbbb" / "run.json").read_text())
    assert written["drift"] == run["drift"]
    html = (runs / "20261126T100000Z-bbbbbb" / "report.html").read_text()
    assert "3 large change(s) flagged" in html


class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value


# --- report.html in a real browser ---

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--enable-logging=stderr", "--v=0",
)  # fmt: skip


def open_in_chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The page's DOM after loading, and every message it wrote to the console."""
    chromium = _chromium()
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def _chromium() -> str:
    """Chromium on PATH; else a failure naming the command (`make test` runs it as root)."""
    found = find_chromium()
    if found is None:
        pytest.fail(
            f"chromium is not installed: run `sudo {INSTALL_CHROMIUM}`"
            " (make test does it when run as root)"
        )
    return found


def test_console_errors_are_seen(tmp_path: Path) -> None:
    """The check below would see a broken page (the control for 'no console errors')."""
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><body><script>console.error("x"); nope();</script></body>')
    _, console = open_in_chromium(page, tmp_path / "profile")
    assert any("nope is not defined" in line for line in console), console


def test_report_renders_its_charts_in_chromium(runs: list[CrawlResult], tmp_path: Path) -> None:
    run_dir = runs[1].run_dir
    assert run_dir is not None
    page = run_dir / "report.html"
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing fetched
    dom, console = open_in_chromium(page, tmp_path / "profile")
    assert console == []
    for section in ("per-domain", "reject-reasons", "text-length", "publication-dates",
                    "missing-fields", "drift", "domains"):  # fmt: skip
        assert f'id="{section}"' in dom, section
    charts = re.findall(r'<section id="([\w-]+)">.*?</section>', dom, re.S)
    assert len(charts) == 7
    for section in ("per-domain", "reject-reasons", "text-length", "publication-dates",
                    "missing-fields"):  # fmt: skip
        body = re.search(rf'<section id="{section}">(.*?)</section>', dom, re.S)
        assert body is not None and "<svg" in body[1] and body[1].count("<rect") >= 2, section
    assert "127.0.0.1: 4 articles" in dom and "http_error: 2 failures" in dom
    assert f"Compared with run <code>{runs[0].run_dir.name}</code>" in dom  # type: ignore[union-attr]


# --- progress ---


def _crawl_command(urls: Path, out: Path, **settings: str) -> list[str]:
    command = [str(SCRAPY), "crawl", "articles", "-a", f"urls={urls}"]
    merged = {**FAST_SETTINGS, "NEWSCRAWL_OUTPUT_DIR": str(out),
              "NEWSCRAWL_STATE": str(out / "state.sqlite3"), **settings}  # fmt: skip
    for name, value in merged.items():
        command += ["-s", f"{name}={value}"]
    return command


def run_in_pty(command: list[str], timeout: float = 120) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as its stdin/stdout/stderr; all it wrote."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env, close_fds=True
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                output += data
            elif process.poll() is not None:
                break
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return process.wait(timeout=30), output.decode("utf-8", "replace")


def test_live_progress_on_a_terminal_never_breaks_a_log_line(
    tmp_path: Path, server: FixtureServer
) -> None:
    urls = url_file(tmp_path, server)
    code, screen = run_in_pty(
        _crawl_command(urls, tmp_path / "out", NEWSCRAWL_MAX_ERROR_RATE="1",
                       NEWSCRAWL_EXTRACT_FUNCTION="tests.support.slow_extract.extract_article")
    )  # fmt: skip
    assert code == 0, screen[-3000:]
    assert "\x1b[" in screen  # a live display, drawn with control sequences
    text = ANSI.sub("", screen)
    segments = [s for line in text.split("\n") for s in line.split("\r")]
    bars = [s for s in segments if " inputs · " in s]
    assert bars, text[-3000:]
    assert any(re.search(r"\b8/8 inputs · 5 articles · 3 rejects ·", s) for s in bars), bars[-3:]
    assert any(re.search(r"\b\d/8 inputs", s) and "8/8" not in s for s in bars)  # while running
    logs = [s for s in segments if LOG_LINE.search(s)]
    assert len(logs) > 10
    for segment in logs:  # every log line whole, at the start of its own terminal line
        assert LOG_LINE.match(segment) and len(LOG_LINE.findall(segment)) == 1, segment
        assert " inputs · " not in segment, segment
    assert "5 articles, 3 rejects in " in text  # the summary after the display


def test_plain_progress_lines_off_a_terminal(tmp_path: Path, server: FixtureServer) -> None:
    urls = url_file(tmp_path, server)
    done = subprocess.run(
        _crawl_command(urls, tmp_path / "out", NEWSCRAWL_PROGRESS_INTERVAL="0.5",
                       NEWSCRAWL_MAX_ERROR_RATE="1", NEWSCRAWL_EXTRACT_WORKERS="1",
                       NEWSCRAWL_EXTRACT_FUNCTION="tests.support.slow_extract.extract_article"),
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    output = done.stderr + done.stdout
    assert done.returncode == 0, output[-3000:]
    progress = re.findall(r"\[newscrawl\.progress\] INFO: (progress: .*)", output)
    assert len(progress) >= 2, output[-3000:]
    assert re.fullmatch(
        r"progress: \d/8 inputs done \(\d+%\), \d articles, \d rejects, ([\d.]+|–) pages/s"
        r"(, ETA \d:\d\d:\d\d)?",
        progress[0],
    ), progress[0]
    assert "\x1b" not in output and "\r" not in output  # no control characters


# --- scrapy extract ---


def test_extract_prints_the_article_the_crawl_would_write(server: FixtureServer) -> None:
    url = f"{server.base}/articles/cookie_and_paywall_prompts.html"
    human = scrapy("extract", url, "--explain")
    assert human.returncode == 0, human.stderr[-2000:]
    assert human.stdout.startswith(f"ARTICLE  {url}\n  title:     Voltaris delays ")
    assert "\n  authors:   Priya Natarajan\n" in human.stdout
    assert re.search(r"\nremoved as boilerplate \(\d+\):\n  \[\w+\] ", human.stdout)
    as_json = scrapy("extract", url, "--json")
    assert as_json.returncode == 0
    article = Article.model_validate_json(as_json.stdout)  # the line the writer would write
    assert article.url == url and article.title in human.stdout
    assert article.text.split("\n\n")[0][:60] in human.stdout.replace("\n", " ")


def test_extract_explains_the_boilerplate_of_a_local_file() -> None:
    page = FIXTURES / "cookie_and_paywall_prompts.html"
    result = scrapy("extract", str(page.relative_to(REPO)), "--json", "--explain")
    assert result.returncode == 0, result.stderr[-2000:]
    explained = json.loads(result.stdout)
    assert explained["outcome"] == "article"
    assert explained["record"]["url"] == page.as_uri()
    rules = {r["rule"] for r in explained["removed"]}
    assert "boilerplate_container" in rules
    assert any("cookies" in r["text"] for r in explained["removed"])


def test_extract_prints_the_reject_and_its_reason(server: FixtureServer) -> None:
    missing = scrapy("extract", f"{server.base}/missing")
    assert missing.returncode == 1
    assert missing.stdout.startswith("REJECT  http_error: HTTP 404\n")
    listing = scrapy("extract", f"{server.base}/articles/section_front.html", "--json")
    assert listing.returncode == 1
    reject = Reject.model_validate_json(listing.stdout)
    assert reject.reason == "no_article_text"
    bad = scrapy("extract", "javascript:alert(1)")
    assert bad.returncode == 1 and bad.stdout.startswith("REJECT  invalid_url: ")


# --- scrapy validate ---


def test_validate_passes_a_crawls_own_files(runs: list[CrawlResult]) -> None:
    run_dir = runs[1].run_dir
    assert run_dir is not None
    result = scrapy("validate", str(run_dir / "articles.jsonl"), str(run_dir / "rejects.jsonl"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{run_dir / 'articles.jsonl'}: 5 lines: 5 articles, 0 rejects, ok",
        f"{run_dir / 'rejects.jsonl'}: 3 lines: 0 articles, 3 rejects, ok",
    ]


def test_validate_names_each_bad_line_and_exits_non_zero(
    runs: list[CrawlResult], tmp_path: Path
) -> None:
    first = runs[1].articles[0]
    wrong_count = {**first, "word_count": first["word_count"] + 1}
    bad_reject = {"url": "https://x.example/", "reason": "bored", "detail": "", "spider": "x"}
    torn = json.dumps(first)[:80]
    data = b"\n".join(
        [
            json.dumps(first).encode(),
            json.dumps(wrong_count).encode(),
            json.dumps(bad_reject).encode(),
            b'{"url": "https://x.example/caf\xe9"}',
            b"",
            torn.encode(),
        ]
    )
    path = tmp_path / "bad.jsonl"
    path.write_bytes(data)
    result = scrapy("validate", str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert not any(line.startswith(f"{path}:1:") for line in lines)
    assert any(line.startswith(f"{path}:2: Article: ") and "word_count" in line for line in lines)
    assert any(line.startswith(f"{path}:3: Reject: reason: ") for line in lines), lines
    assert f"{path}:4: not UTF-8: byte e9 at column 31" in result.stdout
    assert f"{path}:5: empty line" in result.stdout
    assert f"{path}:6: torn last line: incomplete JSON and no newline" in result.stdout
    assert lines[-1] == f"{path}: 6 lines: 1 articles, 0 rejects, 5 bad"


# --- scrapy schema ---


def test_schema_prints_and_writes_the_records_schemas(tmp_path: Path) -> None:
    article = scrapy("schema", "article")
    assert article.returncode == 0, article.stderr
    assert article.stdout == render(Article)
    written = scrapy("schema", "--output", str(tmp_path / "out"))
    assert written.returncode == 0
    assert (tmp_path / "out" / "reject.schema.json").read_text() == render(Reject)
    assert (tmp_path / "out" / "article.schema.json").read_text() == render(Article)
    assert scrapy("schema", "video").returncode == 2


def test_sitemap_progress_has_a_total_once_the_sitemaps_are_read(tmp_path: Path) -> None:
    from tests.newssite import NewsSite

    site = NewsSite().start()
    try:
        result = run_crawl(
            tmp_path, "-a", f"domains={site.base}", "-a", "since=2025-01-01", "-a",
            "max_articles=6", spider="sitemap",
            settings={"NEWSCRAWL_PROGRESS_INTERVAL": "0.5", "NEWSCRAWL_EXTRACT_WORKERS": "1",
                      "NEWSCRAWL_EXTRACT_FUNCTION": "tests.support.slow_extract.extract_article"},
        )  # fmt: skip
    finally:
        site.stop()
    assert result.returncode == 0, result.log[-3000:]
    inputs = result.run["counts"]["inputs"]
    assert inputs == 6
    totals = re.findall(r"INFO: progress: \d+/(\d+) inputs done", result.log)
    assert totals and set(totals) == {"6"}, result.log[-3000:]
