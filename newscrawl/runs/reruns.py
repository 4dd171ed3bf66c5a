"""Reruns: the state store across runs, and the run's identity.

`Reruns` is a Scrapy extension, one per crawl, that the spider, the history pipeline and the
writer ask (`crawler.get_extension(Reruns)`):

* the state store (`NEWSCRAWL_STATE`, see `newscrawl.history.state`), opened and locked for the
  whole crawl; the spider asks it whether an input was exported before (`seen_before`, or a
  conditional request with `-a refresh=true`), the history pipeline whether a body was, and
  the writer records each exported article in it once its line is journaled, with the
  validators and signature the item carries;
* the run's identity, and with a job directory its resume (`newscrawl.runs.resume`): the
  journal of the killed attempt replayed, the inputs it settled skipped by the spider.

Scrapy's own on-disk request queue (JOBDIR/requests.queue) writes its state only on a clean
stop, so after SIGKILL it is stale; `InputScheduler` keeps requests in memory instead, and
the pending work is rebuilt from the inputs and the run's journal, which survive a kill.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Self

from pydantic import ValidationError
from scrapy import signals
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.spiders import Spider

from newscrawl.history import neardup, unsaved
from newscrawl.history.neardup import Signature
from newscrawl.history.state import (
    PageState,
    StateStore,
    StateStoreError,
)
from newscrawl.history.stores import open_store
from newscrawl.history.unsaved import UNSAVED_FILE
from newscrawl.history.urls import canonical_url, page_keys, redacted
from newscrawl.items import NO_VALIDATORS, Validators
from newscrawl.runs.ids import new_run_id
from newscrawl.runs.journal import Settle, read_record
from newscrawl.runs.resume import Carried, carry_over, command_line, open_job, write_job
from schemas import Article, Reject, RejectReason

logger = logging.getLogger(__name__)


class Reruns:
    """The state store, the run's identity, and what an earlier attempt of it settled."""

    def __init__(
        self,
        crawler: Crawler,
        store: StateStore,
        *,
        store_location: str,
        run_id: str,
        job_dir: Path | None,
        attempt: int,
        run_dir: Path,
        refresh: bool,
        resumable: bool,
        near_threshold: float,
    ) -> None:
        self.crawler = crawler
        self.store = store
        self.store_location = store_location
        self.run_id = run_id
        self.job_dir = job_dir
        self.attempt = attempt
        self.run_dir = run_dir
        self.refresh = refresh
        self.resumable = resumable
        self.near_threshold = near_threshold
        self.carried = Carried()
        self.resuming = False
        # This run's articles past the history pipeline and not yet in the store, by page
        # key: (url, signature), so near copies among pages on their way are found too.
        self._pending: dict[str, tuple[str, Signature]] = {}
        self._closed = False
        self._job_lock: IO[str] | None = None
        self.save_errors = 0  # failed saves and touches during this run
        self.unsaved = 0  # articles of this run still not in the store after the retry at close
        self.replayed_at_start = 0  # articles of earlier runs saved at this start

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        spider = crawler.spider
        assert spider is not None
        refresh = bool(getattr(getattr(spider, "params", None), "refresh", False))
        resumable = bool(getattr(spider, "resumable", False))
        location = settings.get("NEWSCRAWL_STATE")
        output = Path(settings.get("NEWSCRAWL_OUTPUT_DIR")) / spider.name
        job_dir = Path(settings["JOBDIR"]) if settings.get("JOBDIR") else None
        job = open_job(job_dir, spider.name, resumable=resumable, output=output)
        job_lock, resuming = job.lock, job.resuming
        if resuming:
            run_id, attempt = job.run_id, job.attempt
            if settings.get("NEWSCRAWL_RUN_ID") and settings["NEWSCRAWL_RUN_ID"] != run_id:
                logger.warning("newscrawl: resuming run %s; NEWSCRAWL_RUN_ID ignored", run_id)
        else:
            run_id = settings.get("NEWSCRAWL_RUN_ID") or new_run_id(datetime.now(UTC))
            attempt = 1
        try:
            store = open_store(location, settings.getfloat("NEWSCRAWL_STATE_BUSY_TIMEOUT"))
        except BaseException:
            if job_lock is not None:
                job_lock.close()
            raise
        try:
            reruns = cls(
                crawler, store, store_location=location, run_id=run_id, job_dir=job_dir,
                attempt=attempt, run_dir=output / run_id, refresh=refresh, resumable=resumable,
                near_threshold=neardup.check_threshold(
                    settings.getfloat("NEWSCRAWL_NEAR_DUPLICATE_THRESHOLD")
                ),
            )  # fmt: skip
            reruns._replay_earlier(output)
            if resuming and reruns.run_dir.is_dir():
                reruns._resume()
            reruns._write_job(finished=False)
        except BaseException:
            store.close()
            if job_lock is not None:
                job_lock.close()
            raise
        reruns._job_lock = job_lock
        crawler.signals.connect(reruns.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(reruns.engine_stopped, signal=signals.engine_stopped)
        return reruns

    # --- resume ---------------------------------------------------------------------------

    def _resume(self) -> None:
        """Replay the run's journal (`runs.resume.carry_over`); check its articles are in the
        store (a kill can fall between the journal line and the save)."""
        self.resuming = True
        carried = self.carried = carry_over(self.run_dir)
        for settle in carried.exported:
            self._reconcile(settle)
        carried.exported = []
        logger.info(
            "newscrawl: resuming run %s (attempt %d): %d records kept, %d torn line(s) and"
            " %d uncommitted record(s) cut off, %d not_processed reject(s) removed",
            self.run_id, self.attempt, carried.records, carried.torn_lines,
            carried.uncommitted, carried.dropped_not_processed,
        )  # fmt: skip
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("newscrawl/resume/attempt", self.attempt)
        stats.set_value("newscrawl/resume/torn_lines", carried.torn_lines)
        stats.set_value("newscrawl/resume/uncommitted", carried.uncommitted)

    def _reconcile(self, settle: Settle) -> None:
        """A journaled article of this run must be in the store: if not, its line is read
        (at the place the journal gives) and saved."""
        stored = self.store.lookup(list(settle.keys)) if settle.keys else None
        if (
            stored is not None
            and stored.run_id == self.run_id
            and stored.content_sha256 == settle.sha256
        ):
            return
        assert settle.where is not None
        try:
            article = Article.model_validate_json(
                read_record(self.run_dir, settle.where), context={"min_words": 0}
            )
        except ValidationError as exc:  # e.g. written by another version: keep the line as is
            logger.warning("newscrawl: article line not re-recorded in the state store: %s", exc)
            return
        self._save(article, NO_VALIDATORS, neardup.signature(article.text))

    def take_settled(self, key: str) -> bool:
        """True (once per input) if an earlier attempt of this run settled the input with
        this stable id (`<URL file>#<line>`)."""
        return self.carried.take(key)

    # --- what earlier runs exported -------------------------------------------------------

    def exported_before(self, url: str) -> PageState | None:
        """The page an earlier run exported under this URL (this run's own pages excluded)."""
        page = self.store.lookup([canonical_url(url)])
        return page if page is not None and page.run_id != self.run_id else None

    def nearest(self, signature: Signature, exclude: set[str]) -> tuple[str, float] | None:
        """(url, estimated similarity) of the closest exported page at or above the
        threshold: pages of the store sharing an LSH band, and this run's pages on their
        way to the writer. Pages known by a key in `exclude` (the page itself) are skipped."""
        best: tuple[str, float] | None = None
        candidates = [
            (key, url, neardup.from_bytes(data))
            for key, url, data in self.store.similar(neardup.bands(signature))
        ]
        candidates.extend((key, url, sig) for key, (url, sig) in self._pending.items())
        for key, url, other in candidates:
            if other is None or key in exclude:
                continue
            similarity = neardup.similarity(signature, other)
            if similarity >= self.near_threshold and (best is None or similarity > best[1]):
                best = (url, similarity)
        return best

    def on_its_way(self, key: str, url: str, signature: Signature) -> None:
        """An article passed the history checks: a near copy of it is found until it is
        written (and so in the store)."""
        self._pending[key] = (url, signature)

    # --- recording, once the record is journaled -----------------------------------------

    def written(
        self, record: Article | Reject, validators: Validators, signature: bytes | None
    ) -> None:
        """The writer wrote and journaled this record: an article goes into the store, with
        the validators and signature its item carried; an `unchanged` page is touched.

        A save that fails is not only logged: the article goes to the run's `UNSAVED_FILE`
        (replayed at close and at the next start), and the run exits 7 (`save_failed`)."""
        try:
            if isinstance(record, Article):
                self._pending.pop(
                    page_keys(record.requested_url, record.url, record.canonical_url)[0], None
                )
                carried = neardup.from_bytes(signature)
                if carried is None:  # not made by the worker or the history pipeline
                    carried = neardup.signature(record.text)
                self._save(record, validators, carried)
            elif record.reason == RejectReason.unchanged and record.requested_url:
                page = self.store.lookup([canonical_url(record.requested_url)])
                if page is not None:
                    fetched = (record.fetched_at or datetime.now(UTC)).isoformat()
                    self.store.touch(page.key, fetched, validators.etag, validators.last_modified)
        except Exception as exc:  # the line stands; the store must learn of it later
            self.save_errors += 1
            stats = self.crawler.stats
            assert stats is not None
            stats.inc_value("newscrawl/state/save_errors")
            logger.error(
                "newscrawl: state store save failed for %s (%s: %s)%s",
                record.url, type(exc).__name__, exc,
                "; kept for a retry in " + str(self.run_dir / UNSAVED_FILE)
                if isinstance(record, Article) else "",
            )  # fmt: skip
            if isinstance(record, Article):
                unsaved.keep(
                    self.run_dir, redacted(self.store_location), self.run_id, record, validators
                )

    def _replay_earlier(self, output: Path) -> None:
        """Before anything is fetched: articles earlier runs wrote but could not save are
        saved now; if the store still refuses them the crawl does not start (it would export
        them again)."""
        self.replayed_at_start, remaining = unsaved.replay_all(
            output, redacted(self.store_location), self._save_replayed, self.run_id
        )
        if self.replayed_at_start:
            logger.warning(
                "newscrawl: %d article(s) earlier runs could not save are now in the state store",
                self.replayed_at_start,
            )
        if remaining:
            raise StateStoreError(
                f"state store {redacted(self.store_location)} refuses to record {remaining}"
                f" article(s) already exported (listed in {output}/*/{UNSAVED_FILE}); fix the"
                " store (or point NEWSCRAWL_STATE elsewhere) and start again. Nothing was fetched."
            )

    def _save_replayed(self, article: Article, found: Validators, run_id: str) -> None:
        self._save(article, found, neardup.signature(article.text), run_id=run_id)

    def _save(
        self,
        article: Article,
        validators: Validators,
        signature: Signature,
        run_id: str | None = None,
    ) -> None:
        """Record an exported article (under the run that exported it: this one by default)."""
        keys = page_keys(article.requested_url, article.url, article.canonical_url)
        existing = self.store.lookup(keys)
        fetched = article.fetched_at.isoformat()
        page = PageState(
            key=existing.key if existing is not None else keys[0],
            url=article.url,
            content_sha256=article.content_sha256,
            revision=article.revision,
            run_id=run_id or self.run_id,
            first_seen=existing.first_seen if existing is not None else fetched,
            last_fetched=fetched,
            etag=validators.etag,
            last_modified=validators.last_modified,
            signature=neardup.to_bytes(signature),
        )
        self.store.save(page, keys, neardup.bands(signature))

    # --- end ------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """For run.json."""
        return {
            "state": redacted(self.store_location),
            "refresh": self.refresh,
            "job_dir": str(self.job_dir) if self.job_dir is not None else None,
            "attempt": self.attempt,
            "carried_over_records": self.carried.records,
            "torn_lines_dropped": self.carried.torn_lines,
            "uncommitted_records_dropped": self.carried.uncommitted,
            "torn_journal_lines_dropped": self.carried.torn_journal,
            "state_save": {
                "ok": self.save_errors == 0,
                "errors": self.save_errors,
                "unsaved_at_close": self.unsaved,
                "replayed_at_start": self.replayed_at_start,
            },
        }

    def resume_command(self, reason: str) -> str | None:
        """For a run stopped before it finished (Ctrl-C, SIGTERM, a CLOSESPIDER_* limit): the
        command that finishes it, or None for a finished run (or a distributed worker, whose
        unfinished inputs went back to the shared frontier).

        With a job directory that is the command as given. Without one, the job file is
        written now into `<run dir>/job`, and the command is the one given plus
        `-a resume=<run dir>/job`: the same run directory is then completed, its
        `not_processed` rejects replaced. Spiders that cannot resume are just run again
        (what they exported is `seen_before`, not fetched again).
        """
        settings = self.crawler.settings
        if reason == "finished" or settings.get("NEWSCRAWL_REDIS_URL"):
            return None
        extra: list[str] = []
        if self.job_dir is None and self.resumable:
            self.job_dir = self.run_dir / "job"
            self._write_job(finished=False)
            extra = ["-a", f"resume={self.job_dir}"]
        return command_line(extra)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        path = self.run_dir / UNSAVED_FILE
        if path.exists():  # retried once; what is left is saved by the next start
            location = redacted(self.store_location)
            self.unsaved = unsaved.replay(path, location, self._save_replayed, self.run_id)
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("newscrawl/state/save_failed", self.save_errors > 0)
        if reason == "finished":  # the next start with this job directory is a new run
            self._write_job(finished=True)

    def _write_job(self, *, finished: bool) -> None:
        if self.job_dir is None:
            return
        spider = self.crawler.spider
        job = {
            "run_id": self.run_id,
            "spider": spider.name if spider is not None else None,
            "attempt": self.attempt,
            "finished": finished,
            "run_dir": str(self.run_dir),
        }
        write_job(self.job_dir, job)

    def engine_stopped(self) -> None:
        if not self._closed:
            self._closed = True
            self.store.close()
            if self._job_lock is not None:
                self._job_lock.close()


class InputScheduler(Scheduler):
    """Scrapy's scheduler, with requests kept in memory even when JOBDIR is set (see above)."""

    def _dqdir(self, jobdir: str | None) -> str | None:
        return None
