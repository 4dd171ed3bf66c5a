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
* keeps the cross-run state in Redis (`newscrawl.state_redis`), not a local SQLite file;
* stops the worker when the frontier has stayed empty for `NEWSCRAWL_REDIS_IDLE_CLOSE`
  seconds (scrapy-redis's `MAX_IDLE_TIME_BEFORE_CLOSE`, applied here).

Exactly once under faults. scrapy-redis pops entries (LRANGE+LTRIM, ZRANGE+ZREM): an input
in a worker that dies is gone. Here an entry is claimed with one atomic `LMOVE` from the start
key into the worker's own in-flight list `<spider>:newscrawl:inflight:<worker>`, and removed
from it (`LREM`) only once its record line is written. Each worker refreshes a heartbeat key
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
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Self

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.spiders import Spider
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy_redis.scheduler import Scheduler as RedisScheduler
from twisted.internet import task

from newscrawl.inputs import url_key
from newscrawl.reruns import new_run_id
from newscrawl.urls import redacted
from schemas import Discovery, RejectReason

logger = logging.getLogger(__name__)

START_KEY = "%(name)s:start_urls"  # scrapy-redis's default REDIS_START_URLS_KEY
DISTRIBUTED_SPIDERS = frozenset({"articles"})  # spiders whose inputs can come from Redis
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)

# Join the current run if it is still going (entries queued, workers or feeders registered),
# else start a new one; optionally register the caller as a worker or as a feeder (its
# `feeding` key set to expire after the lease), all in one atomic step.
_JOIN_RUN = """
local current = redis.call('GET', KEYS[1])
if not (current and (redis.call('LLEN', KEYS[2]) > 0 or redis.call('SCARD', KEYS[3]) > 0
                     or redis.call('SCARD', KEYS[4]) > 0)) then
  current = ARGV[1]
  redis.call('SET', KEYS[1], current)
end
if ARGV[2] ~= '' then redis.call('SADD', KEYS[3], ARGV[2]) end
if ARGV[3] ~= '' then
  redis.call('SADD', KEYS[4], ARGV[3])
  redis.call('SET', KEYS[5], current, 'PX', ARGV[4])
end
return current
"""

# Push a batch of entries once: a client retrying after a lost reply (Redis restarted between
# executing and answering) finds the batch's marker set and pushes nothing.
_PUSH_ONCE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', 604800) then
  return redis.call('RPUSH', KEYS[1], unpack(ARGV))
end
return -1
"""

# Move an entry from one list to another once: nothing is pushed if the entry was not (or no
# longer) there, so a retried call never queues an entry twice.
_MOVE_ONCE = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
"""


class Keys:
    """The Redis keys of one spider's distributed crawl."""

    def __init__(self, spider: str, start_key: str = START_KEY) -> None:
        self.start = start_key % {"name": spider}
        base = f"{spider}:newscrawl"
        self.run = f"{base}:run"
        self.workers = f"{base}:workers"
        self.base = base

    def inflight(self, worker: str) -> str:
        return f"{self.base}:inflight:{worker}"

    def alive(self, worker: str) -> str:
        return f"{self.base}:alive:{worker}"

    def input_ids(self, run_id: str) -> str:
        return f"{self.base}:run:{run_id}:ids"

    def url_keys(self, run_id: str) -> str:
        return f"{self.base}:run:{run_id}:urls"

    def pushed(self, run_id: str, batch: str) -> str:
        return f"{self.base}:run:{run_id}:pushed:{batch}"

    def discoveries(self, run_id: str) -> str:
        return f"{self.base}:run:{run_id}:discoveries"

    @property
    def feeders(self) -> str:
        return f"{self.base}:feeders"

    def feeding(self, feeder: str) -> str:
        return f"{self.base}:feeding:{feeder}"


def connect(url: str) -> redis.Redis:
    """A client that rides out a Redis restart: retries for about half a minute."""
    return redis.Redis.from_url(url, **client_options())


def client_options() -> dict[str, Any]:
    return {
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 40),
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError],
    }


def join_run(
    client: redis.Redis,
    keys: Keys,
    worker: str = "",
    run_id: str = "",
    *,
    feeder: str = "",
    lease: float = 15.0,
) -> str:
    """The current run id (a new one if no run is going); registers `worker` or `feeder`."""
    live_feeders(client, keys)  # a killed enqueue's registration must not keep a run going
    fresh = run_id or new_run_id_now()
    result = client.eval(
        _JOIN_RUN, 5, keys.run, keys.start, keys.workers, keys.feeders,
        keys.feeding(feeder or "-"), fresh, worker, feeder, str(int(lease * 1000)),
    )  # fmt: skip
    return result.decode() if isinstance(result, bytes) else str(result)


def live_feeders(client: Any, keys: Keys) -> int:
    """How many enqueues are feeding the frontier; forgets those whose key expired."""
    alive = 0
    for raw in client.smembers(keys.feeders):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        if client.exists(keys.feeding(name)):
            alive += 1
        else:
            client.srem(keys.feeders, name)
    return alive


