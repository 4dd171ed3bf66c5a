"""Score article-body extractors on a corpus of real pages, side by side.

Why: tuning the extraction step by eye on a handful of pages hides regressions.
This script runs ``newscrawl``'s own extractor next to off-the-shelf baselines
(trafilatura in three modes, readability-lxml) on the same pages, with the
shingle-based metric of the Article Extraction Benchmark, so that a change can be
judged by numbers and by the pages it gets most wrong.

Corpora (``--corpus DIR``, repeatable; default both development corpora in
``../shared/corpus``): the Article Extraction Benchmark's layout (``DIR/html/<id>.html.gz``
and ``DIR/ground-truth.json`` mapping ``id`` to ``{"url": ..., "articleBody": ...}``) and
fundus's (``DIR/pages/<key>.html.gz`` and ``DIR/expected.jsonl``, whose body is scored as
its summary, section headlines and paragraphs joined by blank lines). Corpora are only
read, never copied.

The metric (see :func:`score_page` and :func:`aggregate`): both texts become word
tokens (regex ``\\w+``, case kept) and multisets of 4-token shingles. TP counts
shingles in common (with multiplicity), FP the extra ones in the extraction, FN
those missing from it, all three divided by TP+FP+FN. Page precision is
TP/(TP+FP), page recall TP/(TP+FN). PRECISION is the mean page precision over
pages whose extraction is non-empty, RECALL the mean page recall over all pages
(an empty extraction has recall 0), F1 the harmonic mean of those two means.

Every extractor gets the same decoded ``str`` (see :func:`decode_html`), so that
they are compared on identical input and decoding stays out of the timings. Time
is CPU time (``time.process_time``) of the extraction call and its conversion to
plain text, after one untimed warm-up call per extractor; the extractors take
turns page by page, so a busy machine slows them all alike and their CPU ratio
stays meaningful.

Per corpus it prints the score table, newscrawl against plain ``trafilatura.extract``
page by page (pages better, worse, and any more than 0.3 page F1 below it), which of
newscrawl's text sources (``precision``, ``guard``, ``balanced``, ``json_ld``) each page
came from, the pages whose F1 moved since an earlier run (``--diff old.json``: how a rule
is judged on both corpora), and the worst pages with the lines missed and extra. Then
the metadata scores of ``benchmarks/metadata_eval.py`` (when present) and of the golden
fixtures, and the targets of issues 13 and 16 (see :func:`check_targets` and
:func:`check_cpu`): body F1 >= 0.990 on aeb-dev and >= 0.97 on fundus-dev, no page more
than 0.3 page F1 below plain trafilatura, and CPU per page at most 0.8x plain
``trafilatura.extract`` (default mode) over all pages.

Usage::

    .venv/bin/python benchmarks/extraction_eval.py                  # both corpora, all targets
    .venv/bin/python benchmarks/extraction_eval.py --check          # exit 1 if a target fails
    .venv/bin/python benchmarks/extraction_eval.py --json before.json   # then, after a change:
    .venv/bin/python benchmarks/extraction_eval.py --diff before.json   # the pages it changed
    .venv/bin/python benchmarks/extraction_eval.py --corpus DIR --only newscrawl,trafilatura
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: the harness is imported from the repo
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.harness.corpus import decode_html, default_corpora, is_corpus, load_corpus  # noqa: E402
from benchmarks.harness.extractors import (  # noqa: E402
    CPU_REFERENCE,
    EXTRACTOR_NAMES,
    build_extractors,
    load_newscrawl,
    result_field,
)
from benchmarks.harness.runs import ExtractorRun, PageResult, run_extractors  # noqa: E402
from benchmarks.harness.scoring import (  # noqa: E402
    SHINGLE_SIZE,
    token_shingles,
    tokenize,
)

WORST_COUNT = 10
SNIPPETS_PER_KIND = 3
SNIPPET_CHARS = 100
# A line counts as missed/extra when less than this share of its shingles is
# found on the other side.
LINE_PRESENT_SHARE = 0.5

# Targets of issues 13 and 16: body F1 per corpus (by directory name; another corpus
# gets DEFAULT_TARGET_F1), no page far below plain trafilatura, and CPU per page against
# plain ``trafilatura.extract`` (default mode) over all pages of the run.
TARGET_F1_BY_CORPUS = {"aeb-dev": 0.990, "fundus-dev": 0.97}
DEFAULT_TARGET_F1 = 0.97
MAX_BELOW_REFERENCE = 0.3
MAX_CPU_RATIO = 0.8
CPU_RATIO_CEILING = 1.0
LOW_F1 = 0.5
DEFAULT_EXTRACTORS = ("newscrawl", "trafilatura", "trafilatura_precision", "readability")
# A page whose F1 moved by more than this between two runs counts as changed (--diff).
CHANGE_EPSILON = 0.005


# --------------------------------------------------------------------------- run


# --------------------------------------------------------------------------- report


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render rows as a plain left/right aligned text table."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for index, row in enumerate([headers, *rows]):
        cells = [
            cell.ljust(width) if col == 0 else cell.rjust(width)
            for col, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def print_summary(runs: Sequence[ExtractorRun]) -> None:
    """Print the per-extractor score table."""
    rows = []
    for run in runs:
        s = run.summary()
        rows.append(
            [
                run.name,
                f"{s['precision']:.3f}",
                f"{s['recall']:.3f}",
                f"{s['f1']:.3f}",
                f"{s['cpu_ms_per_page']:.1f}",
                f"{s['empty']}/{s['pages']}",
                str(s["errors"]),
            ]
        )
    headers = ["extractor", "precision", "recall", "F1", "CPU ms/page", "empty", "errors"]
    print(format_table(headers, rows))


def text_units(text: str) -> list[str]:
    """Split a text into lines, and long lines into sentences, for diff snippets."""
    units: list[str] = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        if len(line) <= 2 * SNIPPET_CHARS:
            units.append(line)
        else:
            units.extend(part for part in re.split(r"(?<=[.!?])\s+", line) if part)
    return units


def absent_units(text: str, other: str) -> list[str]:
    """Return the lines/sentences of ``text`` mostly absent from ``other``.

    A unit of at least SHINGLE_SIZE tokens is absent when less than
    LINE_PRESENT_SHARE of its shingles are left in ``other``: shingles are used
    up in document order, so a line repeated in ``text`` but present once in
    ``other`` is reported, as the metric counts it. A shorter unit (a dateline,
    a caption) is absent when its tokens do not occur in a row in ``other``,
    since its single short shingle could never match a full-size one.
    """
    other_tokens = tokenize(other)
    remaining = token_shingles(other_tokens)
    other_joined = f" {' '.join(other_tokens)} "
    absent = []
    for unit in text_units(text):
        tokens = tokenize(unit)
        if not tokens:
            continue
        if len(tokens) < SHINGLE_SIZE:
            if f" {' '.join(tokens)} " not in other_joined:
                absent.append(unit)
            continue
        unit_shingles = token_shingles(tokens)
        found = unit_shingles & remaining
        remaining -= found
        if sum(found.values()) / sum(unit_shingles.values()) < LINE_PRESENT_SHARE:
            absent.append(unit)
    return absent


def snippet(text: str) -> str:
    """Shorten a text to about SNIPPET_CHARS characters for display."""
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


def print_worst(run: ExtractorRun) -> None:
    """Print the pages where ``run`` scored the lowest page F1, with what went wrong."""
    worst = sorted(run.results, key=lambda r: (r.score.f1, r.page.page_id))[:WORST_COUNT]
    for rank, result in enumerate(worst, 1):
        score = result.score
        precision = "—" if score.precision is None else f"{score.precision:.2f}"
        print(
            f"\n{rank}. {result.page.page_id[:12]}  F1 {score.f1:.2f}  "
            f"P {precision}  R {score.recall:.2f}"
        )
        print(f"   {result.page.url}")
        if result.error:
            print(f"   error: {snippet(result.error)}")
        missed = absent_units(result.page.truth, result.text)
        extra = absent_units(result.text, result.page.truth)
        for label, units in (("missed", missed), ("extra", extra)):
            if not units:
                continue
            print(f"   {label} ({len(units)} lines):")
            for unit in units[:SNIPPETS_PER_KIND]:
                print(f"     - {snippet(unit)}")


def run_payload(runs: Sequence[ExtractorRun], checks: Sequence[TargetCheck] = ()) -> dict[str, Any]:
    """The summary, target checks and every page score of one corpus's runs, as JSON data."""
    return {
        "summary": {run.name: run.summary() for run in runs},
        "targets": [
            {"name": c.name, "value": c.value, "limit": c.limit, "met": c.met} for c in checks
        ],
        "pages": {
            run.name: [
                {
                    "id": r.page.page_id,
                    "url": r.page.url,
                    "precision": r.score.precision,
                    "recall": r.score.recall,
                    "f1": r.score.f1,
                    "tp": r.score.tp,
                    "fp": r.score.fp,
                    "fn": r.score.fn,
                    "cpu_ms": r.cpu_ms,
                    "empty": r.score.extraction_empty,
                    "error": r.error,
                    "source": r.source,
                }
                for r in run.results
            ]
            for run in runs
        },
    }


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write the run's JSON data (one :func:`run_payload` per corpus, the overall targets)."""
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- comparisons


