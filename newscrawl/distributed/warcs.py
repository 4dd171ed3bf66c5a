"""Distributed mode over WARC files: one frontier entry per file, one file per claim.

A CC-NEWS month is a few hundred files of about 1 GB; many machines work through it by each
taking whole files from the shared frontier.

* **Enqueue** (`scrapy enqueue --warcs PATH|GLOB[,...]`, `enqueue_warcs`): every file gets
  one entry on `warc:start_urls`, with its global input id and the run's filters
  (`--domains`, `--since`, `--allow`, `--deny`, validated as `crawl warc` validates them), and
  a line in the run's `inputs.jsonl`. A pattern matching no file, or a file that does not
  begin with a WARC record, is a usage error naming it (exit status 2), and nothing is queued.
  Workers open the files by the absolute path given here: on several machines the files must
  be at that path on each (a shared or replicated filesystem).
* **Workers** (`scrapy crawl warc -s NEWSCRAWL_REDIS_URL=...`, `WarcClaims`): claim one file
  (the same atomic `LMOVE` into the worker's in-flight list as any entry), scan it with the
  single-machine spider's own code (`WarcSpider.file_inputs`: same classification, filters,
  tear detection; every record's `input_id` stays `<file>#<offset>`), and claim the next file
  once the scan is done. The file's entry is acknowledged only once every input of the file
  has its line written and the file's report (records by kind, filters, tear, the number of
  inputs and a digest of their offsets) is written and fsynced as one line of the part's
  `warc-files.jsonl`. A worker killed mid-file leaves the entry in its in-flight list; a
  survivor reclaims it after the lease and reads the whole file again.
* **Merge** (`check_warc_files`, called by `scrapy merge`): how many records a file holds is
  only known once it is scanned, so the workers' `warc-files.jsonl` are the expectations:
  every listed file must have a report, and the distinct `<file>#<offset>` ids of the records
  must be exactly the reported number, with the same offsets digest. Records of one id
  written twice (by a worker killed before its acknowledgement, and by the survivor) are
  counted once, by merge's usual rules.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import logging
import os
import sys
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from newscrawl.distributed.feeding import Feeding, NewInput, queue_inputs
from newscrawl.distributed.keys import REDIS_ERRORS, START_KEY, Keys, pause
from newscrawl.history.urls import redacted
from newscrawl.items import RejectItem
from newscrawl.spiders.params import SpiderArgumentError, WarcParams, as_options, parse_params

logger = logging.getLogger(__name__)

SPIDER = "warc"
FILES_NAME = "warc-files.jsonl"  # in each part: one line per WARC file finished there
FILTERS = ("domains", "since", "allow", "deny")  # the warc spider's filters, set at enqueue
BATCH = 1000  # entries per Redis round trip
EXIT_CANNOT_START = 1

# --- enqueue ---------------------------------------------------------------------------------


def enqueue_warcs(settings: BaseSettings, opts: argparse.Namespace, args: list[str]) -> int:
    """`scrapy enqueue --warcs ...`: queue one entry per WARC file; the exit status."""
    if opts.spider not in (None, SPIDER):
        raise UsageError(f"--warcs feeds the warc spider's frontier, not --spider {opts.spider}")
    others = [f"--{name}" for name in ("sitemaps", "feeds") if getattr(opts, name) is not None]
    others += ["--max-articles"] if opts.max_articles is not None else []
    others += ["URL files"] if args else []
    if others:
        raise UsageError(f"--warcs does not go with {', '.join(others)}")
    filters = {name: getattr(opts, name) for name in FILTERS if getattr(opts, name) is not None}
    try:
        parse_params(WarcParams, {"warcs": opts.warcs, **filters})
    except SpiderArgumentError as exc:
        raise UsageError(as_options(str(exc))) from None
    files = warc_files(opts.warcs.split(","))
    url = settings.get("NEWSCRAWL_REDIS_URL")
    if not url:
        raise UsageError("set -s NEWSCRAWL_REDIS_URL=redis://host:6379/0")
    keys = Keys(SPIDER, settings.get("REDIS_START_URLS_KEY") or START_KEY)
    try:
        feeding = Feeding(
            url, keys, settings.getfloat("NEWSCRAWL_REDIS_LEASE"),
            settings.get("NEWSCRAWL_RUN_ID") or "",
        )  # fmt: skip
    except REDIS_ERRORS as exc:
        print(f"newscrawl: cannot reach Redis at {redacted(url)}: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    with feeding:
        run_id = feeding.run_id
        run_dir = Path(settings.get("NEWSCRAWL_OUTPUT_DIR")) / SPIDER / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        with (run_dir / "inputs.jsonl").open("a", encoding="utf-8") as manifest:
            queued, repeats = queue_warcs(feeding.client, keys, run_id, files, filters, manifest)
    print(f"run {run_id}: {queued} WARC files queued on {keys.start} ({redacted(url)})")
    if repeats:
        print(f"  {repeats} already queued in this run: not queued again")
    print(f"inputs: {run_dir / 'inputs.jsonl'}")
    return 0


def warc_files(patterns: Iterable[str]) -> list[Path]:
    """The files named (paths or glob patterns), resolved, in order, each once; a pattern
    matching no file, or a file that is not a WARC file, is a usage error naming them all."""
    found: list[Path] = []
    problems: list[str] = []
    for pattern in (p.strip() for p in patterns):
        if not pattern:
            continue
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        paths = [Path(m).resolve() for m in matches if Path(m).is_file()]
        if not paths:
            problems.append(f"no WARC file matches {pattern!r}")
        found.extend(p for p in paths if p not in found)
    for path in found:
        why = not_warc(path)
        if why is not None:
            problems.append(f"{path}: {why}")
    if problems:
        raise UsageError("--warcs: " + "; ".join(problems) + " (nothing queued)")
    return found


def not_warc(path: Path) -> str | None:
    """Why `path` is not a WARC file (its first record must begin `WARC/`), or None."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError as exc:
        return f"cannot read it: {exc}"
    if not head:
        return "empty file"
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, 64)
        except zlib.error as exc:
            return f"not a readable gzip file: {exc}"
    if not head.startswith(b"WARC/"):
        return "does not begin with a WARC record (no WARC/<version> line)"
    return None


