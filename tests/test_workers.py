"""The extraction worker pool end to end: the real `scrapy crawl`, a page that hangs, a worker
that dies, an extractor that raises; and the in-process path (`NEWSCRAWL_EXTRACT_WORKERS=0`).

Faults come from `tests.support.faulty_extract`, loaded with `NEWSCRAWL_EXTRACT_FUNCTION`: it
misbehaves for URLs carrying a marker (served by the fixture server under /marked/<marker>/).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from newscrawl.pool.worker_main import recv_message, send_message
from newscrawl.pool.workers import ExtractionPool, PoolSettings
from tests.conftest import CrawlResult, run_crawl
from tests.golden import COMPARED_FIELDS, article_cases
from tests.server import FixtureServer
from tests.support import big_reply
from tests.support.faulty_extract import BLOAT, BLOAT_BYTES, CRASH, HANG, RAISE, UNREADABLE

FAULTY = "tests.support.faulty_extract.extract_article"
BIG_REPLY = "tests.support.big_reply.extract_article"
HEAP_CHURN = "tests.support.heap_churn.extract"
ARTICLES = article_cases()[:6]
EXTRACTED = (*COMPARED_FIELDS, "word_count", "content_sha256", "warnings", "http_status")


def _crawl(workdir: Path, lines: list[str], settings: dict[str, str]) -> tuple[CrawlResult, float]:
    workdir.mkdir(parents=True, exist_ok=True)
    url_file = workdir / "urls.txt"
    url_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    result = run_crawl(workdir / "out", "-a", f"urls={url_file}", settings=settings)
    return result, time.monotonic() - started


def _workers_left() -> list[str]:
    """Command lines of worker processes running the test extractor (Linux /proc), started
    from this environment's Python (not another checkout's tests running alongside)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (
            command.startswith(sys.executable + " ")
            and "newscrawl.pool.worker_main" in command
            and FAULTY in command
        ):
            found.append(command)
    return found


def _reasons(result: CrawlResult) -> dict[str, str]:
    return {reject["url"]: reject["reason"] for reject in result.rejects}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_hung_page_and_a_killed_worker_end_as_rejects_and_the_pool_recovers(
    server: FixtureServer, tmp_path: Path, workers: int
) -> None:
    base = server.base
    hang = f"{base}/marked/{HANG}/{ARTICLES[0]}"
    crash = f"{base}/marked/{CRASH}/{ARTICLES[1]}"
    buggy = f"{base}/marked/{RAISE}/{ARTICLES[2]}"
    unreadable = f"{base}/marked/{UNREADABLE}/{ARTICLES[3]}"
    normal = [f"{base}/articles/{name}.html" for name in ARTICLES]
    result, elapsed = _crawl(
        tmp_path,
        [hang, crash, buggy, unreadable, *normal],
        {
            "NEWSCRAWL_EXTRACT_WORKERS": str(workers),
            "NEWSCRAWL_EXTRACT_TIMEOUT": "1.5",
            "NEWSCRAWL_EXTRACT_FUNCTION": FAULTY,
            "CONCURRENT_REQUESTS": "2",
            "LOG_LEVEL": "DEBUG",
        },
    )
    assert result.returncode == 0, result.log[-3000:]
    assert elapsed < 60, "the crawl waited on the hung page"
    assert _reasons(result) == {
        hang: "extraction_timeout",
        crash: "extraction_error",
        buggy: "extraction_error",
        unreadable: "extraction_error",
    }
    rejects = {reject["url"]: reject for reject in result.rejects}
    assert "longer than 1.5s" in rejects[hang]["detail"]
    assert "died on this page twice" in rejects[crash]["detail"]
    assert "SIGKILL" in rejects[crash]["detail"]
    assert "RuntimeError: simulated extractor bug" in rejects[buggy]["detail"]
    assert rejects[unreadable]["detail"] == (
        "result could not be read: RuntimeError: this result cannot be loaded in the crawler"
    )
    assert all(reject["http_status"] == 200 for reject in result.rejects)
    assert sorted(article["url"] for article in result.articles) == sorted(normal)
    run = result.run
    assert run["accounting"]["ok"] is True
    assert run["counts"]["rejects_by_reason"] == {"extraction_error": 3, "extraction_timeout": 1}
    assert "'newscrawl/extract/timeouts': 1" in result.log
    assert "'newscrawl/extract/worker_deaths': 2" in result.log  # the crash page, tried twice
    # Pages were still extracted after the faults: the killed workers were replaced.
    log = result.log
    last_fault = max(log.rindex("took over 1.5s"), log.rindex("died twice on"))
    assert "Scraped from <200" in log[last_fault:], "no page extracted after the faults"
    if Path("/proc/self/cmdline").exists():
        assert not _workers_left(), "worker processes outlived the crawl"