def pages_below(
    ours: ExtractorRun, reference: ExtractorRun, margin: float = MAX_BELOW_REFERENCE
) -> list[tuple[PageResult, PageResult]]:
    """Pages where ``ours`` scores more than ``margin`` page F1 under ``reference``, worst first."""
    theirs = {r.page.page_id: r for r in reference.results}
    below = [
        (mine, theirs[mine.page.page_id])
        for mine in ours.results
        if mine.page.page_id in theirs
        and theirs[mine.page.page_id].score.f1 - mine.score.f1 > margin
    ]
    return sorted(
        below, key=lambda pair: (pair[0].score.f1 - pair[1].score.f1, pair[0].page.page_id)
    )


def print_comparison(ours: ExtractorRun, reference: ExtractorRun) -> None:
    """Print how ``ours`` compares with ``reference`` page by page, and the pages far below it."""
    theirs = {r.page.page_id: r for r in reference.results}
    deltas = [
        (mine.score.f1 - theirs[mine.page.page_id].score.f1, mine)
        for mine in ours.results
        if mine.page.page_id in theirs
    ]
    better = sum(1 for delta, _ in deltas if delta > CHANGE_EPSILON)
    worse = sum(1 for delta, _ in deltas if delta < -CHANGE_EPSILON)
    print(
        f"{ours.name} vs {reference.name}: {better} pages better, {worse} worse, "
        f"{len(deltas) - better - worse} level (page F1 within {CHANGE_EPSILON})"
    )
    for delta, mine in sorted(deltas, key=lambda pair: pair[0])[: SNIPPETS_PER_KIND * 2]:
        if delta >= -CHANGE_EPSILON:
            break
        print(f"  worse by {-delta:.2f}: {mine.page.page_id}  ({mine.score.f1:.2f})")
    below = pages_below(ours, reference)
    print(f"pages more than {MAX_BELOW_REFERENCE} page F1 below {reference.name}: {len(below)}")
    for mine, other in below:
        print(
            f"  - {mine.page.page_id}  {mine.score.f1:.2f} vs {other.score.f1:.2f}  {mine.page.url}"
        )


