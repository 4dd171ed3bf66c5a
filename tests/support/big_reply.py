"""An extraction function whose answer is larger than the socket buffers between a worker and
the crawler, for the worker-pool timing test: the worker is still writing its answer when the
crawler starts reading it.

`extract_article` works for `WORK` seconds, then returns `SIZE` bytes (not an article: the
pool hands back whatever the function returns).
"""

from __future__ import annotations

import time

WORK = 0.3
SIZE = 16 * 1024 * 1024


def extract_article(html: str | bytes, url: str) -> dict[str, bytes]:
    time.sleep(WORK)
    return {"blob": b"x" * SIZE}
