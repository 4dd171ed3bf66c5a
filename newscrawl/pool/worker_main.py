"""The extraction worker process: pages in over a socket, article fields out. Scrapy-free.

`newscrawl.pool.workers` (the Scrapy side) starts these processes and talks to them; this module
holds only what runs inside one, so a worker imports the extractor and nothing of Scrapy or
Twisted. `extract_page` is also what the in-process path (`NEWSCRAWL_EXTRACT_WORKERS=0`) runs.

Protocol: over a stream socket, messages framed as an 8-byte big-endian length and a pickle:
  worker -> parent  ("ready", pid) once, or ("fatal", detail) if the function cannot load
  parent -> worker  (body: bytes, content_type: str, url: str), or None to stop
  worker -> parent  ("ok", ExtractedPage, rss_bytes) or ("error", detail, traceback_text)

Memory: a large page's lxml tree is freed after the page, but glibc keeps the freed heap
(fragmented by the next page's allocations) and the worker's RSS climbs by tens of MB over
the first pages. After its first page, and after a page that leaves the worker
`TRIM_AFTER_GROWTH` above its RSS after its last trim, it hands the free heap back
(`malloc_trim`); the RSS it then has goes back with the answer, and the crawler replaces a
worker above `NEWSCRAWL_EXTRACT_WORKER_MAX_RSS`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import importlib
import os
import pickle
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from newscrawl.extraction.encoding import decode_html
from newscrawl.history import neardup

DEFAULT_FUNCTION = "newscrawl.extraction.extract_article"
HEADER = struct.Struct("!Q")
SOCKET_BUFFER = 1 << 20  # a whole page fits: one write, one wake-up per message
# RSS growth after which a worker returns its free heap after a page: over its RSS after its
# last trim (the first page always trims). Not over its RSS at start, which lacks what the
# libraries load on first use (8 to 45 MB on real pages) and the heap that live memory
# settles at: every page paid for a trim then (0.45 ms, and about 1 ms more of page faults
# refilling the returned heap), for 10 MB less RSS.
TRIM_AFTER_GROWTH = 16 << 20

ExtractFunction = Callable[[str, str], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class ExtractedPage:
    """What extracting one page gives the crawler: the article fields, and the MinHash
    signature of their text (`newscrawl.history.neardup`, stored form), computed here, beside the
    text, so the crawler process does not spend a millisecond a page on it."""

    fields: Any  # ArticleFields, or whatever NEWSCRAWL_EXTRACT_FUNCTION returns
    signature: bytes | None


def load_function(path: str) -> ExtractFunction:
    """The extraction function named by a dotted path (`package.module.function`)."""
    module_name, _, name = path.rpartition(".")
    if not module_name:
        raise ValueError(f"not a dotted path to a function: {path!r}")
    function = getattr(importlib.import_module(module_name), name)
    if not callable(function):
        raise TypeError(f"{path} is not callable")
    return function  # type: ignore[no-any-return]


def extract_page(
    function: ExtractFunction, body: bytes, content_type: str, url: str
) -> ExtractedPage:
    """Decode the page, then extract it.

    The body travels as bytes (a cheap copy, half or a quarter the size of a `str` with
    non-Latin-1 characters) with the response's Content-Type; decoding happens here, off the
    crawler's process, and believes a declared charset only when the bytes agree with it
    (`newscrawl.extraction.encoding`).
    """
    text = decode_html(body, content_type)
    fields = function(text, url)
    if dataclasses.is_dataclass(fields) and hasattr(fields, "removed"):
        # The list of pruned blocks is for debugging extraction; the crawl never reads it.
        fields = dataclasses.replace(fields, removed=[])  # type: ignore[type-var]
    article_text = getattr(fields, "text", None)
    signed = (
        neardup.to_bytes(neardup.signature(article_text))
        if isinstance(article_text, str) and article_text and not getattr(fields, "is_listing", 0)
        else None  # no article, nothing to compare
    )
    return ExtractedPage(fields, signed)


def resident_bytes() -> int:
    """This process's resident set size now (Linux `/proc/self/statm`; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def heap_trimmer() -> Callable[[], object] | None:
    """glibc's `malloc_trim(0)`, which returns free heap pages to the system; None on a C
    library without it (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


def serve(sock: socket.socket, function_path: str) -> None:
    """A worker's whole life: load the function, then extract pages until told to stop.
    After its first page, and after a page that left it `TRIM_AFTER_GROWTH` above its RSS
    after the last trim, free heap goes back to the system before the answer, which carries
    the RSS."""
    # Ctrl-C reaches the whole process group; the crawler shuts down gracefully and still
    # needs its workers for the pages in flight, so they leave only when told or orphaned.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_when_orphaned()
    sock.setblocking(True)
    try:
        function = load_function(function_path)
    except Exception as exc:
        _say(sock, ("fatal", f"cannot load {function_path}: {type(exc).__name__}: {exc}"))
        return
    if not _say(sock, ("ready", os.getpid())):
        return
    trim = heap_trimmer()
    trim_above: int | None = None  # None: trim after the next page (see TRIM_AFTER_GROWTH)
    while True:
        try:
            task = recv_message(sock)
        except (EOFError, OSError):
            return  # the crawler closed the connection, or went away
        if task is None:
            return
        body, content_type, url = task
        try:
            page = extract_page(function, body, content_type, url)
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            reply: tuple[Any, ...] = ("error", detail, traceback.format_exc())
        else:
            del task, body
            rss = resident_bytes()
            if trim is not None and (trim_above is None or rss > trim_above):
                trim()
                rss = resident_bytes()
                trim_above = rss + TRIM_AFTER_GROWTH
            reply = ("ok", page, rss)
            del page
        try:
            payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # the result would not pickle
            payload = pickle.dumps(("error", f"result not transferable: {exc}", ""))
        try:
            sock.sendall(HEADER.pack(len(payload)) + payload)
        except OSError:
            return


def send_message(sock: socket.socket, message: Any) -> None:
    """One framed message; raises OSError (BrokenPipeError) if the other end is gone."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(HEADER.pack(len(payload)) + payload)


def _say(sock: socket.socket, message: Any) -> bool:
    """Send a start-up message; False if the crawler already hung up (it stopped while this
    worker was starting: nothing to report, the worker just leaves)."""
    try:
        send_message(sock, message)
    except OSError:
        return False
    return True


def recv_message(sock: socket.socket) -> Any:
    """One framed message; EOFError when the other end closed the connection."""
    (size,) = HEADER.unpack(_recv_exactly(sock, HEADER.size))
    return pickle.loads(_recv_exactly(sock, size))


def _recv_exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = sock.recv_into(view[got:])
        if count == 0:
            raise EOFError("connection closed")
        got += count
    return buffer


def _exit_when_orphaned(interval: float = 1.0) -> None:
    """Leave if the parent dies while this worker is busy (stuck on a page, say).

    A worker waiting for a page notices a dead crawler by its socket's end of file; one in the
    middle of a page would not, and would outlive the crawl. (Workers are children of the
    forkserver, which exits with the crawler.)
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def main() -> None:
    """`python -m newscrawl.pool.worker_main FD FUNCTION [NAME]`, as `pool.workers` starts it."""
    serve(socket.socket(fileno=int(sys.argv[1])), sys.argv[2])


if __name__ == "__main__":
    # Run the module under its own name, not as __main__: the classes in replies must
    # unpickle in the crawler as newscrawl.pool.worker_main.ExtractedPage.
    from newscrawl.pool.worker_main import main as run_as_module

    run_as_module()
