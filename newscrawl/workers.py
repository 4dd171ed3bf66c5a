"""Article extraction off the reactor, in a pool of worker processes.

Extraction is CPU work (an lxml parse, trafilatura, metadata: tens of milliseconds a page) and
Scrapy runs callbacks on one thread, so extracting in the callback caps a crawl at one core and
stalls every download while a slow page is worked on. `ExtractionPool` (an extension) runs
`NEWSCRAWL_EXTRACT_WORKERS` worker processes (`newscrawl.worker_main`) and hands them pages.

- The event loop talks to each worker over a socket pair, without threads (threads in the
  crawler would fight its busy reactor thread for the GIL and leave workers idle). A worker
  has one page at a time, so the pool knows which page each process is on: a page past
  `NEWSCRAWL_EXTRACT_TIMEOUT` has its worker killed and becomes an `ExtractionFailed`
  (`extraction_timeout`); a worker that dies (killed, segfault, out of memory) is replaced and
  its page tried once more on a fresh worker before it becomes `extraction_error`. No other
  page is affected, and the crawl never waits on a stuck page longer than the timeout.
- Bounded: a page's callback waits for an idle worker while holding its response. Scrapy
  counts those responses in its scraper slot and stops the downloader once they add up to
  `SCRAPER_SLOT_MAX_ACTIVE_SIZE` (5 MB), so at most that much (and `CONCURRENT_REQUESTS`
  pages) waits for extraction, however long the crawl; the peak wait is the stat
  `newscrawl/extract/max_waiting`.
- Workers are fresh interpreters (`python -m newscrawl.worker_main`, started with
  `subprocess`: forking the crawler, with its reactor and threads, is unsafe; and unlike
  multiprocessing's forkserver this adds no server or resource-tracker processes, 50 MB of
  RSS). A worker imports the extractor when it starts (about a second of CPU), which only
  happens at the start, after a crash or time-out, and every `PAGES_PER_WORKER` pages (a
  replacement, so memory the extractor's libraries fragment or cache stays flat).

`NEWSCRAWL_EXTRACT_WORKERS=0` disables the extension: `extractor_for` then gives the
in-process `InProcessExtractor` (same interface, no time limit), for debugging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import weakref
from dataclasses import dataclass
from typing import Any, Protocol, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.asyncio import is_asyncio_available

from newscrawl.extraction import ArticleFields
from newscrawl.worker_main import (
    DEFAULT_FUNCTION,
    HEADER,
    SOCKET_BUFFER,
    ExtractFunction,
    extract_page,
    load_function,
)
from schemas import RejectReason

logger = logging.getLogger(__name__)

# How long a new worker may take to start (it imports the extractor if not preloaded).
STARTUP_TIMEOUT = 60.0
# A worker is replaced after this many pages, so memory it fragments or caches stays flat.
PAGES_PER_WORKER = 5000


class ExtractionFailed(Exception):
    """A page that could not be extracted, with the reject reason and a readable detail."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Extractor(Protocol):
    async def extract(self, body: bytes, content_type: str, url: str) -> ArticleFields:
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

    async def extract(self, body: bytes, content_type: str, url: str) -> ArticleFields:
        try:
            fields: ArticleFields = extract_page(self.function, body, content_type, url)
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
        self._workers: list[_Worker] = []
        self._idle: asyncio.Queue[_Worker] | None = None
        self._waiting = 0
        self._max_waiting = 0

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

    async def spider_opened(self) -> None:
        self._idle = asyncio.Queue()
        for number in range(self.config.workers):
            worker = _Worker(self, number)
            self._workers.append(worker)
            self._idle.put_nowait(worker)
        # Start them in the background: the first pages wait for them like for any worker.
        for worker in self._workers:
            worker.warm_up()
        logger.info(
            "newscrawl: extracting in %d worker processes (timeout %gs a page)",
            self.config.workers, self.config.timeout,
        )  # fmt: skip

    def spider_closed(self) -> None:
        for worker in self._workers:
            worker.close()
        for worker in self._workers:
            worker.reap(timeout=2.0)
        self._workers.clear()
        self._inc("max_waiting", self._max_waiting, set_value=True)

    async def extract(self, body: bytes, content_type: str, url: str) -> ArticleFields:
        assert self._idle is not None, "the pool starts at spider_opened"
        self._waiting += 1
        self._max_waiting = max(self._max_waiting, self._waiting)
        try:
            worker = await self._idle.get()
        finally:
            self._waiting -= 1
        try:
            outcome = await worker.extract(body, content_type, url)
        finally:
            self._idle.put_nowait(worker)
        if outcome[0] == "ok":
            fields: ArticleFields = outcome[1]
            return fields
        _, reason, detail = outcome
        raise ExtractionFailed(reason, detail)

    def _inc(self, name: str, value: int = 1, *, set_value: bool = False) -> None:
        stats = self.crawler.stats
        if stats is None:
            return
        if set_value:
            stats.set_value(f"newscrawl/extract/{name}", value)
        else:
            stats.inc_value(f"newscrawl/extract/{name}", value)


class _WorkerDied(Exception):
    pass


