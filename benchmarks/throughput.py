"""Throughput of the whole crawl beside plain trafilatura, on the same pages.

What it does, in one run:

1. Takes N pages. By default (``--set real``) the real pages of the development corpora
   (``../shared/corpus/aeb-dev`` and ``fundus-dev``, read from there at run time, never
   copied), cycled: the first round as they are, each later round a copy whose visible text
   runs have their words shuffled and whose canonical URL gets a query parameter, so neither
   exact nor near-duplicate detection fires while markup, size and words stay real.
   ``--set generated`` generates N article pages instead (seeded, so reruns see the same
   pages): five publisher templates (legacy div soup, WordPress, semantic HTML5, a Next.js-
   style app with a large JSON state blob, a European daily in German/French/Spanish), 40-150
   KB each, with header navigation, breadcrumbs, inline teasers, "most read" sidebars,
   newsletter and cookie boxes, related-article grids, footers, inline scripts and styles,
   JSON-LD and OpenGraph.
2. Serves them from memory on 127.0.0.1 (an asyncio HTTP/1.1 keep-alive server in a thread of
   this process; its own CPU time is printed, to show it is not the bottleneck).
3. Times, each in its own process tree:
   - plain trafilatura: `trafilatura.extract(html, url=url)` (its defaults) over the
     pages, one process, pages already decoded in memory (the loop alone is timed);
   - newscrawl's extractor the same way (`extract_article`), for its CPU cost per page;
   - the real `scrapy crawl articles -a urls=FILE` (downloads to JSONL, worker pool
     included), AutoThrottle and download delay off;
   - trafilatura's own command-line downloader, `trafilatura --input-file FILE --parallel 2`,
     with a config file that sets SLEEP_TIME = 0 (its default waits 5 s between requests to
     one host) and SSRF_PROTECTION = off (it refuses 127.0.0.1 otherwise).
4. Prints pages/s, CPU seconds per page for the whole process tree (worker processes
   included), peak RSS of the tree (sum over its processes, sampled every 0.1 s), ratios to
   plain trafilatura, and the targets of issue 16, met or not.

CPU time of a tree is exact: this process makes itself the "child subreaper" (Linux), so
every descendant, orphaned or not, is waited for by someone, and `getrusage(RUSAGE_CHILDREN)`
sums them all.

Usage (from the repository root)::

    .venv/bin/python benchmarks/throughput.py                 # 2,000 pages
    .venv/bin/python benchmarks/throughput.py --pages 10000   # the RSS target's size
    .venv/bin/python benchmarks/throughput.py --pages 10000 --crawl-only  # the crawl alone
    .venv/bin/python benchmarks/throughput.py --workers 1 --keep

Needs psutil (RSS sampling). Network: 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO))  # the harness, and the working tree's newscrawl, from the repo

from benchmarks.harness.corpus import default_corpora  # noqa: E402
from benchmarks.harness.extractors import (  # noqa: E402
    Extractor,
    load_newscrawl,
    make_newscrawl,
    make_trafilatura,
)
from benchmarks.harness.pages import generate, real  # noqa: E402
from benchmarks.harness.server import PageServer  # noqa: E402
from benchmarks.harness.tree import (  # noqa: E402
    LineCounter,
    TreeRun,
    become_subreaper,
    crawl_seconds,
    run_tree,
)

# Targets (issue 16) on a 2-core machine, each a ratio to plain trafilatura in the same run.
TARGET_RATE_VS_PLAIN = 1.5
TARGET_RSS_MB = 400
TARGET_RSS_PAGES = 10_000
TARGET_EXTRACTOR_CPU_VS_PLAIN = 0.8
TARGET_CRAWLER_CPU_VS_PLAIN = 0.3  # the crawler process alone (extraction workers excluded)
RSS_GROWTH_TOLERANCE = 0.05  # peak after 2,000 pages within 5% of the peak before

# --------------------------------------------------------------------------------------------
# The in-process extraction loops (run as `throughput.py --_extract KIND LIST`)
# --------------------------------------------------------------------------------------------


def extract_loop(kind: str, list_file: Path) -> None:
    """Time extraction over the listed pages in this one process; print the sums as JSON.

    `plain`: trafilatura.extract(html, url=url), its defaults. `pair`: newscrawl's
    extract_article and plain trafilatura taking turns page by page (which goes first
    alternates), so machine load hits both alike: the fair comparison of their CPU cost per
    page. Pages are read one at a time (the RSS is the extractors', not the corpus'); only the
    extraction calls are timed, after one untimed warm-up call each.
    """
    extractors: dict[str, Extractor] = {"plain": make_trafilatura()}
    if kind == "pair":
        extract_article = load_newscrawl()
        if extract_article is None:
            sys.exit("newscrawl.extraction cannot be imported")
        extractors["newscrawl"] = make_newscrawl(extract_article)
    pages = [line.split("\t") for line in list_file.read_text().splitlines()]
    first_url, first_path = pages[0]
    for extract in extractors.values():
        extract(Path(first_path).read_bytes().decode("utf-8"), first_url)
    totals = {name: {"ok": 0, "wall": 0.0, "cpu": 0.0} for name in extractors}
    order = list(extractors)
    for url, path in pages:
        html = Path(path).read_bytes().decode("utf-8")
        order.reverse()
        for name in order:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            ok = bool(extractors[name](html, url))
            totals[name]["wall"] += time.perf_counter() - wall0
            totals[name]["cpu"] += time.process_time() - cpu0
            totals[name]["ok"] += ok
    print(json.dumps({"pages": len(pages), **totals}))


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    pages: int
    wall: float
    cpu: float
    peak_rss: int
    note: str = ""
    others_cores: float = 0.0

    @property
    def rate(self) -> float:
        return self.pages / self.wall if self.wall else 0.0

    @property
    def cpu_per_page(self) -> float:
        return self.cpu / self.pages if self.pages else 0.0


def _mb(value: int) -> str:
    return f"{value / 2**20:.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="pages to serve (2000)")
    parser.add_argument(
        "--set",
        choices=("real", "generated"),
        default="real",
        help="real: the corpora's pages, varied copies (default); generated: the templates",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        help="a corpus directory for --set real (repeatable; default: ../shared/corpus/"
        "aeb-dev and fundus-dev beside the repository)",
    )
    parser.add_argument(
        "--workers", default="auto", help="NEWSCRAWL_EXTRACT_WORKERS for the crawl (auto)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--seed", type=int, default=6, help="page generator seed (6)")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="CONCURRENT_REQUESTS(_PER_DOMAIN) (16)"
    )
    parser.add_argument("--skip-cli", action="store_true", help="skip trafilatura's CLI")
    parser.add_argument(
        "--crawl-only",
        action="store_true",
        help="run the crawl alone (the memory targets at --pages 10000, without the references)",
    )
    parser.add_argument("--_extract", nargs=2, metavar=("KIND", "LIST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._extract:
        extract_loop(args._extract[0], Path(args._extract[1]))
        return 0
    try:
        import psutil  # noqa: F401
    except ImportError:
        sys.exit("throughput.py needs psutil: .venv/bin/pip install psutil")

    subreaper = become_subreaper()
    work = Path(tempfile.mkdtemp(prefix="newscrawl-throughput-"))
    print(f"work directory: {work}{'' if args.keep else ' (removed at the end; --keep keeps it)'}")
    try:
        return _benchmark(args, work, subreaper)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _benchmark(args: argparse.Namespace, work: Path, subreaper: bool) -> int:
    started = time.monotonic()
    if args.set == "real":
        pages = real(args.pages, args.seed, args.corpus or default_corpora())
    else:
        pages = generate(args.pages, args.seed)
    sizes = sorted(len(page.body) for page in pages)
    print(
        f"{args.set} set, {len(pages)} pages in {time.monotonic() - started:.1f}s: "
        f"{sum(sizes) / len(sizes) / 1000:.0f} KB mean, {sizes[0] / 1000:.0f}-"
        f"{sizes[-1] / 1000:.0f} KB, "
        f"{sum(p.words for p in pages) / len(pages):.0f} words mean",
        flush=True,
    )
    page_dir = work / "pages"
    served: dict[str, bytes] = {}
    server = PageServer(served).start()
    base = f"http://127.0.0.1:{server.port}"
    url_lines, list_lines = [], []
    for number, page in enumerate(pages):
        file = page_dir / f"{number:06d}.html"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(page.body)
        served[page.path] = page.body
        url_lines.append(base + page.path)
        list_lines.append(f"{base}{page.path}\t{file}")
    del pages
    url_file = work / "urls.txt"
    url_file.write_text("\n".join(url_lines) + "\n")
    list_file = work / "pages.tsv"
    list_file.write_text("\n".join(list_lines) + "\n")
    count = len(url_lines)
    python = str(BIN / "python")
    rows: dict[str, Row] = {}

    # 1. Plain trafilatura, one process (again after the crawl: load on a shared machine
    #    drifts, so the reference rate is the mean of the two).
    def plain_loop(kind: str) -> tuple[TreeRun, dict[str, Any]]:
        run = run_tree(kind, [python, __file__, "--_extract", kind, str(list_file)], cwd=REPO)
        if run.returncode != 0:
            sys.exit(run.stderr[-3000:])
        return run, json.loads(run.stdout.strip().splitlines()[-1])

    plain_runs = [] if args.crawl_only else [plain_loop("plain")]

    # 3. The crawl.
    out_dir = work / "out"
    crawl_command = [
        str(BIN / "scrapy"), "crawl", "articles", "-a", f"urls={url_file}",
        "-s", f"NEWSCRAWL_OUTPUT_DIR={out_dir}", "-s", f"NEWSCRAWL_STATE={work / 'state.sqlite3'}",
        "-s", f"NEWSCRAWL_EXTRACT_WORKERS={args.workers}",
        "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
        "-s", f"CONCURRENT_REQUESTS={args.concurrency}",
        "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={args.concurrency}",
        "-s", "LOG_LEVEL=WARNING",
    ]  # fmt: skip
    counter = LineCounter(out_dir, ("articles.jsonl", "rejects.jsonl"))
    crawl = run_tree("crawl", crawl_command, cwd=REPO, progress=counter)
    runs = sorted(out_dir.glob("articles/*/run.json"))
    summary = json.loads(runs[-1].read_text()) if runs else {}
    counts = summary.get("counts", {})
    accounting_ok = summary.get("accounting", {}).get("ok")
    in_crawl = crawl_seconds(summary)
    rows["crawl"] = Row(
        f"scrapy crawl articles (workers={args.workers})", count, crawl.wall, crawl.cpu,
        crawl.peak_rss,
        f"whole process, start-up included; {counts.get('articles', '?')} articles, "
        f"{counts.get('rejects', '?')} rejects {counts.get('rejects_by_reason', {})}, "
        f"accounting ok={accounting_ok}, exit {crawl.returncode}; "
        f"{count / in_crawl:.1f} pages/s from spider open to close; CPU ms/page: crawler "
        f"process {crawl.main_cpu / count * 1000:.1f}, extraction workers and the rest "
        f"{(crawl.cpu - crawl.main_cpu) / count * 1000:.1f}" if in_crawl else "",
        crawl.others_cores,
    )  # fmt: skip

    if args.crawl_only:
        server.stop()
        print()
        print("crawl command:", " ".join(crawl_command))
        row = rows["crawl"]
        print(
            f"{row.name}: {row.rate:.1f} pages/s, {row.cpu_per_page * 1000:.1f} CPU ms/page, "
            f"peak RSS {_mb(row.peak_rss)}, other load {row.others_cores:.2f} cores"
        )
        print(f"  {row.note}")
        print()
        print("targets (issue 16, 2-core machine; the rate targets need the full benchmark):")
        _memory_targets(args, crawl, row)
        return 0 if crawl.returncode == 0 and accounting_ok else 1

    # 4. trafilatura's CLI downloader.
    if not args.skip_cli:
        config = work / "trafilatura.cfg"
        default_cfg = Path(_trafilatura_settings())
        text = default_cfg.read_text()
        text = text.replace("SLEEP_TIME = 5.0", "SLEEP_TIME = 0").replace(
            "SSRF_PROTECTION = on", "SSRF_PROTECTION = off"
        )
        config.write_text(text)
        cli_out = work / "trafilatura-out"
        cli_command = [
            str(BIN / "trafilatura"), "--input-file", str(url_file), "--parallel", "2",
            "--config-file", str(config), "-o", str(cli_out),
        ]  # fmt: skip
        cli = run_tree("cli", cli_command, cwd=work)
        written = sum(1 for f in cli_out.rglob("*") if f.is_file()) if cli_out.exists() else 0
        rows["cli"] = Row(
            "trafilatura CLI --parallel 2", count, cli.wall, cli.cpu, cli.peak_rss,
            f"whole process; {written} documents written, exit {cli.returncode}",
            cli.others_cores,
        )  # fmt: skip
    # 4. Plain trafilatura again, then newscrawl's extractor and plain trafilatura in turns.
    plain_runs.append(plain_loop("plain"))
    runs_, results = zip(*plain_runs, strict=True)
    plain_walls = [result["plain"]["wall"] for result in results]
    rows["plain"] = Row(
        "plain trafilatura.extract", count,
        sum(r["plain"]["wall"] for r in results) / len(results),
        sum(r["plain"]["cpu"] for r in results) / len(results),
        max(r.peak_rss for r in runs_),
        "1 process, the extraction calls timed; mean of a run before and one after the crawl "
        f"({' and '.join(f'{count / wall:.1f}' for wall in plain_walls)} pages/s); "
        f"{results[0]['plain']['ok']} with text",
        sum(r.others_cores for r in runs_) / len(runs_),
    )  # fmt: skip
    pair_run, pair = plain_loop("pair")
    rows["newscrawl"] = Row(
        "newscrawl extract_article", count, pair["newscrawl"]["wall"],
        pair["newscrawl"]["cpu"], pair_run.peak_rss,
        "1 process, in turns with plain trafilatura page by page (RSS: both loaded); "
        f"{pair['newscrawl']['ok']} with text; plain trafilatura in the same turns: "
        f"{pair['plain']['cpu'] / count * 1000:.1f} ms/page",
        pair_run.others_cores,
    )  # fmt: skip
    rows = {name: rows[name] for name in ("plain", "newscrawl", "crawl", "cli") if name in rows}
    server.stop()

    _report(args, rows, crawl, server, subreaper, crawl_command, pair)
    return 0 if crawl.returncode == 0 and accounting_ok else 1


def _trafilatura_settings() -> str:
    out = subprocess.run(
        [str(BIN / "python"), "-c", "import trafilatura.settings as s, os; "
         "print(os.path.join(os.path.dirname(s.__file__), 'settings.cfg'))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def _report(
    args: argparse.Namespace,
    rows: dict[str, Row],
    crawl: TreeRun,
    server: PageServer,
    subreaper: bool,
    crawl_command: list[str],
    pair: dict[str, Any],
) -> None:
    plain = rows["plain"]
    print()
    print("crawl command:", " ".join(crawl_command))
    print(
        f"{'run':<42} {'pages/s':>8} {'CPU ms/page':>12} {'peak RSS':>9} "
        f"{'rate vs plain':>14} {'CPU vs plain':>13} {'other load':>11}"
    )
    for row in rows.values():
        print(
            f"{row.name:<42} {row.rate:>8.1f} {row.cpu_per_page * 1000:>12.1f} "
            f"{_mb(row.peak_rss):>9} {row.rate / plain.rate:>13.2f}x "
            f"{row.cpu_per_page / plain.cpu_per_page:>12.2f}x {row.others_cores:>5.2f} cores"
        )
    for row in rows.values():
        print(f"  {row.name}: {row.note}")
    print(
        f"  page server: {server.requests} requests, {server.cpu:.1f}s CPU in total "
        f"({server.cpu / max(1, server.requests) * 1000:.2f} ms a request)"
    )
    print(
        "  other load: CPU used meanwhile by processes outside the measured tree (this "
        "machine has 2 cores; figures taken with other load > 0.2 cores are not reliable)"
    )
    if not subreaper:
        print("  note: not Linux; CPU of orphaned worker processes may be missing")

    crawl_row, extractor = rows["crawl"], rows["newscrawl"]
    print()
    print("targets (issue 16, 2-core machine):")
    ratio = crawl_row.rate / plain.rate
    _target(
        f"crawl rate >= {TARGET_RATE_VS_PLAIN}x plain trafilatura",
        ratio >= TARGET_RATE_VS_PLAIN, f"{ratio:.2f}x",
    )  # fmt: skip
    if "cli" in rows:
        cli = rows["cli"]
        _target(
            "crawl faster than trafilatura's CLI downloader", crawl_row.rate > cli.rate,
            f"{crawl_row.rate:.1f} vs {cli.rate:.1f} pages/s ({crawl_row.rate / cli.rate:.2f}x)",
        )  # fmt: skip
    crawler_ratio = crawl.main_cpu / crawl_row.pages / plain.cpu_per_page
    _target(
        f"crawler process CPU/page <= {TARGET_CRAWLER_CPU_VS_PLAIN}x plain trafilatura",
        crawler_ratio <= TARGET_CRAWLER_CPU_VS_PLAIN,
        f"{crawl.main_cpu / crawl_row.pages * 1000:.1f} vs {plain.cpu_per_page * 1000:.1f} ms "
        f"({crawler_ratio:.2f}x; extraction workers excluded)",
    )  # fmt: skip
    _memory_targets(args, crawl, crawl_row)
    _extractor_target(pair, extractor)


def _memory_targets(args: argparse.Namespace, crawl: TreeRun, crawl_row: Row) -> None:
    # RSS growth: the tree's peak up to 2,000 pages written vs its peak afterwards.
    mark = min(2000, len(crawl.rss_series) and max(done for _, _, done in crawl.rss_series) // 5)
    early = max((rss for _, rss, done in crawl.rss_series if done <= mark), default=0)
    late = max((rss for _, rss, done in crawl.rss_series if done > mark), default=0)
    growth = (late - early) / early if early else 0.0
    measured_at = max((done for _, _, done in crawl.rss_series), default=0)
    rss_ok = crawl_row.peak_rss < TARGET_RSS_MB * 2**20
    size_note = (
        ""
        if args.pages >= TARGET_RSS_PAGES
        else f" (at {args.pages} pages; the target is at "
        f"{TARGET_RSS_PAGES}: run --pages {TARGET_RSS_PAGES})"
    )
    _target(
        f"peak RSS of the crawl's process tree < {TARGET_RSS_MB} MB",
        rss_ok if args.pages >= TARGET_RSS_PAGES else None,
        f"{_mb(crawl_row.peak_rss)}{size_note}",
    )  # fmt: skip
    _target(
        f"no RSS growth after {mark} pages",
        (growth <= RSS_GROWTH_TOLERANCE) if args.pages >= TARGET_RSS_PAGES else None,
        f"peak up to {mark} pages {_mb(early)}, after {_mb(late)} ({growth:+.0%}; "
        f"{measured_at} records seen)",
    )  # fmt: skip


def _extractor_target(pair: dict[str, Any], extractor: Row) -> None:
    ours, theirs = pair["newscrawl"]["cpu"], pair["plain"]["cpu"]
    cpu_ratio = ours / theirs
    _target(
        f"newscrawl extractor CPU/page <= {TARGET_EXTRACTOR_CPU_VS_PLAIN}x plain trafilatura",
        cpu_ratio <= TARGET_EXTRACTOR_CPU_VS_PLAIN,
        f"{ours / extractor.pages * 1000:.1f} vs {theirs / extractor.pages * 1000:.1f} ms, "
        f"in turns page by page ({cpu_ratio:.2f}x)",
    )  # fmt: skip


def _target(name: str, met: bool | None, detail: str) -> None:
    verdict = "MET" if met else ("not measured" if met is None else "NOT MET")
    print(f"  [{verdict:^12}] {name}: {detail}")


if __name__ == "__main__":
    sys.exit(main())
