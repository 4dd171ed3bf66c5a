"""What a finished run amounts to, read back from its files: the facts and the summary.

Everything here reads a run directory (`articles.jsonl`, `rejects.jsonl`, `run.json`) and
nothing from Scrapy, so the numbers describe what was written (a resumed run included), and
the previous run of the same spider can be read the same way for run-to-run drift
(`newscrawl.runs.drift`); the report's charts are drawn from the same facts
(`newscrawl.runs.report`).
Records are streamed: only a few small facts per record are kept, never the texts.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Rejects that say the site (or the network to it) failed us, for the error-rate exit status.
ERROR_REASONS = ("download_error", "http_error")
# ... and so does a robots_forbidden whose detail starts so (robots.txt 5xx or unreachable).
ROBOTS_UNAVAILABLE = "robots.txt unavailable"
# Rejects of inputs that were never requested: not part of the error rate's denominator.
NOT_REQUESTED = ("invalid_url", "duplicate_url", "not_processed", "seen_before")
# Rejects that are the normal outcome of a rerun or of a list with repeats, not failures: kept
# out of the failure rate (and drawn apart in the report), so a quiet rerun is not "drift".
BENIGN = ("seen_before", "unchanged", "duplicate_url", "duplicate_content", "near_duplicate")
TOP_DOMAINS = 5
LOCAL = "(local files)"
INVALID = "(no host)"


def domain_of(url: str | None, canonical: str | None = None) -> str:
    """The host a record belongs to: its URL's, or for a local file its canonical URL's.

    Local files without a canonical URL, and unparsable URLs, get a group of their own.
    """
    if not url:
        return INVALID
    try:
        parts = urlsplit(url)
    except ValueError:
        return INVALID
    if parts.scheme == "file":
        publisher = domain_of(canonical) if canonical else LOCAL
        return LOCAL if publisher in (INVALID, LOCAL) else publisher
    return parts.hostname or INVALID


def is_failure(reason: str) -> bool:
    """Whether a reject reason is a failure (not one of the benign outcomes in BENIGN)."""
    return reason not in BENIGN


@dataclass
class DomainFacts:
    articles: int = 0
    rejects: int = 0
    benign: int = 0  # rejects with a reason in BENIGN
    failures: int = 0  # requested pages that ended as a failure (not benign)
    not_requested: int = 0  # rejects of inputs never requested (NOT_REQUESTED)
    words: list[int] = field(default_factory=list)
    with_date: int = 0
    with_author: int = 0
    with_language: int = 0

    @property
    def pages(self) -> int:
        return self.articles + self.rejects

    def metrics(self) -> dict[str, Any]:
        """The per-domain numbers kept in run.json (shares are of articles, rates of pages;
        the failure rate of the pages requested, so a rerun's `seen_before` weighs nothing)."""
        n = self.articles
        requested = self.pages - self.not_requested
        return {
            "pages": self.pages,
            "articles": n,
            "rejects": self.rejects,
            "reject_rate": _share(self.rejects, self.pages),
            "benign": self.benign,
            "requested": requested,
            "failures": self.failures,
            "failure_rate": _share(self.failures, requested),
            "median_words": _median(self.words),
            "with_date": _share(self.with_date, n),
            "with_author": _share(self.with_author, n),
            "with_language": _share(self.with_language, n),
        }


@dataclass
class RunFacts:
    """The few facts per record that the summary, the report and the drift check need."""

    domains: dict[str, DomainFacts] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)
    words: list[int] = field(default_factory=list)
    published: Counter[str] = field(default_factory=Counter)  # "YYYY-MM-DD" -> articles
    unreadable_lines: int = 0
    robots_unavailable: int = 0  # robots_forbidden because robots.txt failed: a download error

    @property
    def articles(self) -> int:
        return len(self.words)

    @property
    def rejects(self) -> int:
        return sum(self.reasons.values())

    def domain(self, name: str) -> DomainFacts:
        return self.domains.setdefault(name, DomainFacts())

    def add_article(self, record: dict[str, Any]) -> None:
        facts = self.domain(domain_of(record.get("url"), record.get("canonical_url")))
        words = int(record.get("word_count") or len(str(record.get("text", "")).split()))
        facts.articles += 1
        facts.words.append(words)
        self.words.append(words)
        published = record.get("published_at")
        if published:
            facts.with_date += 1
            self.published[str(published)[:10]] += 1
        facts.with_author += bool(record.get("authors"))
        facts.with_language += bool(record.get("language"))

    def add_reject(self, record: dict[str, Any]) -> None:
        facts = self.domain(domain_of(record.get("url")))
        reason = str(record.get("reason"))
        facts.rejects += 1
        if reason in NOT_REQUESTED:
            facts.not_requested += 1
        if not is_failure(reason):
            facts.benign += 1
        elif reason not in NOT_REQUESTED:
            facts.failures += 1
        self.reasons[reason] += 1
        if reason == "robots_forbidden":
            self.robots_unavailable += str(record.get("detail", "")).startswith(ROBOTS_UNAVAILABLE)


def read_facts(run_dir: Path) -> RunFacts:
    """Stream a run's two record files (lines that are not JSON objects are only counted)."""
    facts = RunFacts()
    for record in _records(run_dir / "articles.jsonl", facts):
        facts.add_article(record)
    for record in _records(run_dir / "rejects.jsonl", facts):
        facts.add_reject(record)
    return facts


def _records(path: Path, facts: RunFacts) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict):
                yield record
            else:
                facts.unreadable_lines += 1


