"""Article extraction off the reactor, in a pool of worker processes.

Extraction is CPU work (an lxml parse, trafilatura, metadata: tens of milliseconds a page) and
Scrapy runs callbacks on one thread, so extracting in the callback caps a crawl at one core and
stalls every download while a slow page is worked on. `ExtractionPool` (an extension) runs
`NEWSCRAWL_EXTRACT_WORKERS` worker processes (`newscrawl.worker_main`) and hands them pages.

- One thread per worker process in the crawler feeds its process one page at a time, so it
  knows which page each process is on: a page past `NEWSCRAWL_EXTRACT_TIMEOUT` has its worker
  killed and becomes an `ExtractionFailed(extraction_timeout)`; a worker that dies (killed,
  segfault) is replaced and its page is tried once more on a fresh worker before it becomes
  `ExtractionFailed(extraction_error)`. No other page is affected, and the crawl never waits
  on a stuck page longer than the timeout.
- Bounded: at most `QUEUE_PER_WORKER` pages per worker are handed to the pool (running or
  queued); further callbacks wait for a slot, holding their response, and Scrapy's scraper
  stops the downloader once those responses add up to `SCRAPER_SLOT_MAX_ACTIVE_SIZE`.
- Workers are started with the 'forkserver' method (forking the crawler itself, with the
  reactor's threads, is unsafe), the forkserver having imported the extractor once, so a new
  or replacement worker starts in milliseconds.

`NEWSCRAWL_EXTRACT_WORKERS=0` disables the extension: `extractor_for` then gives the
in-process `InProcessExtractor` (same interface, no time limit), for debugging.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.asyncio import is_asyncio_available

from newscrawl.extraction import ArticleFields
from newscrawl.worker_main import (
    DEFAULT_FUNCTION,
    ExtractFunction,
    extract_page,
    load_function,
    serve,
)
from schemas import RejectReason

logger = logging.getLogger(__name__)

# Pages handed to the pool per worker process: one being extracted, one ready to go.
QUEUE_PER_WORKER = 2
# How long a new worker may take to start (it imports the extractor if not preloaded).
STARTUP_TIMEOUT = 60.0
# A worker is replaced after this many pages, so memory it fragments or caches stays flat.
PAGES_PER_WORKER = 1000


class ExtractionFailed(Exception):
    """A page that could not be extracted, with the reject reason and a readable detail."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Extractor(Protocol):
    async def extract(self, body: bytes, encoding: str, url: str) -> ArticleFields:
        """The article fields of one page; raises `ExtractionFailed`."""
        ...


@dataclass(frozen=True, slots=True)
class PoolSettings:
    workers: int
    timeout: float
    function: str

    @classmethod
    def read(cls, settings: Settings) -> PoolSettings:
        raw = settings.get("NEWSCRAWL_EXTRACT_WORKERS")
        if raw is None or str(raw).strip().lower() in {"", "auto"}:
            workers = available_cores()
        else:
            workers = settings.getint("NEWSCRAWL_EXTRACT_WORKERS")
            if workers < 0:
                raise ValueError(f"NEWSCRAWL_EXTRACT_WORKERS must be >= 0, not {raw!r}")
        timeout = settings.getfloat("NEWSCRAWL_EXTRACT_TIMEOUT")
        if not timeout > 0:
            raise ValueError(f"NEWSCRAWL_EXTRACT_TIMEOUT must be > 0 seconds, not {timeout!r}")
        function = settings.get("NEWSCRAWL_EXTRACT_FUNCTION") or DEFAULT_FUNCTION
        load_function(function)  # fail at start, not on every page
        return cls(workers, timeout, function)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


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

    async def extract(self, body: bytes, encoding: str, url: str) -> ArticleFields:
        try:
            fields: ArticleFields = extract_page(self.function, body, encoding, url)
        except Exception as exc:  # a bug or a pathological page must not lose the input
            logger.exception("extraction failed for %s", url)
            raise ExtractionFailed(
                RejectReason.extraction_error, f"{type(exc).__name__}: {exc}"[:1000]
            ) from exc
        return fields


