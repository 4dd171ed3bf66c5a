"""`scrapy merge RUN_DIR`: one summary for a distributed run, accounting checked over the union.

RUN_DIR is `<output>/<spider>/<run_id>/` holding `inputs.jsonl` (written by `scrapy enqueue`)
and the workers' `part-<worker>/` directories (each with articles.jsonl, rejects.jsonl and
run.json). Every enqueued input must have exactly one record across all parts, matched by
its global input number (`inputs.jsonl` → `input`, the record's `input_id` `<run_id>#<n>`;
by the record's `requested_url`, else its `url`, for records without one). A `not_processed`
reject (a worker stopped with the input unfinished and handed it back) is dropped when
another worker wrote the input's record; so is a `seen_before` naming this same run (a worker
was killed after writing the article but before saying so, and the input, handed to another
worker, found the page already exported). An input still with two records, one of them from a
killed worker (a part without run.json: it died between writing a record and acknowledging
it), keeps the other worker's; both drops are counted in run.json. Writes the union to
RUN_DIR/articles.jsonl and rejects.jsonl, and RUN_DIR/run.json (counts, per worker,
accounting). Exit status 0 when the accounting holds, 3 when it does not, 4 when it holds but
the share of `download_error`/`http_error` rejects passed `NEWSCRAWL_MAX_ERROR_RATE` (as
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
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from newscrawl.commands.crawl import EXIT_ACCOUNTING_FAILED, EXIT_ERROR_RATE
from newscrawl.distributed.warcs import SPIDER as WARC_SPIDER
from newscrawl.distributed.warcs import WarcCheck, check_warc_files
from newscrawl.runs.runreport import RunReport
from schemas import SCHEMA_VERSION

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
    records: list[tuple[str, bool, str, dict[str, Any]]] = []  # source, article, line, record
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
        for name, is_article in (("articles.jsonl", True), ("rejects.jsonl", False)):
            path = part / name
            if not path.exists():
                continue
            data = path.read_text(encoding="utf-8")
            complete = data[: data.rfind("\n") + 1]  # a killed worker's torn last line
            for line in complete.splitlines():
                record = json.loads(line)
                source = str(record.get("requested_url") or record.get("url") or "")
                source = record.get("input_id") or source  # its global input id (schema 1.2)
                record["_killed"] = info is None
                record["_worker"] = part.name.removeprefix("part-")
                records.append((source, is_article, line, record))
    # A WARC file's records are known once it is scanned: its workers' reports say which.
    warc: WarcCheck | None = None
    if warc_files:
        warc = check_warc_files(run_dir, warc_files, (source for source, *_ in records))
        expected.update(warc.expected)
    found: Counter[str] = Counter(source for source, *_ in records)
    drop: set[int] = set()
    same_run = f"exported in run {run_dir.name}/part-"
    superseded = 0
    for index, (source, is_article, _line, record) in enumerate(records):
        reason = record.get("reason")
        if (
            not is_article
            and found[source] > expected[source]
            and (
                reason == "not_processed"
                or (reason == "seen_before" and same_run in record.get("detail", ""))
            )
        ):
            found[source] -= 1
            superseded += 1
            drop.add(index)
    # Still twice: a killed worker wrote the record but died before acknowledging it, and
    # the input was handed to another worker. The survivor's copy is kept.
    from_killed = 0
    for index, (source, _article, _line, record) in enumerate(records):
        if index not in drop and found[source] > expected[source] and record["_killed"]:
            found[source] -= 1
            from_killed += 1
            drop.add(index)
    # Still twice in a warc run: a worker stopped (Ctrl-C) mid-file handed the file back and
    # another read it again. The records of the worker that finished the file are kept.
    handed_back = 0
    for index, (source, _article, _line, record) in enumerate(records):
        if (
            warc is not None
            and index not in drop
            and found[source] > expected[source]
            and warc.finisher(source) not in (None, record["_worker"])
        ):
            found[source] -= 1
            handed_back += 1
            drop.add(index)
    kept = [entry for index, entry in enumerate(records) if index not in drop]
    missing = sorted(sources.get(s, s) for s in expected if found[s] < expected[s])
    missing += warc.missing if warc is not None else []
    duplicated = sorted(sources.get(s, s) for s in found if found[s] > expected[s])
    reasons: Counter[str] = Counter()
    for name, want in (("articles.jsonl", True), ("rejects.jsonl", False)):
        tmp = run_dir / (name + ".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            for _source, is_article, line, record in kept:
                if is_article == want:
                    out.write(line + "\n")
                    if not want:
                        reasons[str(record.get("reason"))] += 1
        os.replace(tmp, run_dir / name)
    articles = sum(1 for _s, is_article, *_ in kept if is_article)
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
            "written_twice_by_killed_worker": from_killed,
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