def print_sources(run: ExtractorRun) -> None:
    """Print which pages each of newscrawl's text sources (fallbacks) produced."""
    by_source: dict[str, list[str]] = {}
    for result in run.results:
        by_source.setdefault(result.source or "?", []).append(result.page.page_id)
    for source, ids in sorted(by_source.items(), key=lambda item: -len(item[1])):
        shown = ", ".join(ids[:8]) + (", …" if len(ids) > 8 else "")
        print(f"  {source}: {len(ids)} pages" + ("" if source == "precision" else f" ({shown})"))


def print_diff(run: ExtractorRun, previous: Mapping[str, Any] | None) -> None:
    """Print the pages whose F1 moved since a previous run's JSON for the same corpus.

    This is how a rule is judged: run once without it (``--json before.json``), once with
    it (``--diff before.json``), and read the pages it changes in each corpus.
    """
    if previous is None:
        print("no previous figures for this corpus in the --diff file")
        return
    before = {p["id"]: p for p in previous.get("pages", {}).get(run.name, [])}
    changed = []
    for result in run.results:
        old = before.get(result.page.page_id)
        if old is not None and abs(result.score.f1 - old["f1"]) > CHANGE_EPSILON:
            changed.append((result.score.f1 - old["f1"], result, old))
    print(f"{len(changed)} pages changed by more than {CHANGE_EPSILON} page F1:")
    for delta, result, old in sorted(changed, key=lambda item: item[0]):
        print(
            f"  {delta:+.3f}  {result.page.page_id}  {old['f1']:.3f} -> {result.score.f1:.3f}"
            f"  [{old.get('source')} -> {result.source}]"
        )


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class TargetCheck:
    """One target: the measured value, the limit, and whether it holds.

    ``met`` is None when the target could not be measured in this run (an extractor
    it needs was not run).
    """

    name: str
    value: float | None
    limit: str
    met: bool | None


