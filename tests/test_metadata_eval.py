"""The metadata benchmark: its comparisons on hand-made values, and a gate on fundus-dev.

fundus-dev (third-party pages, outside the repository) is found as benchmarks/metadata_eval.py
finds it: ``NEWSCRAWL_FUNDUS_CORPUS``, else ``shared/corpus/fundus-dev`` in a parent of the
repo. The gate is skipped, with a message, only where that corpus is absent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import metadata_eval as me  # noqa: E402

# A little under the figures measured when the gate was set (title 0.846, authors 0.920,
# published 0.992, topics 0.618, language 1.000 on the 130 pages; misses the corpus README
# explains left out), so that noise passes and a real loss fails.
GATES = {"title": 0.835, "authors": 0.90, "published": 0.985, "topics": 0.60, "language": 0.98}


def _got(**values: object) -> me.Got:
    fields = {"title": None, "authors": [], "published": None, "topics": [], "language": None}
    return me.Got(**{**fields, **values})  # type: ignore[arg-type]


def test_title_compares_after_whitespace_normalisation() -> None:
    expected = {"title": "Bridge  closes\n today"}
    assert me.field_matches("title", expected, _got(title="Bridge closes today"))
    assert not me.field_matches("title", expected, _got(title="Bridge closes today | Site"))


def test_authors_and_topics_compare_as_case_folded_sets_only_where_expected() -> None:
    expected = {"authors": ["Anna Berg", "dpa"], "topics": ["Bridges"]}
    assert me.field_matches("authors", expected, _got(authors=["DPA", "anna  berg"]))
    assert not me.field_matches("authors", expected, _got(authors=["Anna Berg"]))
    assert not me.field_matches("topics", expected, _got(topics=["Bridges", "Traffic"]))
    assert me.field_matches("topics", {}, _got(topics=["Anything"])) is None


@pytest.mark.parametrize(
    ("expected", "got", "same"),
    [
        ("2024-04-27 07:39:00+02:00", "2024-04-27T07:39:00+02:00", True),
        ("2024-04-27 07:39:00+02:00", "2024-04-27T05:39:00+00:00", True),  # same instant
        ("2024-04-27 07:39:00+02:00", "2024-04-27T07:39:18+02:00", False),  # another instant
        ("2024-04-27 00:00:00", "2024-04-27T21:00:00+02:00", True),  # no offset: the date
        ("2024-04-27 00:00:00", "2024-04-27", True),
        ("2024-04-27 00:00:00", "2024-04-28", False),
        ("2024-04-27 00:00:00", None, False),
    ],
)
def test_published_is_the_same_date_and_instant_where_both_have_offsets(
    expected: str, got: str | None, same: bool
) -> None:
    assert me.same_publication(expected, got) is same


def test_language_is_right_when_its_primary_subtag_is_declared() -> None:
    assert me.field_matches("language", {"language": "de"}, _got(language="de"))
    assert me.field_matches("language", {"language": ["de", "en"]}, _got(language="en"))
    assert not me.field_matches("language", {"language": "de"}, _got(language=None))


def test_explained_misses_leave_the_adjusted_denominator() -> None:
    score = me.FieldScore(hits=8, misses=1, explained=1)
    assert score.raw == pytest.approx(0.8)
    assert score.adjusted == pytest.approx(8 / 9)


@pytest.fixture(scope="module")
def fundus_scores() -> dict[str, object]:
    corpus = me.default_corpus()
    if not (corpus / "expected.jsonl").exists():
        pytest.skip(f"fundus-dev corpus not found at {corpus} (set NEWSCRAWL_FUNDUS_CORPUS)")
    return me.evaluate(corpus, baseline=False)


@pytest.mark.parametrize("field", sorted(GATES))
def test_metadata_on_fundus_dev_holds(fundus_scores: dict[str, object], field: str) -> None:
    score = fundus_scores["newscrawl"][field]  # type: ignore[index]
    assert score["adjusted"] >= GATES[field], fundus_scores["misses"][field]  # type: ignore[index]
