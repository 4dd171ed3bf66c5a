"""Write a run's records as JSON Lines, and its summary and accounting to run.json.

Scrapy's feed exports are not used: they cannot serialise pydantic types and silently drop
an item they cannot write while still counting it. Here each record is written with
`model_dump_json()` the moment it arrives, one line, flushed; then its settled line goes to
the run's journal (`newscrawl.runs.journal`), flushed, before the record is acknowledged
anywhere else (the state store here; the Redis frontier, on `item_scraped`, after this
pipeline). Every input the spider opened must be settled by exactly one line, which run.json
reports.
"""

from __future__ import annotations

import json
import logging
import os
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.settings import Settings
from scrapy.spiders import Spider
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.defer import Deferred

from newscrawl import signals as run_signals
from newscrawl.history.urls import page_keys
from newscrawl.items import ArticleItem, NavigationItem, RejectItem, Validators
from newscrawl.runs.ids import new_run_id
from newscrawl.runs.journal import JOURNAL_FILE, NAVIGATION, Journal, RecordFile
from newscrawl.runs.ledger import Ledger
from newscrawl.runs.reruns import Reruns
from newscrawl.signals import ask
from schemas import SCHEMA_VERSION, Article, Reject, RejectReason

logger = logging.getLogger(__name__)

# Settings worth knowing when reading a run's output later.
_REPORTED_SETTINGS = (
    "NEWSCRAWL_OUTPUT_DIR", "NEWSCRAWL_MIN_WORDS", "USER_AGENT", "ROBOTSTXT_OBEY",
    "AUTOTHROTTLE_ENABLED", "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DOWNLOAD_DELAY", "DOWNLOAD_TIMEOUT", "DOWNLOAD_MAXSIZE", "RETRY_TIMES",
)  # fmt: skip


