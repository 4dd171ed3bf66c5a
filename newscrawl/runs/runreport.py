"""After the writer: the run's summary and drift in run.json, report.html, the printed summary.

This runs at `engine_stopped`, which Scrapy sends after every `spider_closed` handler (so
after `JsonLinesWriter` has settled the leftovers and written run.json). It reads the written
files back rather than counting items as they pass: the numbers are then those of the files
an analyst opens (a resumed run's earlier lines included), the same code reads the previous
run for drift, and the writer stays about writing.

It adds "summary" and "drift" to run.json (rewritten atomically), writes report.html (unless
`NEWSCRAWL_REPORT` is off), prints the summary on stdout (unless `NEWSCRAWL_SUMMARY` is off),
and leaves `newscrawl/error_rate_exceeded` and `newscrawl/discovery_failed` (every source of
a discovery spider failed) in the stats for the crawl command's exit status.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from newscrawl.runs.drift import domain_metrics_of, drift, previous_runs
from newscrawl.runs.report import render_report
from newscrawl.runs.summary import read_facts, summarise, summary_lines

logger = logging.getLogger(__name__)


class RunReport:
    """Scrapy extension: summary, drift and report of the finished run."""

    def __init__(
        self,
        stats: StatsCollector,
        *,
        max_error_rate: float,
        drift_threshold: float,
        drift_min_pages: int,
        write_report: bool,
        print_summary: bool,
    ) -> None:
        self.stats = stats
        self.max_error_rate = max_error_rate
        self.drift_threshold = drift_threshold
        self.drift_min_pages = drift_min_pages
        self.write_report = write_report
        self.print_summary = print_summary

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        assert crawler.stats is not None
        extension = cls(
            crawler.stats,
            max_error_rate=settings.getfloat("NEWSCRAWL_MAX_ERROR_RATE"),
            drift_threshold=settings.getfloat("NEWSCRAWL_DRIFT_THRESHOLD"),
            drift_min_pages=settings.getint("NEWSCRAWL_DRIFT_MIN_PAGES"),
            write_report=settings.getbool("NEWSCRAWL_REPORT"),
            print_summary=settings.getbool("NEWSCRAWL_SUMMARY"),
        )
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_stopped(self) -> None:
        where = self.stats.get_value("newscrawl/run_dir")
        if not where or not (Path(where) / "run.json").is_file():
            return  # the run never started writing: nothing to summarise
        self.finish(Path(where))

    def finish(self, run_dir: Path) -> dict[str, Any]:
        """Summarise the run in run_dir; returns the updated run.json content."""
        run_file = run_dir / "run.json"
        run = json.loads(run_file.read_text(encoding="utf-8"))
        facts = read_facts(run_dir)
        summary = summarise(facts, run, run_dir, self.max_error_rate)
        earlier = [(path.name, domain_metrics_of(path)) for path in previous_runs(run_dir)]
        changes = drift(
            summary["domains"],
            earlier[0][1] if earlier else None,
            earlier[0][0] if earlier else None,
            self.drift_threshold,
            self.drift_min_pages,
            earlier[1:],
        )
        if not self.write_report:
            summary["files"].pop("report")
        run["summary"] = summary
        run["drift"] = changes
        tmp = run_dir / "run.json.tmp"
        tmp.write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, run_file)
        if self.write_report:
            html = render_report(run, summary, changes, facts)
            (run_dir / "report.html").write_text(html, encoding="utf-8")
        exceeded = bool(summary["error_rate"]["exceeded"])
        self.stats.set_value("newscrawl/error_rate_exceeded", exceeded)
        discovery = summary.get("discovery")
        if discovery is not None:
            self.stats.set_value("newscrawl/discovery_failed", discovery["all_failed"])
            if discovery["all_failed"]:
                logger.error(
                    "newscrawl: every discovery source failed (%d); nothing was discovered",
                    discovery["sources"],
                )
        self.stats.set_value("newscrawl/drift_flags", len(changes["flags"]))
        for flag in changes["flags"]:
            logger.warning(
                "newscrawl: drift on %s: %s %s -> %s since run %s",
                flag["domain"], flag["metric"], flag["previous"], flag["current"], flag["run"],
            )  # fmt: skip
        if exceeded:
            error = summary["error_rate"]
            logger.error(
                "newscrawl: %d of %d requested pages failed to download (%.0f%%), above"
                " NEWSCRAWL_MAX_ERROR_RATE=%g",
                error["errors"], error["requested"], 100 * error["share"], error["max"],
            )  # fmt: skip
        if self.print_summary:
            title = f"newscrawl run {run.get('run_id')} ({run.get('spider')}):"
            lines = [title, *summary_lines(summary, changes["flags"]), *_stopped_lines(run)]
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
        return run


def _stopped_lines(run: dict[str, Any]) -> list[str]:
    """For a run stopped before it finished: what stopped it, and the command finishing it."""
    stopped = run.get("stopped")
    if not stopped:
        return []
    lines = [
        f"STOPPED before it finished ({stopped['by']}; finish reason {stopped['reason']}):"
        f" {stopped['not_processed']} input(s) not_processed"
    ]
    if stopped.get("resume_command"):
        lines.append(f"resume with: {stopped['resume_command']}")
    return lines
