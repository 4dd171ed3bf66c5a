"""Body text scored as the Article Extraction Benchmark scores it: 4-token shingles, P/R/F1."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SHINGLE_SIZE = 4


TOKEN_RE = re.compile(r"\w+")


Shingle = tuple[str, ...]


def tokenize(text: str | None) -> list[str]:
    """Split text into word tokens with ``\\w+``, keeping case."""
    return TOKEN_RE.findall(text or "")


def shingles(text: str | None, size: int = SHINGLE_SIZE) -> Counter[Shingle]:
    """Return the multiset of ``size``-token shingles of ``text``.

    A text shorter than ``size`` tokens (but not empty) becomes a single shingle
    made of all its tokens, so that short texts still count; an empty text has no
    shingle.
    """
    return token_shingles(tokenize(text), size)


def token_shingles(tokens: Sequence[str], size: int = SHINGLE_SIZE) -> Counter[Shingle]:
    """Return the multiset of ``size``-token shingles of a token sequence (see :func:`shingles`)."""
    if not tokens:
        return Counter()
    if len(tokens) < size:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


@dataclass(frozen=True)
class PageScore:
    """Shingle counts for one page, with the page-level ratios derived from them.

    ``tp``, ``fp`` and ``fn`` are raw shingle counts; :meth:`normalized` divides
    them by their sum as the benchmark does (which leaves the ratios unchanged).
    """

    tp: int
    fp: int
    fn: int

    def normalized(self) -> tuple[float, float, float]:
        """Return (TP, FP, FN) divided by TP+FP+FN, or zeros when all are zero."""
        total = self.tp + self.fp + self.fn
        if total == 0:
            return 0.0, 0.0, 0.0
        return self.tp / total, self.fp / total, self.fn / total

    @property
    def extraction_empty(self) -> bool:
        """True when the extraction has no shingle (no word token at all)."""
        return self.tp + self.fp == 0

    @property
    def truth_empty(self) -> bool:
        """True when the ground truth has no shingle."""
        return self.tp + self.fn == 0

    @property
    def precision(self) -> float | None:
        """TP/(TP+FP); None for an empty extraction, which precision ignores."""
        if self.extraction_empty:
            return None
        tp, fp, _ = self.normalized()
        return tp / (tp + fp)

    @property
    def recall(self) -> float:
        """TP/(TP+FN); 0 for an empty extraction, 1 when there was nothing to find."""
        if self.truth_empty:
            return 1.0 if self.extraction_empty else 0.0
        tp, _, fn = self.normalized()
        return tp / (tp + fn)

    @property
    def f1(self) -> float:
        """Page F1, counting an empty extraction's precision as 0 (for ranking)."""
        precision = self.precision or 0.0
        recall = self.recall
        if precision + recall == 0:
            return 0.0
        return 2 * precision * recall / (precision + recall)


def score_page(truth: str | None, extracted: str | None) -> PageScore:
    """Compare an extracted text with the true article body by 4-token shingles."""
    true_shingles = shingles(truth)
    pred_shingles = shingles(extracted)
    tp = sum((true_shingles & pred_shingles).values())
    fp = sum(pred_shingles.values()) - tp
    fn = sum(true_shingles.values()) - tp
    return PageScore(tp=tp, fp=fp, fn=fn)


def aggregate(scores: Iterable[PageScore]) -> tuple[float, float, float]:
    """Return corpus (PRECISION, RECALL, F1) from page scores.

    PRECISION is the mean over pages with a non-empty extraction, RECALL the mean
    over all pages, F1 their harmonic mean. Means over no page are 0.
    """
    score_list = list(scores)
    precisions = [s.precision for s in score_list if s.precision is not None]
    recalls = [s.recall for s in score_list]
    precision = statistics.fmean(precisions) if precisions else 0.0
    recall = statistics.fmean(recalls) if recalls else 0.0
    if precision + recall == 0:
        return precision, recall, 0.0
    return precision, recall, 2 * precision * recall / (precision + recall)
