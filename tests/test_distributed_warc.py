"""Distributed mode over WARC files, on a real redis-server: one frontier entry per file.

The WARC files are written here with warcio's own writer (our own pages); the workers are the
real `scrapy crawl warc -s NEWSCRAWL_REDIS_URL=...`, fed by `scrapy enqueue --warcs` and
merged by `scrapy merge`, as a user runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from newscrawl.commands.reprocess import without_provenance
from newscrawl.distributed.keys import Keys
from tests.conftest import REPO, run_crawl
from tests.redis_support import RedisServer
from tests.test_distributed import (
    merge,
    read_jsonl,
    scrapy_command,
    stop_workers,
    wait_until,
    worker_settings,
)
from tests.test_warc import PDF, _page, _Warc

FILTERS = ("--domains", "news.example", "--since", "2025-01-01", "--deny", "/live/")
WARC_FILTERS = ("-a", "domains=news.example", "-a", "since=2025-01-01", "-a", "deny=/live/")


def _warc_files(directory: Path, files: int, pages: int) -> dict[Path, list[int]]:
    """`files` WARC files of `pages` article pages each, plus a 404 page, pages the filters
    leave out and records that are only counted (request, warcinfo, a PDF); the last file is
    torn inside its last record (the PDF). Returns each file's HTML response offsets."""
    directory.mkdir(parents=True, exist_ok=True)
    offsets: dict[Path, list[int]] = {}
    pdf_at = 0
    for f in range(files):
        warc = _Warc(directory / f"news-{f}.warc.gz")
        writer = warc.writer
        writer.write_record(writer.create_warcinfo_record(warc.path.name, {"f": str(f)}))
        warc.response(
            f"https://news.example/gone/{f}", b"<html>gone</html>", status="404 Not Found"
        )
        for n in range(pages):
            number = 100 * f + n
            warc.response(f"https://news.example/a/{number}", _page(number))
            warc.other(f"https://news.example/a/{number}", "request")
        warc.response(f"https://other.example/a/{f}", _page(9000 + f))  # domain
        warc.response(f"https://news.example/live/{f}", _page(9100 + f))  # deny
        warc.response(f"https://news.example/old/{f}", _page(9200 + f), date="2024-05-01T00:00:00Z")
        warc.response(f"https://news.example/doc/{f}.pdf", PDF, content_type="application/pdf")
        pdf_at = warc.offsets.pop()  # not an input: only counted
        warc.close()
        offsets[warc.path] = warc.offsets
    data = warc.path.read_bytes()
    warc.path.write_bytes(data[: pdf_at + (len(data) - pdf_at) // 2])
    return offsets


def _enqueue(redis_url: str, output: Path, *args: str) -> subprocess.CompletedProcess[str]:
    settings = {"NEWSCRAWL_REDIS_URL": redis_url, "NEWSCRAWL_OUTPUT_DIR": str(output)}
    return subprocess.run(
        scrapy_command("enqueue", *args, settings=settings),
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _start(
    redis_url: str, output: Path, tmp_path: Path, names: tuple[str, ...], **extra: str
) -> tuple:
    logs = {name: (tmp_path / f"{name}.log").open("w+") for name in names}
    workers = {
        name: subprocess.Popen(
            scrapy_command(
                "crawl", "warc", settings={**worker_settings(redis_url, output, name), **extra}
            ),
            cwd=REPO,
            stdout=logs[name],
            stderr=subprocess.STDOUT,
        )
        for name in names
    }
    return workers, logs


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["input_id"]: without_provenance(record) for record in records}


def test_two_workers_match_a_single_machine_crawl(clean_redis: RedisServer, tmp_path: Path) -> None:
    """5 files, 2 workers: the merged records are those of one `crawl warc` over the files."""
    offsets = _warc_files(tmp_path / "warcs", files=5, pages=4)
    pattern = f"{tmp_path}/warcs/news-*.warc.gz"
    single = run_crawl(tmp_path / "single", "-a", f"warcs={pattern}", *WARC_FILTERS, spider="warc")
    assert single.returncode == 0, single.log[-3000:]

    output = tmp_path / "out"
    # Both workers waiting before the files are queued (and two pages at a time each), so
    # neither takes all the files before the other is up.
    workers, logs = _start(
        clean_redis.url, output, tmp_path, ("w1", "w2"),
        CONCURRENT_REQUESTS="2", NEWSCRAWL_REDIS_IDLE_CLOSE="8",
    )  # fmt: skip
    client = clean_redis.client()
    try:
        wait_until(lambda: client.scard(Keys("warc").workers) == 2, 60, "both workers registered")
        done = _enqueue(clean_redis.url, output, "--warcs", pattern, *FILTERS)
        assert done.returncode == 0, done.stderr
        assert "5 WARC files queued on warc:start_urls" in done.stdout
        run_id = done.stdout.split()[1].rstrip(":")
        run_dir = output / "warc" / run_id
        listed = read_jsonl(run_dir / "inputs.jsonl")
        assert [entry["source"] for entry in listed] == [str(path) for path in offsets]
        for process in workers.values():
            process.wait(timeout=120)
    finally:
        log_text = stop_workers(workers, logs)
        client.close()
    for name, process in workers.items():
        assert process.returncode == 0, log_text[name][-3000:]
    # Both worked, each on whole files: a file's records all come from one part.
    by_part = {
        part.name: {
            record["input_id"].rpartition("#")[0]
            for name in ("articles.jsonl", "rejects.jsonl")
            for record in read_jsonl(part / name)
        }
        for part in run_dir.glob("part-*")
    }
    assert all(by_part.values()) and not set.intersection(*by_part.values()), by_part
    code, summary = merge(run_dir)
    assert code == 0, summary["accounting"]
    inputs = (4 + 1) * 5  # 4 articles and a 404 per file; 3 filtered pages, a PDF
    assert summary["accounting"]["inputs"] == inputs == single.run["counts"]["inputs"]
    assert summary["accounting"]["warc_files"]["finished"] == 5

    merged = _by_id(read_jsonl(run_dir / "articles.jsonl") + read_jsonl(run_dir / "rejects.jsonl"))
    alone = _by_id(single.articles + single.rejects)
    assert merged == alone
    assert Counter(r.get("reason", "article") for r in merged.values()) == {
        "article": 4 * 5, "http_error": 5,
    }  # fmt: skip
    # The run's account of the files is the single-machine one (but for who read them).
    files = summary["discovery"]["warc_files"]
    assert [f["path"] for f in files] == [str(p) for p in offsets]
    assert [f["status"] for f in files] == ["ok"] * 4 + ["torn"]
    for key in ("records", "filtered"):
        assert summary["discovery"][key] == single.run["discovery"][key]
    for mine, theirs in zip(files, single.run["discovery"]["warc_files"], strict=True):
        assert {k: mine[k] for k in theirs} == theirs

    # A worker killed after a file's report but before its acknowledgement: the file was read
    # again by w2. The killed part (no run.json) holds the same records and reports.
    killed = run_dir / "part-w9"
    shutil.copytree(run_dir / "part-w2", killed, ignore=shutil.ignore_patterns("run.json"))
    copies = len(read_jsonl(killed / "articles.jsonl") + read_jsonl(killed / "rejects.jsonl"))
    code, again = merge(run_dir)
    assert code == 0, again["accounting"]
    assert again["accounting"]["written_twice_by_killed_worker"] == copies > 0
    assert (
        _by_id(read_jsonl(run_dir / "articles.jsonl") + read_jsonl(run_dir / "rejects.jsonl"))
        == alone
    )
    # Reports of one file that disagree (the file changed between the two reads): named.
    reports = read_jsonl(killed / "warc-files.jsonl")
    reports[0]["inputs"] -= 1
    (killed / "warc-files.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reports))
    code, changed = merge(run_dir)
    assert code == 3
    assert changed["accounting"]["warc_files"]["conflicting"] == [reports[0]["path"]]
    assert f"{reports[0]['path']}: workers' reports of this file disagree" in " ".join(
        changed["accounting"]["missing_inputs"]
    )


def test_worker_killed_mid_file(clean_redis: RedisServer, tmp_path: Path) -> None:
    """w1 SIGKILLed with a file half written; w2 reclaims the file and reads it again."""
    offsets = _warc_files(tmp_path / "warcs", files=4, pages=40)
    output = tmp_path / "out"
    done = _enqueue(clean_redis.url, output, "--warcs", f"{tmp_path}/warcs/news-*.warc.gz")
    assert done.returncode == 0, done.stderr
    run_dir = output / "warc" / done.stdout.split()[1].rstrip(":")
    client = clean_redis.client()
    # w1 alone first, killed once it has written a few records of its first file (of 45).
    logs = {name: (tmp_path / f"{name}.log").open("w+") for name in ("w1", "w2")}
    workers = {
        "w1": subprocess.Popen(
            scrapy_command(
                "crawl", "warc", settings=worker_settings(clean_redis.url, output, "w1")
            ),
            cwd=REPO,
            stdout=logs["w1"],
            stderr=subprocess.STDOUT,
        )
    }
    part = run_dir / "part-w1" / "articles.jsonl"
    try:
        wait_until(
            lambda: part.exists() and part.read_bytes().count(b"\n") >= 5, 60, "w1's records"
        )
        inflight = client.lrange(Keys("warc").inflight("w1"), 0, -1)
        os.kill(workers["w1"].pid, signal.SIGKILL)
        workers["w1"].wait()
        survivor = worker_settings(clean_redis.url, output, "w2")
        workers["w2"] = subprocess.Popen(
            scrapy_command("crawl", "warc", settings=survivor),
            cwd=REPO, stdout=logs["w2"], stderr=subprocess.STDOUT,
        )  # fmt: skip
        workers["w2"].wait(timeout=120)
    finally:
        log_text = stop_workers(workers, logs)
        client.close()
    assert workers["w2"].returncode == 0, log_text["w2"][-3000:]
    # One entry per file; the next file is claimed only once the previous one is scanned.
    assert 1 <= len(inflight) <= 2
    claimed = json.loads(inflight[0])["meta"]["newscrawl"]["warc"]
    assert f"{len(inflight)} of its inputs queued again" in log_text["w2"]
    # Killed mid-file: w1 wrote records of the file it claimed, but did not finish it.
    killed_ids = [
        r["input_id"]
        for name in ("articles.jsonl", "rejects.jsonl")
        if (run_dir / "part-w1" / name).exists()
        for r in read_jsonl(run_dir / "part-w1" / name)
    ]
    killed_lines = sum(i.startswith(claimed + "#") for i in killed_ids)
    assert 0 < killed_lines < len(offsets[Path(claimed)])
    finished_by_w1 = run_dir / "part-w1" / "warc-files.jsonl"
    if finished_by_w1.exists():
        assert claimed not in {f["path"] for f in read_jsonl(finished_by_w1)}
    code, summary = merge(run_dir)
    assert code == 0, summary["accounting"]
    accounting = summary["accounting"]
    assert summary["workers"]["w1"]["run_json"] is False
    assert accounting["inputs"] == accounting["records"] == (40 + 3 + 1) * 4  # no filters
    # Every record w1 wrote of a file it did not finish was written again by w2 (as
    # `seen_before` for the articles w1 had exported): one of each pair is dropped.
    done_by_w1 = (
        {f["path"] for f in read_jsonl(finished_by_w1)} if finished_by_w1.exists() else set()
    )
    again = sum(i.rpartition("#")[0] not in done_by_w1 for i in killed_ids)
    assert accounting["superseded"] + accounting["written_twice_by_killed_worker"] == again
    assert accounting["written_twice_by_killed_worker"] >= 1  # the 404, first in the file
    records = read_jsonl(run_dir / "articles.jsonl") + read_jsonl(run_dir / "rejects.jsonl")
    ids = Counter(record["input_id"] for record in records)
    assert max(ids.values()) == 1
    assert set(ids) == {f"{path}#{offset}" for path, places in offsets.items() for offset in places}
    assert Counter(r.get("reason", "article") for r in records) == {
        "article": (40 + 3) * 4, "http_error": 4,
    }  # fmt: skip
    (file_report,) = [f for f in summary["discovery"]["warc_files"] if f["path"] == claimed]
    assert file_report["worker"] == "w2"


def test_enqueue_refuses_what_is_not_a_warc_file(clean_redis: RedisServer, tmp_path: Path) -> None:
    """A pattern matching nothing, or a file that is not WARC: a usage error, nothing queued."""
    (tmp_path / "page.warc.gz").write_bytes(b"<html>not a WARC file</html>")
    good = _Warc(tmp_path / "good.warc.gz")
    good.response("https://news.example/a/1", _page(1))
    good.close()
    output = tmp_path / "out"
    done = _enqueue(
        clean_redis.url, output, "--warcs", f"{tmp_path}/*.warc.gz,{tmp_path}/no-*.warc"
    )
    assert done.returncode == 2
    assert f"{tmp_path}/page.warc.gz: does not begin with a WARC record" in done.stderr
    assert "no WARC file matches" in done.stderr and "nothing queued" in done.stderr
    assert clean_redis.client().llen("warc:start_urls") == 0
    bad_filter = _enqueue(clean_redis.url, output, "--warcs", str(good.path), "--since", "soon")
    assert bad_filter.returncode == 2 and "--since" in bad_filter.stderr
    mixed = _enqueue(clean_redis.url, output, "--warcs", str(good.path), "--feeds", "x.xml")
    assert mixed.returncode == 2 and "--warcs does not go with --feeds" in mixed.stderr
    urls = tmp_path / "urls.txt"
    urls.write_text("https://news.example/a/1\n")
    not_files = _enqueue(clean_redis.url, output, "--spider", "warc", str(urls))
    assert not_files.returncode == 2 and "name its WARC files with --warcs" in not_files.stderr
    twice = [_enqueue(clean_redis.url, output, "--warcs", str(good.path)) for _ in range(2)]
    assert "1 WARC files queued" in twice[0].stdout
    assert "0 WARC files queued" in twice[1].stdout and "1 already queued" in twice[1].stdout
    assert clean_redis.client().llen("warc:start_urls") == 1


def test_a_file_gone_before_its_claim_fails_the_merge(
    clean_redis: RedisServer, tmp_path: Path
) -> None:
    """A queued file no worker can read: reported unreadable, and merge names it (exit 3)."""
    offsets = _warc_files(tmp_path / "warcs", files=2, pages=2)
    gone, kept = list(offsets)
    output = tmp_path / "out"
    done = _enqueue(clean_redis.url, output, "--warcs", f"{tmp_path}/warcs/news-*.warc.gz")
    assert done.returncode == 0, done.stderr
    run_dir = output / "warc" / done.stdout.split()[1].rstrip(":")
    gone.unlink()  # unmounted, moved away: not at the path the enqueue resolved
    # The worker's own files and filters are not used: the entries say what to read, how.
    own = ("-a", f"warcs={kept}", "-a", "domains=other.example")
    worker = subprocess.run(
        scrapy_command(
            "crawl", "warc", *own, settings=worker_settings(clean_redis.url, output, "w1")
        ),
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert f"WARC file {gone}: cannot read the file" in worker.stderr
    assert "-a warcs ignored" in worker.stderr and "-a domains ignored" in worker.stderr
    code, summary = merge(run_dir)
    assert code == 3
    accounting = summary["accounting"]
    assert accounting["warc_files"]["unreadable"] == [str(gone)]
    assert accounting["warc_files"]["finished"] == 2
    (reason,) = accounting["missing_inputs"]
    assert reason.startswith(f"{gone}: worker w1: cannot read the file: [Errno 2]")
    records = read_jsonl(run_dir / "articles.jsonl") + read_jsonl(run_dir / "rejects.jsonl")
    assert {r["input_id"] for r in records} == {f"{kept}#{offset}" for offset in offsets[kept]}


def test_worker_stopped_mid_file_hands_it_back(clean_redis: RedisServer, tmp_path: Path) -> None:
    """Ctrl-C on w1 mid-file: it hands the file back at once and w2 reads it again; each
    record of the file is counted once."""
    offsets = _warc_files(tmp_path / "warcs", files=3, pages=40)
    output = tmp_path / "out"
    done = _enqueue(clean_redis.url, output, "--warcs", f"{tmp_path}/warcs/news-*.warc.gz")
    assert done.returncode == 0, done.stderr
    run_dir = output / "warc" / done.stdout.split()[1].rstrip(":")
    first = subprocess.Popen(
        scrapy_command("crawl", "warc", settings=worker_settings(clean_redis.url, output, "w1")),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    part = run_dir / "part-w1" / "articles.jsonl"
    try:
        wait_until(
            lambda: part.exists() and part.read_bytes().count(b"\n") >= 5, 60, "w1's records"
        )
        first.send_signal(signal.SIGINT)
        log, _ = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 5, log[-3000:]  # stopped early (as any crawl)
    assert "unfinished input(s) handed back to the frontier" in log
    # Scrapy lets what is in flight finish: records of the file, but not all of them.
    w1 = read_jsonl(part) + read_jsonl(run_dir / "part-w1" / "rejects.jsonl")
    (handed_back,) = {r["input_id"].rpartition("#")[0] for r in w1}
    assert 0 < len(w1) < len(offsets[Path(handed_back)])
    assert not (run_dir / "part-w1" / "warc-files.jsonl").exists()
    second = subprocess.run(
        scrapy_command("crawl", "warc", settings=worker_settings(clean_redis.url, output, "w2")),
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr[-3000:]
    code, summary = merge(run_dir)
    assert code == 0, summary["accounting"]
    accounting = summary["accounting"]
    assert accounting["inputs"] == accounting["records"] == (40 + 3 + 1) * 3
    # w1's articles stand (w2's `seen_before` for them are dropped, as are w1's own
    # `not_processed`, if any); its other rejects (the 404, first in the file) give way.
    w1_reasons = Counter(r.get("reason", "article") for r in w1)
    assert w1_reasons["http_error"] == 1
    assert accounting["superseded"] == w1_reasons["article"] + w1_reasons["not_processed"]
    assert accounting["written_twice_in_handed_back_files"] == 1
    records = read_jsonl(run_dir / "articles.jsonl") + read_jsonl(run_dir / "rejects.jsonl")
    ids = Counter(record["input_id"] for record in records)
    assert ids == Counter(
        f"{path}#{offset}" for path, places in offsets.items() for offset in places
    )
    assert Counter(r.get("reason", "article") for r in records) == {
        "article": (40 + 3) * 3, "http_error": 3,
    }  # fmt: skip