def low_pages(run: ExtractorRun, threshold: float = LOW_F1) -> list[PageResult]:
    """Pages of ``run`` scoring under ``threshold`` page F1, worst first."""
    low = [r for r in run.results if r.score.f1 < threshold]
    return sorted(low, key=lambda r: (r.score.f1, r.page.page_id))


def target_f1(corpus_name: str) -> float:
    """The body F1 target of a corpus, by its directory name."""
    return TARGET_F1_BY_CORPUS.get(corpus_name, DEFAULT_TARGET_F1)


def check_targets(runs: Sequence[ExtractorRun], corpus_name: str = "") -> list[TargetCheck]:
    """Check newscrawl's F1 and the pages far below plain trafilatura on one corpus."""
    by_name = {run.name: run for run in runs}
    ours = by_name.get("newscrawl")
    if ours is None:
        return []
    label = f"{corpus_name} " if corpus_name else ""
    f1 = ours.summary()["f1"]
    wanted = target_f1(corpus_name)
    checks = [TargetCheck(f"{label}body F1", f1, f">= {wanted}", f1 >= wanted)]
    reference = by_name.get(CPU_REFERENCE)
    name = f"{label}pages > {MAX_BELOW_REFERENCE} F1 below {CPU_REFERENCE}"
    if reference is None:
        checks.append(TargetCheck(name, None, "0", None))
    else:
        below = len(pages_below(ours, reference))
        checks.append(TargetCheck(name, below, "0", below == 0))
    return checks


def check_cpu(all_runs: Sequence[Sequence[ExtractorRun]]) -> TargetCheck:
    """newscrawl's mean CPU per page over that of plain ``trafilatura.extract``, all corpora.

    Both means are over the same pages, measured in the same run, extractors taking turns
    page by page. The target is MAX_CPU_RATIO (issue 16); CPU_RATIO_CEILING is the most
    issue 13 allows, printed beside it.
    """
    ours: list[float] = []
    theirs: list[float] = []
    for runs in all_runs:
        by_name = {run.name: run for run in runs}
        if "newscrawl" in by_name and CPU_REFERENCE in by_name:
            ours.extend(r.cpu_ms for r in by_name["newscrawl"].results)
            theirs.extend(r.cpu_ms for r in by_name[CPU_REFERENCE].results)
    name = f"CPU time vs {CPU_REFERENCE} (all pages)"
    limit = f"<= {MAX_CPU_RATIO}x (at worst {CPU_RATIO_CEILING}x)"
    if not theirs or sum(theirs) == 0:
        return TargetCheck(name, None, limit, None)
    ratio = sum(ours) / sum(theirs)
    return TargetCheck(name, ratio, limit, ratio <= MAX_CPU_RATIO)


def print_targets(checks: Sequence[TargetCheck]) -> bool:
    """Print the target table; return whether every target is met."""
    if not checks:
        print("not checked: newscrawl was not run")
        return False
    rows = []
    for check in checks:
        if check.value is None:
            value = "not measured"
        elif check.name.startswith("CPU"):
            value = f"{check.value:.2f}x"
        elif "pages" in check.name:
            value = str(int(check.value))
        else:
            value = f"{check.value:.3f}"
        met = {True: "yes", False: "NO", None: "?"}[check.met]
        rows.append([check.name, value, check.limit, met])
    print(format_table(["target", "measured", "required", "met"], rows))
    failed = [check.name for check in checks if check.met is not True]
    if failed:
        print(f"\ntargets met: NO ({', '.join(failed)})")
        return False
    print("\ntargets met: yes")
    return True


# --------------------------------------------------------------------------- field metadata


def run_metadata_eval(corpus_dirs: Sequence[Path]) -> None:
    """Print the title/authors/date/topics/language scores of ``benchmarks/metadata_eval.py``.

    That sibling script is optional: when it is present, its ``evaluate(corpus_dir)`` is
    called on each fundus-style corpus (the only kind with expected metadata) and its
    ``print_report(result)`` prints the table, or the returned mapping is printed as is.
    """
    try:
        metadata_eval = importlib.import_module("benchmarks.metadata_eval")
    except ModuleNotFoundError:
        print("skipped: benchmarks/metadata_eval.py not present")
        return
    fundus = [d for d in corpus_dirs if (d / "expected.jsonl").is_file()]
    if not fundus:
        print("skipped: no corpus with expected metadata (expected.jsonl)")
        return
    for corpus_dir in fundus:
        print(f"corpus: {corpus_dir}")
        result = metadata_eval.evaluate(corpus_dir)
        report = getattr(metadata_eval, "print_report", None)
        if callable(report):
            report(result)
        else:
            print(json.dumps(result, indent=2, ensure_ascii=False, default=str))


