"""Discovery into the frontier: `FrontierPipeline` turns accepted URLs into entries."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.spiders import Spider
from twisted.internet import task

from newscrawl.distributed.feeding import NewInput, queue_inputs
from newscrawl.distributed.keys import REDIS_ERRORS, Keys
from newscrawl.signals import ask, discovery_report
from newscrawl.sources.inputs import url_key
from schemas import Discovery

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class FrontierEntry:
    """An article URL a discovery spider accepted in frontier mode (an item for the pipeline)."""

    url: str
    discovered_via: Discovery
    trusted: bool  # its host is one the user named (the sitemap's or feed's own host)


@dataclass
class Frontier:
    """Where a discovery spider run by `scrapy enqueue` sends the URLs it accepts.

    Given to the spider by the enqueue command (a Python object: `-a` cannot pass one); the
    spider then yields `FrontierEntry` items instead of requests, and `FrontierPipeline`
    queues them and writes the discovery report.
    """

    client: Any
    keys: Keys
    run_id: str
    run_dir: Path
    manifest: IO[str]
    arguments: dict[str, Any]
    batch_size: int = 500
    pending: list[FrontierEntry] = field(default_factory=list)
    queued: int = 0
    repeats: int = 0  # already queued in this run by another enqueue
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    report_path: Path | None = None
    report: dict[str, Any] | None = None

    def add(self, entry: FrontierEntry) -> None:
        self.pending.append(entry)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        inputs = [
            NewInput(
                entry.url,
                url_key(entry.url),
                {
                    "run": self.run_id,
                    "line": None,
                    "source": entry.discovered_via.source,
                    "error": None,
                    "duplicate_of": None,
                    "discovered_via": entry.discovered_via.model_dump(),
                    "trusted": entry.trusted,
                },
            )
            for entry in batch
        ]
        queued, repeats = queue_inputs(
            self.client, self.keys, self.run_id, inputs, self.manifest, skip_repeats=True
        )
        self.queued += queued
        self.repeats += repeats

    def write_report(self, spider: str, summary: dict[str, Any], reason: str) -> Path:
        """`discovery-<n>.json` in the run directory: sources, filtered counts, what was queued.

        `accepted` is what became inputs; a URL another enqueue of this run had queued
        already counts as filtered `duplicate`, as a repeat within one crawl does.
        """
        filtered: Counter[str] = Counter(summary.get("filtered", {}))
        if self.repeats:
            filtered["duplicate"] += self.repeats
        try:
            number = str(self.client.incr(self.keys.discoveries(self.run_id)))
        except REDIS_ERRORS:
            number = uuid.uuid4().hex[:8]
        report = {
            "run_id": self.run_id,
            "spider": spider,
            "frontier": self.keys.start,
            "arguments": self.arguments,
            "started_at": self.started_at,
            "finished_at": datetime.now(UTC).isoformat(),
            "finish_reason": reason,
            "discovery": {
                "sources": summary.get("sources", []),
                "accepted": self.queued,
                "filtered": dict(sorted(filtered.items())),
            },
        }
        path = self.run_dir / f"discovery-{number}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        self.report_path, self.report = path, report
        return path


class FrontierPipeline:
    """The only item pipeline of a discovery crawl run by `scrapy enqueue`.

    Queues each `FrontierEntry` on the shared frontier (in batches, at least every second),
    and at the end writes the discovery report. It never sees a page: the spider in frontier
    mode fetches sitemaps, feeds and robots.txt only.
    """

    def __init__(self, crawler: Crawler, frontier: Frontier) -> None:
        self.crawler = crawler
        self.frontier = frontier
        self._flusher: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        frontier = getattr(crawler.spider, "frontier", None)
        if not isinstance(frontier, Frontier):
            raise NotConfigured("only for discovery crawls run by scrapy enqueue")
        pipeline = cls(crawler, frontier)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self._flusher = task.LoopingCall(self.frontier.flush)
        self._flusher.start(1.0, now=False)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, FrontierEntry):
            self.frontier.add(item)
        return item

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._flusher is not None and self._flusher.running:
            self._flusher.stop()
        self.frontier.flush()
        summary: dict[str, Any] = ask(self.crawler, discovery_report) or {}
        self.frontier.write_report(spider.name, summary, reason)
