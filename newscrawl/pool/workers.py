"""Article extraction off the reactor, in a pool of worker processes.

Extraction is CPU work (an lxml parse, trafilatura, metadata: tens of milliseconds a page) and
Scrapy runs callbacks on one thread, so extracting in the callback caps a crawl at one core and
stalls every download while a slow page is worked on. `ExtractionPool` (an extension) runs
`NEWSCRAWL_EXTRACT_WORKERS` worker processes (`newscrawl.pool.worker_main`) and hands them pages.

- The event loop talks to each worker over a socket pair, without threads (threads in the
  crawler would fight its busy reactor thread for the GIL and leave workers idle). A worker
  is given `QUEUE_PER_WORKER` (2) pages ahead, so its next page is already waiting in its
  socket, and answers in order, so the pool knows which page each process is on: a page past
  `NEWSCRAWL_EXTRACT_TIMEOUT` (counted from the previous answer) has its worker killed and
  becomes an `ExtractionFailed` (`extraction_timeout`); a worker that dies (killed, segfault,
  out of memory) is replaced and its page tried once more on a fresh worker before it
  becomes `extraction_error`. The page queued behind is simply sent to the replacement: no
  other page is affected, and the crawl never waits on a stuck page longer than the timeout.
- Pages are written to the socket by one sender task per worker, never by `_run` itself nor
  under a lock: a page larger than the socket buffers (about 2 MB; pages may be 10 MB) waits
  in mid-send while its worker is busy, and if that worker is then killed the sender is
  cancelled with it, so the page is sent whole to the replacement. Pages go out in queue
  order, one process at a time, which is what lets answers be matched to pages.
- Bounded: at most `workers x QUEUE_PER_WORKER` pages are handed to the pool; further
  callbacks wait for a slot while holding their response. Scrapy counts those responses in
  its scraper slot and stops the downloader once they add up to
  `SCRAPER_SLOT_MAX_ACTIVE_SIZE` (5 MB), so the pages waiting for extraction are bounded
  however long the crawl; the peak wait is the stat `newscrawl/extract/max_waiting`.
- Workers are fresh interpreters (`python -m newscrawl.pool.worker_main`, started with
  `subprocess`: forking the crawler, with its reactor and threads, is unsafe; and unlike
  multiprocessing's forkserver this adds no server or resource-tracker processes, 50 MB of
  RSS). A worker imports the extractor when it starts (under a second of CPU), which only
  happens at the start, after a crash or time-out, and every `PAGES_PER_WORKER` pages (a
  replacement, so memory the extractor's libraries fragment or cache stays flat), or after
  a page that leaves it above `NEWSCRAWL_EXTRACT_WORKER_MAX_RSS` MB (its answer carries its
  RSS, measured after it has returned its free heap: `newscrawl.pool.worker_main`); stat
  `newscrawl/extract/workers_recycled_rss`.

`NEWSCRAWL_EXTRACT_WORKERS=0` disables the extension: `extractor_for` then gives the
in-process `InProcessExtractor` (same interface, no time limit), for debugging.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import is_asyncio_available

from newscrawl.pool.process import (
    QUEUE_PER_WORKER,
    Job,
    PoolSettings,
    Worker,
    frame,
)
from newscrawl.pool.worker_main import (
    ExtractedPage,
    ExtractFunction,
    extract_page,
    load_function,
)
from schemas import RejectReason

logger = logging.getLogger(__name__)


class ExtractionFailed(Exception):
    """A page that could not be extracted, with the reject reason and a readable detail."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Extractor(Protocol):
    async def extract(self, body: bytes, content_type: str, url: str) -> ExtractedPage:
        """The article fields of one page (and their signature); raises `ExtractionFailed`."""
        ...


_extractors: weakref.WeakKeyDictionary[Crawler, Extractor] = weakref.WeakKeyDictionary()


def extractor_for(crawler: Crawler) -> Extractor:
    """The crawl's extractor: its `ExtractionPool`, or in-process extraction without one."""
    found = _extractors.get(crawler)
    if found is None:
        found = crawler.get_extension(ExtractionPool) or InProcessExtractor.from_crawler(crawler)
        _extractors[crawler] = found
    return found


class InProcessExtractor:
    """Extraction in the callback itself: one core, no time limit. For debugging."""

    def __init__(self, function: ExtractFunction) -> None:
        self.function = function

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = PoolSettings.read(crawler.settings)
        return cls(load_function(config.function))

    async def extract(self, body: bytes, content_type: str, url: str) -> ExtractedPage:
        try:
            page = extract_page(self.function, body, content_type, url)
        except Exception as exc:  # a bug or a pathological page must not lose the input
            logger.exception("extraction failed for %s", url)
            raise ExtractionFailed(
                RejectReason.extraction_error, f"{type(exc).__name__}: {exc}"[:1000]
            ) from exc
        return page


class ExtractionPool:
    """The worker processes, started with the first request and stopped at spider_closed."""

    def __init__(self, crawler: Crawler, config: PoolSettings) -> None:
        self.crawler = crawler
        self.config = config
        self._workers: list[Worker] = []
        self._slots = asyncio.Semaphore(config.workers * QUEUE_PER_WORKER)
        self._waiting = 0
        self._max_waiting = 0
        self.answers = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = PoolSettings.read(crawler.settings)
        if config.workers == 0:
            raise NotConfigured("NEWSCRAWL_EXTRACT_WORKERS=0: extraction runs in-process")
        if not is_asyncio_available():
            logger.warning("newscrawl: extraction workers need asyncio; extracting in-process")
            raise NotConfigured("extraction workers need the asyncio reactor")
        pool = cls(crawler, config)
        crawler.signals.connect(pool.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(pool.spider_closed, signal=signals.spider_closed)
        return pool

    def request_scheduled(self) -> None:
        """The crawl will fetch something: start the workers, in the background, while the
        first pages download. A run that fetches nothing (a rerun of pages all exported
        before) starts none, so it has no processes to start and hang up on."""
        if not self._workers:
            self._start()

    def _start(self) -> None:
        self._workers = [Worker(self, number) for number in range(self.config.workers)]
        logger.info(
            "newscrawl: extracting in %d worker processes (timeout %gs a page)",
            self.config.workers, self.config.timeout,
        )  # fmt: skip

    def spider_closed(self) -> None:
        for worker in self._workers:
            worker.stop()
        for worker in self._workers:
            worker.reap(timeout=2.0)
        self._workers.clear()
        self.inc("max_waiting", self._max_waiting, set_value=True)

    async def extract(self, body: bytes, content_type: str, url: str) -> ExtractedPage:
        if not self._workers:  # a page that came without a scheduled request
            self._start()
        self._waiting += 1
        self._max_waiting = max(self._max_waiting, self._waiting)
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            job = Job(
                url, frame((body, content_type, url)), asyncio.get_running_loop().create_future()
            )
            del body  # the job holds the framed copy until the worker has answered
            worker = min(self._workers, key=lambda worker: len(worker.jobs))
            worker.submit(job)
            outcome = await job.done
        finally:
            self._slots.release()
        if outcome[0] == "ok":
            page: ExtractedPage = outcome[1]
            return page
        _, reason, detail = outcome
        raise ExtractionFailed(reason, detail)

    def inc(self, name: str, value: int = 1, *, set_value: bool = False) -> None:
        stats = self.crawler.stats
        if stats is None:
            return
        if set_value:
            stats.set_value(f"newscrawl/extract/{name}", value)
        else:
            stats.inc_value(f"newscrawl/extract/{name}", value)
