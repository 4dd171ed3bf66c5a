"""The state store in Redis: what earlier runs exported, shared by distributed workers.

The same interface as the SQLite store (`newscrawl.history.state.StateStore`), chosen by a
`redis://` (or `rediss://`, `unix://`) `NEWSCRAWL_STATE`; distributed mode points it at
`NEWSCRAWL_REDIS_URL`. Keys, under a prefix (`?prefix=...` in the URL, default
`newscrawl:state:`):

* `page:<key>`: a hash per exported page (the `PageState` fields);
* `alias:<url>`: the key of the page a URL is known by;
* `content:<sha256>`: a sorted set of the pages with that body, scored by first export;
* `pages`: the set of all page keys;
* `band:<n>`: the set of page keys filed under LSH band key n (near duplicates), and
  `bands:<key>` the band keys of one page (to refile it when it changes).

A save is one MULTI/EXEC transaction. There is no lock: many workers share the store, and
Redis applies their writes one at a time. Durability is Redis's own (use `appendonly yes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from newscrawl.distributed.keys import client_options
from newscrawl.history.state import PageState, StateStore, StateStoreError

DEFAULT_PREFIX = "newscrawl:state:"
_FIELDS = (
    "key", "url", "content_sha256", "revision", "run_id", "first_seen", "last_fetched",
    "etag", "last_modified", "signature",
)  # fmt: skip


class RedisStateStore(StateStore):
    """PageState entries in Redis hashes; aliases and body hashes point to them."""

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.client: Any = client  # redis-py's stubs type replies as bytes | str | ...
        self.prefix = prefix

    @classmethod
    def from_url(cls, location: str) -> RedisStateStore:
        parts = urlsplit(location)
        query = dict(parse_qsl(parts.query))
        prefix = query.pop("prefix", DEFAULT_PREFIX)
        url = urlunsplit(parts._replace(query=urlencode(query)))
        client = redis.Redis.from_url(url, **client_options())
        try:
            client.ping()
        except redis.RedisError as exc:
            raise StateStoreError(f"state store {location} cannot be reached: {exc}") from None
        return cls(client, prefix)

    def _page(self, key: str) -> PageState | None:
        data: dict[bytes, bytes] = self.client.hgetall(self.prefix + "page:" + key)
        if not data:
            return None
        values = {name.decode(): value for name, value in data.items()}

        def text(name: str) -> str | None:
            value = values.get(name)
            return value.decode() if value is not None else None

        return PageState(
            key=key,
            url=text("url") or "",
            content_sha256=text("content_sha256") or "",
            revision=int(text("revision") or 1),
            run_id=text("run_id") or "",
            first_seen=text("first_seen") or "",
            last_fetched=text("last_fetched") or "",
            etag=text("etag"),
            last_modified=text("last_modified"),
            signature=values.get("signature"),
        )

    def lookup(self, keys: Iterable[str]) -> PageState | None:
        for key in keys:
            page = self._page(key)
            if page is not None:
                return page
            target = self.client.get(self.prefix + "alias:" + key)
            if target is not None:
                page = self._page(target.decode() if isinstance(target, bytes) else str(target))
                if page is not None:
                    return page
        return None

    def find_content(self, content_sha256: str) -> PageState | None:
        members = self.client.zrange(self.prefix + "content:" + content_sha256, 0, -1)
        for member in members:
            page = self._page(member.decode())
            if page is not None and page.content_sha256 == content_sha256:
                return page
        return None

    def save(self, page: PageState, aliases: Iterable[str], bands: Iterable[int] = ()) -> None:
        new_bands = [str(band) for band in bands]
        # Read outside the transaction: a band left stale by a concurrent save of the same
        # page only makes a candidate that the signature comparison then turns down.
        old_bands = self.client.smembers(self.prefix + "bands:" + page.key)
        mapping: dict[str, Any] = {}
        for name in _FIELDS:
            value = getattr(page, name)
            if value is not None:
                mapping[name] = value
        with self.client.pipeline(transaction=True) as pipe:
            key = self.prefix + "page:" + page.key
            pipe.delete(key)
            pipe.hset(key, mapping=mapping)
            pipe.sadd(self.prefix + "pages", page.key)
            pipe.zadd(
                self.prefix + "content:" + page.content_sha256,
                {page.key: _epoch(page.first_seen)},
                nx=True,
            )
            for alias in aliases:
                if alias != page.key:
                    pipe.set(self.prefix + "alias:" + alias, page.key)
            for band in old_bands:
                pipe.srem(self.prefix + "band:" + band.decode(), page.key)
            pipe.delete(self.prefix + "bands:" + page.key)
            for band in new_bands:
                pipe.sadd(self.prefix + "band:" + band, page.key)
            if new_bands:
                pipe.sadd(self.prefix + "bands:" + page.key, *new_bands)
            pipe.execute()

    def touch(self, key: str, fetched_at: str, etag: str | None, last_modified: str | None) -> None:
        name = self.prefix + "page:" + key
        if not self.client.exists(name):
            return
        update = {"last_fetched": fetched_at}
        if etag is not None:
            update["etag"] = etag
        if last_modified is not None:
            update["last_modified"] = last_modified
        self.client.hset(name, mapping=update)

    def similar(self, bands: Iterable[int]) -> Iterator[tuple[str, str, bytes]]:
        wanted = [self.prefix + "band:" + str(band) for band in bands]
        if not wanted:
            return
        members = self.client.sunion(wanted)
        keys = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
        with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(self.prefix + "page:" + key, ["url", "signature"])
            answers = pipe.execute()
        for key, (url, signature) in zip(keys, answers, strict=True):
            if url is not None and signature:
                yield key, url.decode(), signature

    def close(self) -> None:
        self.client.close()


def _epoch(timestamp: str) -> float:
    try:
        return datetime.fromisoformat(timestamp).timestamp()
    except ValueError:
        return 0.0
