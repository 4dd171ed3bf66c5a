"""An extraction function that leaves freed heap behind, for the worker's trimming test.

A page whose URL ends in `/keep-MB` keeps MB megabytes alive (a library's tables loaded on
first use); one ending in `/churn-MB` allocates MB megabytes in 4 KB blocks (from glibc's
heap, not Python's arenas) and frees them, below a small block it keeps, so the freed heap
stays resident until `malloc_trim` returns it (as a freed lxml tree's does).
"""

from __future__ import annotations

BLOCK = 4096

_kept: list[bytes] = []


def extract(html: str, url: str) -> dict[str, int]:
    """Keep or churn the megabytes the URL asks for; the answer says which and how many."""
    action, _, megabytes = url.rpartition("/")[2].partition("-")
    count = int(megabytes) * (1 << 20) // BLOCK
    if action == "keep":
        _kept.extend(bytes([1]) * BLOCK for _ in range(count))  # written, so resident
    elif action == "churn":
        churned = [bytes([2]) * BLOCK for _ in range(count)]
        _kept.append(bytes([3]) * BLOCK)  # above the churned blocks: the heap cannot shrink
        del churned
    return {action: int(megabytes)}
