"""Distributed mode on one machine: 1 worker versus 2 workers on Redis, and Redis's overhead.

Uses the pages and the in-memory server of `benchmarks/throughput.py` (realistic 40-150 KB
article pages) and a real `redis-server` on 127.0.0.1 (append-only file, fsync on every
write, as the tests run it). Three timed runs over the same pages, each with a fresh Redis
and output directory:

1. `single`: the plain `scrapy crawl articles -a urls=FILE` (no Redis), the baseline;
2. `redis x1`: `scrapy enqueue` then one distributed worker;
3. `redis x2`: `scrapy enqueue` then two distributed workers.

Wall time runs from the workers' start until every input has its record (the workers' idle
wait before stopping is not counted). Redis's own cost is read from `INFO commandstats`
(commands and server-side microseconds per page). Extraction workers per crawl process:
Scrapy default of this project (one per core), as a user would run it.

With `--warc-files N` the same three runs read the pages from N WARC files (written here with
warcio's writer, gzip per record) instead of fetching them: `crawl warc -a warcs=...`, then
`scrapy enqueue --warcs ...` with one and two `crawl warc` workers (one file per claim).

Usage (from the repository root)::

    .venv/bin/python benchmarks/distributed.py              # 600 pages
    .venv/bin/python benchmarks/distributed.py --pages 1000
    .venv/bin/python benchmarks/distributed.py --pages 1000 --warc-files 8
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the harness and the tests' Redis helper, from the repo

from benchmarks.harness.pages import Page, generate  # noqa: E402
from benchmarks.harness.server import PageServer  # noqa: E402
from tests.redis_support import RedisServer  # noqa: E402

Row = tuple[str, int, float, tuple[int, float] | None]

BIN = Path(sys.executable).parent
COMMON = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "LOG_LEVEL": "WARNING",
    "NEWSCRAWL_PROGRESS": "off",
    "NEWSCRAWL_SUMMARY": "False",
    "NEWSCRAWL_REPORT": "False",
    "NEWSCRAWL_REDIS_IDLE_CLOSE": "2",
}


def command(*args: str, settings: dict[str, str]) -> list[str]:
    out = [str(BIN / "scrapy"), *args]
    for name, value in {**COMMON, **settings}.items():
        out += ["-s", f"{name}={value}"]
    return out


def records(directory: Path) -> int:
    files = [*directory.rglob("articles.jsonl"), *directory.rglob("rejects.jsonl")]
    return sum(path.read_bytes().count(b"\n") for path in files)


def timed(processes: list[subprocess.Popen[bytes]], output: Path, total: int) -> float:
    started = time.monotonic()
    while records(output) < total:
        if all(process.poll() is not None for process in processes):
            raise SystemExit(f"workers ended with {records(output)} of {total} records")
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    for process in processes:
        process.wait(timeout=120)
    return elapsed


def redis_cost(server: RedisServer) -> tuple[int, float]:
    client = server.client()
    stats = client.info("commandstats")
    client.close()
    calls = sum(int(entry["calls"]) for entry in stats.values())
    usec = sum(float(entry["usec"]) for entry in stats.values())
    return calls, usec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warc-files", type=int, default=0, help="read the pages from WARC")
    args = parser.parse_args()
    pages = generate(args.pages, args.seed)
    if args.warc_files:
        with tempfile.TemporaryDirectory(prefix="newscrawl-dist-warc-") as tmp:
            print_rows(warc_rows(pages, args.warc_files, Path(tmp)), args.pages, pages)
        return 0
    server = PageServer({page.path: page.body for page in pages}).start()
    base = f"http://127.0.0.1:{server.port}"
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="newscrawl-dist-") as tmp:
        work = Path(tmp)
        urls = work / "urls.txt"
        urls.write_text("".join(f"{base}{page.path}\n" for page in pages), encoding="utf-8")
        output = work / "single"
        single = subprocess.Popen(
            command(
                "crawl", "articles", "-a", f"urls={urls}",
                settings={"NEWSCRAWL_OUTPUT_DIR": str(output),
                          "NEWSCRAWL_STATE": str(work / "single.sqlite3")},
            ),
            cwd=REPO,
        )  # fmt: skip
        rows.append(("single (no Redis)", 1, timed([single], output, args.pages), None))
        for count in (1, 2):
            redis_server = RedisServer(work / f"redis{count}").start()
            output = work / f"redis{count}"
            settings = {
                "NEWSCRAWL_REDIS_URL": redis_server.url,
                "NEWSCRAWL_OUTPUT_DIR": str(output),
            }
            subprocess.run(
                command("enqueue", "--spider", "articles", str(urls), settings=settings),
                cwd=REPO, check=True, capture_output=True,
            )  # fmt: skip
            before = redis_cost(redis_server)
            workers = []
            for n in range(count):
                worker = {**settings, "NEWSCRAWL_WORKER_ID": f"w{n}"}
                workers.append(
                    subprocess.Popen(command("crawl", "articles", settings=worker), cwd=REPO)
                )
            elapsed = timed(workers, output, args.pages)
            after = redis_cost(redis_server)
            redis_server.stop()
            cost = (after[0] - before[0], after[1] - before[1])
            rows.append((f"redis x{count}", count, elapsed, cost))
    server.stop()
    print_rows(rows, args.pages, pages)
    return 0


def warc_rows(pages: list[Page], files: int, work: Path) -> list[Row]:
    """The three runs over `files` WARC files holding the pages (one file per claim)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    (work / "warcs").mkdir()
    for number in range(files):
        with (work / "warcs" / f"bench-{number:03d}.warc.gz").open("wb") as handle:
            writer = WARCWriter(handle, gzip=True)
            for page in pages[number::files]:
                http = StatusAndHeaders(
                    "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
                )
                record = writer.create_warc_record(
                    f"https://bench.example{page.path}", "response", payload=io.BytesIO(page.body),
                    length=len(page.body), http_headers=http,
                )  # fmt: skip
                writer.write_record(record)
    pattern = str(work / "warcs" / "bench-*.warc.gz")
    output = work / "single"
    single = subprocess.Popen(
        command(
            "crawl", "warc", "-a", f"warcs={pattern}",
            settings={"NEWSCRAWL_OUTPUT_DIR": str(output),
                      "NEWSCRAWL_STATE": str(work / "single.sqlite3")},
        ),
        cwd=REPO,
    )  # fmt: skip
    rows: list[Row] = [("warc single", 1, timed([single], output, len(pages)), None)]
    for count in (1, 2):
        redis_server = RedisServer(work / f"redis{count}").start()
        output = work / f"redis{count}"
        settings = {"NEWSCRAWL_REDIS_URL": redis_server.url, "NEWSCRAWL_OUTPUT_DIR": str(output)}
        subprocess.run(
            command("enqueue", "--warcs", pattern, settings=settings),
            cwd=REPO, check=True, capture_output=True,
        )  # fmt: skip
        before = redis_cost(redis_server)
        workers = [
            subprocess.Popen(
                command("crawl", "warc", settings={**settings, "NEWSCRAWL_WORKER_ID": f"w{n}"}),
                cwd=REPO,
            )
            for n in range(count)
        ]
        elapsed = timed(workers, output, len(pages))
        after = redis_cost(redis_server)
        redis_server.stop()
        rows.append(
            (f"warc redis x{count}", count, elapsed, (after[0] - before[0], after[1] - before[1]))
        )
    return rows


def print_rows(rows: list[Row], total: int, pages: list[Page]) -> None:
    print(f"\n{total} pages, {len(pages[0].body) // 1024} KB first page; 2 cores\n")
    print(f"{'run':<20} {'workers':>7} {'seconds':>8} {'pages/s':>8} {'vs single':>9}"
          f" {'redis cmds/page':>15} {'redis us/page':>13}")  # fmt: skip
    baseline = rows[0][2]
    for name, count, elapsed, cost in rows:
        commands = f"{cost[0] / total:.1f}" if cost else "-"
        usec = f"{cost[1] / total:.0f}" if cost else "-"
        print(
            f"{name:<20} {count:>7} {elapsed:>8.1f} {total / elapsed:>8.1f}"
            f" {baseline / elapsed:>8.2f}x {commands:>15} {usec:>13}"
        )


if __name__ == "__main__":
    sys.exit(main())