class JsonLinesWriter:
    """Writes articles.jsonl, rejects.jsonl and run.json into <output>/<spider>/<run_id>/."""

    def __init__(
        self, crawler: Crawler, output_dir: Path, run_id: str, settings: dict[str, Any]
    ) -> None:
        self.crawler = crawler
        self.output_dir = output_dir
        self.run_id = run_id
        self.settings = settings
        self.started_at = datetime.now(UTC)
        self.run_dir: Path | None = None
        self._articles: RecordFile | None = None
        self._rejects: RecordFile | None = None
        self.journal: Journal | None = None
        self.counts: dict[str, int] = {"articles": 0, "rejects": 0, "navigation": 0}
        self.reasons: dict[str, int] = {}
        self.unwritable = 0
        self.reruns: Reruns | None = None
        self._closed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings: Settings = crawler.settings
        # The run's identity and its state store (a resumed run keeps its run id).
        reruns = crawler.get_extension(Reruns)
        run_id = (
            reruns.run_id
            if reruns is not None
            else settings.get("NEWSCRAWL_RUN_ID") or new_run_id(datetime.now(UTC))
        )
        reported = {name: settings.get(name) for name in _REPORTED_SETTINGS}
        writer = cls(crawler, Path(settings.get("NEWSCRAWL_OUTPUT_DIR")), run_id, reported)
        writer.reruns = reruns
        crawler.signals.connect(writer.spider_closed, signal=signals.spider_closed)
        return writer

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    @property
    def ledger(self) -> Ledger:
        """The crawl's ledger, held for the crawler (the spider opens inputs in it)."""
        return Ledger.of(self.crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        assert spider is not None
        run_dir = self.output_dir / spider.name / self.run_id
        resuming = self.reruns is not None and self.reruns.resuming
        if run_dir.exists() and any(run_dir.iterdir()) and not resuming:
            raise RuntimeError(f"output directory {run_dir} already holds a run; not overwriting")
        run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir = run_dir
        lines: dict[str, int] = {}
        if self.reruns is not None and resuming:  # appended to: the journal cut them back
            carried = self.reruns.carried
            self.counts["articles"], self.counts["rejects"] = carried.articles, carried.rejects
            self.counts["navigation"] = carried.navigation
            self.reasons = dict(carried.reasons)
            lines = carried.lines
        self._articles = RecordFile(run_dir / "articles.jsonl", lines.get("articles.jsonl", 0))
        self._rejects = RecordFile(run_dir / "rejects.jsonl", lines.get("rejects.jsonl", 0))
        attempt = self.reruns.attempt if self.reruns is not None else 1
        self.journal = Journal(run_dir / JOURNAL_FILE, run_id=self.run_id, attempt=attempt)
        self.ledger.journal = self.journal  # every input opened from now on is journaled
        self.stats.set_value("newscrawl/run_dir", str(run_dir))
        logger.info("newscrawl: writing run %s to %s", self.run_id, run_dir)
        from twisted.internet import reactor  # the crawl installed its reactor by now

        reactor.addSystemEventTrigger("before", "shutdown", self._before_shutdown)  # type: ignore[attr-defined,arg-type]

    def _before_shutdown(self) -> Deferred[None] | None:
        """The reactor stops with the spider still open: a Ctrl-C (or SIGTERM) that came
        before Scrapy's engine was running only stops the reactor, and nothing would close
        the spider. It is closed now (`shutdown`), so the run has its run.json; the reactor
        waits for the Deferred."""
        engine = self.crawler.engine
        if self._closed or engine is None or engine.spider is None:
            return None
        logger.info("newscrawl: stopped before the crawl was running; closing the run")
        return deferred_from_coro(engine.close_spider_async(reason="shutdown"))

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem):
            if self._write(item.input_id, item.article, article=True):
                self._written(item.article, item.validators, item.signature)
        elif isinstance(item, RejectItem):
            if self._write(item.input_id, item.reject, article=False):
                self._count_reject(item.reject.reason)  # only a written reject is counted
                self._written(item.reject, item.validators, None)
        elif isinstance(item, NavigationItem):
            self._settle_navigation(item.input_id)
        else:
            self.unwritable += 1
            self.stats.inc_value("newscrawl/accounting/unwritable_items")
            logger.error("newscrawl: item of unknown type %s not written", type(item).__name__)
        return item

    def _write(self, input_id: int, record: Article | Reject, *, article: bool) -> bool:
        """Write an input's one record, with its stable `input_id`, then journal it; False if
        it has one already."""
        key = self.ledger.key(input_id)
        if key is not None:
            record = record.model_copy(update={"input_id": key})
        line = record.model_dump_json()
        if not self.ledger.settle(input_id):
            self.stats.inc_value("newscrawl/accounting/extra_outcomes")
            logger.error(
                "newscrawl: input %s already has a record; extra one not written", input_id
            )
            return False
        records = self._articles if article else self._rejects
        assert records is not None and self.journal is not None
        where = records.append(_escape_line_separators(line))
        if isinstance(record, Article):
            keys = page_keys(record.requested_url, record.url, record.canonical_url)
            self.journal.settled(
                input_id, key, "article", where, keys=keys, sha256=record.content_sha256
            )
        else:
            self.journal.settled(input_id, key, str(record.reason), where)
        kind = "articles" if article else "rejects"
        self.counts[kind] += 1
        self.stats.inc_value(f"newscrawl/{kind}")
        self.stats.inc_value("newscrawl/settled")
        return True

    def _written(
        self, record: Article | Reject, validators: Validators, signature: bytes | None
    ) -> None:
        """Only now, with its line written and journaled, is an exported article recorded as
        seen, with what its item carried (a failed save is kept and retried by `Reruns`, and
        fails the run with exit 7)."""
        if self.reruns is not None:
            self.reruns.written(record, validators, signature)

    def _settle_navigation(self, input_id: int) -> None:
        """A page crawled only for its links: it ends here, with no line in either file."""
        key = self.ledger.key(input_id)
        if not self.ledger.settle(input_id):
            self.stats.inc_value("newscrawl/accounting/extra_outcomes")
            return
        assert self.journal is not None
        self.journal.settled(input_id, key, NAVIGATION, None)
        self.counts["navigation"] += 1
        self.stats.inc_value("newscrawl/navigation_pages")
        self.stats.inc_value("newscrawl/settled")

    def _count_reject(self, reason: str) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        self.stats.inc_value(f"newscrawl/rejects/{reason}")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Settle what never got an outcome, close the files, write run.json."""
        if self.run_dir is None or self._closed:
            return
        self._closed = True
        self._settle_leftovers(spider.name, reason)
        for handle in (self._articles, self._rejects, self.journal):
            if handle is not None:
                handle.close()
        self.ledger.journal = None
        summary = self._summary(reason)
        tmp = self.run_dir / "run.json.tmp"
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.run_dir / "run.json")
        accounting = summary["accounting"]
        self.stats.set_value("newscrawl/accounting_ok", accounting["ok"])
        self.stats.set_value("newscrawl/stopped_early", reason != "finished")
        log = logger.info if accounting["ok"] else logger.error
        log(
            "newscrawl: %d inputs -> %d articles + %d rejects; accounting %s; output in %s",
            accounting["inputs"], self.counts["articles"], self.counts["rejects"],
            "ok" if accounting["ok"] else "FAILED", self.run_dir,
        )  # fmt: skip

    def _settle_leftovers(self, spider_name: str, finish_reason: str) -> None:
        """Inputs the run opened but never ended: written as rejects, so none is lost."""
        ledger = self.ledger
        finished = finish_reason == "finished"
        if not finished:
            self._settle_unread(spider_name, finish_reason)
        lost = dict(ledger.pending)
        if not lost:
            return
        reason = RejectReason.internal_error if finished else RejectReason.not_processed
        detail = (
            "the run finished without an outcome for this input (a bug: please report it)"
            if finished
            else f"the run stopped ({finish_reason}) before this input was processed"
        )
        self.stats.set_value("newscrawl/accounting/unsettled", len(lost))
        for input_id, url in lost.items():
            reject = Reject(url=url, reason=reason, detail=detail, spider=spider_name)
            if self._write(input_id, reject, article=False):
                self._count_reject(reason)

    def _settle_unread(self, spider_name: str, finish_reason: str) -> None:
        """A stopped run's input lines the spider never read: each a `not_processed` reject
        naming its line, so the accounting covers the whole input, not only what was read."""
        unread = ask(self.crawler, run_signals.unread_inputs)
        if unread is None:
            return
        count = 0
        for input_id, source, line_number in unread:
            where = f"line {line_number} of the input" if line_number else "this input"
            reject = Reject(
                url=source, reason=RejectReason.not_processed, spider=spider_name,
                detail=f"the run stopped ({finish_reason}) before {where} was read",
            )  # fmt: skip
            if self._write(input_id, reject, article=False):
                self._count_reject(RejectReason.not_processed)
                count += 1
        self.stats.set_value("newscrawl/accounting/not_read", count)

    def _summary(self, finish_reason: str) -> dict[str, Any]:
        ledger = self.ledger
        assert self.run_dir is not None
        unsettled = int(self.stats.get_value("newscrawl/accounting/unsettled", 0))
        not_read = int(self.stats.get_value("newscrawl/accounting/not_read", 0))
        outcomes = self.counts["articles"] + self.counts["rejects"] + self.counts["navigation"]
        finished = finish_reason == "finished"
        # A stopped run's unreached inputs are its `not_processed` rejects: each input still
        # has its one record. A finished run that left any is a bug (internal_error).
        ok = (
            ledger.balanced
            and outcomes == ledger.opened
            and (unsettled == 0 or not finished)
            and self.unwritable == 0
        )
        resume = self.reruns.resume_command(finish_reason) if self.reruns is not None else None
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "spider": self.crawler.spider.name if self.crawler.spider else None,
            "started_at": self.started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "finish_reason": finish_reason,
            **(
                {"stopped": _stopped(finish_reason, unsettled, not_read, resume)}
                if not finished
                else {}
            ),
            "files": {
                "articles": str(self.run_dir / "articles.jsonl"),
                "rejects": str(self.run_dir / "rejects.jsonl"),
                "journal": str(self.run_dir / JOURNAL_FILE),
            },
            "counts": {
                "inputs": ledger.opened,
                "articles": self.counts["articles"],
                "rejects": self.counts["rejects"],
                "rejects_by_reason": dict(sorted(self.reasons.items())),
                "navigation_pages": self.counts["navigation"],
            },
            "accounting": {
                "ok": ok,
                "rule": (
                    "every input ends as exactly one line in articles.jsonl or rejects.jsonl"
                    " (or, for link-following spiders, as a navigation page)"
                ),
                "inputs": ledger.opened,
                "records": outcomes,
                "unsettled_at_close": unsettled,
                "extra_outcomes": ledger.settled_twice + ledger.unknown,
                "unwritable_items": self.unwritable,
            },
            **self._discovery(),
            **({"reruns": self.reruns.summary()} if self.reruns is not None else {}),
            "settings": self.settings,
            "versions": _versions(),
        }

    def _discovery(self) -> dict[str, Any]:
        """Sources read and URLs filtered before fetching, for spiders that discover URLs."""
        summary = ask(self.crawler, run_signals.discovery_report)
        return {"discovery": summary} if summary is not None else {}


_STOPPED_BY = {
    "shutdown": "Ctrl-C or SIGTERM",
    "cancelled": "the crawl was cancelled",
    "closespider_timeout": "CLOSESPIDER_TIMEOUT",
    "closespider_itemcount": "CLOSESPIDER_ITEMCOUNT",
    "closespider_pagecount": "CLOSESPIDER_PAGECOUNT",
    "closespider_errorcount": "CLOSESPIDER_ERRORCOUNT",
}


def _stopped(reason: str, in_flight: int, not_read: int, resume: str | None) -> dict[str, Any]:
    """run.json's `stopped`: a run that ended before it finished, and how to finish it.

    `not_processed` counts every input left without an outcome: those opened (in flight) and
    the input lines never read (`not_read`, a part of it)."""
    return {
        "reason": reason,
        "by": _STOPPED_BY.get(reason, reason),
        "not_processed": in_flight + not_read,
        "not_read": not_read,
        "resume_command": resume,
    }


def _escape_line_separators(line: str) -> str:
    """U+2028/U+2029 as JSON escapes: valid JSON both ways, but some JSONL readers split there."""
    return line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _versions() -> dict[str, str]:
    packages = ("newscrawl", "scrapy", "trafilatura", "lxml", "pydantic", "twisted")
    found = {"python": platform.python_version()}
    for package in packages:
        try:
            found[package] = version(package)
        except Exception:
            found[package] = "unknown"
    return found
