"""`scrapy extract URL_OR_FILE [--json] [--explain]`: what the crawl would write for one page.

The page goes through the crawl's own path: robots.txt, redirects, the shared callback
(`NewsSpider.parse_page`), then the validate and dedupe pipelines; only the writer is
replaced by one that keeps the outcome. The result is printed: the article, or the reject
and its reason. `--json` prints the record exactly as the run would write it as a line;
`--explain` also lists what was removed from the page as boilerplate, each with its rule
(with `--json`: `{"outcome", "record", "removed": [{"text", "rule"}]}`).

Exit status: 0 the page is an article, 1 it is a reject, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Self

from scrapy.commands import ScrapyCommand
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.settings import get_settings_priority

from newscrawl.extraction import Removal
from newscrawl.items import ArticleItem, RejectItem
from newscrawl.pool.worker_main import ExtractFunction, load_function
from newscrawl.sources.inputs import parse_input
from newscrawl.spiders.base import NewsSpider
from schemas import Discovery, RejectReason

EXIT_REJECT = 1
# The crawl's pipelines with the writer replaced, and nothing kept between runs.
PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.dedupe.DedupePipeline": 200,
    "newscrawl.commands.extract.KeepOutcome": 900,
}


class _Explained:
    """The removals of the page extracted last, kept by `explaining_extract`.

    The crawl's extraction drops `ArticleFields.removed` (no record holds it), so this command
    wraps the configured extraction function to keep it. One page per command, in-process.
    """

    inner: ExtractFunction | None = None
    removed: list[Removal] = []  # noqa: RUF012 - replaced whole, never mutated


def explaining_extract(html: str, url: str) -> Any:
    """The configured extraction function, keeping what it removed as boilerplate."""
    assert _Explained.inner is not None
    fields = _Explained.inner(html, url)
    _Explained.removed = list(getattr(fields, "removed", None) or [])
    return fields


class OnePageSpider(NewsSpider):
    """Takes one input, as the articles spider does a line of its list."""

    name = "articles"  # the record says what `scrapy crawl articles` would write

    def __init__(self, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.outcome: ArticleItem | RejectItem | None = None

    async def start(self) -> AsyncIterator[Any]:
        line = parse_input(self.target, 0, Path.cwd())
        via = Discovery(kind="list", source=None)
        input_id = self.open_input(line.url or line.raw)
        if line.url is None:
            yield self.reject_input(
                input_id, line.raw, RejectReason.invalid_url, str(line.error), discovered_via=via
            )
            return
        yield self.page_request(input_id, line.url, via)


class KeepOutcome:
    """In place of the writer: keeps the one outcome on the spider."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        spider = self.crawler.spider
        if isinstance(spider, OnePageSpider) and isinstance(item, ArticleItem | RejectItem):
            spider.ledger.settle(item.input_id)
            spider.outcome = item
        return item


# Settings of this command over the project's (a `-s NAME=VALUE` still wins).
OVERRIDES: dict[str, Any] = {
    "LOG_LEVEL": "WARNING",
    "NEWSCRAWL_PROGRESS": "off",
    "ITEM_PIPELINES": PIPELINES,
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
}
# Extensions one page does without: the state store, the run's report, and the worker pool
# (without it the page is extracted in-process, with no worker start-up).
NO_EXTENSIONS = (
    "newscrawl.runs.reruns.Reruns",
    "newscrawl.runs.runreport.RunReport",
    "newscrawl.pool.workers.ExtractionPool",
)


class Command(ScrapyCommand):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        cmdline = get_settings_priority("cmdline")
        for name, value in OVERRIDES.items():
            if (self.settings.getpriority(name) or 0) < cmdline:
                self.settings.set(name, value, priority="cmdline")
        _Explained.inner = load_function(self.settings.get("NEWSCRAWL_EXTRACT_FUNCTION"))
        self.settings.set(
            "NEWSCRAWL_EXTRACT_FUNCTION", f"{__name__}.explaining_extract", priority="cmdline"
        )
        extensions = self.settings.getdict("EXTENSIONS")
        extensions.update(dict.fromkeys(NO_EXTENSIONS))
        self.settings.set("EXTENSIONS", extensions, priority="cmdline")

    def syntax(self) -> str:
        return "URL_OR_FILE [--json] [--explain]"

    def short_desc(self) -> str:
        return "Fetch (or read) one page and print the record the crawl would write"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--json", action="store_true", help="print the record as JSON")
        parser.add_argument(
            "--explain", action="store_true", help="also list what was removed as boilerplate"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one URL or local HTML file")
        assert self.crawler_process is not None
        crawler = self.crawler_process.create_crawler(OnePageSpider)
        self.crawler_process.crawl(crawler, target=args[0])
        self.crawler_process.start()
        spider = crawler.spider
        if self.crawler_process.bootstrap_failed or not isinstance(spider, OnePageSpider):
            self.exitcode = 2
            return
        outcome = spider.outcome
        if outcome is None:
            print(f"no outcome for {args[0]} (see the log above)", file=sys.stderr)
            self.exitcode = EXIT_REJECT
            return
        show = _show_json if opts.json else _show_text
        try:
            show(outcome, _Explained.removed, explain=opts.explain)
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has seen enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        self.exitcode = 0 if isinstance(outcome, ArticleItem) else EXIT_REJECT


def _show_json(outcome: ArticleItem | RejectItem, removed: list[Removal], *, explain: bool) -> None:
    record = outcome.article if isinstance(outcome, ArticleItem) else outcome.reject
    line = record.model_dump_json()
    if not explain:
        print(line)
        return
    document = {
        "outcome": "article" if isinstance(outcome, ArticleItem) else "reject",
        "record": json.loads(line),
        "removed": [{"text": r.text, "rule": r.rule} for r in removed],
    }
    print(json.dumps(document, ensure_ascii=False, indent=2))


def _show_text(outcome: ArticleItem | RejectItem, removed: list[Removal], *, explain: bool) -> None:
    out: list[str] = []
    if isinstance(outcome, ArticleItem):
        a = outcome.article
        out.append(f"ARTICLE  {a.url}")
        fields = {
            "title": a.title,
            "authors": ", ".join(a.authors) or "–",
            "published": a.published_at or "–",
            "modified": a.modified_at or "–",
            "language": a.language or "–",
            "site": a.site_name or "–",
            "section": a.section or "–",
            "canonical": a.canonical_url or "–",
            "words": a.word_count,
        }
        out += [f"  {name + ':':<11}{value}" for name, value in fields.items()]
        out += [f"  warning:   {w.field}: {w.reason} ({w.value})" for w in a.warnings]
        out.append("")
        out += [textwrap.fill(p, 100) + "\n" for p in a.text.split("\n\n")]
    else:
        r = outcome.reject
        out.append(f"REJECT  {r.reason}: {r.detail}")
        out.append(f"  url:       {r.url}")
        if r.http_status is not None:
            out.append(f"  status:    {r.http_status}")
        if r.duplicate_of:
            out.append(f"  same as:   {r.duplicate_of}")
    if explain:
        out.append(f"removed as boilerplate ({len(removed)}):" if removed else "nothing removed")
        for item in removed:
            text = " ".join(item.text.split())
            out.append(f"  [{item.rule}] {text[:117] + '...' if len(text) > 120 else text}")
    print("\n".join(out).rstrip("\n"))
