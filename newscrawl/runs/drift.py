"""Run-to-run drift: each domain's metrics against the latest earlier run that had enough.

The earlier runs are read as `newscrawl.runs.summary` reads this one (their run.json summary,
else their records), so a resumed or merged run compares like any other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from newscrawl.runs.summary import read_facts

# Earlier runs drift looks back through for a domain with enough pages (a quiet rerun has none).
DRIFT_LOOKBACK = 10


def previous_run(run_dir: Path) -> Path | None:
    """The latest earlier run of the same spider in the same output directory (by run id)."""
    earlier = previous_runs(run_dir, 1)
    return earlier[0] if earlier else None


def previous_runs(run_dir: Path, limit: int = DRIFT_LOOKBACK) -> list[Path]:
    """The `limit` latest earlier runs of the same spider in the same output directory,
    the latest first (by run id)."""
    parent = run_dir.parent
    if not parent.is_dir() or run_dir.name.startswith("part-"):
        return []  # a distributed worker's part: its siblings are the same run's other parts
    earlier = sorted(
        p for p in parent.iterdir() if p.name < run_dir.name and (p / "run.json").is_file()
    )
    return earlier[::-1][:limit]


def domain_metrics_of(run_dir: Path) -> dict[str, dict[str, Any]]:
    """A run's per-domain metrics: from its run.json summary, else read from its records
    (also when the summary predates a metric: the runs are then compared like with like)."""
    try:
        run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        domains = run["summary"]["domains"]
        if isinstance(domains, dict) and all("failure_rate" in m for m in domains.values()):
            return domains
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return {name: f.metrics() for name, f in read_facts(run_dir).domains.items()}


# metric: (what a bad change is, how the change is measured, the count both runs need)
DRIFT_METRICS = {
    "median_words": ("drop", "relative", "articles"),
    "with_date": ("drop", "absolute", "articles"),
    "with_author": ("drop", "absolute", "articles"),
    "failure_rate": ("rise", "absolute", "requested"),
}


def drift(
    current: dict[str, dict[str, Any]],
    previous: dict[str, dict[str, Any]] | None,
    previous_id: str | None,
    threshold: float,
    min_pages: int,
    earlier: Sequence[tuple[str, dict[str, dict[str, Any]]]] = (),
) -> dict[str, Any]:
    """Per-domain change against the previous run; large drops (or failure-rate rises) flagged.

    Like is compared with like: a metric of articles (median text length, shares with a date
    / an author) when both runs have at least `min_pages` articles from the domain; the
    failure rate (failed among the pages requested; benign outcomes such as `seen_before`
    are neither) when both runs requested at least `min_pages` of its pages. So a rerun that
    fetches nothing compares nothing, and the next run is compared, metric by metric, with
    the latest run that had enough: `previous` (run `previous_id`), else the first of
    `earlier` (run id, metrics; latest first) that does. The median text length is flagged
    when it falls by more than `threshold` of its previous value; the shares when they fall
    by more than `threshold` (e.g. 0.25 = 25 points); the failure rate when it rises by more.
    """
    result: dict[str, Any] = {
        "previous_run": previous_id,
        "threshold": threshold,
        "min_pages": min_pages,
        "domains": {},
        "flags": [],
    }
    if previous is None:
        return result
    history = [(previous_id or "", previous), *earlier]
    for name, now in sorted(current.items()):
        changes: dict[str, Any] = {}
        for metric, (bad, how, count) in DRIFT_METRICS.items():
            new = now.get(metric)
            if new is None or now.get(count, 0) < min_pages:
                continue
            found = next(
                (
                    (run_id, metrics[name][metric])
                    for run_id, metrics in history
                    if metrics.get(name, {}).get(count, 0) >= min_pages
                    and metrics[name].get(metric) is not None
                ),
                None,
            )
            if found is None:
                continue
            run_id, old = found
            change = (new - old) / old if how == "relative" and old else new - old
            flagged = change < -threshold if bad == "drop" else change > threshold
            changes[metric] = {
                "previous": old, "current": new, "change": round(change, 3), "flagged": flagged,
                "run": run_id,
            }  # fmt: skip
            if flagged:
                result["flags"].append({"domain": name, "metric": metric, **changes[metric]})
        if changes:
            result["domains"][name] = changes
    return result
