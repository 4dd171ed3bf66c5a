"""What a run has already seen, on disk, so the crawl's memory does not grow with the run.

The in-run checks keep a key for every page they pass: the articles spider the URL key of
every input (a repeat is `duplicate_url` without a second fetch), the discovery spiders every
URL they accepted, the dedupe pipeline every exported URL and body hash. Held in dicts and
sets these grow by a few hundred bytes a page for the whole run: a million pages, a few
hundred megabytes. `RunKeys` keeps them in a private temporary SQLite database instead
(SQLite's own: an unlinked file, gone when it is closed or the process dies), with a bounded
page cache, so the crawler holds at most `CACHE_KIB` of them in memory however long the run.

Each run (each process, in distributed mode) has its own: these checks are per run, like the
dicts they replace; what earlier runs exported is the state store's (`newscrawl.history.state`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

# SQLite's page cache for one RunKeys, in KiB: what of the keys may be held in memory.
CACHE_KIB = 2048


class RunKeys:
    """A str -> str mapping (or a set, with values left empty) for the length of one run."""

    def __init__(self, cache_kib: int = CACHE_KIB) -> None:
        # "" is a private temporary database: spilled to a deleted file beyond the cache.
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE keys (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._count = 0

    def get(self, key: str) -> str | None:
        """The value stored under `key`, or None."""
        row = self._db.execute("SELECT value FROM keys WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def first(self, keys: Iterable[str]) -> str | None:
        """The value of the first of `keys` that is stored, or None."""
        for key in keys:
            value = self.get(key)
            if value is not None:
                return value
        return None

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def add(self, key: str, value: str = "") -> str | None:
        """Store `value` under `key` unless it is there: None if added, else the value kept."""
        cursor = self._db.execute(
            "INSERT INTO keys (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (key, value),
        )
        if cursor.rowcount == 1:
            self._count += 1
            return None
        return self.get(key)

    def put(self, key: str, value: str) -> None:
        """Store `value` under `key`, replacing what was there."""
        if self.add(key, value) is not None:
            self._db.execute("UPDATE keys SET value = ? WHERE key = ?", (value, key))

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        """Drop the keys (the temporary database is deleted)."""
        self._db.close()