def move_once(client: Any, source: str, destination: str, entry: bytes) -> bool:
    """`entry` from the list `source` to the head of `destination`, never twice."""
    return bool(client.eval(_MOVE_ONCE, 2, source, destination, entry))


def new_run_id_now() -> str:
    return new_run_id(datetime.now(UTC))


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
        settings.set("SCHEDULER", "newscrawl.distributed.DistributedScheduler", priority=prio)
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
        middlewares["newscrawl.distributed.DistributedStart"] = 0
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
        ledger = spider.ledger  # type: ignore[attr-defined]
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
            await _sleep(0.2)

    def _requeue_orphans(self) -> None:
        """Entries in our in-flight list we do not know of go back to the frontier.

        An `LMOVE` whose reply was lost (Redis went away in between; the client retried)
        leaves an entry there that no one would ever process or reclaim.
        """
        known = set(self.entries.values()) | set(self.unacked)
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
        reruns = _reruns(self.crawler)
        earlier = reruns.exported_before(url) if reruns is not None else None
        if earlier is None:
            return [spider.page_request(input_id, url, via)]
        if reruns is not None and reruns.refresh and hasattr(spider, "revalidation_request"):
            return [spider.revalidation_request(input_id, url, via, earlier)]
        detail = f"exported in run {earlier.run_id} as {earlier.url}; not fetched again"
        reject = spider.reject_input(
            input_id, url, RejectReason.seen_before, detail,
            duplicate_of=earlier.url, discovered_via=via,
        )  # fmt: skip
        return [reject]

    # --- acknowledgements -----------------------------------------------------------------

    def item_scraped(self, item: Any, spider: Spider) -> None:
        """The record is written: the entry leaves our in-flight list."""
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
        try:
            self._retry_acks()
            for entry in self.entries.values():
                move_once(self.client, self.keys.inflight(self.worker), self.keys.start, entry)
            if self.entries:
                logger.warning(
                    "newscrawl: %d unfinished input(s) handed back to the frontier",
                    len(self.entries),
                )
            if self.client.llen(self.keys.inflight(self.worker)) == 0:
                self.client.srem(self.keys.workers, self.worker)
            self.client.delete(self.keys.alive(self.worker))
        except REDIS_ERRORS as exc:
            logger.error("newscrawl: Redis unavailable at close (others will reclaim): %s", exc)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("newscrawl/distributed/claimed", self.claimed)


class DistributedStart:
    """Spider middleware: in distributed mode the spider's inputs come from Redis."""

    def __init__(self, crawler: Crawler) -> None:
        addon = crawler.get_addon(Distributed)
        if addon is None:
            raise NotConfigured
        self.addon: Distributed = addon
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        spider = self.crawler.spider
        params = getattr(spider, "params", None)
        if getattr(params, "urls", None) or getattr(params, "url", None):
            logger.error(
                "newscrawl: distributed mode takes inputs from Redis (scrapy enqueue);"
                " -a urls / -a url are ignored"
            )
        async for output in self.addon.inputs(spider):  # type: ignore[arg-type]
            yield output