def queue_warcs(
    client: Any,
    keys: Keys,
    run_id: str,
    files: list[Path],
    filters: dict[str, str],
    manifest: IO[str],
) -> tuple[int, int]:
    """One entry per file, with its global input id and the run's filters, listed in
    `inputs.jsonl` before it is queued; a file already queued in this run is left out.
    Returns (queued, left out as repeats)."""
    queued = repeats = 0
    for start in range(0, len(files), BATCH):
        batch = [
            NewInput(
                str(path),
                f"warc:{path}",
                {
                    "run": run_id,
                    "line": None,
                    "source": path.as_uri(),
                    "warc": str(path),
                    "filters": filters,
                },
            )
            for path in files[start : start + BATCH]
        ]
        done, again = queue_inputs(client, keys, run_id, batch, manifest, skip_repeats=True)
        queued += done
        repeats += again
    return queued, repeats


# --- workers ---------------------------------------------------------------------------------


@dataclass(slots=True)
class FileClaim:
    """One claimed WARC file: its entry, and its inputs not yet written."""

    entry: bytes
    path: Path
    input: str  # its global input id, `<run_id>#<n>`
    pending: set[int] = field(default_factory=set)
    offsets: list[int] = field(default_factory=list)
    report: dict[str, Any] | None = None  # set once the scan is done


class ClaimingWorker(Protocol):
    """What `WarcClaims` uses of the `Distributed` add-on that holds it (which imports this
    module, so it is described here rather than imported)."""

    client: Any
    keys: Keys
    worker: str
    claimed: int
    idle_close: float
    crawler: Any
    _closing: bool

    def frontier_busy(self) -> bool: ...
    def _ack(self, entry: bytes) -> None: ...
    def _requeue_orphans(self) -> None: ...