def summarise(
    facts: RunFacts, run: dict[str, Any], run_dir: Path, max_error_rate: float
) -> dict[str, Any]:
    """The human summary kept in run.json under "summary"."""
    domains = {name: f.metrics() for name, f in sorted(facts.domains.items())}
    by_count = sorted(domains.items(), key=lambda kv: (-kv[1]["pages"], kv[0]))
    by_rejects = sorted(
        (kv for kv in domains.items() if kv[1]["rejects"]),
        key=lambda kv: (-kv[1]["reject_rate"], -kv[1]["rejects"], kv[0]),
    )
    by_failures = sorted(
        (kv for kv in domains.items() if kv[1]["failures"]),
        key=lambda kv: (-kv[1]["failure_rate"], -kv[1]["failures"], kv[0]),
    )
    errors = sum(facts.reasons[r] for r in ERROR_REASONS) + facts.robots_unavailable
    requested = facts.articles + facts.rejects - sum(facts.reasons[r] for r in NOT_REQUESTED)
    share = _share(errors, requested)
    discovery = run.get("discovery")
    sources = discovery.get("sources", []) if isinstance(discovery, dict) else []
    failed = [s for s in sources if s.get("status") == "error"]
    return {
        "articles": facts.articles,
        "rejects": facts.rejects,
        "rejects_by_reason": dict(facts.reasons.most_common()),
        "benign_rejects": sum(n for r, n in facts.reasons.items() if not is_failure(r)),
        "median_words": _median(facts.words),
        "wall_time_seconds": _wall_time(run),
        "top_domains_by_count": [
            {"domain": d, "pages": m["pages"], "articles": m["articles"], "rejects": m["rejects"]}
            for d, m in by_count[:TOP_DOMAINS]
        ],
        "top_domains_by_reject_rate": [
            {
                "domain": d,
                "reject_rate": m["reject_rate"],
                "rejects": m["rejects"],
                "pages": m["pages"],
            }
            for d, m in by_rejects[:TOP_DOMAINS]
        ],
        "top_domains_by_failure_rate": [
            {
                "domain": d,
                "failure_rate": m["failure_rate"],
                "failures": m["failures"],
                "requested": m["requested"],
            }
            for d, m in by_failures[:TOP_DOMAINS]
        ],
        "error_rate": {
            "reasons": list(ERROR_REASONS),
            "robots_unavailable": facts.robots_unavailable,  # counted in errors too
            "errors": errors,
            "requested": requested,
            "share": share,
            "max": max_error_rate,
            "exceeded": share is not None and share > max_error_rate,
        },
        "domains": domains,
        **(
            {
                "discovery": {
                    "sources": len(sources),
                    "failed": len(failed),
                    "all_failed": bool(sources) and len(failed) == len(sources),
                }
            }
            if isinstance(discovery, dict)
            else {}
        ),
        "unreadable_lines": facts.unreadable_lines,
        "files": {
            "articles": str(run_dir / "articles.jsonl"),
            "rejects": str(run_dir / "rejects.jsonl"),
            "run": str(run_dir / "run.json"),
            "report": str(run_dir / "report.html"),
        },
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def _wall_time(run: dict[str, Any]) -> float | None:
    try:
        started = datetime.fromisoformat(run["started_at"])
        finished = datetime.fromisoformat(run["finished_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return round((finished - started).total_seconds(), 1)


def summary_lines(summary: dict[str, Any], flags: list[dict[str, Any]]) -> list[str]:
    """The end-of-run summary as plain text lines, for the terminal and cron mail."""
    lines = [
        f"{summary['articles']} articles, {summary['rejects']} rejects"
        f" in {_duration(summary['wall_time_seconds'])}"
        + (
            f"; median {summary['median_words']:.0f} words per article"
            if summary["median_words"] is not None
            else ""
        )
    ]
    if summary["rejects_by_reason"]:
        reasons = ", ".join(f"{r} {n}" for r, n in summary["rejects_by_reason"].items())
        lines.append(f"rejects by reason: {reasons}")
    if summary["top_domains_by_count"]:
        top = ", ".join(
            f"{d['domain']} {d['articles']}/{d['pages']}" for d in summary["top_domains_by_count"]
        )
        lines.append(f"top domains (articles/pages): {top}")
    benign = summary["benign_rejects"]
    if benign:
        named = ", ".join(
            f"{r} {n}" for r, n in summary["rejects_by_reason"].items() if not is_failure(r)
        )
        lines.append(
            f"of the rejects, {benign} benign ({named}) and {summary['rejects'] - benign} failures"
        )
    if summary["top_domains_by_failure_rate"]:
        top = ", ".join(
            f"{d['domain']} {d['failure_rate']:.0%} of {d['requested']} requested"
            for d in summary["top_domains_by_failure_rate"]
        )
        lines.append(f"highest failure rates: {top}")
    error = summary["error_rate"]
    if error["share"] is not None:
        verdict = "ABOVE" if error["exceeded"] else "within"
        lines.append(
            f"download/HTTP errors: {error['errors']} of {error['requested']} requested"
            f" ({error['share']:.0%}), {verdict} NEWSCRAWL_MAX_ERROR_RATE={error['max']:g}"
        )
    discovery = summary.get("discovery")
    if discovery and discovery["all_failed"]:
        lines.append(
            f"discovery FAILED: all {discovery['sources']} source(s) failed, nothing was"
            " discovered (see run.json: discovery.sources)"
        )
    for flag in flags:
        lines.append(
            f"DRIFT {flag['domain']}: {flag['metric']} {flag['previous']} -> {flag['current']}"
        )
    files = summary["files"]
    lines.append(f"files: {Path(files['run']).parent}/ (articles.jsonl, rejects.jsonl,"
                 " run.json, report.html)")  # fmt: skip
    return lines


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"