class _Worker:
    """One worker process and the event loop's end of its socket. One page at a time."""

    def __init__(self, pool: ExtractionPool, number: int) -> None:
        self.pool = pool
        self.name = f"newscrawl-extract-{number}"
        self.process: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.pages = 0
        self._starting: asyncio.Task[None] | None = None

    def warm_up(self) -> None:
        self._starting = asyncio.ensure_future(self._start_quietly())

    async def _start_quietly(self) -> None:
        try:
            await self._start()
        except _WorkerDied as exc:
            logger.error("newscrawl: extraction worker did not start: %s", exc)

    async def extract(self, body: bytes, content_type: str, url: str) -> tuple[Any, ...]:
        """("ok", fields) or ("failed", reason, detail); never raises for the page's sake."""
        timeout = self.pool.config.timeout
        deaths: list[str] = []
        while len(deaths) < 2:
            try:
                reply = await self._call((body, content_type, url), timeout)
            except TimeoutError:
                self.pool._inc("timeouts")
                logger.warning(
                    "newscrawl: extraction of %s took over %gs; worker killed and replaced",
                    url, timeout,
                )  # fmt: skip
                return (
                    "failed",
                    RejectReason.extraction_timeout,
                    f"extraction took longer than {timeout:g}s; stopped",
                )
            except _WorkerDied as exc:
                self.pool._inc("worker_deaths")
                deaths.append(str(exc))
                logger.warning(
                    "newscrawl: extraction worker died on %s (%s)%s",
                    url, exc, "; trying once more" if len(deaths) < 2 else "",
                )  # fmt: skip
                continue
            if reply[0] == "ok":
                return reply
            _, detail, trace = reply
            logger.error("newscrawl: extraction failed for %s\n%s", url, str(trace).rstrip())
            return ("failed", RejectReason.extraction_error, str(detail)[:1000])
        logger.error("newscrawl: extraction worker died twice on %s; rejected", url)
        detail = f"the extraction worker process died on this page twice ({deaths[-1]})"
        return ("failed", RejectReason.extraction_error, detail)

    async def _call(self, task: tuple[bytes, str, str], timeout: float) -> tuple[Any, ...]:
        if self._starting is not None:
            starting, self._starting = self._starting, None
            await starting
        if not self._alive() or self.pages >= PAGES_PER_WORKER:
            if self.pages >= PAGES_PER_WORKER:
                self.pool._inc("workers_recycled")
            await self._retire()
            await self._start()
        sock = self.sock
        assert sock is not None
        loop = asyncio.get_running_loop()
        payload = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
        self.pages += 1
        try:
            await loop.sock_sendall(sock, HEADER.pack(len(payload)) + payload)
            del payload
            reply: tuple[Any, ...] = await asyncio.wait_for(self._receive(), timeout)
        except TimeoutError:
            self.kill()
            raise
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            detail = await self._how_it_ended()
            self.kill()
            raise _WorkerDied(detail) from exc
        return reply

    async def _start(self) -> None:
        ours, theirs = socket.socketpair()
        for end in (ours, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        # The crawler's import path (Scrapy adds the project directory), for the function.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        command = [
            sys.executable, "-m", "newscrawl.worker_main",
            str(theirs.fileno()), self.pool.config.function, self.name,
        ]  # fmt: skip
        try:
            process = subprocess.Popen(
                command,
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                env=env,
                process_group=0,  # Ctrl-C in a terminal goes to the crawler, which stops cleanly
            )
        except OSError as exc:  # out of processes or memory, ...
            ours.close()
            raise _WorkerDied(f"worker could not be started: {type(exc).__name__}: {exc}") from exc
        finally:
            theirs.close()
        ours.setblocking(False)
        self.process, self.sock, self.pages = process, ours, 0
        self.pool._inc("workers_started")
        try:
            message = await asyncio.wait_for(self._receive(), STARTUP_TIMEOUT)
        except (TimeoutError, EOFError, OSError) as exc:
            detail = await self._how_it_ended()
            self.kill()
            raise _WorkerDied(f"worker failed to start ({detail})") from exc
        if message[0] != "ready":
            self.kill()
            raise _WorkerDied(str(message[1]))

    async def _receive(self) -> Any:
        (size,) = HEADER.unpack(await self._read_exactly(HEADER.size))
        return pickle.loads(await self._read_exactly(size))

    async def _read_exactly(self, size: int) -> bytearray:
        sock = self.sock
        assert sock is not None
        loop = asyncio.get_running_loop()
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            count = await loop.sock_recv_into(sock, view[got:])
            if count == 0:
                raise EOFError("worker closed its socket")
            got += count
        return buffer

    def _alive(self) -> bool:
        return self.process is not None and self.sock is not None and self.process.poll() is None

    async def _how_it_ended(self) -> str:
        process = self.process
        if process is None:
            return "worker gone"
        for _ in range(100):  # a dead worker's status is there within milliseconds
            if process.poll() is not None:
                break
            await asyncio.sleep(0.01)
        code = process.returncode
        if code is None:
            return "worker closed its socket"
        if code < 0:
            try:
                return f"worker killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"worker killed by signal {-code}"
        return f"worker exited with status {code}"

    async def _retire(self) -> None:
        """Let the worker go: hang up, give it a moment to leave, then kill it."""
        process = self.process
        self.close()
        if process is not None and process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(process.wait, 2)
        self.kill()

    def close(self) -> None:
        """Hang up: an idle worker sees end of file and leaves (reaped by `reap` or `kill`)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def kill(self) -> None:
        """Stop the worker now (it may be stuck in a page) and collect its exit status."""
        self.close()
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)

    def reap(self, timeout: float) -> None:
        """After `close`: wait briefly for the worker to leave, else kill it."""
        process = self.process
        if process is not None:
            try:
                process.wait(timeout)
                self.process = None
            except subprocess.TimeoutExpired:
                self.kill()
