"""The extraction worker process: pages in over a pipe, article fields out. Scrapy-free.

`newscrawl.workers` (the Scrapy side) starts these processes and talks to them; this module
holds only what runs inside one, so a worker imports the extractor and nothing of Scrapy or
Twisted. `extract_page` is also what the in-process path (`NEWSCRAWL_EXTRACT_WORKERS=0`) runs.

Protocol, one message at a time over a duplex `multiprocessing` connection:
  worker -> parent  ("ready", pid) once, or ("fatal", detail) if the function cannot load
  parent -> worker  (body: bytes, encoding: str, url: str), or None to stop
  worker -> parent  ("ok", ArticleFields) or ("error", detail, traceback_text)
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from w3lib.encoding import html_to_unicode

DEFAULT_FUNCTION = "newscrawl.extraction.extract_article"

ExtractFunction = Callable[[str, str], Any]


def load_function(path: str) -> ExtractFunction:
    """The extraction function named by a dotted path (`package.module.function`)."""
    module_name, _, name = path.rpartition(".")
    if not module_name:
        raise ValueError(f"not a dotted path to a function: {path!r}")
    function = getattr(importlib.import_module(module_name), name)
    if not callable(function):
        raise TypeError(f"{path} is not callable")
    return function  # type: ignore[no-any-return]


def extract_page(function: ExtractFunction, body: bytes, encoding: str, url: str) -> Any:
    """Decode the page as Scrapy's `response.text` would, then extract it.

    The body travels as bytes (a cheap copy, half or a quarter the size of a `str` with
    non-Latin-1 characters) with the encoding Scrapy settled on; decoding happens here, off
    the crawler's process.
    """
    text = html_to_unicode(f"charset={encoding}", body)[1]
    fields = function(text, url)
    if dataclasses.is_dataclass(fields) and hasattr(fields, "removed"):
        # The list of pruned blocks is for debugging extraction; the crawl never reads it.
        fields = dataclasses.replace(fields, removed=[])  # type: ignore[type-var]
    return fields


def serve(conn: Connection, function_path: str) -> None:
    """A worker's whole life: load the function, then extract pages until told to stop."""
    # Ctrl-C reaches the whole process group; the crawler shuts down gracefully and still
    # needs its workers for the pages in flight, so they leave only when told or orphaned.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_when_orphaned()
    try:
        function = load_function(function_path)
    except Exception as exc:
        conn.send(("fatal", f"cannot load {function_path}: {type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the crawler went away
        if task is None:
            return
        body, encoding, url = task
        try:
            reply: tuple[Any, ...] = ("ok", extract_page(function, body, encoding, url))
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
        del task, body
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # the result would not pickle
            conn.send(("error", f"result not transferable: {type(exc).__name__}: {exc}", ""))


def _exit_when_orphaned(interval: float = 1.0) -> None:
    """Leave if the parent dies while this worker is busy (stuck on a page, say).

    A worker waiting for a page notices a dead parent by the pipe's end of file; one in the
    middle of a page would not, and would outlive the crawl.
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()
