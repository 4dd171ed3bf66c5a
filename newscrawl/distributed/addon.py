"""Distributed mode: many `scrapy crawl` workers share one frontier in Redis (scrapy-redis).

Switched on by one setting, `NEWSCRAWL_REDIS_URL=redis://host:6379/0` (off when empty). The
`Distributed` add-on then, for this crawl:

* installs scrapy-redis's scheduler (`DistributedScheduler`, a subclass) and dupefilter, with
  the queue persisted (one worker closing must not flush the others' frontier);
* takes the spider's inputs from scrapy-redis's start key (`<spider>:start_urls`), filled by
  `scrapy enqueue` with JSON `{"url": ..., "meta": {"newscrawl": {...}}}` entries, each
  carrying its global input id, instead of `-a urls=...`;
* shares the run: every worker writes `<output>/<spider>/<run_id>/part-<worker>/` under one
  run id kept in Redis, and `scrapy merge` checks the accounting over the union;
* keeps the cross-run state in Redis (`newscrawl.history.state_redis`), not a local SQLite file;
* stops the worker when the frontier has stayed empty for `NEWSCRAWL_REDIS_IDLE_CLOSE`
  seconds (scrapy-redis's `MAX_IDLE_TIME_BEFORE_CLOSE`, applied here).

Exactly once under faults. scrapy-redis pops entries (LRANGE+LTRIM, ZRANGE+ZREM): an input
in a worker that dies is gone. Here an entry is claimed with one atomic `LMOVE` from the start
key into the worker's own in-flight list `<spider>:newscrawl:inflight:<worker>`, and removed
from it (`LREM`) only once its record line is written and its settled line is in the
worker's journal (`newscrawl.runs.journal`): the acknowledgement is the journal line, and
`scrapy merge` unites the journals. Each worker refreshes a heartbeat key
(`...:alive:<worker>`, expiring after `NEWSCRAWL_REDIS_LEASE` seconds) from a thread of its
own, on a Redis connection of its own, so a reactor blocked (on a stalled Redis, a slow
callback) never lets a live worker's lease lapse. Every worker, on its reactor's heartbeat,
moves the in-flight entries of workers that are gone back to the start key (again one `LMOVE`
per entry, so two survivors never both take one). Gone means: its heartbeat key missing on
every check for a whole lease, checked by a reclaimer that was itself answered promptly all
along. A Redis stall expires every key at once (Redis's clock runs on while it is stopped);
after it, the holders' threads renew their keys within a third of the lease, so the first
worker back reclaims nothing from live workers. An input's requests
(retries, redirects) stay in the worker that claimed it, since its ledger entry lives there.

Feeding the frontier (`scrapy enqueue`). The enqueue registers as a feeder for as long as it
runs (`...:feeders` set, a `...:feeding:<id>` key expiring after the lease, refreshed by a
thread): the run stays current for workers that start meanwhile, and workers do not stop for
an empty frontier while a feeder is alive (a sitemap can take a while to read). Inputs get
their global ids and first-seen marks from Redis, and are pushed in batches that a retry after
a lost reply cannot push twice (see `queue_inputs`). In discovery mode (`--sitemaps`,
`--domains`, `--feeds`) the enqueue runs the discovery spider with `FrontierPipeline` as its
only pipeline: each accepted URL becomes an entry carrying `discovered_via`, and the
discovery report is written as `discovery-<n>.json` into the run directory.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.spiders import Spider
from twisted.internet import task

from newscrawl.distributed.keys import (
    DISTRIBUTED_SPIDERS,
    REDIS_ERRORS,
    START_KEY,
    Keys,
    client_options,
    connect,
    join_run,
    live_feeders,
    move_once,
    not_distributed,
    pause,
)
from newscrawl.distributed.warcs import WarcClaims
from newscrawl.history.urls import redacted
from newscrawl.runs.ledger import Ledger
from schemas import Discovery, RejectReason

logger = logging.getLogger(__name__)


class Distributed:
    """The add-on: switches a crawl to the shared Redis frontier, and runs the worker side."""

    def __init__(self, crawler: Crawler, url: str) -> None:
        self.crawler = crawler
        self.url = url
        settings = crawler.settings
        spider = crawler.spider
        assert spider is not None
        self.spider_name = spider.name
        self.idle_close = settings.getfloat("NEWSCRAWL_REDIS_IDLE_CLOSE")
        self.lease = settings.getfloat("NEWSCRAWL_REDIS_LEASE")
        self.batch = max(1, settings.getint("CONCURRENT_REQUESTS"))
        self.worker = settings.get("NEWSCRAWL_WORKER_ID") or (
            f"{socket.gethostname()}-{os.getpid()}"
        )
        self.keys = Keys(spider.name, settings.get("REDIS_START_URLS_KEY") or START_KEY)
        self.client: Any = connect(url)  # redis-py's stubs type replies as bytes | str | ...
        self.client.ping()
        self.run_id = join_run(
            self.client, self.keys, self.worker, settings.get("NEWSCRAWL_RUN_ID") or ""
        )
        self.entries: dict[int, bytes] = {}  # local input id -> its claimed entry
        self.unacked: list[bytes] = []  # written, but Redis was away when we said so
        self.reclaimed = 0
        self.claimed = 0
        self._heartbeat: task.LoopingCall | None = None
        self._lease_thread: threading.Thread | None = None
        self._lease_stop = threading.Event()
        self._missing_since: dict[str, float] = {}  # worker -> first seen without heartbeat
        self._last_check: float | None = None  # when the last reclaim check began
        self._closing = False
        # The warc spider claims whole WARC files (newscrawl.distributed.warcs).
        self.warcs = WarcClaims(self) if spider.name == "warc" else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        url = crawler.settings.get("NEWSCRAWL_REDIS_URL")
        if not url:
            raise NotConfigured
        spider = crawler.spider
        if spider is None or spider.name not in DISTRIBUTED_SPIDERS:
            raise NotConfigured(not_distributed(spider.name if spider is not None else "?"))
        addon = cls(crawler, url)
        crawler.signals.connect(addon.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(addon.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(addon.spider_closed, signal=signals.spider_closed)
        return addon

    def update_settings(self, settings: Settings) -> None:
        """scrapy-redis's scheduler and dupefilter, the shared run and the Redis state store."""
        prio = "spider"  # above settings.py, below -s on the command line
        settings.set(
            "SCHEDULER", "newscrawl.distributed.scheduler.DistributedScheduler", priority=prio
        )
        settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", priority=prio)
        settings.set("SCHEDULER_PERSIST", True, priority=prio)  # never flush others' frontier
        # 0: never block the reactor on an empty queue (its pop is a synchronous Redis call).
        settings.set("SCHEDULER_IDLE_BEFORE_CLOSE", 0, priority=prio)
        settings.set("MAX_IDLE_TIME_BEFORE_CLOSE", int(self.idle_close), priority=prio)
        settings.set("REDIS_URL", self.url, priority=prio)
        settings.set("REDIS_PARAMS", client_options(), priority=prio)
        # One shared run id; each worker its own part directory under it.
        part = f"{self.run_id}/part-{self.worker}"
        settings.set("NEWSCRAWL_RUN_ID", part, priority="cmdline")
        state = str(settings.get("NEWSCRAWL_STATE") or "")
        if not state.startswith(("redis://", "rediss://", "unix://")):
            settings.set("NEWSCRAWL_STATE", self.url, priority="cmdline")
        middlewares = settings.getdict("SPIDER_MIDDLEWARES")
        middlewares["newscrawl.distributed.scheduler.DistributedStart"] = 0
        settings.set("SPIDER_MIDDLEWARES", middlewares, priority="cmdline")

    # --- worker lifetime ------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        logger.info(
            "newscrawl: distributed worker %s in run %s, inputs from %s (%s)",
            self.worker, self.run_id, self.keys.start, redacted(self.url),
        )  # fmt: skip
        try:
            self._renew_lease(self.client)
        except REDIS_ERRORS as exc:
            logger.warning("newscrawl: Redis unavailable on heartbeat: %s", exc)
        self._lease_thread = threading.Thread(
            target=self._keep_lease, name="newscrawl-lease", daemon=True
        )
        self._lease_thread.start()
        self._heartbeat = task.LoopingCall(self._beat)
        self._heartbeat.start(max(0.5, self.lease / 3), now=False)

    def _renew_lease(self, client: Any) -> None:
        client.set(self.keys.alive(self.worker), self.run_id, px=int(self.lease * 1000))
        client.sadd(self.keys.workers, self.worker)

    def _keep_lease(self) -> None:
        """The lease thread: renew our heartbeat key every third of the lease, whatever the
        reactor is doing, on a connection of its own (the reactor's may be mid-call)."""
        client = connect(self.url)
        try:
            while not self._lease_stop.wait(max(0.5, self.lease / 3)):
                try:
                    self._renew_lease(client)
                except REDIS_ERRORS as exc:
                    logger.warning("newscrawl: Redis unavailable on heartbeat: %s", exc)
        finally:
            client.close()

    def _beat(self) -> None:
        """Retry acknowledgements, and take back the inputs of workers that are gone."""
        try:
            self._retry_acks()
            self._reclaim()
        except REDIS_ERRORS as exc:
            self._missing_since.clear()  # what we saw before the outage proves nothing
            logger.warning("newscrawl: Redis unavailable on heartbeat: %s", exc)

    def _reclaim(self) -> None:
        """Requeue the in-flight entries of workers gone for a whole lease.

        A worker is gone when its heartbeat key was missing on every check for at least a
        lease. Checks (every third of the lease) must follow each other closely and be
        answered promptly: after a gap or a slow answer (our reactor or Redis stalled) the
        keys seen missing are forgotten, since their holders could not renew them meanwhile
        either. A key expires only after a stall of two thirds of the lease, and such a stall
        is seen here as a gap between checks of about as long.
        """
        started = time.monotonic()
        if self._last_check is not None and started - self._last_check > self.lease * 2 / 3:
            self._missing_since.clear()
        self._last_check = started
        for raw in self.client.smembers(self.keys.workers):
            other = raw.decode() if isinstance(raw, bytes) else str(raw)
            if other == self.worker:
                continue
            asked = time.monotonic()
            alive = self.client.exists(self.keys.alive(other))
            answered = time.monotonic()
            if answered - asked > self.lease / 3:  # Redis was slow to answer: stalled
                self._missing_since.clear()
                return
            if alive:
                self._missing_since.pop(other, None)
                continue
            since = self._missing_since.setdefault(other, answered)
            if answered - since < self.lease:
                continue
            del self._missing_since[other]
            moved = 0
            while self.client.lmove(self.keys.inflight(other), self.keys.start, "RIGHT", "LEFT"):
                moved += 1
            if self.client.llen(self.keys.inflight(other)) == 0:
                self.client.srem(self.keys.workers, other)
            if moved:
                self.reclaimed += moved
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("newscrawl/distributed/reclaimed", moved)
                logger.warning(
                    "newscrawl: worker %s stopped answering (no heartbeat for %.0fs);"
                    " %d of its inputs queued again",
                    other, answered - since + self.lease, moved,
                )  # fmt: skip

    def frontier_busy(self) -> bool:
        """Entries queued, in flight in any worker (which may die and hand them back), or
        an enqueue still feeding the frontier (reading sitemaps or feeds)."""
        if self.client.llen(self.keys.start):
            return True
        for raw in self.client.smembers(self.keys.workers):
            other = raw.decode() if isinstance(raw, bytes) else str(raw)
            if self.client.llen(self.keys.inflight(other)):
                return True
        return live_feeders(self.client, self.keys) > 0

    # --- inputs ---------------------------------------------------------------------------

    async def inputs(self, spider: Spider) -> AsyncIterator[Any]:
        """The spider's start: claimed entries as requests or rejects, until idle long enough."""
        if self.warcs is not None:
            async for output in self.warcs.inputs(spider):
                yield output
            return
        ledger = Ledger.of(self.crawler)
        idle_since: float | None = None
        while not self._closing:
            claimed: list[bytes] = []
            try:
                while len(ledger.pending) + len(claimed) < self.batch:
                    entry = self.client.lmove(
                        self.keys.start, self.keys.inflight(self.worker), "LEFT", "RIGHT"
                    )
                    if entry is None:
                        break
                    claimed.append(entry)
                if not claimed and not ledger.pending:
                    self._requeue_orphans()
                busy = bool(claimed) or bool(ledger.pending) or self.frontier_busy()
            except REDIS_ERRORS as exc:
                logger.warning("newscrawl: Redis unavailable, waiting: %s", exc)
                busy = True
            for entry in claimed:
                self.claimed += 1
                for output in self._outputs(spider, entry):
                    yield output
            if claimed:
                idle_since = None
                continue
            now = time.monotonic()
            if busy:
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since >= self.idle_close:
                logger.info(
                    "newscrawl: frontier empty for %.0fs; worker %s stops",
                    self.idle_close, self.worker,
                )  # fmt: skip
                return
            await pause(0.2)

    def _requeue_orphans(self) -> None:
        """Entries in our in-flight list we do not know of go back to the frontier.

        An `LMOVE` whose reply was lost (Redis went away in between; the client retried)
        leaves an entry there that no one would ever process or reclaim.
        """
        known = set(self.entries.values()) | set(self.unacked)
        known |= set(self.warcs.entries()) if self.warcs is not None else set()
        mine = self.keys.inflight(self.worker)
        for entry in self.client.lrange(mine, 0, -1):
            if entry not in known and move_once(self.client, mine, self.keys.start, entry):
                logger.warning("newscrawl: unclaimed in-flight entry queued again: %r", entry)

    def _outputs(self, spider: Any, entry: bytes) -> list[Any]:
        """One entry: its ledger entry opened here, then its request or its reject."""
        try:
            data = json.loads(entry)
            info = data["meta"]["newscrawl"]
            url = str(data["url"])
        except (ValueError, KeyError, TypeError):
            logger.error("newscrawl: not a newscrawl entry in %s: %r", self.keys.start, entry)
            self._ack(entry)
            return []
        # The global input number `scrapy enqueue` gave it: the same whichever worker runs it.
        key = f"{info.get('run')}#{info['input']}" if "input" in info else None
        input_id = spider.open_input(url, key)
        self.entries[input_id] = entry
        # From `scrapy enqueue --sitemaps/--feeds`: how the URL was found, and whether its host
        # is one the user named (a sitemap's own host): the target guard lets it be internal.
        found = info.get("discovered_via")
        try:
            via = (
                Discovery.model_validate(found)
                if found
                else Discovery(kind="list", source=info.get("source"))
            )
        except ValueError:
            via = Discovery(kind="list", source=None)
        if info.get("trusted"):
            spider.trust(url)
        if info.get("error"):
            detail = f"line {info.get('line')}: {info['error']}"
            return [
                spider.reject_input(
                    input_id, url, RejectReason.invalid_url, detail, discovered_via=via
                )
            ]
        if info.get("duplicate_of"):
            first = info["duplicate_of"]
            detail = f"same page as an earlier input line: {first}"
            reject = spider.reject_input(
                input_id, url, RejectReason.duplicate_url, detail,
                duplicate_of=first, discovered_via=via,
            )  # fmt: skip
            return [reject]
        return [spider.first_request(input_id, url, via)]

    # --- acknowledgements -----------------------------------------------------------------

    def item_scraped(self, item: Any, spider: Spider) -> None:
        """The record is written and journaled (the writer pipeline ran before this signal):
        the entry leaves our in-flight list (a WARC file's, once all of the file's records
        are written and journaled)."""
        if self.warcs is not None:
            self.warcs.written(getattr(item, "input_id", -1))
            return
        entry = self.entries.pop(getattr(item, "input_id", -1), None)
        if entry is not None:
            self._ack(entry)

    def _ack(self, entry: bytes) -> None:
        try:
            self.client.lrem(self.keys.inflight(self.worker), 1, entry)
        except REDIS_ERRORS as exc:
            logger.warning("newscrawl: Redis unavailable; acknowledgement kept for later: %s", exc)
            self.unacked.append(entry)

    def _retry_acks(self) -> None:
        while self.unacked:
            self.client.lrem(self.keys.inflight(self.worker), 1, self.unacked[-1])
            self.unacked.pop()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Unfinished inputs go back to the frontier for the others; then deregister."""
        self._closing = True
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
        self._lease_stop.set()
        if self._lease_thread is not None:
            self._lease_thread.join(timeout=60)  # after its renewal in progress, if any
        unfinished = [*self.entries.values(), *(self.warcs.entries() if self.warcs else [])]
        if self.warcs is not None:
            self.warcs.close()
        try:
            self._retry_acks()
            for entry in unfinished:
                move_once(self.client, self.keys.inflight(self.worker), self.keys.start, entry)
            if unfinished:
                logger.warning(
                    "newscrawl: %d unfinished input(s) handed back to the frontier",
                    len(unfinished),
                )
            if self.client.llen(self.keys.inflight(self.worker)) == 0:
                self.client.srem(self.keys.workers, self.worker)
            self.client.delete(self.keys.alive(self.worker))
        except REDIS_ERRORS as exc:
            logger.error("newscrawl: Redis unavailable at close (others will reclaim): %s", exc)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("newscrawl/distributed/claimed", self.claimed)
