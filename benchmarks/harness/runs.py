"""Extractors run over corpus pages in turns, each call timed in CPU time and scored."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from benchmarks.harness.corpus import Page
from benchmarks.harness.extractors import Extractor
from benchmarks.harness.scoring import PageScore, aggregate, score_page


@dataclass
class PageResult:
    """What one extractor produced on one page, with its score and timing."""

    page: Page
    text: str
    score: PageScore
    cpu_ms: float
    error: str | None = None
    source: str | None = None


@dataclass
class ExtractorRun:
    """All page results of one extractor."""

    name: str
    results: list[PageResult] = field(default_factory=list)

    def summary(self) -> dict[str, float | int]:
        """Corpus precision/recall/F1, mean CPU ms per page, empty and failed pages."""
        precision, recall, f1 = aggregate(r.score for r in self.results)
        return {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "cpu_ms_per_page": (
                statistics.fmean(r.cpu_ms for r in self.results) if self.results else 0.0
            ),
            "pages": len(self.results),
            "empty": sum(r.score.extraction_empty for r in self.results),
            "errors": sum(r.error is not None for r in self.results),
        }


def run_extractor(name: str, extractor: Extractor, pages: Sequence[Page]) -> ExtractorRun:
    """Run one extractor on every page (see :func:`run_extractors`)."""
    return run_extractors({name: extractor}, pages)[0]


def run_extractors(
    extractors: Mapping[str, Extractor], pages: Sequence[Page]
) -> list[ExtractorRun]:
    """Run every extractor on every page, timing only the extraction call in CPU time.

    Each extractor gets one untimed warm-up call on the first page, which keeps lazy
    imports and caches out of the mean. Then the extractors take turns on each page,
    so that a change in machine load during the run affects them alike. An exception
    counts as an empty extraction and is recorded.
    """
    if pages:
        for extractor in extractors.values():
            with contextlib.suppress(Exception):
                extractor(pages[0].html, pages[0].url)
    runs = {name: ExtractorRun(name) for name in extractors}
    for page in pages:
        for name, extractor in extractors.items():
            error: str | None = None
            start = time.process_time()
            try:
                text = extractor(page.html, page.url)
            except Exception as exc:
                text = ""
                error = f"{type(exc).__name__}: {exc}"
            cpu_ms = (time.process_time() - start) * 1000
            score = score_page(page.truth, text)
            source = getattr(extractor, "last_source", None)
            runs[name].results.append(PageResult(page, text, score, cpu_ms, error, source))
    return list(runs.values())
