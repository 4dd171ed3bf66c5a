"""Feeding the frontier (`scrapy enqueue`): feeder registration and batches pushed once."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from typing import IO, Any, Self

from newscrawl.distributed.keys import PUSH_ONCE, REDIS_ERRORS, Keys, connect, join_run

logger = logging.getLogger(__name__)


class Feeding:
    """An enqueue in progress: registered as a feeder, its key refreshed by a thread.

    While it is registered the run stays current (workers starting meanwhile join it) and the
    workers do not stop for an empty frontier. A killed enqueue's key expires after the lease.
    """

    def __init__(self, url: str, keys: Keys, lease: float, run_id: str = "") -> None:
        self.keys = keys
        self.lease = max(1.0, lease)
        self.name = f"enqueue-{socket.gethostname()}-{os.getpid()}"
        self.client: Any = connect(url)
        self.client.ping()
        self.run_id = join_run(self.client, keys, "", run_id, feeder=self.name, lease=self.lease)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="newscrawl-feeding", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                self.client.sadd(self.keys.feeders, self.name)
                self.client.set(
                    self.keys.feeding(self.name), self.run_id, px=int(self.lease * 1000)
                )
            except REDIS_ERRORS as exc:
                logger.warning("newscrawl: Redis unavailable on the feeding heartbeat: %s", exc)

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self.client.srem(self.keys.feeders, self.name)
            self.client.delete(self.keys.feeding(self.name))
        except REDIS_ERRORS:
            pass  # the key expires after the lease
        self.client.close()


@dataclass(slots=True)
class NewInput:
    """One input for the frontier before it has its global id."""

    source: str  # the URL, or the raw line when it is not a URL
    key: str | None  # its URL key (repeats within the run); None for a line that is not a URL
    info: dict[str, Any]  # the entry's `newscrawl` meta, without the input id


def queue_inputs(
    client: Any,
    keys: Keys,
    run_id: str,
    batch: list[NewInput],
    manifest: IO[str],
    *,
    skip_repeats: bool,
) -> tuple[int, int]:
    """Give a batch its global ids and first-seen marks, list it, then queue it once.

    A URL already queued in this run is marked `duplicate_of` (a URL-file line: it must end as
    a `duplicate_url` reject) or, with `skip_repeats` (discovery: a repeat is only counted),
    left out. Safe against a Redis restart between executing and answering: the first-seen
    mark carries this batch's token (a retried HSETNX that finds its own mark is no repeat), and
    the push is guarded by a marker key (a retried push pushes nothing); a retried INCRBY only
    leaves a gap in the ids. Returns (queued, left out as repeats).
    """
    token = uuid.uuid4().hex
    url_keys = keys.url_keys(run_id)
    with client.pipeline(transaction=False) as pipe:
        for index, item in enumerate(batch):
            if item.key is not None:
                pipe.hsetnx(url_keys, item.key, f"{token}:{index}\n{item.source}")
                pipe.hget(url_keys, item.key)
        answers = iter(pipe.execute())
    kept: list[NewInput] = []
    repeats = 0
    for index, item in enumerate(batch):
        if item.key is not None:
            next(answers)  # HSETNX's reply: not to be trusted after a retry; the mark is
            value = _text(next(answers))
            mark, _, first = value.partition("\n") if "\n" in value else ("", "", value)
            if mark != f"{token}:{index}":
                if skip_repeats:
                    repeats += 1
                    continue
                item.info["duplicate_of"] = first
        kept.append(item)
    if not kept:
        return 0, repeats
    last = int(client.incrby(keys.input_ids(run_id), len(kept)))
    first_id = last - len(kept)
    entries = []
    for offset, item in enumerate(kept):
        item.info["input"] = first_id + offset
        entries.append(json.dumps({"url": item.source, "meta": {"newscrawl": item.info}}))
    # Listed before queued: an input queued but not listed would escape `scrapy merge`.
    manifest.writelines(
        json.dumps({"input": item.info["input"], "source": item.source}) + "\n" for item in kept
    )
    manifest.flush()
    client.eval(PUSH_ONCE, 2, keys.start, keys.pushed(run_id, token), *entries)
    return len(kept), repeats


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")
