"""Inputs from the frontier: the start middleware, and scrapy-redis's scheduler per worker."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy_redis.scheduler import Scheduler as RedisScheduler

from newscrawl.distributed.addon import Distributed
from newscrawl.distributed.keys import REDIS_ERRORS

logger = logging.getLogger(__name__)


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
        given = [name for name in ("urls", "url", "warcs") if getattr(params, name, None)]
        if given:
            logger.error(
                "newscrawl: distributed mode takes inputs from Redis (scrapy enqueue);"
                " -a %s ignored", " / -a ".join(given),
            )  # fmt: skip
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