class WarcClaims:
    """A distributed `warc` worker's inputs: one claimed file at a time, acknowledged once all
    of its records are written and its report is on disk (held by the `Distributed` add-on)."""

    def __init__(self, addon: ClaimingWorker) -> None:
        self.addon = addon
        self.claims: list[FileClaim] = []
        self.by_input: dict[int, FileClaim] = {}
        self.finished = 0
        self._files: IO[str] | None = None

    def entries(self) -> list[bytes]:
        """The entries of the files claimed and not yet acknowledged."""
        return [claim.entry for claim in self.claims]

    async def inputs(self, spider: Any) -> AsyncIterator[Any]:
        """The spider's start: each claimed file's inputs, until the frontier is idle long
        enough (as the add-on's own loop for URL entries)."""
        addon = self.addon
        params = getattr(spider, "params", None)
        given = [name for name in FILTERS if getattr(params, name, None) is not None]
        if given:
            logger.error(
                "newscrawl: a distributed warc worker takes each file's filters from its entry"
                " (scrapy enqueue --warcs ... --domains/--since/--allow/--deny); -a %s ignored",
                ", ".join(given),
            )
        idle_since: float | None = None
        while not addon._closing:
            entry: bytes | None = None
            try:
                entry = addon.client.lmove(
                    addon.keys.start, addon.keys.inflight(addon.worker), "LEFT", "RIGHT"
                )
                if entry is None and not self.claims:
                    addon._requeue_orphans()
                busy = entry is not None or bool(self.claims) or addon.frontier_busy()
            except REDIS_ERRORS as exc:
                logger.warning("newscrawl: Redis unavailable, waiting: %s", exc)
                busy = True
            if entry is not None:
                addon.claimed += 1
                idle_since = None
                for output in self._claim(spider, entry):
                    yield output
                continue
            now = time.monotonic()
            if busy:
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since >= addon.idle_close:
                logger.info(
                    "newscrawl: frontier empty for %.0fs; worker %s stops",
                    addon.idle_close, addon.worker,
                )  # fmt: skip
                return
            await pause(0.2)

    def _claim(self, spider: Any, entry: bytes) -> Iterator[Any]:
        """One file's inputs, each noted as pending on the claim before it is handed on."""
        try:
            info = json.loads(entry)["meta"]["newscrawl"]
            path = Path(info["warc"])
            params = parse_params(WarcParams, {"warcs": str(path), **(info.get("filters") or {})})
        except (ValueError, KeyError, TypeError) as exc:  # SpiderArgumentError is a ValueError
            logger.error("newscrawl: not a WARC file entry (%s): %r", exc, entry)
            self.addon._ack(entry)
            return
        claim = FileClaim(entry, path, f"{info.get('run')}#{info.get('input')}")
        self.claims.append(claim)
        logger.info("newscrawl: worker %s claimed %s (%s)", self.addon.worker, path, claim.input)
        for output in spider.file_inputs(path, params):
            input_id = (
                output.input_id if isinstance(output, RejectItem) else output.meta["input_id"]
            )
            key = spider.ledger.key(input_id) or ""
            claim.offsets.append(int(key.rpartition("#")[2] or -1))
            claim.pending.add(input_id)
            self.by_input[input_id] = claim
            yield output
        claim.report = spider.file_reports[-1]
        self._finish_if_done(claim)

    def written(self, input_id: int) -> None:
        """An input's line is written: its file may now be finished."""
        claim = self.by_input.pop(input_id, None)
        if claim is not None:
            claim.pending.discard(input_id)
            self._finish_if_done(claim)

    def _finish_if_done(self, claim: FileClaim) -> None:
        """Scanned and every input written: the report on disk, then the acknowledgement."""
        if claim.report is None or claim.pending:
            return
        line = {
            "input": claim.input,
            "worker": self.addon.worker,
            "finished_at": datetime.now(UTC).isoformat(),
            **claim.report,
            "offsets_sha256": offsets_digest(claim.offsets),
        }
        handle = self._files_log()
        handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
        self.addon._ack(claim.entry)
        self.claims.remove(claim)
        self.finished += 1
        stats = self.addon.crawler.stats
        assert stats is not None
        stats.inc_value("newscrawl/distributed/warc_files_finished")

    def _files_log(self) -> IO[str]:
        if self._files is None:
            stats = self.addon.crawler.stats
            assert stats is not None
            run_dir = stats.get_value("newscrawl/run_dir")  # the part, opened by the writer
            if not run_dir:
                raise RuntimeError("the run directory is not open: no writer pipeline?")
            self._files = (Path(run_dir) / FILES_NAME).open("a", encoding="utf-8")
        return self._files

    def close(self) -> None:
        if self._files is not None:
            self._files.close()
            self._files = None