def test_a_worker_past_its_rss_bound_is_replaced_and_no_page_is_lost(
    server: FixtureServer, tmp_path: Path
) -> None:
    base = server.base
    bloated = f"{base}/marked/{BLOAT}/{ARTICLES[0]}"
    normal = [f"{base}/articles/{name}.html" for name in ARTICLES[1:]]
    bound_mb = 150  # a fresh worker is far below it; one holding BLOAT_BYTES far above
    assert bound_mb << 20 < BLOAT_BYTES
    result, _ = _crawl(
        tmp_path,
        [bloated, *normal],
        {
            "NEWSCRAWL_EXTRACT_WORKERS": "1",
            "NEWSCRAWL_EXTRACT_WORKER_MAX_RSS": str(bound_mb),
            "NEWSCRAWL_EXTRACT_FUNCTION": FAULTY,
            "CONCURRENT_REQUESTS": "1",
        },
    )
    assert result.returncode == 0, result.log[-3000:]
    assert result.rejects == []
    assert sorted(article["url"] for article in result.articles) == sorted([bloated, *normal])
    assert result.run["accounting"]["ok"] is True
    assert "'newscrawl/extract/workers_recycled_rss': 1" in result.log
    assert "'newscrawl/extract/workers_started': 2" in result.log
    assert "'newscrawl/extract/worker_deaths'" not in result.log


def test_in_process_extraction_gives_the_same_outcomes(
    server: FixtureServer, tmp_path: Path
) -> None:
    base = server.base
    buggy = f"{base}/marked/{RAISE}/{ARTICLES[0]}"
    normal = [f"{base}/articles/{name}.html" for name in ARTICLES]
    lines = [buggy, *normal]
    in_process, _ = _crawl(
        tmp_path / "inline",
        lines,
        {"NEWSCRAWL_EXTRACT_WORKERS": "0", "NEWSCRAWL_EXTRACT_FUNCTION": FAULTY},
    )
    pooled, _ = _crawl(
        tmp_path / "pool",
        lines,
        {"NEWSCRAWL_EXTRACT_WORKERS": "2", "NEWSCRAWL_EXTRACT_FUNCTION": FAULTY},
    )
    assert in_process.returncode == 0, in_process.log[-3000:]
    assert pooled.returncode == 0, pooled.log[-3000:]
    assert "extracting in 2 worker processes" in pooled.log
    assert "extracting in" not in in_process.log
    assert _reasons(in_process) == {buggy: "extraction_error"}
    assert in_process.run["accounting"]["ok"] is True

    def articles(result: CrawlResult) -> dict[str, dict[str, object]]:
        return {a["url"]: {k: a[k] for k in EXTRACTED} for a in result.articles}

    assert sorted(articles(in_process)) == sorted(normal)
    assert articles(in_process) == articles(pooled)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NEWSCRAWL_EXTRACT_WORKERS", "-1", "NEWSCRAWL_EXTRACT_WORKERS must be >= 0"),
        ("NEWSCRAWL_EXTRACT_TIMEOUT", "0", "NEWSCRAWL_EXTRACT_TIMEOUT must be > 0"),
        ("NEWSCRAWL_EXTRACT_FUNCTION", "tests.support.nowhere.f", "No module named"),
        ("NEWSCRAWL_EXTRACT_WORKER_MAX_RSS", "-5", "NEWSCRAWL_EXTRACT_WORKER_MAX_RSS must be >= 0"),
    ],
)
def test_bad_pool_settings_stop_the_crawl_at_start(
    server: FixtureServer, tmp_path: Path, name: str, value: str, message: str
) -> None:
    result, _ = _crawl(tmp_path, [f"{server.base}/articles/{ARTICLES[0]}.html"], {name: value})
    assert result.returncode == 1, result.log[-3000:]
    assert message in result.log


