"""Distributed mode's Redis side: key names, the connection, the atomic Lua steps, run joining."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task

from newscrawl.runs.ids import new_run_id

logger = logging.getLogger(__name__)


START_KEY = "%(name)s:start_urls"  # scrapy-redis's default REDIS_START_URLS_KEY
DISTRIBUTED_SPIDERS = frozenset({"articles", "warc"})  # spiders whose inputs come from Redis
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
PUSH_ONCE = """
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
        f"`scrapy crawl {spider}` is not a distributed worker (only articles and warc are): it"
        " runs on this machine alone, with its own state store (NEWSCRAWL_STATE)"
    )


# --- feeding the frontier (`scrapy enqueue`) ------------------------------------------------


async def pause(seconds: float) -> None:
    """Wait without blocking the reactor (the frontier loops poll Redis between waits)."""
    from twisted.internet import reactor  # imported late: the crawl installs its reactor first

    await maybe_deferred_to_future(task.deferLater(reactor, seconds, lambda: None))  # type: ignore[arg-type]