class ExtractionPool:
    """The worker processes, started at spider_opened and stopped at spider_closed."""

    def __init__(self, crawler: Crawler, config: PoolSettings) -> None:
        self.crawler = crawler
        self.config = config
        self._slots = asyncio.Semaphore(config.workers * QUEUE_PER_WORKER)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._feeders: list[_Feeder] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = PoolSettings.read(crawler.settings)
        if config.workers == 0:
            raise NotConfigured("NEWSCRAWL_EXTRACT_WORKERS=0: extraction runs in-process")
        if not is_asyncio_available():
            logger.warning("newscrawl: extraction workers need asyncio; extracting in-process")
            raise NotConfigured("extraction workers need the asyncio reactor")
        pool = cls(crawler, config)
        crawler.signals.connect(pool.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(pool.spider_closed, signal=signals.spider_closed)
        return pool

    def spider_opened(self) -> None:
        context = multiprocessing.get_context("forkserver")
        module = self.config.function.rpartition(".")[0]
        context.set_forkserver_preload(["newscrawl.worker_main", module])
        for number in range(self.config.workers):
            feeder = _Feeder(self, context, number)
            thread = threading.Thread(
                target=feeder.run, name=f"newscrawl-extract-{number}", daemon=True
            )
            self._feeders.append(feeder)
            self._threads.append(thread)
            thread.start()
        logger.info(
            "newscrawl: extracting in %d worker processes (timeout %gs a page)",
            self.config.workers, self.config.timeout,
        )  # fmt: skip

    def spider_closed(self) -> None:
        for _ in self._threads:
            self._tasks.put(None)
        deadline = time.monotonic() + 10
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for feeder in self._feeders:
            feeder.worker.stop()  # anything still running after the wait is killed
        self._threads.clear()
        self._feeders.clear()

    async def extract(self, body: bytes, encoding: str, url: str) -> ArticleFields:
        self._loop = loop = asyncio.get_running_loop()
        async with self._slots:
            done: asyncio.Future[tuple[Any, ...]] = loop.create_future()
            self._tasks.put(_Task(body, encoding, url, done))
            outcome = await done
        if outcome[0] == "ok":
            fields: ArticleFields = outcome[1]
            return fields
        _, reason, detail = outcome
        raise ExtractionFailed(reason, detail)

    def inc_stat(self, name: str) -> None:
        """Count an event (from any thread: the stats dict is only incremented)."""
        if self.crawler.stats is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(
                self.crawler.stats.inc_value, f"newscrawl/extract/{name}"
            )

    def report(self, task: _Task, outcome: tuple[Any, ...]) -> None:
        """Hand a page's outcome back to its callback, on the event loop's thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(_settle, task.done, outcome)


@dataclass(slots=True)
class _Task:
    body: bytes
    encoding: str
    url: str
    done: asyncio.Future[tuple[Any, ...]]


def _settle(future: asyncio.Future[tuple[Any, ...]], outcome: tuple[Any, ...]) -> None:
    if not future.done():  # a cancelled callback no longer waits for it
        future.set_result(outcome)


class _WorkerDied(Exception):
    pass


class _WorkerTimedOut(Exception):
    pass


class _Worker:
    """One worker process and the crawler's end of its pipe. Used by one thread only."""

    def __init__(self, context: Any, function: str, name: str) -> None:
        self.context = context
        self.function = function
        self.name = name
        self.process: Any = None
        self.conn: Connection | None = None
        self.pages = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def start(self) -> None:
        parent, child = self.context.Pipe(duplex=True)
        process = self.context.Process(
            target=serve, args=(child, self.function), name=self.name, daemon=True
        )
        process.start()
        child.close()
        self.process, self.conn, self.pages = process, parent, 0
        if not parent.poll(STARTUP_TIMEOUT):
            self.stop()
            raise _WorkerDied(f"worker did not start within {STARTUP_TIMEOUT:g}s")
        try:
            message = parent.recv()
        except (EOFError, OSError) as exc:
            detail = f"worker failed to start ({self._how_it_ended()})"
            self.stop()
            raise _WorkerDied(detail) from exc
        if message[0] != "ready":
            self.stop()
            raise _WorkerDied(str(message[1]))

    def call(self, body: bytes, encoding: str, url: str, timeout: float) -> tuple[Any, ...]:
        """Extract one page in the worker: ("ok", fields) or ("error", detail, traceback)."""
        if not self.running or self.pages >= PAGES_PER_WORKER:
            self.stop()
            self.start()
        conn = self.conn
        assert conn is not None
        self.pages += 1
        try:
            conn.send((body, encoding, url))
            if not conn.poll(timeout):
                self.stop()
                raise _WorkerTimedOut()
            reply: tuple[Any, ...] = conn.recv()
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            detail = self._how_it_ended()
            self.stop()
            raise _WorkerDied(detail) from exc
        return reply

    def stop(self) -> None:
        """Ask the worker to leave; kill it if it does not at once (or is stuck)."""
        process, conn = self.process, self.conn
        self.process = self.conn = None
        if conn is not None:
            try:
                if process is not None and process.is_alive():
                    conn.send(None)
            except OSError:
                pass
            conn.close()
        if process is not None:
            process.join(0.5)
            if process.is_alive():
                process.kill()
                process.join(5)
            process.close()

    def _how_it_ended(self) -> str:
        process = self.process
        if process is None:
            return "worker gone"
        process.join(1.0)
        code = process.exitcode
        if code is None:
            return "worker closed its pipe"
        if code < 0:
            try:
                return f"worker killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"worker killed by signal {-code}"
        return f"worker exited with status {code}"


class _Feeder:
    """A thread's loop: take a page, run it on this thread's worker, report the outcome."""

    def __init__(self, pool: ExtractionPool, context: Any, number: int) -> None:
        self.pool = pool
        self.config = pool.config
        self.worker = _Worker(context, pool.config.function, f"newscrawl-extract-{number}")

    def run(self) -> None:
        try:
            self.worker.start()  # warm up before the first page arrives
        except _WorkerDied as exc:
            logger.error("newscrawl: extraction worker did not start: %s", exc)
        while (task := self.pool._tasks.get()) is not None:
            outcome = self._extract(task)
            task.body = b""
            self.pool.report(task, outcome)
        self.worker.stop()

    def _extract(self, task: _Task) -> tuple[Any, ...]:
        deaths: list[str] = []
        while len(deaths) < 2:
            try:
                reply = self.worker.call(task.body, task.encoding, task.url, self.config.timeout)
            except _WorkerTimedOut:
                self.pool.inc_stat("timeouts")
                logger.warning(
                    "newscrawl: extraction of %s took over %gs; worker killed and replaced",
                    task.url, self.config.timeout,
                )  # fmt: skip
                detail = f"extraction took longer than {self.config.timeout:g}s; stopped"
                return ("failed", RejectReason.extraction_timeout, detail)
            except _WorkerDied as exc:
                self.pool.inc_stat("worker_deaths")
                deaths.append(str(exc))
                logger.warning(
                    "newscrawl: extraction worker died on %s (%s)%s",
                    task.url, exc, "; trying once more" if len(deaths) < 2 else "",
                )  # fmt: skip
                continue
            if reply[0] == "ok":
                return reply
            _, detail, trace = reply
            logger.error("newscrawl: extraction failed for %s\n%s", task.url, trace.rstrip())
            return ("failed", RejectReason.extraction_error, str(detail)[:1000])
        logger.error("newscrawl: extraction worker died twice on %s; rejected", task.url)
        detail = f"the extraction worker process died on this page twice ({deaths[-1]})"
        return ("failed", RejectReason.extraction_error, detail)