def test_a_worker_whose_crawler_hung_up_leaves_quietly() -> None:
    """The crawler stopped while the worker was still starting: no BrokenPipeError."""
    ours, theirs = socket.socketpair()
    ours.close()  # the crawler is gone before the worker says it is ready
    try:
        done = subprocess.run(
            [sys.executable, "-m", "newscrawl.pool.worker_main", str(theirs.fileno()), FAULTY],
            pass_fds=[theirs.fileno()], capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        theirs.close()
    assert (done.returncode, done.stderr) == (0, "")


def test_an_answer_that_came_in_while_the_event_loop_was_frozen_is_in_time() -> None:
    """The crawler's event loop blocked (a synchronous Redis call on a stalled server) for
    longer than NEWSCRAWL_EXTRACT_TIMEOUT while the worker answered: the page is not timed
    out, its whole answer is read, and the worker keeps serving. In-process: the freeze must
    fall while the worker is on the page, which a crawl cannot pin."""
    crawler = get_crawler(settings_dict={"NEWSCRAWL_EXTRACT_FUNCTION": BIG_REPLY})

    async def run() -> tuple[list[int], float]:
        pool = ExtractionPool(crawler, PoolSettings(1, 1.0, BIG_REPLY, 0))  # starts on a page
        loop = asyncio.get_running_loop()
        sizes = []
        try:
            await pool.extract(b"<p>warm-up</p>", "text/html", "http://127.0.0.1/0")
            # The worker is on the page (it works 0.3 s) when the loop freezes for 2.5 s;
            # its answer (16 MB, more than the socket buffers hold) is half written meanwhile.
            loop.call_later(0.1, time.sleep, 2.5)
            started = time.monotonic()
            for n in (1, 2):
                page = await pool.extract(b"<p>page</p>", "text/html", f"http://127.0.0.1/{n}")
                sizes.append(len(page.fields["blob"]))
            took = time.monotonic() - started
        finally:
            pool.spider_closed()
        return sizes, took

    sizes, took = asyncio.run(run())
    assert sizes == [big_reply.SIZE, big_reply.SIZE]  # both whole, the stream still in step
    assert took >= 2.5  # the freeze did fall on the first page
    assert crawler.stats is not None
    assert crawler.stats.get_value("newscrawl/extract/timeouts") is None
    assert crawler.stats.get_value("newscrawl/extract/workers_started") == 1


def test_a_large_page_queued_behind_a_timed_out_page_is_still_extracted(
    server: FixtureServer, tmp_path: Path
) -> None:
    """One worker stuck on a page; an 8 MB page behind it fills the socket buffers (about
    2 MB) mid-send when the stuck worker is killed. The send must end with the old socket,
    so the large page goes to the replacement and every later page too; the crawl ends by
    itself (a deadlock here is caught by the crawl's own time limit)."""
    base = server.base
    hang = f"{base}/marked/{HANG}/{ARTICLES[0]}"
    large = f"{base}/large/8/{ARTICLES[1]}"
    normal = [f"{base}/articles/{name}.html" for name in ARTICLES[2:]]
    tmp_path.mkdir(parents=True, exist_ok=True)
    url_file = tmp_path / "urls.txt"
    url_file.write_text("\n".join([hang, large, *normal]) + "\n", encoding="utf-8")
    started = time.monotonic()
    result = run_crawl(
        tmp_path / "out",
        "-a",
        f"urls={url_file}",
        settings={
            "NEWSCRAWL_EXTRACT_WORKERS": "1",
            "NEWSCRAWL_EXTRACT_TIMEOUT": "3",
            "NEWSCRAWL_EXTRACT_FUNCTION": FAULTY,
            "CONCURRENT_REQUESTS": "1",  # the hung page is in the worker before the large one
        },
        timeout=90,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.log[-3000:]
    assert elapsed < 100, f"the crawl took {elapsed:.0f}s"
    assert _reasons(result) == {hang: "extraction_timeout"}
    assert sorted(article["url"] for article in result.articles) == sorted([large, *normal])
    assert result.run["accounting"]["ok"] is True
    assert "'newscrawl/extract/timeouts': 1" in result.log
    assert "Traceback" not in result.log and "Exception in callback" not in result.log
    if Path("/proc/self/cmdline").exists():
        assert not _workers_left(), "worker processes outlived the crawl"


def test_a_worker_returns_its_free_heap_after_real_growth_not_after_every_page() -> None:
    """A real worker process: the libraries' memory loaded on the first page is not growth (the
    first page trims and sets the baseline), so small churn is left alone (a trim on every
    page cost 0.45 ms and the page faults of refilling the heap), and 16 MB of freed heap over
    the last trim goes back to the system."""
    ours, theirs = socket.socketpair()
    worker = subprocess.Popen(
        [sys.executable, "-m", "newscrawl.pool.worker_main", str(theirs.fileno()), HEAP_CHURN],
        pass_fds=[theirs.fileno()],
    )  # fmt: skip
    theirs.close()
    try:
        assert recv_message(ours)[0] == "ready"

        def rss_after(page: str) -> int:
            send_message(ours, (b"<p>page</p>", "text/html", f"http://127.0.0.1/{page}"))
            reply = recv_message(ours)
            assert reply[0] == "ok", reply
            return int(reply[2])

        loaded = rss_after("keep-48")  # a model loaded on first use, then the first trim
        churned = [rss_after("churn-10") for _ in range(3)]
        trimmed = rss_after("churn-40")
        send_message(ours, None)
        assert worker.wait(timeout=30) == 0
    finally:
        ours.close()
        if worker.poll() is None:
            worker.kill()
    mb = 1 << 20
    assert all(rss > loaded + 6 * mb for rss in churned)  # 10 MB freed, kept: no trim
    assert trimmed < loaded + 6 * mb  # 40 MB freed: over the 16 MB, returned
