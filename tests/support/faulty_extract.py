"""An extraction function that misbehaves on request, for the worker-pool tests.

Loaded into a real crawl with `-s NEWSCRAWL_EXTRACT_FUNCTION=tests.support.faulty_extract.
extract_article`. A page whose URL contains one of the markers below hangs, kills its
process, raises, returns a result the crawler cannot load, or keeps memory; every other page
goes to the real extractor. The extraction code is untouched.
"""

from __future__ import annotations

import os
import signal
import time

from newscrawl.extraction import ArticleFields
from newscrawl.extraction import extract_article as real_extract_article

HANG = "hang-extraction"  # sleeps far past any test timeout
CRASH = "crash-extraction"  # the process dies at once, as on a segfault or the OOM killer
RAISE = "raise-extraction"  # an ordinary exception: a bug in the extractor
UNREADABLE = "unreadable-extraction"  # a result that pickles in the worker, not back in the crawl
BLOAT = "bloat-extraction"  # keeps BLOAT_BYTES alive in the process: a worker past its RSS bound
BLOAT_BYTES = 192 << 20

_kept: list[bytes] = []


class _Unreadable:
    """Pickles fine; unpickling it raises (as a class only the worker could import would)."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return (_refuse_to_load, ())


def _refuse_to_load() -> None:
    raise RuntimeError("this result cannot be loaded in the crawler")


def extract_article(html: str | bytes, url: str) -> ArticleFields:
    if HANG in url:
        time.sleep(600)
    if CRASH in url:
        os.kill(os.getpid(), signal.SIGKILL)
    if RAISE in url:
        raise RuntimeError(f"simulated extractor bug on {url}")
    if BLOAT in url:
        _kept.append(b"x" * BLOAT_BYTES)  # written, so resident
    fields = real_extract_article(html, url)
    if UNREADABLE in url:
        fields.problems.append({"field": "section", "value": _Unreadable()})  # type: ignore[dict-item]
    return fields
