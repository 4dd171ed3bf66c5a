"""`scrapy merge RUN_DIR`: one summary for a distributed run, accounting checked over the union.

RUN_DIR is `<output>/<spider>/<run_id>/` holding `inputs.jsonl` (written by `scrapy
enqueue`) and the workers' `part-<worker>/` directories (each with articles.jsonl,
rejects.jsonl, journal.jsonl and run.json). The workers' journals (`newscrawl.runs.journal`)
are united: every enqueued input must be settled exactly once across all parts, matched by
its global input number (`inputs.jsonl` → `input`, the settle's `input_id` `<run_id>#<n>`;
by its source URL for inputs listed without one). Record lines no journal settled (a worker
killed between writing a line and journaling it) are not part of the run. A `not_processed`
settle (a worker stopped with the input unfinished and handed it back) is dropped when
another worker settled the input; an input settled twice (a worker journaled its record,
then died before the acknowledgement reached Redis, and another worker took the input again)
keeps its first settle. The drops are counted in run.json: `superseded` (a `not_processed`,
or a later `seen_before` of the first settle's article, no killed worker involved),
`written_twice_by_killed_worker`, and in a warc run `written_twice_in_handed_back_files`
(another record of a file handed back after Ctrl-C and read again). Nothing is matched by a
record's text. Writes the union (the settled lines, copied as they are) to
RUN_DIR/articles.jsonl and rejects.jsonl, and RUN_DIR/run.json (counts, per worker,
accounting). Exit status 0 when the accounting holds, 3 when it does not, 4 when it holds
but the share of `download_error`/`http_error` rejects passed `NEWSCRAWL_MAX_ERROR_RATE` (as
`scrapy crawl` exits), 2 (usage error) when RUN_DIR is not a distributed run.

A `warc` run's inputs are WARC files (`scrapy enqueue --warcs`), whose records are only
known once scanned: the expectations are the workers' per-file reports (`warc-files.jsonl`,
`newscrawl.distributed.warcs.check_warc_files`), each record matched by its `input_id`
`<file>#<offset>`.

The discovery reports `scrapy enqueue --sitemaps/--domains/--feeds` wrote (`discovery-*.json`)
are added up into run.json's `discovery` (sources listed, filtered counts summed, `accepted`
summed, one line per enqueue under `enqueues`), as a single-machine discovery crawl has it.
Then the merged run gets what a single-machine run gets at its end, by the same code
(`newscrawl.runs.runreport.RunReport.finish`): `summary` and `drift` (against the
previous run of the spider in the output directory) in run.json, report.html (unless
`NEWSCRAWL_REPORT` is off), and the printed summary (unless `NEWSCRAWL_SUMMARY` is off).
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from newscrawl.commands.crawl import EXIT_ACCOUNTING_FAILED, EXIT_ERROR_RATE
from newscrawl.distributed.warcs import SPIDER as WARC_SPIDER
from newscrawl.distributed.warcs import WarcCheck, check_warc_files
from newscrawl.runs.journal import (
    JOURNAL_FILE,
    NAVIGATION,
    NOT_PROCESSED,
    RECORD_FILES,
    JournalError,
    Settle,
    replay,
)
from newscrawl.runs.runreport import RunReport
from schemas import SCHEMA_VERSION, RejectReason

SHOWN = 20  # missing / duplicated inputs listed in run.json


class Command(ScrapyCommand):
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}  # noqa: RUF012 - as Scrapy declares it

    def syntax(self) -> str:
        return "RUN_DIR"

    def short_desc(self) -> str:
        return "Merge a distributed run's part-* outputs; check every input has one record"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one run directory")
        assert self.settings is not None
        settings = self.settings
        merge_run(Path(args[0]))
        report = RunReport(
            _Stats(),  # type: ignore[arg-type]  # only set_value is used
            max_error_rate=settings.getfloat("NEWSCRAWL_MAX_ERROR_RATE"),
            drift_threshold=settings.getfloat("NEWSCRAWL_DRIFT_THRESHOLD"),
            drift_min_pages=settings.getint("NEWSCRAWL_DRIFT_MIN_PAGES"),
            write_report=settings.getbool("NEWSCRAWL_REPORT"),
            print_summary=settings.getbool("NEWSCRAWL_SUMMARY"),
        )
        summary = report.finish(Path(args[0]))
        accounting = summary["accounting"]
        counts = summary["counts"]
        print(
            f"newscrawl run {summary['run_id']} ({len(summary['workers'])} workers):"
            f" {accounting['inputs']} inputs -> {counts['articles']} articles,"
            f" {counts['rejects']} rejects; accounting {'ok' if accounting['ok'] else 'FAILED'}"
        )
        if not accounting["ok"]:
            print(
                f"missing: {accounting['missing']} inputs, duplicated:"
                f" {accounting['duplicated']} inputs; see {Path(args[0]) / 'run.json'}"
            )
            self.exitcode = EXIT_ACCOUNTING_FAILED
        elif summary["summary"]["error_rate"]["exceeded"]:  # as `scrapy crawl` exits
            self.exitcode = EXIT_ERROR_RATE


def merge_run(run_dir: Path) -> dict[str, Any]:
    """Merge the parts of `run_dir`; write the union and run.json; return the summary."""
    manifest = run_dir / "inputs.jsonl"
    if not manifest.is_file():
        raise UsageError(f"{manifest} not found: not a distributed run directory")
    expected: Counter[str] = Counter()
    sources: dict[str, str] = {}  # input key -> its URL (or raw line), to name it in run.json
    warc_files: dict[str, str] = {}  # a warc run's inputs are files: input key -> path
    with manifest.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                listed = json.loads(line)
                key = _input_key(run_dir.name, listed.get("input"), listed["source"])
                if run_dir.parent.name == WARC_SPIDER:
                    warc_files[key] = listed["source"]
                    continue
                expected[key] += 1
                sources[key] = listed["source"]
    parts = sorted(path for path in run_dir.glob("part-*") if path.is_dir())
    workers: dict[str, Any] = {}
    started: list[str] = []
    finished: list[str] = []
    reasons_seen: set[str] = set()
    settles: dict[str, list[tuple[Path, Settle]]] = {}  # input key -> its settles, all parts
    for part in parts:
        run_json = part / "run.json"
        info = json.loads(run_json.read_text(encoding="utf-8")) if run_json.exists() else None
        workers[part.name.removeprefix("part-")] = {
            "finish_reason": info.get("finish_reason") if info else None,
            "run_json": info is not None,  # false: the worker was killed before it ended
            "counts": info.get("counts") if info else None,
            "accounting_ok": info["accounting"]["ok"] if info else None,
        }
        if info:
            started.append(str(info.get("started_at") or ""))
            finished.append(str(info.get("finished_at") or ""))
        reasons_seen.add(str(info.get("finish_reason")) if info else "killed")
        journal = part / JOURNAL_FILE
        if not journal.exists():
            continue
        try:  # a killed worker's torn last line is a settle that never happened
            replayed = replay(journal)
        except JournalError as exc:
            raise UsageError(str(exc)) from None
        for settle in replayed.settles:
            if settle.outcome == NAVIGATION:
                continue
            key = settle.input_id or settle.source or ""
            settles.setdefault(key, []).append((part, settle))
    # A WARC file's records are known once it is scanned: its workers' reports say which.
    warc: WarcCheck | None = None
    if warc_files:
        warc = check_warc_files(run_dir, warc_files, settles)
        expected.update(warc.expected)
    kept: list[tuple[Path, Settle]] = []
    superseded = 0
    twice = 0
    handed_back = 0
    for key, found in settles.items():
        # A `not_processed` reject: the worker stopped and handed the input back; another
        # worker's record, if any, stands.
        done = [entry for entry in found if entry[1].outcome != NOT_PROCESSED]
        if done and len(found) > len(done):
            superseded += len(found) - len(done)
            found = done
        # Settled twice: a worker journaled the record, then died before its acknowledgement
        # reached Redis, and the input was handed to another (or, in a warc run, a worker
        # stopped mid-file handed the file back and another read it again). The first settle
        # stands: a later one is a redo, or the `seen_before` of the first one's article.
        limit = max(expected[key], 1)
        if len(found) > limit:
            found = sorted(found, key=lambda entry: (entry[1].at, entry[0].name))
            killed = any(not workers[p.name.removeprefix("part-")]["run_json"] for p, _ in found)
            for _part, settle in found[limit:]:
                if killed:
                    twice += 1
                elif settle.outcome == RejectReason.seen_before.value:
                    superseded += 1
                elif warc is not None:
                    handed_back += 1
                else:
                    twice += 1
            found = found[:limit]
        kept.extend(found)
    counted = Counter(s.input_id or s.source or "" for _part, s in kept)
    missing = sorted(sources.get(s, s) for s in expected if counted[s] < expected[s])
    missing += warc.missing if warc is not None else []
    duplicated = sorted(sources.get(s, s) for s in counted if counted[s] > expected[s])
    kept.sort(key=lambda entry: (entry[0].name, entry[1].where.offset if entry[1].where else 0))
    reasons: Counter[str] = Counter()
    articles = 0
    for name in RECORD_FILES:
        tmp = run_dir / (name + ".tmp")
        with tmp.open("wb") as out:
            source: tuple[Path, IO[bytes]] | None = None  # the part file being copied from
            for part, settle in kept:
                where = settle.where
                if where is None or where.file != name:
                    continue
                if source is None or source[0] != part:
                    if source is not None:
                        source[1].close()
                    source = (part, (part / name).open("rb"))
                source[1].seek(where.offset)
                out.write(source[1].read(where.length))
                if name == "articles.jsonl":
                    articles += 1
                else:
                    reasons[settle.outcome] += 1
            if source is not None:
                source[1].close()
        os.replace(tmp, run_dir / name)
    inputs = sum(expected.values()) if warc is None else warc.inputs
    ok = not missing and not duplicated and len(kept) == inputs
    summary = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_dir.name,
        "spider": run_dir.parent.name,
        "started_at": min(filter(None, started), default=None),
        "finished_at": max(filter(None, finished), default=None),
        # The workers' finish reasons: one word when they agree ("killed": a part without
        # run.json).
        "finish_reason": ", ".join(sorted(reasons_seen)) or None,
        "merged_at": datetime.now(UTC).isoformat(),
        "workers": workers,
        "files": {
            "articles": str(run_dir / "articles.jsonl"),
            "rejects": str(run_dir / "rejects.jsonl"),
        },
        "counts": {
            "inputs": inputs,
            "articles": articles,
            "rejects": len(kept) - articles,
            "rejects_by_reason": dict(sorted(reasons.items())),
        },
        "accounting": {
            "ok": ok,
            "rule": "every enqueued input ends as exactly one record across all workers' parts",
            "inputs": inputs,
            "records": len(kept),
            "superseded": superseded,
            "written_twice_by_killed_worker": twice,
            "missing": len(missing),
            "duplicated": len(duplicated),
            "missing_inputs": missing[:SHOWN],
            "duplicated_inputs": duplicated[:SHOWN],
            **(
                {"written_twice_in_handed_back_files": handed_back, "warc_files": warc.accounting}
                if warc is not None
                else {}
            ),
        },
        **({"discovery": warc.discovery} if warc is not None else merged_discovery(run_dir)),
    }
    tmp = run_dir / "run.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, run_dir / "run.json")
    return summary


def _input_key(run_id: str, number: object, source: str) -> str:
    """How a listed input and its record are matched: `<run_id>#<global input number>`, the
    record's `input_id`; by the source URL for inputs listed without a number."""
    return f"{run_id}#{number}" if number is not None else source


def merged_discovery(run_dir: Path) -> dict[str, Any]:
    """The enqueues' discovery reports added up, as `discovery` of a single-machine run."""
    reports = []
    for path in sorted(run_dir.glob("discovery-*.json")):
        try:
            reports.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            continue  # a report being written (or torn by a kill): its inputs still count
    if not reports:
        return {}
    sources: list[dict[str, Any]] = []
    filtered: Counter[str] = Counter()
    accepted = 0
    enqueues = []
    for path, report in reports:
        discovery = report.get("discovery", {})
        sources.extend(discovery.get("sources", []))
        filtered.update(discovery.get("filtered", {}))
        accepted += int(discovery.get("accepted", 0))
        enqueues.append(
            {
                "report": path.name,
                "spider": report.get("spider"),
                "arguments": report.get("arguments"),
                "accepted": discovery.get("accepted"),
                "finish_reason": report.get("finish_reason"),
            }
        )
    return {
        "discovery": {
            "sources": sources,
            "accepted": accepted,
            "filtered": dict(sorted(filtered.items())),
            "enqueues": enqueues,
        }
    }


class _Stats:
    """What RunReport.finish needs of a stats collector, outside a crawl."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value
