"""`scrapy reprocess RUN_DIR [--compare]`: today's extraction over a run's WARC archive.

The run must have been crawled with `-s NEWSCRAWL_ARCHIVE=true`. Every response in its
`archive/` ends as one record of a new run (`<NEWSCRAWL_OUTPUT_DIR>/reprocess/<run_id>/`,
run.json `discovery.reprocessed_from` names the original), through the same extraction,
validation and in-run de-duplication, without network access (`ReplayMiddleware` refuses
every request it cannot answer from the archive). History is not consulted: the original
run exported these very pages, so the reprocessed run has a state store of its own,
discarded afterwards. Exit statuses as for `scrapy crawl`.

`--compare` prints, per field, how many records changed against the original run's records
of the same archived responses (matched by WARC file and offset).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError

from newscrawl.commands import crawl
from newscrawl.commands.crawl import EXIT_CANNOT_START

# Fields that say where and by whom a record was made, not what the page is.
PROVENANCE_FIELDS = frozenset({"input_id", "spider", "warc"})


class Command(crawl.Command):
    def syntax(self) -> str:
        return "RUN_DIR [--compare]"

    def short_desc(self) -> str:
        return "Re-extract a run's archived responses (NEWSCRAWL_ARCHIVE) into a new run"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--compare", action="store_true", help="print what changed, per field")

    def _create_crawler(self, spname: type[Spider] | str) -> Crawler:
        self._crawler: Crawler = super()._create_crawler(spname)
        return self._crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one run directory")
        assert self.settings is not None
        original = Path(args[0])
        if not (original / "archive").is_dir():
            print(
                f"newscrawl: {original} has no archive/ directory: only a run crawled with"
                " -s NEWSCRAWL_ARCHIVE=true can be reprocessed",
            )
            self.exitcode = EXIT_CANNOT_START
            return
        opts.spargs = {**getattr(opts, "spargs", {}), "run": str(original)}
        with tempfile.TemporaryDirectory(prefix="newscrawl-reprocess-") as state_dir:
            self.settings.set(
                "NEWSCRAWL_STATE", str(Path(state_dir) / "state.sqlite3"), priority="cmdline"
            )
            super().run(["reprocess"], opts)
        crawler = getattr(self, "_crawler", None)
        new_dir = (
            crawler.stats.get_value("newscrawl/run_dir") if crawler and crawler.stats else None
        )
        if opts.compare and new_dir:
            print(format_comparison(compare_runs(original, Path(new_dir))))


def _records(run_dir: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """A run's records of archived responses, by (resolved WARC file, offset)."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for name in ("articles.jsonl", "rejects.jsonl"):
        path = run_dir / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            warc = record.get("warc")
            if not warc:
                continue
            file = Path(warc["file"])
            resolved = file if file.is_absolute() else (run_dir / file).resolve()
            found[(str(resolved), int(warc["offset"]))] = record
    return found


def without_provenance(record: dict[str, Any]) -> dict[str, Any]:
    """A record without the fields that say where it was made (also in its partial record)."""
    kept = {k: v for k, v in record.items() if k not in PROVENANCE_FIELDS}
    if isinstance(kept.get("record"), dict):
        kept["record"] = without_provenance(kept["record"])
    return kept


def _outcome(record: dict[str, Any]) -> str:
    return str(record["reason"]) if "reason" in record else "article"


def compare_runs(original: Path, new: Path) -> dict[str, Any]:
    """What changed between the records of the same archived responses in two runs."""
    before, after = _records(original), _records(new)
    outcomes: Counter[str] = Counter()
    fields: Counter[str] = Counter()
    identical = 0
    for key, old in before.items():
        now = after.get(key)
        if now is None:
            continue
        if _outcome(old) != _outcome(now):
            outcomes[f"{_outcome(old)} -> {_outcome(now)}"] += 1
        old, now = without_provenance(old), without_provenance(now)
        changed = {name for name in set(old) | set(now) if old.get(name) != now.get(name)}
        fields.update(changed)
        identical += not changed
    return {
        "original": str(original),
        "reprocessed": str(new),
        "matched": len(before.keys() & after.keys()),
        "only_original": len(before.keys() - after.keys()),
        "only_reprocessed": len(after.keys() - before.keys()),
        "identical": identical,
        "outcomes_changed": dict(sorted(outcomes.items())),
        "fields_changed": dict(sorted(fields.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def format_comparison(summary: dict[str, Any]) -> str:
    """The comparison as the lines `--compare` prints."""
    lines = [
        f"compared {summary['matched']} archived responses:"
        f" {summary['original']} -> {summary['reprocessed']}",
        f"  identical (but for {', '.join(sorted(PROVENANCE_FIELDS))}): {summary['identical']}",
        f"  only in the original run: {summary['only_original']};"
        f" only in the reprocessed run: {summary['only_reprocessed']}",
    ]
    for change, count in summary["outcomes_changed"].items():
        lines.append(f"  outcome {change}: {count}")
    if summary["fields_changed"]:
        lines.append("  records changed, per field:")
        width = max(len(name) for name in summary["fields_changed"])
        for name, count in summary["fields_changed"].items():
            lines.append(f"    {name:<{width}}  {count}")
    return "\n".join(lines)
