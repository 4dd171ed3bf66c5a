"""`scrapy enqueue --spider articles FILE ... | --sitemaps/--domains/--feeds ...`: feed the
shared frontier (distributed mode).

**URL files** (the `-a urls=` format: one URL per line, `#` comments and blank lines skipped):
one JSON entry per input line is pushed to scrapy-redis's start key (`<spider>:start_urls`) of
`NEWSCRAWL_REDIS_URL`:

    {"url": "...", "meta": {"newscrawl": {"input": 17, "run": "<run_id>", "line": 18,
     "source": "file:///...", "error": null, "duplicate_of": null}}}

Each line gets a global input id within the run, and a line naming the same page as an
earlier input of the run is marked `duplicate_of` (it ends as `duplicate_url`, not fetched
twice); a line that is not a URL carries its `error` (it ends as `invalid_url`).

**Sitemaps and feeds** (`--sitemaps URL[,URL]`, `--domains DOMAIN[,...]`, `--feeds
URL|PATH[,...]`, with the discovery filters `--since`, `--allow`, `--deny`, `--max-articles`):
the `sitemap` / `feeds` spider itself runs here, in frontier mode (see
`newscrawl.spiders.discovery_base`): same sources, same parsing, same filters and the same
target guard and robots.txt rules as `scrapy crawl sitemap|feeds`, but each accepted article
URL is queued for the workers instead of fetched, its entry carrying `discovered_via` (kind,
source, title, published_at) and whether its host is one the user named, so a worker's record
is the one a single-machine crawl writes. Only sitemaps, feeds and robots.txt are fetched
here, never an article page. The arguments are validated by the spiders' own models before
anything is fetched; a bad one is a usage error naming the option (exit status 2).

Design choices, against the obvious alternatives:

* `seen_before` is decided by the worker when it claims the entry (against the shared Redis
  state store, as for URL-file inputs), not here: every accepted URL is an input, exactly as in
  a single-machine discovery crawl (where a page exported before ends as a `seen_before`
  reject, not as nothing), and a page exported between the enqueue and the fetch is caught.
* The discovery spiders run one after the other (sitemaps first, then feeds), so a URL both
  announce gets the `discovered_via` of the sitemap, whatever answers first.
* A URL already queued in this run by another enqueue (a file, another sitemap) is counted as
  filtered `duplicate`, as a repeat within one discovery crawl is, not queued as an input.
* The discovery report (sources with status and reason, filtered counts, accepted) is written
  by the pipeline to `<run_dir>/discovery-<n>.json` (`n` from a Redis counter, so enqueues on
  several machines do not collide); `scrapy merge` adds them up into the merged run.json.
  A bad source (404, malformed XML, HTML) is reported there and the others are read.

**WARC files** (`--warcs PATH|GLOB[,...]`, for `scrapy crawl warc` workers; with the warc
spider's filters `--domains`, `--since`, `--allow`, `--deny`): one entry per file, on
`warc:start_urls`; see `newscrawl.distributed.warcs`.

The run's input list is appended to `<NEWSCRAWL_OUTPUT_DIR>/<spider>/<run_id>/inputs.jsonl`,
which `scrapy merge` checks the workers' records against. Joins the run in progress (entries
queued, workers or another enqueue registered), else starts a new run id; while it runs, the
enqueue is registered as a feeder, so workers do not stop for an empty frontier meanwhile.
Prints the run id. Exit status 0, 1 when Redis cannot be reached or a discovery crawl could not
start, 2 on a usage error, 6 when every source of a discovery crawl failed (as `scrapy crawl`).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

from scrapy.commands import ScrapyCommand
from scrapy.crawler import CrawlerProcess
from scrapy.exceptions import UsageError
from twisted.internet.defer import Deferred, inlineCallbacks

from newscrawl.distributed.feeding import Feeding, NewInput, queue_inputs
from newscrawl.distributed.frontier import Frontier
from newscrawl.distributed.keys import DISTRIBUTED_SPIDERS, REDIS_ERRORS, START_KEY, Keys
from newscrawl.distributed.warcs import enqueue_warcs
from newscrawl.history.urls import redacted
from newscrawl.sources.inputs import read_url_file, url_key
from newscrawl.spiders.feeds import FeedsSpider
from newscrawl.spiders.params import SpiderArgumentError, as_options
from newscrawl.spiders.sitemap import SitemapSpider

BATCH = 1000  # entries per Redis round trip
EXIT_CANNOT_START = 1
EXIT_DISCOVERY_FAILED = 6
FILTERS = ("since", "allow", "deny", "max_articles")  # the discovery spiders' shared filters
SPIDERS = {"sitemap": SitemapSpider, "feeds": FeedsSpider}


class Command(ScrapyCommand):
    requires_crawler_process = False  # a discovery crawl makes its own, with its own settings
    default_settings = {"LOG_ENABLED": False}  # noqa: RUF012 - as Scrapy declares it

    def syntax(self) -> str:
        return (
            "--spider articles [FILE ...] [--sitemaps URL[,URL] | --domains D[,D]]"
            " [--feeds URL|PATH[,...]] [--since YYYY-MM-DD] [--allow RE] [--deny RE]"
            " [--max-articles N] | --warcs PATH|GLOB[,...] [--domains D[,D]] [--since YYYY-MM-DD]"
            " [--allow RE] [--deny RE]"
        )

    def short_desc(self) -> str:
        return "Feed the shared Redis frontier (distributed mode) from URL files, sitemaps or feeds"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--spider", help="spider whose frontier to feed (articles; warc)")
        group = parser.add_argument_group("sitemaps and feeds (as scrapy crawl sitemap / feeds)")
        group.add_argument("--sitemaps", metavar="URL[,URL]", help="sitemap or index URLs")
        group.add_argument(
            "--domains", metavar="D[,D]", help="domains whose robots.txt lists the sitemaps"
        )
        group.add_argument("--feeds", metavar="URL|PATH[,...]", help="RSS/Atom feeds, or lists")
        group.add_argument("--since", metavar="YYYY-MM-DD", help="skip entries dated before")
        group.add_argument("--allow", metavar="REGEX", help="queue only URLs matching")
        group.add_argument("--deny", metavar="REGEX", help="queue no URL matching")
        group.add_argument(
            "--max-articles", dest="max_articles", metavar="N", help="queue at most N per spider"
        )
        parser.add_argument_group(
            "WARC files (for `scrapy crawl warc` workers; --domains, --since, --allow and"
            " --deny are then the warc spider's filters)"
        ).add_argument(
            "--warcs", metavar="PATH|GLOB[,...]", help="one frontier entry per WARC file"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if opts.warcs is not None:  # newscrawl.distributed.warcs: one entry per WARC file
            self.exitcode = enqueue_warcs(self.settings, opts, args)
            return
        opts.spider = opts.spider or "articles"
        if opts.spider == "warc":
            raise UsageError("--spider warc: name its WARC files with --warcs PATH|GLOB[,...]")
        crawls = discovery_crawls(opts)
        if not args and not crawls:
            raise UsageError("name at least one URL file, or --sitemaps, --domains or --feeds")
        url = self.settings.get("NEWSCRAWL_REDIS_URL")
        if not url:
            raise UsageError("set -s NEWSCRAWL_REDIS_URL=redis://host:6379/0")
        if opts.spider not in DISTRIBUTED_SPIDERS:
            raise UsageError(
                f"--spider {opts.spider}: only {', '.join(sorted(DISTRIBUTED_SPIDERS))}"
                " takes its inputs from Redis"
            )
        files = [Path(name) for name in args]
        for path in files:
            if not path.is_file():
                raise UsageError(f"no such file: {path}")
        keys = Keys(opts.spider, self.settings.get("REDIS_START_URLS_KEY") or START_KEY)
        try:
            feeding = Feeding(
                url, keys, self.settings.getfloat("NEWSCRAWL_REDIS_LEASE"),
                self.settings.get("NEWSCRAWL_RUN_ID") or "",
            )  # fmt: skip
        except REDIS_ERRORS as exc:
            print(f"newscrawl: cannot reach Redis at {redacted(url)}: {exc}", file=sys.stderr)
            self.exitcode = EXIT_CANNOT_START
            return
        with feeding:
            run_id = feeding.run_id
            run_dir = Path(self.settings.get("NEWSCRAWL_OUTPUT_DIR")) / opts.spider / run_id
            run_dir.mkdir(parents=True, exist_ok=True)
            with (run_dir / "inputs.jsonl").open("a", encoding="utf-8") as manifest:
                total = self._enqueue_files(feeding.client, keys, run_id, files, manifest)
                if files:
                    print(f"run {run_id}: {total} inputs queued on {keys.start} ({redacted(url)})")
                frontiers = [
                    Frontier(feeding.client, keys, run_id, run_dir, manifest, arguments)
                    for _spider, arguments in crawls
                ]
                if crawls and not self._discover(crawls, frontiers):
                    self.exitcode = EXIT_CANNOT_START
        for (spider, _arguments), frontier in zip(crawls, frontiers, strict=True):
            if frontier.report is None:
                continue
            if not print_discovery(run_id, spider, frontier, keys.start, redacted(url)):
                self.exitcode = self.exitcode or EXIT_DISCOVERY_FAILED
        print(f"inputs: {run_dir / 'inputs.jsonl'}")

    def _enqueue_files(
        self, client: Any, keys: Keys, run_id: str, files: list[Path], manifest: IO[str]
    ) -> int:
        assert self.settings is not None
        max_line = self.settings.getint("NEWSCRAWL_MAX_INPUT_LINE")
        total = 0
        for path in files:
            batch: list[NewInput] = []
            for line in read_url_file(path, max_line):
                source = (line.url or line.raw)[:4096]
                info: dict[str, Any] = {
                    "run": run_id, "line": line.line_number,
                    "source": path.resolve().as_uri(), "error": line.error,
                    "duplicate_of": None,
                }  # fmt: skip
                key = url_key(line.url) if line.url is not None else None
                batch.append(NewInput(source, key, info))
                if len(batch) >= BATCH:
                    total += queue_inputs(
                        client, keys, run_id, batch, manifest, skip_repeats=False
                    )[0]
                    batch = []
            if batch:
                total += queue_inputs(client, keys, run_id, batch, manifest, skip_repeats=False)[0]
        return total

    def _discover(
        self, crawls: list[tuple[str, dict[str, Any]]], frontiers: list[Frontier]
    ) -> bool:
        """Run the discovery spiders in frontier mode; False if one could not start."""
        assert self.settings is not None
        settings = self.settings.copy()
        # Only the frontier pipeline; none of the crawl's extensions (state store, extraction
        # workers, progress, run report): nothing here fetches a page or writes a record.
        settings.set(
            "ITEM_PIPELINES", {"newscrawl.distributed.frontier.FrontierPipeline": 100}, "cmdline"
        )
        settings.set("EXTENSIONS", {}, "cmdline")
        settings.set("NEWSCRAWL_REDIS_URL", "", "cmdline")  # this crawl is not a worker
        process = CrawlerProcess(settings)

        # One after the other, in the order given (sitemaps, then feeds): a URL both announce
        # is queued once, with the `discovered_via` of the first, as in one crawl.
        @inlineCallbacks
        def in_turn() -> Generator[Deferred[Any], Any, None]:
            try:
                for (spider, arguments), frontier in zip(crawls, frontiers, strict=True):
                    try:
                        yield process.crawl(SPIDERS[spider], frontier=frontier, **arguments)
                    except Exception as exc:  # reported; the others still run
                        print(f"newscrawl: {spider} could not start: {exc}", file=sys.stderr)
            finally:
                from twisted.internet import reactor  # installed by the first crawl

                with contextlib.suppress(RuntimeError):  # already stopping (Ctrl-C)
                    reactor.stop()  # type: ignore[misc]

        in_turn()
        process.start(stop_after_crawl=False)
        return not process.bootstrap_failed


def discovery_crawls(opts: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """The discovery spiders to run and their arguments, validated as `scrapy crawl` would."""
    filters = {name: getattr(opts, name) for name in FILTERS if getattr(opts, name) is not None}
    crawls: list[tuple[str, dict[str, Any]]] = []
    if opts.sitemaps is not None or opts.domains is not None:
        sources = {name: getattr(opts, name) for name in ("sitemaps", "domains")}
        crawls.append(
            ("sitemap", {**filters, **{k: v for k, v in sources.items() if v is not None}})
        )
    if opts.feeds is not None:
        crawls.append(("feeds", {**filters, "feeds": opts.feeds}))
    if filters and not crawls:
        options = ", ".join("--" + name.replace("_", "-") for name in filters)
        raise UsageError(f"{options}: only with --sitemaps, --domains or --feeds")
    for spider, arguments in crawls:
        try:
            SPIDERS[spider](**arguments)
        except SpiderArgumentError as exc:
            raise UsageError(as_options(str(exc))) from None
    return crawls


def print_discovery(run_id: str, spider: str, frontier: Frontier, start: str, where: str) -> bool:
    """Print what a discovery crawl queued; False when every one of its sources failed."""
    report = frontier.report
    assert report is not None
    discovery = report["discovery"]
    sources = discovery["sources"]
    bad = [source for source in sources if source["status"] == "error"]
    recovered = [source for source in sources if source["status"] == "recovered"]
    filtered = ", ".join(f"{reason} {n}" for reason, n in discovery["filtered"].items())
    print(
        f"run {run_id}: {discovery['accepted']} inputs queued on {start} ({where}) from"
        f" {len(sources)} {spider} source(s), {len(bad)} unusable;"
        f" filtered: {filtered or 'none'}; finish reason {report['finish_reason']}"
    )
    for source in bad:
        print(f"  {source['kind']} {source['url']}: {source['detail']}")
    for source in recovered:
        print(
            f"  {source['kind']} {source['url']}: recovered {source['entries']} entries"
            f" from {source['detail']}"
        )
    print(f"discovery report: {frontier.report_path}")
    if sources and len(bad) == len(sources):
        print(f"discovery FAILED: all {len(sources)} {spider} source(s) failed, nothing queued")
        return False
    return True