def offsets_digest(offsets: Iterable[int]) -> str:
    """A file's inputs, by the offsets of their records: sha256 of the sorted offsets."""
    return hashlib.sha256(",".join(map(str, sorted(offsets))).encode()).hexdigest()


# --- merge -----------------------------------------------------------------------------------


@dataclass
class WarcCheck:
    """What `scrapy merge` expects of a distributed warc run, from the workers' file reports."""

    expected: Counter[str]  # one per `<file>#<offset>` found for a reported file
    inputs: int  # the inputs the reports count
    missing: list[str]  # what is missing, described
    accounting: dict[str, Any]
    discovery: dict[str, Any]
    finishers: dict[str, str] = field(default_factory=dict)  # file -> the worker that finished it

    def finisher(self, record_id: str) -> str | None:
        """The worker that finished the file of a record `<file>#<offset>`, if any did."""
        return self.finishers.get(record_id.rpartition("#")[0])


def check_warc_files(run_dir: Path, listed: dict[str, str], record_ids: Iterable[str]) -> WarcCheck:
    """Every listed file (input key -> path) reported finished, with exactly its records.

    A file can be reported twice (its worker was killed after the report, before the
    acknowledgement): the reports must agree. Its records are matched by `<file>#<offset>`.
    """
    reports: dict[str, dict[str, Any]] = {}
    conflicting: list[str] = []
    for part in sorted(p for p in run_dir.glob("part-*") if p.is_dir()):
        log = part / FILES_NAME
        if not log.is_file():
            continue
        data = log.read_text(encoding="utf-8")
        for line in data[: data.rfind("\n") + 1].splitlines():  # a torn last line: not done
            report = json.loads(line)
            first = reports.setdefault(report["path"], report)
            same = (first["inputs"], first["offsets_sha256"])
            if same != (report["inputs"], report["offsets_sha256"]):
                conflicting.append(report["path"])
    found: dict[str, set[int]] = {}
    for record_id in record_ids:
        file, sep, offset = record_id.rpartition("#")
        if sep and file in reports and offset.isdigit():
            found.setdefault(file, set()).add(int(offset))
    expected: Counter[str] = Counter()
    missing: list[str] = []
    unfinished: list[str] = []
    incomplete: list[str] = []
    unreadable: list[str] = []
    inputs = 0
    files: list[dict[str, Any]] = []
    by_kind: Counter[str] = Counter()
    filtered: Counter[str] = Counter()
    for path in listed.values():
        report = reports.get(path)
        if report is None:
            unfinished.append(path)
            missing.append(f"{path}: no worker finished this WARC file")
            files.append({"path": path, "status": "unfinished"})
            continue
        files.append(report)
        by_kind.update(report.get("by_kind", {}))
        filtered.update(report.get("filtered", {}))
        inputs += int(report["inputs"])
        offsets = found.get(path, set())
        expected.update(f"{path}#{offset}" for offset in offsets)
        if report["status"] == "unreadable":
            unreadable.append(path)
            missing.append(f"{path}: worker {report.get('worker')}: {report.get('detail')}")
        elif (
            len(offsets) != report["inputs"] or offsets_digest(offsets) != report["offsets_sha256"]
        ):
            incomplete.append(path)
            missing.append(f"{path}: records for {len(offsets)} of its {report['inputs']} inputs")
    for path in sorted(set(conflicting)):
        missing.append(f"{path}: workers' reports of this file disagree (did it change?)")
    accounting = {
        "rule": (
            "every enqueued WARC file reported finished by a worker (warc-files.jsonl), and"
            " one record for each of the inputs it reports"
        ),
        "listed": len(listed),
        "finished": len(listed) - len(unfinished),
        "unfinished": unfinished,
        "incomplete": incomplete,
        "unreadable": unreadable,
        "conflicting": sorted(set(conflicting)),
    }
    discovery = {
        "warc_files": files,
        "records": dict(sorted(by_kind.items())),
        "filtered": dict(sorted(filtered.items())),
    }
    finishers = {path: str(report.get("worker")) for path, report in reports.items()}
    return WarcCheck(expected, inputs, missing, accounting, discovery, finishers)