# --------------------------------------------------------------------------- metadata


METADATA_FIELDS = ("title", "authors", "published_at", "language")


def normalize_field(name: str, value: Any) -> Any:
    """Normalise a metadata value so that equivalent spellings compare equal.

    Title: collapsed whitespace. Authors: sorted list of whitespace-collapsed
    names (order does not matter). published_at: ISO 8601 string, a date staying
    a date and a datetime a datetime (``Z`` and ``+00:00`` agree). Language:
    lowercased. Empty values become None.
    """
    if value is None:
        return None
    if name == "authors":
        names = [value] if isinstance(value, str) else list(value)
        cleaned = sorted(" ".join(str(n).split()) for n in names)
        return [n for n in cleaned if n] or None
    if name == "published_at":
        if isinstance(value, dt.date):
            return value.isoformat()
        text = str(value).strip()
        for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
            try:
                return parse(text).isoformat()
            except ValueError:
                continue
        return text or None
    text = " ".join(str(value).split())
    if name == "language":
        text = text.lower()
    return text or None


def evaluate_metadata(fixtures_dir: Path, extract_article: Callable[[str, str], Any]) -> None:
    """Print per-field accuracy of newscrawl metadata on golden fixtures."""
    cases = []
    for golden_path in sorted(fixtures_dir.glob("*.json")):
        try:
            golden = json.loads(golden_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"note: {golden_path.name} unreadable ({exc}); skipped")
            continue
        html_path = golden_path.with_suffix(".html")
        if not isinstance(golden, dict) or golden.get("no_article") or not html_path.exists():
            continue
        cases.append((golden_path.stem, golden, html_path))
    if not cases:
        print(f"note: no golden fixtures (*.json beside *.html) in {fixtures_dir}; skipped")
        return

    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    mismatches: list[str] = []
    for case, golden, html_path in cases:
        html = decode_html(html_path.read_bytes())
        try:
            result = extract_article(html, golden.get("url") or "")
        except Exception as exc:
            result = None
            mismatches.append(f"{case}: extract_article raised {type(exc).__name__}: {exc}")
        for name in METADATA_FIELDS:
            if name not in golden:
                continue
            total[name] += 1
            expected = normalize_field(name, golden[name])
            got = normalize_field(name, result_field(result, name))
            if expected == got:
                correct[name] += 1
            else:
                mismatches.append(f"{case}.{name}: expected {expected!r}, got {got!r}")

    rows = [
        [name, f"{correct[name]}/{total[name]}", f"{correct[name] / total[name]:.2f}"]
        for name in METADATA_FIELDS
        if total[name]
    ]
    print(f"{len(cases)} fixtures from {fixtures_dir}")
    print(format_table(["field", "correct", "accuracy"], rows))
    if mismatches:
        print("mismatches:")
        for line in mismatches:
            print(f"  - {snippet(line) if len(line) > 2 * SNIPPET_CHARS else line}")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and check the command line."""
    parser = argparse.ArgumentParser(
        description="Score article-body extractors on corpora of real pages."
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        default=None,
        help="a corpus directory (aeb layout: ground-truth.json + html/; fundus layout: "
        "expected.jsonl + pages/); repeatable; default ../shared/corpus/{aeb-dev,fundus-dev}",
    )
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT_EXTRACTORS),
        help=f"comma-separated extractors to run (from {', '.join(EXTRACTOR_NAMES)})",
    )
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pages")
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 when a target is not met"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        dest="json_path",
        help="write every per-page score to this JSON file",
    )
    parser.add_argument(
        "--diff",
        type=Path,
        default=None,
        help="a JSON file of an earlier run: list the pages whose newscrawl F1 changed",
    )
    parser.add_argument(
        "--worst-of",
        default=None,
        help="extractor whose worst pages to list (default newscrawl, else trafilatura)",
    )
    parser.add_argument(
        "--fixtures",
        type=Path,
        default=REPO_ROOT / "tests" / "fixtures",
        help="golden metadata fixtures (default tests/fixtures)",
    )
    parser.add_argument("--no-metadata", action="store_true", help="skip the metadata sections")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(EXTRACTOR_NAMES))
    if unknown or not names:
        parser.error(f"--only: unknown extractor(s) {unknown}; choose from {EXTRACTOR_NAMES}")
    args.only = list(dict.fromkeys(names))
    if args.worst_of is not None and args.worst_of not in EXTRACTOR_NAMES:
        parser.error(
            f"--worst-of: unknown extractor {args.worst_of!r}; choose from {EXTRACTOR_NAMES}"
        )
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.corpus is None:
        args.corpus = [d for d in default_corpora() if is_corpus(d)]
        if not args.corpus:
            parser.error("no corpus found in ../shared/corpus; give --corpus DIR")
    for corpus in args.corpus:
        if not is_corpus(corpus):
            parser.error(f"--corpus: no ground-truth.json or expected.jsonl in {corpus}")
    return args


def pick_worst_run(runs: Sequence[ExtractorRun], requested: str | None) -> ExtractorRun | None:
    """Choose the run to list worst pages for: the requested one, else a fallback."""
    by_name = {run.name: run for run in runs}
    wanted = requested or "newscrawl"
    if wanted in by_name:
        return by_name[wanted]
    fallback = by_name.get("trafilatura") or (runs[0] if runs else None)
    if fallback is not None:
        print(f"note: {wanted} was not run; listing worst pages of {fallback.name} instead")
    return fallback


def report_corpus(
    corpus_dir: Path, runs: Sequence[ExtractorRun], args: argparse.Namespace,
    previous: Mapping[str, Any] | None,
) -> list[TargetCheck]:  # fmt: skip
    """Print one corpus's tables (scores, comparison, fallbacks, worst pages); its checks."""
    print(f"\n######## {corpus_dir.name} ({len(runs[0].results) if runs else 0} pages)")
    print("\n== Article body extraction ==")
    if not runs:
        print("no extractor could run")
        return []
    print_summary(runs)
    by_name = {run.name: run for run in runs}
    ours = by_name.get("newscrawl")
    if ours is not None and CPU_REFERENCE in by_name:
        print(f"\n== Page by page against {CPU_REFERENCE} ==")
        print_comparison(ours, by_name[CPU_REFERENCE])
    if ours is not None:
        print("\n== Where newscrawl's text came from (pages per source) ==")
        print_sources(ours)
        if args.diff is not None:
            print(f"\n== Changed since {args.diff} ==")
            print_diff(ours, previous)
    worst_run = pick_worst_run(runs, args.worst_of)
    if worst_run is not None:
        print(f"\n== {WORST_COUNT} worst pages of {worst_run.name} (by page F1) ==")
        print_worst(worst_run)
    return check_targets(runs, corpus_dir.name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the extractors on every corpus, print the tables, optionally write JSON."""
    args = parse_args(argv)
    logging.disable(logging.WARNING)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    previous_runs: dict[str, Any] = {}
    if args.diff is not None:
        previous_runs = json.loads(args.diff.read_text(encoding="utf-8")).get("corpora", {})

    extractors = build_extractors(args.only)
    checks: list[TargetCheck] = []
    all_runs: list[list[ExtractorRun]] = []
    payload: dict[str, Any] = {"corpora": {}}
    for corpus_dir in args.corpus:
        pages = load_corpus(corpus_dir, args.limit)
        print(f"corpus: {corpus_dir} ({len(pages)} pages)")
        runs = run_extractors(extractors, pages)
        all_runs.append(runs)
        corpus_checks = report_corpus(corpus_dir, runs, args, previous_runs.get(corpus_dir.name))
        checks.extend(corpus_checks)
        payload["corpora"][corpus_dir.name] = run_payload(runs, corpus_checks)

    if not args.no_metadata:
        print("\n== Metadata on the corpora (benchmarks/metadata_eval.py) ==")
        run_metadata_eval(args.corpus)
        print("\n== Metadata accuracy on fixtures ==")
        extract_article = load_newscrawl()
        if extract_article is None:
            print("skipped: newscrawl extractor unavailable (see note above)")
        else:
            evaluate_metadata(args.fixtures, extract_article)

    print("\n== Targets (issues 13 and 16) ==")
    if checks:
        checks.append(check_cpu(all_runs))
    all_met = print_targets(checks)
    payload["targets"] = [
        {"name": c.name, "value": c.value, "limit": c.limit, "met": c.met} for c in checks
    ]
    if args.json_path is not None:
        write_json(args.json_path, payload)
        print(f"\nper-page scores written to {args.json_path}")
    return 1 if args.check and not all_met else 0


if __name__ == "__main__":
    sys.exit(main())
