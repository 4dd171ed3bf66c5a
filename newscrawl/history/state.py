"""The state store: what earlier runs exported, so a rerun fetches only what is new.

One entry per exported page, keyed by its canonical URL (`newscrawl.history.urls.page_key`), with
the other URLs it is known by as aliases: first seen, last fetched, ETag / Last-Modified,
`content_sha256`, revision, the run that exported it, and a MinHash signature for
near-duplicate detection, found through its LSH band keys (`newscrawl.history.neardup`), so finding
near copies reads a few rows instead of holding every signature in memory. Only exported
articles are saved (by the writer, after their line is written), so a killed run never
marks an unwritten page as seen.

`StateStore` is the interface (small, so a Redis store can follow); `SqliteStateStore` the
default: WAL journal, one transaction per save, and an exclusive lock file held for the whole
crawl (released by the OS even on SIGKILL), so a second crawl on the same store refuses to
start instead of interleaving with the first.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

STORE_FORMAT = "2"  # 2: LSH bands table; 1 (no bands) is upgraded on open


class StateStoreError(RuntimeError):
    """The state store cannot be used; the message says why and what to do."""


class StateLockedError(StateStoreError):
    """Another crawl holds the state store."""


@dataclass(frozen=True, slots=True)
class PageState:
    """One exported page as the store remembers it."""

    key: str
    url: str
    content_sha256: str
    revision: int
    run_id: str
    first_seen: str
    last_fetched: str
    etag: str | None = None
    last_modified: str | None = None
    signature: bytes | None = None


class StateStore(ABC):
    """What reruns need from a store; every method is one atomic operation."""

    @abstractmethod
    def lookup(self, keys: Iterable[str]) -> PageState | None:
        """The page known by any of `keys` (its key or an alias), or None."""

    @abstractmethod
    def find_content(self, content_sha256: str) -> PageState | None:
        """The first-exported page with this body hash, or None."""

    @abstractmethod
    def save(self, page: PageState, aliases: Iterable[str], bands: Iterable[int] = ()) -> None:
        """Insert or replace a page, point `aliases` at it and file it under its signature's
        LSH `bands` (replacing earlier ones), atomically."""

    @abstractmethod
    def touch(self, key: str, fetched_at: str, etag: str | None, last_modified: str | None) -> None:
        """Note a refetch that found the page unchanged (new validators, if any)."""

    @abstractmethod
    def similar(self, bands: Iterable[int]) -> Iterator[tuple[str, str, bytes]]:
        """(key, url, signature) of the pages filed under any of these LSH bands."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release the store (and its lock)."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    revision INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_fetched TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    signature BLOB
);
CREATE INDEX IF NOT EXISTS pages_by_content ON pages (content_sha256, first_seen);
CREATE TABLE IF NOT EXISTS aliases (
    alias TEXT PRIMARY KEY,
    key TEXT NOT NULL REFERENCES pages (key) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS bands (
    band INTEGER NOT NULL,
    key TEXT NOT NULL REFERENCES pages (key) ON DELETE CASCADE,
    PRIMARY KEY (band, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bands_by_key ON bands (key);
"""
_COLUMNS = (
    "key, url, content_sha256, revision, run_id, first_seen, last_fetched, etag,"
    " last_modified, signature"
)


class SqliteStateStore(StateStore):
    """The default store: one SQLite file (WAL), locked by `<file>.lock` while open."""

    def __init__(self, path: Path, busy_timeout: float = 30.0) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = exclusive_lock(
            path.with_name(path.name + ".lock"),
            f"state store {path}",
            "or give this crawl its own store with -s NEWSCRAWL_STATE=PATH",
        )
        try:
            self._db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
            if row is None or row[0] == "1":  # format 1 lacks only the bands table, made above
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('format', ?)", (STORE_FORMAT,)
                )
            elif row[0] != STORE_FORMAT:
                raise StateStoreError(
                    f"state store {path} has format {row[0]}, this newscrawl reads {STORE_FORMAT}"
                )
        except sqlite3.DatabaseError as exc:
            self._lock.close()
            raise StateStoreError(f"state store {path} cannot be opened: {exc}") from None
        except BaseException:
            self._lock.close()
            raise

    def lookup(self, keys: Iterable[str]) -> PageState | None:
        for key in keys:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM pages WHERE key = ?"
                f" UNION ALL SELECT {_prefixed('p')} FROM aliases a JOIN pages p"
                " ON p.key = a.key WHERE a.alias = ? LIMIT 1",
                (key, key),
            ).fetchone()
            if row is not None:
                return PageState(*row)
        return None

    def find_content(self, content_sha256: str) -> PageState | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM pages WHERE content_sha256 = ?"
            " ORDER BY first_seen, key LIMIT 1",
            (content_sha256,),
        ).fetchone()
        return PageState(*row) if row is not None else None

    def save(self, page: PageState, aliases: Iterable[str], bands: Iterable[int] = ()) -> None:
        values = (
            page.key, page.url, page.content_sha256, page.revision, page.run_id,
            page.first_seen, page.last_fetched, page.etag, page.last_modified, page.signature,
        )  # fmt: skip
        with _transaction(self._db):
            self._db.execute(
                f"INSERT INTO pages ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET url = excluded.url,"
                " content_sha256 = excluded.content_sha256, revision = excluded.revision,"
                " run_id = excluded.run_id, last_fetched = excluded.last_fetched,"
                " etag = excluded.etag, last_modified = excluded.last_modified,"
                " signature = excluded.signature",
                values,
            )
            self._db.executemany(
                "INSERT INTO aliases (alias, key) VALUES (?, ?)"
                " ON CONFLICT (alias) DO UPDATE SET key = excluded.key",
                [(alias, page.key) for alias in aliases if alias != page.key],
            )
            self._db.execute("DELETE FROM bands WHERE key = ?", (page.key,))
            self._db.executemany(
                "INSERT OR IGNORE INTO bands (band, key) VALUES (?, ?)",
                [(band, page.key) for band in bands],
            )

    def touch(self, key: str, fetched_at: str, etag: str | None, last_modified: str | None) -> None:
        with _transaction(self._db):
            self._db.execute(
                "UPDATE pages SET last_fetched = ?, etag = coalesce(?, etag),"
                " last_modified = coalesce(?, last_modified) WHERE key = ?",
                (fetched_at, etag, last_modified, key),
            )

    def similar(self, bands: Iterable[int]) -> Iterator[tuple[str, str, bytes]]:
        wanted = list(bands)
        if not wanted:
            return
        cursor = self._db.execute(
            "SELECT p.key, p.url, p.signature FROM pages p WHERE p.signature IS NOT NULL"
            " AND p.key IN (SELECT key FROM bands WHERE band IN"
            f" ({', '.join('?' * len(wanted))})) ORDER BY p.first_seen, p.key",
            wanted,
        )
        yield from cursor

    def close(self) -> None:
        try:
            self._db.close()
        finally:
            self._lock.close()


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in _COLUMNS.split(","))


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def exclusive_lock(lock_path: Path, what: str, alternative: str) -> IO[str]:
    """Hold `lock_path` (flock) until the returned file is closed or the process ends.

    StateLockedError names `what` and the holder's pid when another process holds it.
    """
    handle = lock_path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise StateLockedError(
                f"{what} is in use by another crawl (pid {holder}); wait for it to finish,"
                f" {alternative}"
            ) from None
        raise
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
