"""Reruns end to end: the real `scrapy crawl articles`, run again and again on one state store.

A rerun fetches nothing it exported before (`seen_before`); `-a refresh=true` revalidates
with conditional requests; copies under other URLs are duplicates or near-duplicates of the
original; and a crawl killed with SIGKILL at any point resumes to exactly the records one
uninterrupted run writes.
"""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from newscrawl.history import neardup
from newscrawl.history.state import PageState, SqliteStateStore, StateLockedError
from newscrawl.history.urls import canonical_url, page_key, page_keys
from schemas import Article, Reject
from schemas.article import text_sha256
from tests.conftest import FAST_SETTINGS, REPO, SCRAPY, CrawlResult, run_crawl
from tests.generated import article_text
from tests.server import FixtureServer


def _write_urls(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _crawl(workdir: Path, name: str, urls: Path, state: Path, *args: str) -> CrawlResult:
    result = run_crawl(
        workdir / name, "-a", f"urls={urls}", *args, settings={"NEWSCRAWL_STATE": str(state)}
    )
    assert result.returncode == 0, result.log[-3000:]
    assert result.run["accounting"]["ok"] is True
    return result


def _pairs(result: CrawlResult) -> list[tuple[str, str]]:
    """(input, `article` or the reject reason) for every record."""
    pairs = [(a["requested_url"], "article") for a in result.articles]
    return pairs + [(r.get("requested_url") or r["url"], r["reason"]) for r in result.rejects]


def _outcomes(result: CrawlResult) -> dict[str, str]:
    """Input -> `article` or the reject reason; each input exactly once."""
    pairs = _pairs(result)
    outcomes = dict(pairs)
    assert len(outcomes) == len(pairs), "an input has two records"
    return outcomes


def _hits(server: FixtureServer, paths: list[str]) -> dict[str, int]:
    return {path: server.hits[path] for path in paths}


def test_a_rerun_fetches_nothing_and_new_urls_only_are_fetched(
    server: FixtureServer, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite3"
    paths = [f"/gen/{n}.html" for n in range(1000, 1005)] + ["/articles/wordpress_blog.html"]
    urls = [server.base + path for path in paths]
    first = _crawl(tmp_path, "first", _write_urls(tmp_path / "a.txt", urls), state)
    assert _outcomes(first) == dict.fromkeys(urls, "article")

    before = _hits(server, paths)
    second = _crawl(tmp_path, "second", _write_urls(tmp_path / "a.txt", urls), state)
    assert _hits(server, paths) == before  # not one article page fetched again
    assert _outcomes(second) == dict.fromkeys(urls, "seen_before")
    for reject in second.rejects:
        assert reject["duplicate_of"] == reject["url"]
        assert reject["fetched_at"] is None
        assert first.run["run_id"] in reject["detail"]
    assert second.run["counts"]["rejects_by_reason"] == {"seen_before": len(urls)}

    new_paths = [f"/gen/{n}.html" for n in range(1005, 1008)]
    new = [server.base + path for path in new_paths]
    before = _hits(server, paths + new_paths)
    third = _crawl(tmp_path, "third", _write_urls(tmp_path / "b.txt", urls + new), state)
    after = _hits(server, paths + new_paths)
    assert {p: after[p] - before[p] for p in paths + new_paths} == {
        **dict.fromkeys(paths, 0), **dict.fromkeys(new_paths, 1),
    }  # fmt: skip
    assert _outcomes(third) == {
        **dict.fromkeys(urls, "seen_before"), **dict.fromkeys(new, "article"),
    }  # fmt: skip


def test_refresh_revalidates_and_a_changed_page_becomes_a_new_revision(
    server: FixtureServer, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite3"
    same, changed, other = (f"{server.base}/gen/{n}.html" for n in (1100, 1101, 1102))
    plain = f"{server.base}/static/1103.html"  # no ETag: compared by content_sha256
    urls = _write_urls(tmp_path / "urls.txt", [same, changed, other, plain])
    first = _crawl(tmp_path, "first", urls, state)
    original = {a["requested_url"]: a for a in first.articles}
    assert len(original) == 4

    server.revisions[1101] = 2
    not_modified = Counter(server.not_modified)
    refreshed = _crawl(tmp_path, "refresh", urls, state, "-a", "refresh=true")
    assert _outcomes(refreshed) == {
        same: "unchanged", changed: "article", other: "unchanged", plain: "unchanged",
    }  # fmt: skip
    revised = refreshed.articles[0]
    assert revised["revision"] == 2
    assert revised["previous_sha256"] == original[changed]["content_sha256"]
    assert revised["content_sha256"] != original[changed]["content_sha256"]
    Article.model_validate(revised)
    rejects = {r["requested_url"]: r for r in refreshed.rejects}
    assert rejects[same]["http_status"] == rejects[other]["http_status"] == 304
    assert rejects[plain]["http_status"] == 200
    assert rejects[same]["duplicate_of"] == same
    assert server.not_modified - not_modified == Counter({"/gen/1100.html": 1, "/gen/1102.html": 1})

    # The new revision's validators were stored: refreshing again, every page is a 304.
    again = _crawl(tmp_path, "again", urls, state, "-a", "refresh=true")
    assert _outcomes(again) == dict.fromkeys([same, changed, other, plain], "unchanged")
    assert {r["http_status"] for r in again.rejects if r["url"] != plain} == {304}
    # And without refresh, everything is simply seen_before.
    plain_run = _crawl(tmp_path, "plain", urls, state)
    assert set(_outcomes(plain_run).values()) == {"seen_before"}


def test_copies_under_other_urls_are_duplicates_of_the_original(
    server: FixtureServer, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite3"
    original, mirrored = f"{server.base}/gen/1200.html", f"{server.base}/gen/1201.html"
    _crawl(tmp_path, "first", _write_urls(tmp_path / "a.txt", [original, mirrored]), state)

    tracked = f"{original}?utm_source=newsletter&utm_medium=email&fbclid=AbC123#comments"
    mirror = f"{server.base}/mirror/1201.html"
    copy = f"{server.base}/copies/1200.html"
    fresh = f"{server.base}/gen/1202.html"
    before = server.hits["/gen/1200.html"]
    second = _crawl(
        tmp_path, "second", _write_urls(tmp_path / "b.txt", [tracked, mirror, copy, fresh]), state
    )
    assert server.hits["/gen/1200.html"] == before  # the tracking-parameter URL is not fetched
    assert _outcomes(second) == {
        tracked: "seen_before", mirror: "duplicate_content", copy: "near_duplicate",
        fresh: "article",
    }  # fmt: skip
    rejects = {r.get("requested_url") or r["url"]: r for r in second.rejects}
    assert rejects[tracked]["duplicate_of"] == original
    assert rejects[mirror]["duplicate_of"] == mirrored
    assert rejects[copy]["duplicate_of"] == original
    assert "similarity" in rejects[copy]["detail"]
    for reject in second.rejects:
        Reject.model_validate(reject)


def test_a_second_crawl_on_a_store_in_use_refuses_to_start(
    server: FixtureServer, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite3"
    urls = _write_urls(tmp_path / "urls.txt", [f"{server.base}/gen/1300.html"])
    holder = SqliteStateStore(state)
    try:
        result = run_crawl(
            tmp_path / "out", "-a", f"urls={urls}", settings={"NEWSCRAWL_STATE": str(state)}
        )
    finally:
        holder.close()
    assert result.returncode == 1
    assert "is in use by another crawl" in result.log
    assert result.run_dir is None
    assert server.hits["/gen/1300.html"] == 0


# --- kill -9 and resume ------------------------------------------------------------------

KILL_PAGES = 240


def _kill_inputs(base: str) -> tuple[list[str], Counter[tuple[str, str]]]:
    """A few hundred pages plus one input of each pre-fetch kind; the expected outcomes."""
    pages = [f"{base}/gen/{n}.html" for n in range(2000, 2000 + KILL_PAGES)]
    tracked = f"{pages[20]}?utm_campaign=x"
    lines = [*pages[:50], "not a url", pages[10], tracked, *pages[50:]]
    lines += [f"{base}/missing", pages[-1]]
    expected = Counter((page, "article") for page in pages)
    expected.update([
        ("not a url", "invalid_url"), (pages[10], "duplicate_url"), (tracked, "duplicate_url"),
        (f"{base}/missing", "http_error"), (pages[-1], "duplicate_url"),
    ])  # fmt: skip
    assert sum(expected.values()) == len(lines)
    return lines, expected


def _command(output: Path, urls: Path, state: Path, job: Path, *, shorthand: bool) -> list[str]:
    command = [str(SCRAPY), "crawl", "articles", "-a", f"urls={urls}"]
    settings = {**FAST_SETTINGS, "NEWSCRAWL_OUTPUT_DIR": str(output), "NEWSCRAWL_STATE": str(state)}
    if shorthand:
        command += ["-a", f"resume={job}"]
    else:
        settings["JOBDIR"] = str(job)
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def _records_written(output: Path) -> int:
    return sum(
        path.read_bytes().count(b"\n")
        for name in ("articles.jsonl", "rejects.jsonl")
        for path in output.glob(f"articles/*/{name}")
    )


def _run_and_kill(
    command: list[str], output: Path, after_records: int, log: Path, sig: int = signal.SIGKILL
) -> None:
    """Start the crawl; once `after_records` are written, SIGKILL its whole process group
    (or send `sig` to the crawl alone, as `kill -INT` does) and wait for it to end."""
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command, cwd=REPO, stdout=sink, stderr=sink, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 120
        while _records_written(output) < after_records:
            assert process.poll() is None, f"crawl ended before the kill: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "crawl too slow to reach the kill point"
            time.sleep(0.01)
    finally:
        if process.poll() is None and sig == signal.SIGKILL:
            os.killpg(process.pid, signal.SIGKILL)
        elif process.poll() is None:
            os.kill(process.pid, sig)
        process.wait(timeout=60)


@pytest.mark.parametrize(
    ("kill_points", "shorthand", "torn"),
    [
        ((0.1,), False, False),
        ((0.5,), True, True),
        ((0.3, 0.85), True, False),
    ],
    ids=["early", "middle-torn-line", "killed-twice-then-late"],
)
def test_a_killed_crawl_resumes_to_exactly_one_runs_records(
    server: FixtureServer,
    tmp_path: Path,
    kill_points: tuple[float, ...],
    shorthand: bool,
    torn: bool,
) -> None:
    lines, expected = _kill_inputs(server.base)
    urls = _write_urls(tmp_path / "urls.txt", lines)
    output, state, job = tmp_path / "out", tmp_path / "state.sqlite3", tmp_path / "job"
    command = _command(output, urls, state, job, shorthand=shorthand)
    server.gen_delay = 0.01  # a few seconds of crawl, so the kill lands mid-way
    try:
        for point in kill_points:  # around the given fraction of the records, at random
            after = int((point + random.uniform(-0.05, 0.05)) * len(lines))
            _run_and_kill(command, output, after, tmp_path / "crawl.log")
        (run_dir,) = output.glob("articles/*")
        killed = _read_jsonl(run_dir / "articles.jsonl") + _read_jsonl(run_dir / "rejects.jsonl")
        assert 0 < len(killed) < len(lines)  # the kill did land mid-crawl
        assert not (run_dir / "run.json").exists()
        if torn:
            _tear_a_line(run_dir, {r.get("requested_url") or r["url"] for r in killed}, expected)
            _forget_the_last_export(state, run_dir)
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    finally:
        server.gen_delay = 0.0
    assert done.returncode == 0, (done.stderr + done.stdout)[-3000:]

    result = CrawlResult(done.returncode, done.stderr, run_dir)
    names = {p.name for p in run_dir.iterdir()}
    assert {"articles.jsonl", "journal.jsonl", "rejects.jsonl", "run.json"} <= names
    assert not [name for name in names if name.endswith(".tmp")]
    for record in result.articles:
        Article.model_validate(record)
    for record in result.rejects:
        Reject.model_validate(record)
    assert Counter(_pairs(result)) == expected  # the union: every input once, none missing
    assert len({a["content_sha256"] for a in result.articles}) == KILL_PAGES
    run = result.run
    assert run["accounting"]["ok"] is True
    assert run["counts"]["inputs"] == len(lines)
    assert run["counts"]["articles"] == KILL_PAGES
    assert run["reruns"]["attempt"] == len(kill_points) + 1
    assert run["reruns"]["torn_lines_dropped"] == (1 if torn else 0)
    # Only exported pages are in the store, each once.
    with sqlite3.connect(state) as db:
        (pages,) = db.execute("SELECT count(*) FROM pages").fetchone()
        (runs,) = db.execute("SELECT count(DISTINCT run_id) FROM pages").fetchone()
    assert (pages, runs) == (KILL_PAGES, 1)
    # The job is finished: the same command now starts a new run, which fetches nothing.
    rerun = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    (new_dir,) = set(output.glob("articles/*")) - {run_dir}
    new_run = CrawlResult(rerun.returncode, rerun.stderr, new_dir)
    assert new_run.run["accounting"]["ok"] is True, rerun.stderr[-3000:]
    assert Counter(reason for _, reason in _pairs(new_run)) == {
        "seen_before": KILL_PAGES, "invalid_url": 1, "duplicate_url": 3, "http_error": 1,
    }  # fmt: skip


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_bytes().split(b"\n")[:-1] if path.exists() else []
    return [json.loads(line) for line in lines]


def _tear_a_line(run_dir: Path, settled: set[str], expected: Counter[tuple[str, str]]) -> None:
    """What a kill in the middle of a write leaves: half a record, no newline, not stored."""
    pending = next(url for url, outcome in expected if outcome == "article" and url not in settled)
    record = json.dumps({"schema_version": "1.2", "url": pending, "requested_url": pending})
    with (run_dir / "articles.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(record[: len(record) // 2])


def test_a_crawl_stopped_with_sigint_resumes_too(server: FixtureServer, tmp_path: Path) -> None:
    lines, expected = _kill_inputs(server.base)
    urls = _write_urls(tmp_path / "urls.txt", lines)
    output, state, job = tmp_path / "out", tmp_path / "state.sqlite3", tmp_path / "job"
    command = _command(output, urls, state, job, shorthand=False)
    server.gen_delay = 0.01
    try:
        after = int(0.4 * len(lines))
        _run_and_kill(command, output, after, tmp_path / "crawl.log", signal.SIGINT)
        (run_dir,) = output.glob("articles/*")
        stopped = CrawlResult(0, "", run_dir)
        assert stopped.run["finish_reason"] == "shutdown"  # not finished: the job resumes
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    finally:
        server.gen_delay = 0.0
    assert done.returncode == 0, (done.stderr + done.stdout)[-3000:]
    result = CrawlResult(done.returncode, done.stderr, run_dir)
    assert Counter(_pairs(result)) == expected  # any not_processed reject replaced
    assert result.run["accounting"]["ok"] is True
    assert result.run["finish_reason"] == "finished"
    assert result.run["reruns"]["attempt"] == 2


def _stderr_bytes(tmp_path: Path) -> bytes:
    return (tmp_path / "err.txt").read_bytes()


def _interrupt(command: list[str], tmp_path: Path, ready: Callable[[], bool]) -> int:
    """Run the crawl (stdout and stderr to out.txt / err.txt in tmp_path), press Ctrl-C once
    `ready()` holds, and return its exit status; a crawl that ends first or never gets ready
    fails the test, and one that outlives it is killed."""
    with (tmp_path / "out.txt").open("wb") as out, (tmp_path / "err.txt").open("wb") as err:
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err)
        try:
            deadline = time.monotonic() + 120
            while not ready():
                assert process.poll() is None, "crawl ended before Ctrl-C"
                assert time.monotonic() < deadline, "crawl never got to the point of Ctrl-C"
                time.sleep(0.01)
            process.send_signal(signal.SIGINT)
            return process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_ctrl_c_exits_5_with_its_accounting_ok_and_the_printed_command_resumes_it(
    server: FixtureServer, tmp_path: Path
) -> None:
    """Ctrl-C mid-crawl, no job directory given: every input has its record, exit 5, and the
    summary's resume command (run as printed) completes the same run directory."""
    pages = [f"{server.base}/gen/{n}.html" for n in range(3000, 3150)]
    urls = _write_urls(tmp_path / "urls.txt", pages)
    output = tmp_path / "out"
    command = [str(SCRAPY), "crawl", "articles", "-a", f"urls={urls}"]
    for name, value in {
        **FAST_SETTINGS, "LOG_LEVEL": "WARNING", "NEWSCRAWL_OUTPUT_DIR": str(output),
        "NEWSCRAWL_STATE": str(tmp_path / "state.sqlite3"),
    }.items():  # fmt: skip
        command += ["-s", f"{name}={value}"]
    server.gen_delay = 0.2  # 4 pages at a time: several seconds of crawl to interrupt
    try:
        status = _interrupt(command, tmp_path, lambda: _records_written(output) >= 20)
    finally:
        server.gen_delay = 0.0
    stdout = (tmp_path / "out.txt").read_text(encoding="utf-8")
    stderr = (tmp_path / "err.txt").read_text(encoding="utf-8")
    assert status == 5, stderr[-3000:]
    assert "Traceback" not in stderr and "FAILED" not in stderr, stderr[-3000:]
    (run_dir,) = output.glob("articles/*")
    stopped = CrawlResult(status, stderr, run_dir)
    run = stopped.run
    assert run["finish_reason"] == "shutdown"
    assert run["accounting"]["ok"] is True
    not_processed = [r for r in stopped.rejects if r["reason"] == "not_processed"]
    assert 0 < len(not_processed) < len(pages) - 20
    assert len(stopped.articles) + len(stopped.rejects) == len(pages)
    assert {r["url"] for r in not_processed} | {a["requested_url"] for a in stopped.articles} == (
        set(pages)
    )
    resume = f"{shlex.join(command)} -a resume={run_dir / 'job'}"
    assert run["stopped"] == {
        "reason": "shutdown", "by": "Ctrl-C or SIGTERM",
        "not_processed": len(not_processed), "not_read": 0, "resume_command": resume,
    }  # fmt: skip
    assert stdout.splitlines()[-2:] == [
        "STOPPED before it finished (Ctrl-C or SIGTERM; finish reason shutdown):"
        f" {len(not_processed)} input(s) not_processed",
        f"resume with: {resume}",
    ]
    fetched = sum(server.hits[page.split(server.base, 1)[1]] for page in pages)
    # The printed command, run as printed, finishes the same run: every page an article.
    done = subprocess.run(shlex.split(resume), cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    result = CrawlResult(done.returncode, done.stderr, run_dir)
    assert sorted(a["requested_url"] for a in result.articles) == sorted(pages)
    assert result.rejects == []
    assert result.run["finish_reason"] == "finished" and "stopped" not in result.run
    assert result.run["accounting"]["ok"] is True
    assert result.run["reruns"]["attempt"] == 2
    refetched = sum(server.hits[page.split(server.base, 1)[1]] for page in pages) - fetched
    assert refetched == len(not_processed)  # only what the stopped attempt did not settle


def test_lines_not_read_when_a_run_stops_are_recorded_and_resumed(
    server: FixtureServer, tmp_path: Path
) -> None:
    """Ctrl-C while the spider is still reading a long list: the lines it never read end as
    `not_processed` rejects naming their line, so every line has its record; resume does them."""
    pages = [f"{server.base}/gen/{n}.html" for n in range(3200, 3230)]
    lines = pages + [pages[index % len(pages)] for index in range(20000)]
    urls = _write_urls(tmp_path / "urls.txt", lines)
    output, job = tmp_path / "out", tmp_path / "job"
    command = _command(output, urls, tmp_path / "state.sqlite3", job, shorthand=False)
    server.gen_delay = 0.2  # pages still in flight when the stop comes
    try:
        # The extraction pool starts with the first page: start() is still reading the list.
        status = _interrupt(
            command, tmp_path, lambda: b"newscrawl: extracting in" in _stderr_bytes(tmp_path)
        )
    finally:
        server.gen_delay = 0.0
    stderr = (tmp_path / "err.txt").read_text(encoding="utf-8")
    (run_dir,) = output.glob("articles/*")
    assert (run_dir / "run.json").exists(), stderr[-3000:]
    stopped = CrawlResult(status, stderr, run_dir)
    run = stopped.run
    assert (status, run["finish_reason"]) == (5, "shutdown"), stderr[-3000:]
    assert run["accounting"]["ok"] is True
    assert run["counts"]["inputs"] == len(lines)  # the whole input, not only what was read
    assert len(stopped.articles) + len(stopped.rejects) == len(lines)
    unread = [r for r in stopped.rejects if r["detail"].endswith("of the input was read")]
    numbers = [int(r["detail"].split("before line ", 1)[1].split()[0]) for r in unread]
    first = len(lines) - len(unread) + 1
    assert len(unread) > len(lines) // 2  # the stop came early in the list
    assert numbers == list(range(first, len(lines) + 1))  # the rest of the file, in order
    assert [r["url"] for r in unread] == lines[first - 1 :]
    assert {r["reason"] for r in unread} == {"not_processed"}
    assert run["stopped"]["not_read"] == len(unread)
    not_processed = sum(1 for r in stopped.rejects if r["reason"] == "not_processed")
    assert run["stopped"]["not_processed"] == not_processed
    assert run["counts"]["rejects_by_reason"]["not_processed"] == not_processed
    # The same command resumes the run: every line then has its final record.
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = CrawlResult(done.returncode, done.stderr, run_dir)
    assert sorted(a["requested_url"] for a in result.articles) == sorted(pages)
    assert Counter(r["reason"] for r in result.rejects) == {"duplicate_url": 20000}
    assert result.run["accounting"]["ok"] is True
    assert result.run["counts"]["inputs"] == len(lines)


def test_ctrl_c_before_the_engine_runs_still_closes_the_run(
    server: FixtureServer, tmp_path: Path
) -> None:
    """Ctrl-C the moment the run directory is opened, before Scrapy's engine runs (a stop
    then only stops the reactor): the run is still closed, with its run.json, every line
    `not_processed`, exit 5."""
    pages = [f"{server.base}/gen/{n}.html" for n in range(3280, 3300)]
    urls = _write_urls(tmp_path / "urls.txt", pages)
    output = tmp_path / "out"
    command = _command(output, urls, tmp_path / "state.sqlite3", tmp_path / "job", shorthand=False)
    status = _interrupt(
        command, tmp_path, lambda: b"newscrawl: writing run" in _stderr_bytes(tmp_path)
    )
    stderr = (tmp_path / "err.txt").read_text(encoding="utf-8")
    (run_dir,) = output.glob("articles/*")
    assert (run_dir / "run.json").exists(), stderr[-3000:]
    stopped = CrawlResult(status, stderr, run_dir)
    run = stopped.run
    assert (status, run["finish_reason"]) == (5, "shutdown"), stderr[-3000:]
    assert run["accounting"]["ok"] is True
    assert run["counts"]["inputs"] == len(pages)
    assert len(stopped.articles) + len(stopped.rejects) == len(pages)
    assert "Traceback" not in stderr


def test_a_failed_state_save_exits_7_and_the_page_is_not_exported_again(
    server: FixtureServer, tmp_path: Path
) -> None:
    """The store's database locked by another program for the whole run: the articles are
    written, run.json says the saves failed, the crawl exits 7; the next start saves them
    (or, the store still locked, refuses to start), so no page is exported twice."""
    paths = ["/gen/3300.html", "/gen/3301.html"]
    urls = _write_urls(tmp_path / "urls.txt", [server.base + path for path in paths])
    state = tmp_path / "state.sqlite3"
    SqliteStateStore(state).close()
    settings = {"NEWSCRAWL_STATE": str(state), "NEWSCRAWL_STATE_BUSY_TIMEOUT": "0.2"}
    holder = sqlite3.connect(state, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a write lock, as a backup or a sqlite3 shell holds
    try:
        first = run_crawl(tmp_path / "out", "-a", f"urls={urls}", settings=settings)
        assert first.returncode == 7, first.log[-3000:]
        assert sorted(a["requested_url"] for a in first.articles) == [
            server.base + path for path in paths
        ]
        assert first.run["accounting"]["ok"] is True  # every input has its record
        assert first.run["reruns"]["state_save"] == {
            "ok": False, "errors": 2, "unsaved_at_close": 2, "replayed_at_start": 0,
        }  # fmt: skip
        assert first.run_dir is not None
        unsaved = _read_jsonl(first.run_dir / "state-unsaved.jsonl")
        assert [u["article"]["url"] for u in unsaved] == [a["url"] for a in first.articles]
        assert "state store save failed" in first.log
        hits = _hits(server, paths)
        # Still locked: the next crawl cannot record them, so it does not start at all.
        blocked = run_crawl(tmp_path / "out", "-a", f"urls={urls}", settings=settings)
        assert blocked.returncode == 1, blocked.log[-3000:]
        assert "refuses to record 2 article(s) already exported" in blocked.log
        assert _hits(server, paths) == hits
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    second = run_crawl(tmp_path / "out", "-a", f"urls={urls}", settings=settings)
    assert second.returncode == 0, second.log[-3000:]
    assert _hits(server, paths) == hits  # neither page fetched (nor exported) again
    assert [r["reason"] for r in second.rejects] == ["seen_before", "seen_before"]
    assert second.articles == []
    assert second.run["reruns"]["state_save"] == {
        "ok": True, "errors": 0, "unsaved_at_close": 0, "replayed_at_start": 2,
    }  # fmt: skip
    assert not (first.run_dir / "state-unsaved.jsonl").exists()
    assert (first.run_dir / "state-unsaved.jsonl.replayed").exists()


# --- the parts, without a crawl --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("HTTP://News.Example.COM:80/a/b?z=1&a=2#top", "http://news.example.com/a/b?a=2&z=1"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        (
            "https://example.com/story?utm_source=nl&utm_medium=email&id=7&fbclid=Ab&gclid=1",
            "https://example.com/story?id=7",
        ),
        (
            "https://example.com/s?mc_cid=1&igshid=2&_ga=3&msclkid=4&page=2",
            "https://example.com/s?page=2",
        ),
        ("https://example.com/a%7Eb", "https://example.com/a~b"),
    ],
)
def test_canonical_url(url: str, key: str) -> None:
    assert canonical_url(url) == key


def test_a_canonical_link_counts_only_on_the_same_site() -> None:
    page = "https://www.example.co.uk/news/1?utm_source=x"
    assert page_key(page, "https://example.co.uk/news/one") == "https://example.co.uk/news/one"
    assert page_key(page, "https://m.example.co.uk/news/one") == "https://m.example.co.uk/news/one"
    assert page_key(page, "https://other.example/news/one") == "https://www.example.co.uk/news/1"
    assert (
        page_key("http://127.0.0.1:8000/a", "http://127.0.0.1:8000/b") == "http://127.0.0.1:8000/b"
    )
    assert page_keys(page, page, None) == ["https://www.example.co.uk/news/1"]


def test_the_store_is_transactional_and_locked(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = SqliteStateStore(path)
    page = PageState("k", "https://e.org/k", "a" * 64, 1, "run-1", "t0", "t0", '"e1"', None)
    store.save(page, ["k", "alias"])
    with pytest.raises(StateLockedError, match="in use by another crawl"):
        SqliteStateStore(path)
    assert store.lookup(["nothing", "alias"]) == page
    assert store.find_content("a" * 64) == page
    store.touch("k", "t1", None, "Mon, 01 Jan 2024 00:00:00 GMT")
    touched = store.lookup(["k"])
    assert touched is not None and touched.etag == '"e1"' and touched.last_fetched == "t1"
    store.close()
    reopened = SqliteStateStore(path)  # the lock went with the first store
    assert reopened.lookup(["alias"]) == touched
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    reopened.close()


def _shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + 5]) for i in range(len(words) - 4)}


def test_minhash_estimates_the_jaccard_similarity_of_shingles() -> None:
    original = " ".join(article_text(1))
    words = original.split()
    for cut in (0, 10, 40, 80, 160):
        copy = " ".join(words[cut:]) + " A syndicated footer paragraph was added at the end."
        one, other = _shingles(original), _shingles(copy)
        exact = len(one & other) / len(one | other)
        estimate = neardup.similarity(neardup.signature(original), neardup.signature(copy))
        assert abs(estimate - exact) <= 0.1, (cut, exact, estimate)
    unrelated = neardup.similarity(
        neardup.signature(original), neardup.signature(" ".join(article_text(2)))
    )
    assert unrelated <= 0.05
    stored = neardup.to_bytes(neardup.signature(original))
    assert len(stored) == 1 + neardup.NUM_PERM * 4
    assert (neardup.from_bytes(stored) == neardup.signature(original)).all()
    # A signature of the datasketch era (no format byte) is ignored, never misread.
    assert neardup.from_bytes(stored[1:]) is None and neardup.from_bytes(None) is None
    with pytest.raises(ValueError, match=r"between 0\.7 and 1"):
        neardup.check_threshold(0.5)
    assert neardup.check_threshold(0) == 0 and neardup.check_threshold(0.8) == 0.8


def _save_text(store: SqliteStateStore, key: str, text: str) -> None:
    signature = neardup.signature(text)
    page = PageState(
        key, f"https://e.org/{key}", text_sha256(text), 1, "run-1", "t0", "t0",
        signature=neardup.to_bytes(signature),
    )  # fmt: skip
    store.save(page, [key], neardup.bands(signature))


def test_the_store_finds_near_copies_through_lsh_bands(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    original = " ".join(article_text(1))
    _save_text(store, "original", original)
    _save_text(store, "other", " ".join(article_text(2)))
    copy = original + " A syndicated footer paragraph was added here at the end."
    found = [key for key, _, _ in store.similar(neardup.bands(neardup.signature(copy)))]
    assert found == ["original"]
    assert list(store.similar(neardup.bands(neardup.signature(" ".join(article_text(3)))))) == []
    # A new revision with another text is filed under its new bands only.
    _save_text(store, "original", " ".join(article_text(4)))
    assert list(store.similar(neardup.bands(neardup.signature(copy)))) == []
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        (count,) = db.execute("SELECT count(*) FROM bands WHERE key = 'original'").fetchone()
    assert count == len(set(neardup.bands(neardup.signature(" ".join(article_text(4))))))
    store.close()


def test_a_store_of_the_previous_format_is_upgraded(tmp_path: Path) -> None:
    """Format 1 (signatures without bands) opens as format 2; its pages are still found."""
    path = tmp_path / "state.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
            " INSERT INTO meta VALUES ('format', '1');"
            " CREATE TABLE pages (key TEXT PRIMARY KEY, url TEXT NOT NULL,"
            " content_sha256 TEXT NOT NULL, revision INTEGER NOT NULL, run_id TEXT NOT NULL,"
            " first_seen TEXT NOT NULL, last_fetched TEXT NOT NULL, etag TEXT,"
            " last_modified TEXT, signature BLOB);"
            " INSERT INTO pages VALUES ('k', 'https://e.org/k', 'aa', 1, 'run-1', 't0', 't0',"
            " NULL, NULL, zeroblob(512));"
        )
    store = SqliteStateStore(path)
    page = store.lookup(["k"])
    assert page is not None and page.url == "https://e.org/k"
    assert list(store.similar([1, 2, 3])) == []
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone() == ("2",)


def test_a_near_duplicate_threshold_out_of_range_stops_the_crawl(
    server: FixtureServer, tmp_path: Path
) -> None:
    urls = _write_urls(tmp_path / "a.txt", [f"{server.base}/gen/1300.html"])
    result = run_crawl(
        tmp_path / "out", "-a", f"urls={urls}",
        settings={"NEWSCRAWL_STATE": str(tmp_path / "s.sqlite3"),
                  "NEWSCRAWL_NEAR_DUPLICATE_THRESHOLD": "0.5"},
    )  # fmt: skip
    assert result.returncode == 1, result.log[-3000:]
    assert "NEWSCRAWL_NEAR_DUPLICATE_THRESHOLD must be 0 (off) or between 0.7 and 1" in result.log
    assert server.hits["/gen/1300.html"] == 0


def _forget_the_last_export(state: Path, run_dir: Path) -> None:
    """A kill between writing an article's line and recording it: the store lacks it.

    (The kill in the test often lands there by itself: it follows a line being written.)
    """
    last = _read_jsonl(run_dir / "articles.jsonl")[-1]
    with sqlite3.connect(state) as db:
        for (key,) in db.execute("SELECT key FROM pages WHERE url = ?", (last["url"],)).fetchall():
            db.execute("DELETE FROM aliases WHERE key = ?", (key,))
            db.execute("DELETE FROM pages WHERE key = ?", (key,))
