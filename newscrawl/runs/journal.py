"""The run's journal: an append-only line for every input opened and every input settled.

`journal.jsonl` in the run directory is the record of "every input ends as exactly one
record" (its format is a public contract, see README "The journal"). One JSON object a line:

* `{"event": "attempt", "attempt": 1, "run_id": ..., "at": ...}` begins every attempt
  (the first start of a run, and each resume of it);
* `{"event": "opened", "n": 3, "input_id": "/data/urls.txt#4", "source": "https://..."}` when
  the spider takes responsibility for an input (`n`: its number in this attempt);
* `{"event": "settled", "n": 3, "input_id": ..., "outcome": "article", "file":
  "articles.jsonl", "line": 12, "offset": 40211, "length": 3507, "at": ...}` once the input's
  record line is written and flushed: `outcome` is `article`, the reject's reason, or
  `navigation` (a page crawled for its links: no `file`). An article's line also carries
  `keys` (its page keys, `history.urls.page_keys`) and `sha256` (its `content_sha256`), so a
  resume checks the state store without reading the record.

The settled line is written after the record line and before the record is acknowledged
anywhere else (the state store, the Redis frontier): it is the commit. So a record line with
no settled line (the process died in between), like a torn last record line, was never
committed: resume cuts it off and the input is processed again. A torn last journal line is
a settle that never happened, for the same reason. A `not_processed` settle (the run
stopped first) is void once the run resumes: resume cuts those rejects off (they are the
last lines of rejects.jsonl) and the inputs are processed.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

JOURNAL_FILE = "journal.jsonl"
RECORD_FILES = ("articles.jsonl", "rejects.jsonl")
NOT_PROCESSED = "not_processed"  # RejectReason.not_processed (schemas is not imported here)
NAVIGATION = "navigation"


class JournalError(RuntimeError):
    """A journal and the record files it describes disagree; the message says how."""


@dataclass(frozen=True, slots=True)
class Where:
    """Where a record line was written: its file, 1-based line number, byte offset, length."""

    file: str
    line: int
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class Settle:
    """One settled line of a journal, as read back."""

    n: int
    input_id: str | None
    outcome: str
    where: Where | None
    at: float
    keys: tuple[str, ...] = ()
    sha256: str | None = None
    source: str | None = None  # from the input's opened line, when the journal has it


class RecordFile:
    """A JSONL record file, appended to line by line, each line flushed before it is
    journaled; it knows the line number and byte offset of the next line."""

    def __init__(self, path: Path, lines: int = 0) -> None:
        self.name = path.name
        self._handle: IO[bytes] = path.open("ab")
        self.offset = self._handle.tell()
        self.lines = lines

    def append(self, line: str) -> Where:
        """Write one record line (without its newline) and flush it; where it went."""
        data = line.encode("utf-8") + b"\n"
        self._handle.write(data)
        self._handle.flush()
        self.lines += 1
        where = Where(self.name, self.lines, self.offset, len(data))
        self.offset += len(data)
        return where

    def close(self) -> None:
        self._handle.close()


class Journal:
    """The writing side: one flushed line per event, appended to `journal.jsonl`."""

    def __init__(self, path: Path, *, run_id: str, attempt: int) -> None:
        self.path = path
        self._handle: IO[bytes] = path.open("ab")
        self._write({"event": "attempt", "attempt": attempt, "run_id": run_id, "at": _now()})

    def opened(self, n: int, input_id: str | None, source: str) -> None:
        """The spider took responsibility for input `n` (`input_id`: its stable id)."""
        self._write({"event": "opened", "n": n, "input_id": input_id, "source": source})

    def settled(
        self,
        n: int,
        input_id: str | None,
        outcome: str,
        where: Where | None,
        *,
        keys: Iterable[str] = (),
        sha256: str | None = None,
    ) -> None:
        """Input `n` ended as `outcome`, its record line at `where` (None: navigation)."""
        line: dict[str, Any] = {
            "event": "settled", "n": n, "input_id": input_id, "outcome": outcome,
        }  # fmt: skip
        if where is not None:
            line.update(file=where.file, line=where.line, offset=where.offset, length=where.length)
        line["at"] = _now()
        if keys:
            line["keys"] = list(keys)
        if sha256 is not None:
            line["sha256"] = sha256
        self._write(line)

    def _write(self, line: dict[str, Any]) -> None:
        self._handle.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


@dataclass
class Replay:
    """What a journal says, read back: the settles that stand, in order."""

    settles: list[Settle] = field(default_factory=list)
    void: list[Settle] = field(default_factory=list)  # the last attempt's not_processed (resuming)
    attempts: int = 0
    size: int = 0  # bytes of complete lines
    torn: bool = False  # it ended with part of a line (the process died mid-write)


def replay(path: Path, *, resuming: bool = False) -> Replay:
    """Read a journal. Each new attempt voids the `not_processed` settles before it (that
    resume cut them off); with `resuming`, so does the attempt about to start."""
    result = Replay()
    sources: dict[int, str] = {}  # this attempt's opened inputs, by n
    for event in _events(path, result):
        kind = event.get("event")
        if kind == "attempt":
            if result.attempts:  # that resume cut them off already
                _drop_not_processed(result)
            result.attempts += 1
            sources = {}
        elif kind == "opened":
            sources[int(event["n"])] = str(event.get("source") or "")
        elif kind == "settled":
            result.settles.append(_settle(event, sources))
    if resuming:  # to be cut off now
        result.void = [s for s in result.settles if s.outcome == NOT_PROCESSED]
        _drop_not_processed(result)
    return result


def _events(path: Path, result: Replay) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                result.torn = True
                return
            try:
                event = json.loads(raw)
            except ValueError as exc:
                raise JournalError(f"{path}: line {number} is not JSON ({exc})") from None
            if not isinstance(event, dict):
                raise JournalError(f"{path}: line {number} is not a JSON object")
            result.size += len(raw)
            yield event


def _settle(event: dict[str, Any], sources: dict[int, str]) -> Settle:
    n = int(event["n"])
    where = (
        Where(str(event["file"]), int(event["line"]), int(event["offset"]), int(event["length"]))
        if event.get("file")
        else None
    )
    key = event.get("input_id")
    return Settle(
        n=n, input_id=str(key) if key is not None else None, outcome=str(event["outcome"]),
        where=where, at=float(event.get("at") or 0.0), keys=tuple(event.get("keys") or ()),
        sha256=event.get("sha256"), source=sources.get(n),
    )  # fmt: skip


def _drop_not_processed(result: Replay) -> None:
    result.settles = [s for s in result.settles if s.outcome != NOT_PROCESSED]


@dataclass
class Restored:
    """What resume cut off the record files and the journal, to match the journal."""

    lines: dict[str, int] = field(default_factory=dict)  # record file -> lines kept
    torn_lines: int = 0  # record files that ended with part of a line
    uncommitted: int = 0  # complete record lines with no settled line (died in between)
    not_processed: int = 0  # `not_processed` rejects of a stopped attempt
    torn_journal: bool = False


def restore(run_dir: Path, journal: Replay) -> Restored:
    """Cut each record file back to the last line the journal settled (and not voided),
    and the journal to its last complete line. Only what follows that point is read."""
    restored = Restored(torn_journal=journal.torn)
    for name in RECORD_FILES:
        path = run_dir / name
        kept = [s.where for s in journal.settles if s.where is not None and s.where.file == name]
        end = max((w.offset + w.length for w in kept), default=0)
        restored.lines[name] = max((w.line for w in kept), default=0)
        void = [s.where for s in journal.void if s.where is not None and s.where.file == name]
        if any(w.offset < end for w in void):
            raise JournalError(
                f"{path}: a not_processed reject lies before a kept record; cannot resume"
            )
        size = path.stat().st_size if path.exists() else 0
        if size < end:
            raise JournalError(
                f"{path} holds {size} bytes but {run_dir / JOURNAL_FILE} settled records up to"
                f" byte {end}: records were lost; cannot resume"
            )
        if size == end:
            continue
        with path.open("rb+") as handle:
            handle.seek(end)
            tail = handle.read()
            handle.truncate(end)
        restored.torn_lines += not tail.endswith(b"\n")
        restored.not_processed += len(void)
        restored.uncommitted += tail.count(b"\n") - len(void)
        logger.warning(
            "newscrawl: %s: %d byte(s) after the last record the journal settled cut off",
            path, len(tail),
        )  # fmt: skip
    journal_path = run_dir / JOURNAL_FILE
    if journal.torn:
        os.truncate(journal_path, journal.size)
        logger.warning("newscrawl: %s ended with a torn line; cut off", journal_path)
    return restored


def read_record(run_dir: Path, where: Where) -> bytes:
    """One record line, read at the place the journal gives."""
    with (run_dir / where.file).open("rb") as handle:
        handle.seek(where.offset)
        return handle.read(where.length)


def _now() -> float:
    return round(time.time(), 3)
