"""Opening the state store a location names: SQLite (one machine) or Redis (distributed mode)."""

from __future__ import annotations

from pathlib import Path

from newscrawl.history.state import SqliteStateStore, StateStore, StateStoreError


def open_store(location: str, busy_timeout: float = 30.0) -> StateStore:
    """The store at `location` (NEWSCRAWL_STATE): a SQLite file path, or a Redis URL.

    `busy_timeout`: how long a SQLite write waits for a lock another connection holds."""
    if location.startswith(("redis://", "rediss://", "unix://")):
        # Imported here: redis-py costs about 120 ms of start-up a crawl without Redis never needs.
        from newscrawl.history.state_redis import RedisStateStore

        return RedisStateStore.from_url(location)
    if "://" in location:
        raise StateStoreError(f"NEWSCRAWL_STATE={location}: only a SQLite file path is supported")
    return SqliteStateStore(Path(location), busy_timeout)