class DistributedScheduler(RedisScheduler):
    """scrapy-redis's scheduler; an input's own requests stay with the worker that claimed it.

    A request carrying `input_id` belongs to this worker's ledger (its retry, its redirect):
    it is kept in memory here. Any other request goes to the shared Redis queue and through
    the shared dupefilter, as scrapy-redis does. Its `enqueue_request` / `next_request` are
    restated without `stats.inc_value(..., spider=...)`, deprecated since Scrapy 2.14.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local: deque[Request] = deque()

    def enqueue_request(self, request: Request) -> bool:
        if "input_id" in request.meta:
            self.local.append(request)
            if self.stats:
                self.stats.inc_value("scheduler/enqueued/local")
            return True
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        self.queue.push(request)
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.local:
            return self.local.popleft()
        try:
            request: Request | None = self.queue.pop(self.idle_before_close)
            if request is not None and self.stats:
                self.stats.inc_value("scheduler/dequeued/redis")
            return request
        except REDIS_ERRORS as exc:
            logger.warning("newscrawl: Redis unavailable in the scheduler: %s", exc)
            return None

    def has_pending_requests(self) -> bool:
        if self.local:
            return True
        try:
            return bool(super().has_pending_requests())
        except REDIS_ERRORS:
            return False

    def __len__(self) -> int:
        return len(self.local) + int(super().__len__())


def not_distributed(spider: str) -> str:
    """Why `scrapy crawl <spider>` runs on its own with NEWSCRAWL_REDIS_URL set, and what to do."""
    if spider in ("sitemap", "feeds"):
        option = "--sitemaps URL / --domains DOMAIN" if spider == "sitemap" else "--feeds URL"
        return (
            f"`scrapy crawl {spider}` is not a distributed worker: it crawls on this machine"
            " alone, with its own state store (NEWSCRAWL_STATE). To share what it finds"
            f" among the workers, run `scrapy enqueue --spider articles {option}` (with the"
            " same since/allow/deny/max_articles) and `scrapy crawl articles` workers"
        )
    return (
        f"`scrapy crawl {spider}` is not a distributed worker (only articles is): it crawls on"
        " this machine alone, with its own state store (NEWSCRAWL_STATE)"
    )


# --- feeding the frontier (`scrapy enqueue`) ------------------------------------------------


class Feeding:
    """An enqueue in progress: registered as a feeder, its key refreshed by a thread.

    While it is registered the run stays current (workers starting meanwhile join it) and the
    workers do not stop for an empty frontier. A killed enqueue's key expires after the lease.
    """

    def __init__(self, url: str, keys: Keys, lease: float, run_id: str = "") -> None:
        self.keys = keys
        self.lease = max(1.0, lease)
        self.name = f"enqueue-{socket.gethostname()}-{os.getpid()}"
        self.client: Any = connect(url)
        self.client.ping()
        self.run_id = join_run(self.client, keys, "", run_id, feeder=self.name, lease=self.lease)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="newscrawl-feeding", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                self.client.sadd(self.keys.feeders, self.name)
                self.client.set(
                    self.keys.feeding(self.name), self.run_id, px=int(self.lease * 1000)
                )
            except REDIS_ERRORS as exc:
                logger.warning("newscrawl: Redis unavailable on the feeding heartbeat: %s", exc)

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self.client.srem(self.keys.feeders, self.name)
            self.client.delete(self.keys.feeding(self.name))
        except REDIS_ERRORS:
            pass  # the key expires after the lease
        self.client.close()


@dataclass(slots=True)
class NewInput:
    """One input for the frontier before it has its global id."""

    source: str  # the URL, or the raw line when it is not a URL
    key: str | None  # its URL key (repeats within the run); None for a line that is not a URL
    info: dict[str, Any]  # the entry's `newscrawl` meta, without the input id


def queue_inputs(
    client: Any,
    keys: Keys,
    run_id: str,
    batch: list[NewInput],
    manifest: IO[str],
    *,
    skip_repeats: bool,
) -> tuple[int, int]:
    """Give a batch its global ids and first-seen marks, list it, then queue it once.

    A URL already queued in this run is marked `duplicate_of` (a URL-file line: it must end as
    a `duplicate_url` reject) or, with `skip_repeats` (discovery: a repeat is only counted),
    left out. Safe against a Redis restart between executing and answering: the first-seen
    mark carries this batch's token (a retried HSETNX that finds its own mark is no repeat), and
    the push is guarded by a marker key (a retried push pushes nothing); a retried INCRBY only
    leaves a gap in the ids. Returns (queued, left out as repeats).
    """
    token = uuid.uuid4().hex
    url_keys = keys.url_keys(run_id)
    with client.pipeline(transaction=False) as pipe:
        for index, item in enumerate(batch):
            if item.key is not None:
                pipe.hsetnx(url_keys, item.key, f"{token}:{index}\n{item.source}")
                pipe.hget(url_keys, item.key)
        answers = iter(pipe.execute())
    kept: list[NewInput] = []
    repeats = 0
    for index, item in enumerate(batch):
        if item.key is not None:
            next(answers)  # HSETNX's reply: not to be trusted after a retry; the mark is
            value = _text(next(answers))
            mark, _, first = value.partition("\n") if "\n" in value else ("", "", value)
            if mark != f"{token}:{index}":
                if skip_repeats:
                    repeats += 1
                    continue
                item.info["duplicate_of"] = first
        kept.append(item)
    if not kept:
        return 0, repeats
    last = int(client.incrby(keys.input_ids(run_id), len(kept)))
    first_id = last - len(kept)
    entries = []
    for offset, item in enumerate(kept):
        item.info["input"] = first_id + offset
        entries.append(json.dumps({"url": item.source, "meta": {"newscrawl": item.info}}))
    # Listed before queued: an input queued but not listed would escape `scrapy merge`.
    manifest.writelines(
        json.dumps({"input": item.info["input"], "source": item.source}) + "\n" for item in kept
    )
    manifest.flush()
    client.eval(_PUSH_ONCE, 2, keys.start, keys.pushed(run_id, token), *entries)
    return len(kept), repeats


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


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
        summary: dict[str, Any] = getattr(spider, "discovery_summary", dict)()
        self.frontier.write_report(spider.name, summary, reason)


async def _sleep(seconds: float) -> None:
    from twisted.internet import reactor  # imported late: the crawl installs its reactor first

    await maybe_deferred_to_future(task.deferLater(reactor, seconds, lambda: None))  # type: ignore[arg-type]


def _reruns(crawler: Crawler) -> Any:
    from newscrawl.reruns import Reruns

    return crawler.get_extension(Reruns)
