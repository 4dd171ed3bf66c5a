"""One extraction worker process, as the pool drives it: start, pages out, answers in, kill.

See `newscrawl.pool.workers` for the protocol between the pool and its workers; this module
holds the per-process side of it (`Worker`) and the pool's settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from scrapy.settings import Settings

from newscrawl.pool.worker_main import (
    DEFAULT_FUNCTION,
    HEADER,
    SOCKET_BUFFER,
    heap_trimmer,
    load_function,
)
from schemas import RejectReason

logger = logging.getLogger(__name__)


# The crawler process also returns its free heap (page bodies and pickled frames, freed but
# fragmented), every this many answers: about 0.5 ms each time.
TRIM_EVERY = 25


_trim_heap = heap_trimmer()


# Pages a worker is given ahead: one in progress, one waiting in its socket, so it never
# waits for the event loop between pages.
QUEUE_PER_WORKER = 2


# How long a new worker may take to start (it imports the extractor if not preloaded).
STARTUP_TIMEOUT = 60.0


# A worker is replaced after this many pages, so memory it fragments or caches stays flat.
PAGES_PER_WORKER = 5000


@dataclass(frozen=True, slots=True)
class PoolSettings:
    workers: int
    timeout: float
    function: str
    max_rss: int  # bytes; 0: no bound

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
        max_rss = settings.getint("NEWSCRAWL_EXTRACT_WORKER_MAX_RSS")
        if max_rss < 0:
            raise ValueError(f"NEWSCRAWL_EXTRACT_WORKER_MAX_RSS must be >= 0 MB, not {max_rss}")
        return cls(workers, timeout, function, max_rss << 20)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Pool(Protocol):
    """What a `Worker` uses of the `ExtractionPool` that owns it (which imports this module)."""

    config: PoolSettings
    answers: int

    def inc(self, name: str, value: int = 1, *, set_value: bool = False) -> None: ...


@dataclass(slots=True, eq=False)
class Job:
    url: str
    payload: bytes | None  # the framed message, kept until the worker has answered
    done: asyncio.Future[tuple[Any, ...]]
    sent: bool = False
    started: float | None = None  # when the worker began it (the previous page's answer)
    deaths: list[str] = field(default_factory=list)

    def resolve(self, outcome: tuple[Any, ...]) -> None:
        if not self.done.done():  # a cancelled callback no longer waits for it
            self.done.set_result(outcome)
        self.payload = None


class WorkerDied(Exception):
    pass


class Worker:
    """One worker process, fed `QUEUE_PER_WORKER` pages ahead, answers read in order.

    One task (`_run`) owns the process: it reads answers, times the page in progress, and
    replaces the process when it dies, hangs or is due; `submit` writes pages straight to
    the socket while the process is ready, so the worker finds its next page waiting.
    """

    def __init__(self, pool: Pool, number: int) -> None:
        self.pool = pool
        self.name = f"newscrawl-extract-{number}"
        self.process: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.pages = 0
        self.jobs: deque[Job] = deque()
        self.ready = False  # started and said so: queued pages may be sent
        self.broken = False  # a write to the worker failed: replace it before sending more
        self._sender: asyncio.Task[None] | None = None  # writing queued pages to the socket
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        # The answer being read: never cancelled by the timeout, so a late look at a reply
        # already under way cannot lose its bytes; `_mid_reply` once its header is in.
        self._reply: asyncio.Future[Any] | None = None
        self._mid_reply = False
        self._task = asyncio.ensure_future(self._run())

    def submit(self, job: Job) -> None:
        """Queue a page: it is sent as soon as the process is ready and the pages before it
        are sent; `job.done` gets its outcome."""
        self.jobs.append(job)
        self._pump()
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        timeout = self.pool.config.timeout
        try:
            await self._restart()  # warm up before the first page arrives
        except WorkerDied as exc:
            logger.error("newscrawl: extraction worker did not start: %s", exc)
        while True:
            if not self.jobs:
                self._wake.clear()
                await self._wake.wait()
                continue
            head = self.jobs[0]
            if not head.sent:  # nothing in flight: (re)start the process if needed
                if not self._running() or self.pages >= PAGES_PER_WORKER:
                    if self._running():
                        self.pool.inc("workers_recycled")
                    try:
                        await self._restart()
                    except WorkerDied as exc:
                        self._lost_all(str(exc))
                        continue
                    head.started = None  # its time counts from the replacement's start
                self._pump()
            # The head's answer is awaited while it may still be on its way (a large page):
            # the time limit counts from the previous answer either way.
            if head.started is None:
                head.started = loop.time()
            if self._reply is None:
                self._reply = asyncio.ensure_future(self._receive())
            try:
                left = max(0.0, head.started + timeout - loop.time())
                reply: tuple[Any, ...] = await asyncio.wait_for(asyncio.shield(self._reply), left)
            except TimeoutError:
                if self._answering():
                    # The worker has answered: the event loop was late (frozen by a blocking
                    # call), not the page. Read the answer; no time-out.
                    head.started = loop.time()
                    continue
                self._reply.cancel()
                self._reply = None
                self.jobs.popleft()
                self._timed_out(head, timeout)
                self._kill()
                continue
            except (EOFError, OSError):
                self._reply = None
                detail = await self._how_it_ended()
                self._kill()
                self._lost(self.jobs.popleft(), detail, front=True)
                continue
            self._reply = None
            self.jobs.popleft()
            if self.jobs:
                self.jobs[0].started = loop.time()
            self._answered(head, reply)

    # -- outcomes ------------------------------------------------------------------------

    def _answered(self, job: Job, reply: tuple[Any, ...]) -> None:
        self.pool.answers += 1
        if self.pool.answers % TRIM_EVERY == 0 and _trim_heap is not None:
            _trim_heap()
        if reply[0] == "ok":
            job.resolve(reply)
            bound = self.pool.config.max_rss
            if bound and len(reply) > 2 and reply[2] > bound and self.pages < PAGES_PER_WORKER:
                # Replaced once the pages already sent are answered (see `_run`).
                self.pages = PAGES_PER_WORKER
                self.pool.inc("workers_recycled_rss")
            return
        _, detail, trace = reply
        logger.error("newscrawl: extraction failed for %s\n%s", job.url, str(trace).rstrip())
        job.resolve(("failed", RejectReason.extraction_error, str(detail)[:1000]))

    def _timed_out(self, job: Job, timeout: float) -> None:
        self.pool.inc("timeouts")
        logger.warning(
            "newscrawl: extraction of %s took over %gs; worker killed and replaced",
            job.url, timeout,
        )  # fmt: skip
        detail = f"extraction took longer than {timeout:g}s; stopped"
        job.resolve(("failed", RejectReason.extraction_timeout, detail))

    def _lost(self, job: Job, detail: str, *, front: bool) -> None:
        """The worker died on this page: try it once more on a fresh worker, then give up."""
        self.pool.inc("worker_deaths")
        job.deaths.append(detail)
        if len(job.deaths) < 2:
            logger.warning(
                "newscrawl: extraction worker died on %s (%s); trying once more", job.url, detail
            )
            job.sent, job.started = False, None
            if front:
                self.jobs.appendleft(job)
            return
        logger.error("newscrawl: extraction worker died twice on %s; rejected", job.url)
        detail = f"the extraction worker process died on this page twice ({detail})"
        job.resolve(("failed", RejectReason.extraction_error, detail))
        if not front:
            self.jobs.remove(job)

    def _lost_all(self, detail: str) -> None:
        """No worker could be started: every waiting page counts it as a death."""
        for job in list(self.jobs):
            self._lost(job, detail, front=False)

    # -- the process ---------------------------------------------------------------------

    def _pump(self) -> None:
        """Start the sender if the process is ready and a queued page is not sent yet."""
        if self._sender is not None or not self.ready or not self._running():
            return
        if self.pages < PAGES_PER_WORKER and self._next_unsent() is not None:
            self._sender = asyncio.ensure_future(self._send_queued(self.sock))

    def _next_unsent(self) -> Job | None:
        return next((job for job in self.jobs if not job.sent and job.payload is not None), None)

    async def _send_queued(self, sock: socket.socket | None) -> None:
        """Write the queued pages to this process's socket, in order, each whole.

        Waits in mid-page while the worker is busy and the socket buffers are full; ends
        when nothing is left to send, the write fails (`_run` replaces the worker), or the
        worker is hung up on (`_hang_up` cancels it: the pages are sent again to the next).
        """
        try:
            while sock is not None and sock is self.sock and self.pages < PAGES_PER_WORKER:
                job = self._next_unsent()
                if job is None or job.payload is None:
                    return
                try:
                    await self._loop.sock_sendall(sock, job.payload)
                except OSError:
                    self.broken = True  # the worker is gone: `_run` sees it and replaces it
                    self._wake.set()
                    return
                if sock is not self.sock:
                    return  # hung up on meanwhile: whatever was written is lost with it
                job.sent = True
                self.pages += 1
        finally:
            if self._sender is asyncio.current_task():
                self._sender = None

    async def _restart(self) -> None:
        await self._retire()
        ours, theirs = socket.socketpair()
        for end in (ours, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        # The crawler's import path (Scrapy adds the project directory), for the function.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        command = [
            sys.executable, "-m", "newscrawl.pool.worker_main",
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
            raise WorkerDied(f"worker could not be started: {type(exc).__name__}: {exc}") from exc
        finally:
            theirs.close()
        ours.setblocking(False)
        self.process, self.sock, self.pages, self.broken = process, ours, 0, False
        self.ready = False
        self.pool.inc("workers_started")
        try:
            message = await asyncio.wait_for(self._receive(), STARTUP_TIMEOUT)
        except (TimeoutError, EOFError, OSError) as exc:
            detail = await self._how_it_ended()
            self._kill()
            raise WorkerDied(f"worker failed to start ({detail})") from exc
        if message[0] != "ready":
            self._kill()
            raise WorkerDied(str(message[1]))
        self.ready = True

    def _answering(self) -> bool:
        """Whether the worker's answer has arrived, is being read, or waits in the socket."""
        if (self._reply is not None and self._reply.done()) or self._mid_reply:
            return True
        sock = self.sock
        if sock is None:
            return False
        with contextlib.suppress(OSError):
            return bool(select.select([sock], [], [], 0)[0])
        return False

    async def _receive(self) -> Any:
        (size,) = HEADER.unpack(await self._read_exactly(HEADER.size))
        self._mid_reply = True
        try:
            payload = await self._read_exactly(size)
        finally:
            self._mid_reply = False
        try:
            return pickle.loads(payload)
        except Exception as exc:  # a whole message that does not load: that page's failure
            detail = f"result could not be read: {type(exc).__name__}: {exc}"
            return ("error", detail, traceback.format_exc())

    async def _read_exactly(self, size: int) -> bytearray:
        sock = self.sock
        if sock is None:
            raise EOFError("no worker")
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

    def _running(self) -> bool:
        return (
            self.process is not None
            and self.sock is not None
            and not self.broken
            and self.process.poll() is None
        )

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
        self._hang_up()
        if process is not None and process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(process.wait, 2)
        self._kill()

    def _hang_up(self) -> None:
        """Close our end: an idle worker sees end of file and leaves.

        A send in progress is cancelled first and the socket taken out of the event loop,
        so no write waits on a closed socket (and nothing waits for that write)."""
        self.ready = False
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.cancel()
        for job in self.jobs:  # whatever was sent is lost with the connection
            job.sent, job.started = False, None
        sock, self.sock = self.sock, None
        if sock is not None:
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)
            sock.close()

    def _kill(self) -> None:
        """Stop the worker now (it may be stuck in a page) and collect its exit status."""
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
        self._hang_up()
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)

    def stop(self) -> None:
        """At the end of the crawl: no more pages; the worker leaves on end of file."""
        self._task.cancel()
        if self._reply is not None:
            self._reply.cancel()
        self._hang_up()

    def reap(self, timeout: float) -> None:
        """After `stop`: wait briefly for the worker to leave, else kill it."""
        process = self.process
        if process is not None:
            try:
                process.wait(timeout)
                self.process = None
            except subprocess.TimeoutExpired:
                self._kill()


def frame(message: Any) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload
