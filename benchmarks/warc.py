"""WARC work timed against its references, on the throughput benchmark's generated pages.

What it does, in one run (each command in its own process tree, measured as in
`benchmarks/throughput.py`, whose page generator, server and measuring it reuses):

1. Generates N article pages (default 1,000) and serves them on 127.0.0.1.
2. `scrapy crawl articles` over them, live, without and with `NEWSCRAWL_ARCHIVE=true`
   (the archive's cost).
3. Stops the server; `scrapy reprocess` of the archived run (the same pages from WARC,
   no network): its pages/s against the live crawl's.
4. `scrapy crawl warc` over the same archive files, against plain trafilatura
   (`trafilatura.extract(html, url=url, with_metadata=True)`, one process, pages already
   in memory) over the same bodies.

Prints pages/s, CPU ms per page (whole tree, extraction workers included), peak RSS of the
tree, the accounting of every run, and the ratios.

Usage (from the repository root)::

    .venv/bin/python benchmarks/warc.py                # 1,000 pages
    .venv/bin/python benchmarks/warc.py --pages 300 --keep

Needs psutil. Network: 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO))  # the harness, from the repo

from benchmarks.harness.pages import generate  # noqa: E402
from benchmarks.harness.server import PageServer  # noqa: E402
from benchmarks.harness.tree import TreeRun, become_subreaper, crawl_seconds, run_tree  # noqa: E402

COMMON = [
    "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=WARNING",
    "-s", "NEWSCRAWL_SUMMARY=False", "-s", "NEWSCRAWL_REPORT=False",
    "-s", "CONCURRENT_REQUESTS=16", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
]  # fmt: skip


def _run_json(directory: Path) -> dict[str, Any]:
    runs = sorted(directory.glob("*/run.json"))
    return json.loads(runs[-1].read_text()) if runs else {}


def _row(name: str, pages: int, run: TreeRun, summary: dict[str, Any]) -> dict[str, Any]:
    counts = summary.get("counts", {})
    in_run = crawl_seconds(summary)
    return {
        "name": name,
        "pages": pages,
        "wall_s": round(run.wall, 2),
        "pages_per_s": round(pages / run.wall, 1) if run.wall else 0.0,
        "pages_per_s_open_to_close": round(pages / in_run, 1) if in_run else None,
        "cpu_ms_per_page": round(1000 * run.cpu / pages, 1) if pages else 0.0,
        "peak_rss_mb": round(run.peak_rss / 2**20),
        "articles": counts.get("articles"),
        "rejects": counts.get("rejects"),
        "accounting_ok": summary.get("accounting", {}).get("ok"),
        "exit": run.returncode,
        "other_load_cores": round(run.others_cores, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="pages to generate (1000)")
    parser.add_argument("--seed", type=int, default=6, help="page generator seed (6)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    become_subreaper()
    work = Path(tempfile.mkdtemp(prefix="newscrawl-warc-bench-"))
    try:
        return _benchmark(args, work)
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _benchmark(args: argparse.Namespace, work: Path) -> int:
    pages = generate(args.pages, args.seed)
    served = {page.path: page.body for page in pages}
    server = PageServer(served).start()
    base = f"http://127.0.0.1:{server.port}"
    url_file = work / "urls.txt"
    url_file.write_text("".join(f"{base}{page.path}\n" for page in pages))
    page_dir = work / "pages"
    page_dir.mkdir()
    list_lines = []
    for number, page in enumerate(pages):
        file = page_dir / f"{number:06d}.html"
        file.write_bytes(page.body)
        list_lines.append(f"{base}{page.path}\t{file}")
    list_file = work / "pages.tsv"
    list_file.write_text("\n".join(list_lines) + "\n")
    count = len(pages)
    body_mb = sum(len(page.body) for page in pages) / 2**20
    del pages
    scrapy = str(BIN / "scrapy")
    rows = []

    def crawl(name: str, out: str, *extra: str) -> tuple[TreeRun, dict[str, Any]]:
        command = [
            scrapy, *extra, "-s", f"NEWSCRAWL_OUTPUT_DIR={work / out}",
            "-s", f"NEWSCRAWL_STATE={work / out / 'state.sqlite3'}", *COMMON,
        ]  # fmt: skip
        run = run_tree(name, command, cwd=REPO)
        if run.returncode != 0:
            print(run.stderr[-3000:], file=sys.stderr)
        spider = extra[1] if extra[0] == "crawl" else "reprocess"
        return run, _run_json(work / out / spider)

    live, live_summary = crawl("live", "live", "crawl", "articles", "-a", f"urls={url_file}")
    rows.append(_row("scrapy crawl articles (live)", count, live, live_summary))
    archived, archived_summary = crawl(
        "live+archive", "archived", "crawl", "articles", "-a", f"urls={url_file}",
        "-s", "NEWSCRAWL_ARCHIVE=true",
    )  # fmt: skip
    rows.append(_row("scrapy crawl articles, NEWSCRAWL_ARCHIVE=true", count, archived,
                     archived_summary))  # fmt: skip
    server.stop()
    run_dir = sorted((work / "archived" / "articles").glob("*/run.json"))[-1].parent
    archive = sorted((run_dir / "archive").glob("*.warc.gz"))
    warc_mb = sum(path.stat().st_size for path in archive) / 2**20
    reprocess, reprocess_summary = crawl("reprocess", "re", "reprocess", str(run_dir))
    rows.append(_row("scrapy reprocess (from WARC, no network)", count, reprocess,
                     reprocess_summary))  # fmt: skip
    warcs = ",".join(str(path) for path in archive)
    warc_in, warc_summary = crawl("warc input", "warcin", "crawl", "warc", "-a", f"warcs={warcs}")
    rows.append(_row("scrapy crawl warc (the same WARC files)", count, warc_in, warc_summary))
    plain = run_tree(
        "plain trafilatura",
        [str(BIN / "python"), str(REPO / "benchmarks" / "throughput.py"),
         "--_extract", "plain", str(list_file)],
        cwd=REPO,
    )  # fmt: skip
    totals = json.loads(plain.stdout.strip().splitlines()[-1])["plain"]
    rows.append({
        "name": "plain trafilatura, one process, pages in memory (loop alone)",
        "pages": count,
        "wall_s": round(totals["wall"], 2),
        "pages_per_s": round(count / totals["wall"], 1),
        "cpu_ms_per_page": round(1000 * totals["cpu"] / count, 1),
        "peak_rss_mb": round(plain.peak_rss / 2**20),
        "articles": totals["ok"],
    })  # fmt: skip
    print(f"\n{count} pages, {body_mb:.0f} MB of HTML; archive {len(archive)} file(s), "
          f"{warc_mb:.0f} MB gzip\n")  # fmt: skip
    for row in rows:
        print(json.dumps(row))
    by = {row["name"]: row for row in rows}
    live_rate = by["scrapy crawl articles (live)"]["pages_per_s"]
    reprocess_rate = by["scrapy reprocess (from WARC, no network)"]["pages_per_s"]
    archive_rate = by["scrapy crawl articles, NEWSCRAWL_ARCHIVE=true"]["pages_per_s"]
    warc_rate = by["scrapy crawl warc (the same WARC files)"]["pages_per_s"]
    print(
        f"\nreprocess / live crawl: {reprocess_rate / live_rate:.2f}x; "
        f"archive on / off: {archive_rate / live_rate:.2f}x; "
        f"warc input / plain trafilatura: {warc_rate / rows[-1]['pages_per_s']:.2f}x"
    )
    print(f"(measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
