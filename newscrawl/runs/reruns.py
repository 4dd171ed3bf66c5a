"""Reruns and resumes: the state store across runs, and a killed run's own records.

`Reruns` is a Scrapy extension, one per crawl, that every other component asks
(`crawler.get_extension(Reruns)`):

* the state store (`NEWSCRAWL_STATE`, see `newscrawl.history.state`), opened and locked for the
  whole crawl; the spider asks it whether an input was exported before (`seen_before`, or a
  conditional request with `-a refresh=true`), the history pipeline whether a body was, and
  the writer records each exported article in it after writing its line;
* the run's identity: with a job directory (`-s JOBDIR=DIR` or `-a resume=DIR`) the run id is
  kept in `DIR/newscrawl-job.json`, so the same command started again after a kill reuses
  the same run directory. Its records are read back first: a torn last line is dropped, the
  `not_processed` rejects of a stopped attempt are removed, and the inputs already settled
  are skipped by the spider (and counted as settled), so every input still ends as exactly
  one line. Once a run finishes, the next start with the same job directory begins a new run.

Scrapy's own on-disk request queue (JOBDIR/requests.queue) writes its state only on a clean
stop, so after SIGKILL it is stale; `InputScheduler` keeps requests in memory instead, and
the pending work is rebuilt from the inputs and the run's records, which survive a kill.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Self

from pydantic import ValidationError
from scrapy import Request, signals
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spiders import Spider

from newscrawl.history import neardup
from newscrawl.history.neardup import Signature
from newscrawl.history.state import (
    PageState,
    StateStore,
    StateStoreError,
    exclusive_lock,
)
from newscrawl.history.stores import open_store
from newscrawl.history.urls import canonical_url, page_keys, redacted
from newscrawl.runs.ids import new_run_id
from schemas import Article, Reject, RejectReason

logger = logging.getLogger(__name__)

JOB_FILE = "newscrawl-job.json"
# Articles written whose state-store save failed: replayed into the store at close, and at
# the next start of the spider, so a page is never exported twice for a store error.
UNSAVED_FILE = "state-unsaved.jsonl"
RECORD_FILES = (("articles.jsonl", True), ("rejects.jsonl", False))


class ResumeError(RuntimeError):
    """A run directory cannot be resumed safely; the message says why."""


@dataclass
class Settled:
    """What a killed attempt already wrote: records per input, and counts."""

    keys: set[str] = field(default_factory=set)  # `input_id`s of the records (schema 1.2)
    first: Counter[str] = field(default_factory=Counter)  # an input's own outcome
    repeats: Counter[str] = field(default_factory=Counter)  # duplicate_url before fetching
    articles: int = 0
    rejects: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    torn_lines: int = 0
    dropped_not_processed: int = 0


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
        self.near_threshold = near_threshold
        self.settled = Settled()
        self.resuming = False
        # ETag / Last-Modified of each fetched input, until its record is written (`written`)
        # or it ends as a navigation page (`navigated`): only the inputs in flight are held.
        self._validators: dict[int, tuple[str | None, str | None]] = {}
        # Articles past the history pipeline and not yet written (so not yet in the store):
        # input id -> (page key, url, signature); near copies among them are found too.
        self._pending: dict[int, tuple[str, str, Signature]] = {}
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
        location = settings.get("NEWSCRAWL_STATE")
        output = Path(settings.get("NEWSCRAWL_OUTPUT_DIR")) / spider.name
        job_dir = Path(settings["JOBDIR"]) if settings.get("JOBDIR") else None
        job_lock: IO[str] | None = None
        job: dict[str, Any] | None = None
        if job_dir is not None:  # one crawl per job directory, like one per state store
            job_dir.mkdir(parents=True, exist_ok=True)
            job_lock = exclusive_lock(
                job_dir / (JOB_FILE + ".lock"), f"job directory {job_dir}", "or use another one"
            )
            try:
                job = _read_job(job_dir)
            except BaseException:
                job_lock.close()
                raise
        resuming = job is not None and not job.get("finished") and job.get("spider") == spider.name
        if resuming and not getattr(spider, "resumable", False):
            logger.warning(
                "newscrawl: spider %s cannot resume a run; starting a new one", spider.name
            )
            resuming = False
        if resuming:
            assert job is not None
            run_id, attempt = str(job["run_id"]), int(job.get("attempt", 1)) + 1
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
                attempt=attempt, run_dir=output / run_id, refresh=refresh,
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
        crawler.signals.connect(reruns.response_received, signal=signals.response_received)
        crawler.signals.connect(reruns.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(reruns.engine_stopped, signal=signals.engine_stopped)
        return reruns

    # --- resume ---------------------------------------------------------------------------

    def _resume(self) -> None:
        """Read back the run's records: drop a torn tail, note which inputs are settled."""
        self.resuming = True
        settled = self.settled
        for name, is_article in RECORD_FILES:
            path = self.run_dir / name
            if not path.exists():
                continue
            for record in _read_back(path, is_article, settled):
                source = str(record.get("requested_url") or record.get("url") or "")
                key = record.get("input_id")
                if is_article:
                    settled.articles += 1
                    if key:
                        settled.keys.add(str(key))
                    else:
                        settled.first[source] += 1
                    self._reconcile(record)
                    continue
                settled.rejects += 1
                settled.reasons[str(record.get("reason"))] += 1
                if key:  # matched by the input's id, not by its URL
                    settled.keys.add(str(key))
                    continue
                is_repeat = (
                    record.get("reason") == RejectReason.duplicate_url
                    and record.get("fetched_at") is None
                )
                (settled.repeats if is_repeat else settled.first)[source] += 1
        logger.info(
            "newscrawl: resuming run %s (attempt %d): %d records kept, %d torn line(s) dropped,"
            " %d not_processed reject(s) removed",
            self.run_id, self.attempt, settled.articles + settled.rejects, settled.torn_lines,
            settled.dropped_not_processed,
        )  # fmt: skip
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("newscrawl/resume/attempt", self.attempt)
        stats.set_value("newscrawl/resume/torn_lines", settled.torn_lines)

    def _reconcile(self, record: dict[str, Any]) -> None:
        """An article line of this run must be in the store (a kill can fall in between)."""
        try:
            article = Article.model_validate(record, context={"min_words": 0})
        except ValidationError as exc:  # e.g. written by another version: keep the line as is
            logger.warning("newscrawl: article line not re-recorded in the state store: %s", exc)
            return
        stored = self.store.lookup(
            page_keys(article.requested_url, article.url, article.canonical_url)
        )
        if (
            stored is None
            or stored.run_id != self.run_id
            or stored.content_sha256 != article.content_sha256
        ):
            self._save(article, None, None, neardup.signature(article.text))

    def take_settled(self, source: str, *, repeat: bool, key: str | None = None) -> bool:
        """True (once per record) if an earlier attempt already settled this input: by its
        stable id (`key`, records of schema 1.2), else by its URL (older records)."""
        if key is not None and key in self.settled.keys:
            self.settled.keys.discard(key)
            return True
        bucket = self.settled.repeats if repeat else self.settled.first
        if bucket[source] > 0:
            bucket[source] -= 1
            return True
        return False

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
        candidates.extend(self._pending.values())
        for key, url, other in candidates:
            if other is None or key in exclude:
                continue
            similarity = neardup.similarity(signature, other)
            if similarity >= self.near_threshold and (best is None or similarity > best[1]):
                best = (url, similarity)
        return best

    def remember_signature(self, input_id: int, key: str, url: str, signature: Signature) -> None:
        """An article passed the history checks: its signature, until it is written."""
        self._pending[input_id] = (key, url, signature)

    # --- recording, at write time ---------------------------------------------------------

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        input_id = request.meta.get("input_id")
        if input_id is None:
            return
        headers = response.headers
        etag = headers.get(b"ETag")
        modified = headers.get(b"Last-Modified")
        self._validators[input_id] = (
            etag.decode("latin-1") if etag else None,
            modified.decode("latin-1") if modified else None,
        )

    def written(self, input_id: int, record: Article | Reject) -> None:
        """The writer wrote this input's record: an article is now in the store.

        A save that fails is not only logged: the article goes to the run's `UNSAVED_FILE`
        (replayed at close and at the next start), and the run exits 7 (`save_failed`)."""
        etag, modified = self._validators.pop(input_id, (None, None))
        pending = self._pending.pop(input_id, None)
        try:
            if isinstance(record, Article):
                signature = pending[2] if pending is not None else neardup.signature(record.text)
                self._save(record, etag, modified, signature)
            elif record.reason == RejectReason.unchanged and record.requested_url:
                page = self.store.lookup([canonical_url(record.requested_url)])
                if page is not None:
                    fetched = (record.fetched_at or datetime.now(UTC)).isoformat()
                    self.store.touch(page.key, fetched, etag, modified)
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
                line = {
                    "state": redacted(self.store_location),
                    "run_id": self.run_id,
                    "etag": etag,
                    "last_modified": modified,
                    "article": record.model_dump(mode="json"),
                }
                with (self.run_dir / UNSAVED_FILE).open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(line, ensure_ascii=False) + "\n")

    def _replay(self, path: Path) -> int:
        """Save the articles of an `UNSAVED_FILE` into this store; returns how many are still
        unsaved (kept in the file). A file fully replayed is renamed `*.replayed`."""
        location = redacted(self.store_location)
        kept: list[str] = []
        for text in path.read_text(encoding="utf-8").splitlines():
            try:
                line = json.loads(text)
                article = Article.model_validate(line["article"], context={"min_words": 0})
            except (ValueError, KeyError, TypeError) as exc:
                logger.error("newscrawl: %s: unreadable line kept (%s)", path, exc)
                kept.append(text)
                continue
            if line.get("state") != location:  # written for another store
                kept.append(text)
                continue
            try:
                self._save(
                    article, line.get("etag"), line.get("last_modified"),
                    neardup.signature(article.text), run_id=str(line.get("run_id") or self.run_id),
                )  # fmt: skip
            except Exception as exc:
                logger.error(
                    "newscrawl: state store save failed again for %s: %s", article.url, exc
                )
                kept.append(text)
        if kept:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text("".join(text + "\n" for text in kept), encoding="utf-8")
            os.replace(tmp, path)
        else:
            os.replace(path, path.with_name(path.name + ".replayed"))
        return len(kept)

    def _replay_earlier(self, output: Path) -> None:
        """Before anything is fetched: articles earlier runs wrote but could not save are
        saved now; if the store still refuses them the crawl does not start (it would export
        them again)."""
        remaining = 0
        for path in sorted(output.glob(f"*/{UNSAVED_FILE}")):
            before = len(path.read_text(encoding="utf-8").splitlines())
            left = self._replay(path)
            self.replayed_at_start += before - left
            remaining += left
            if left:
                logger.error("newscrawl: %d article(s) of %s still not in the store", left, path)
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

    def navigated(self, input_id: int) -> None:
        """The input was a page crawled only for its links: nothing of it is recorded."""
        self._validators.pop(input_id, None)
        self._pending.pop(input_id, None)

    def _save(
        self,
        article: Article,
        etag: str | None,
        modified: str | None,
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
            etag=etag,
            last_modified=modified,
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
            "carried_over_records": self.settled.articles + self.settled.rejects,
            "torn_lines_dropped": self.settled.torn_lines,
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
        rest = sys.argv[1:]
        if rest[:1] != ["crawl"]:  # Scrapy's command line took the command name out of argv
            rest = ["crawl", *rest]
        argv = [_command_name(sys.argv[0]), *rest]
        resumable = getattr(self.crawler.spider, "resumable", False)
        if self.job_dir is None and resumable:
            self.job_dir = self.run_dir / "job"
            self._write_job(finished=False)
            argv += ["-a", f"resume={self.job_dir}"]
        return shlex.join(argv)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        unsaved = self.run_dir / UNSAVED_FILE
        if unsaved.exists():  # retried once; what is left is saved by the next start
            self.unsaved = self._replay(unsaved)
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
        _write_job(self.job_dir, job)

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


def _command_name(argv0: str) -> str:
    """`scrapy` as the user typed it; the full path when it was found on PATH (cron's PATH
    may differ), so the printed command runs as it is."""
    if os.sep in argv0:
        return argv0
    found = shutil.which(argv0)
    return found if found is not None else argv0


def _read_job(job_dir: Path) -> dict[str, Any] | None:
    path = job_dir / JOB_FILE
    if not path.exists():
        return None
    try:
        job = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ResumeError(f"{path} is not valid JSON ({exc}); remove it to start afresh") from None
    return job if isinstance(job, dict) else None


def _write_job(job_dir: Path, job: dict[str, Any]) -> None:
    job_dir.mkdir(parents=True, exist_ok=True)
    tmp = job_dir / (JOB_FILE + ".tmp")
    tmp.write_text(json.dumps(job, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, job_dir / JOB_FILE)


def _read_back(path: Path, is_article: bool, settled: Settled) -> list[dict[str, Any]]:
    """The complete records of a JSONL file; a torn tail (no final newline) is cut off.

    Rejects `not_processed` (written when an attempt was stopped) are removed too: their
    inputs are processed again. The file is rewritten atomically only if something changed.
    """
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        settled.torn_lines += 1
        logger.warning(
            "newscrawl: %s ends with a torn line (%d bytes); dropped, its page is fetched again",
            path, len(data) - end,
        )  # fmt: skip
    records: list[dict[str, Any]] = []
    kept: list[bytes] = []
    dropped = 0
    for number, line in enumerate(data[:end].splitlines(), start=1):
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise ResumeError(
                f"{path}: line {number} is not a JSON record ({exc}); cannot resume safely"
            ) from None
        if not is_article and record.get("reason") == RejectReason.not_processed:
            dropped += 1
            continue
        records.append(record)
        kept.append(line)
    settled.dropped_not_processed += dropped
    if end < len(data) or dropped:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(b"".join(line + b"\n" for line in kept))
        os.replace(tmp, path)
    return records
