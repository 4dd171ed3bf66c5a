"""The record models: constraints, salvage of optional fields, and the checked-in JSON Schema."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import Article, Reject, build_article
from schemas.export import SCHEMA_DIR, SCHEMA_FILES, render

BODY = " ".join(f"word{i}" for i in range(60))


def candidate(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "url": "https://news.example/a",
        "requested_url": "https://news.example/a?utm_source=x",
        "canonical_url": "https://news.example/a",
        "title": "A headline",
        "text": BODY,
        "authors": ["Jane Doe"],
        "published_at": datetime(2025, 1, 6, 13, 14, tzinfo=UTC),
        "modified_at": None,
        "language": "en",
        "site_name": "News",
        "description": None,
        "section": None,
        "tags": [],
        "image_url": None,
        "fetched_at": datetime.now(UTC),
        "http_status": 200,
        "spider": "articles",
        "extractor": {"name": "newscrawl", "version": "0", "trafilatura": "2"},
    }
    record.update(changes)
    return record


@pytest.mark.parametrize(("name", "model"), SCHEMA_FILES.items())
def test_checked_in_json_schema_is_current(name: str, model: Any) -> None:
    assert (SCHEMA_DIR / name).read_text(encoding="utf-8") == render(model), (
        "run `make schema` and commit schemas/*.schema.json"
    )


def test_derived_fields_come_from_text() -> None:
    article = build_article(candidate())
    assert article.word_count == 60
    assert len(article.content_sha256) == 64
    assert article.warnings == []


def test_round_trip_keeps_date_precision_and_offset() -> None:
    article = build_article(candidate(published_at=date(2024, 7, 19)))
    again = Article.model_validate_json(article.model_dump_json(), context={"min_words": 1})
    assert again.published_at == date(2024, 7, 19)
    assert type(again.published_at) is date
    offset = datetime(2025, 1, 6, 3, 0, tzinfo=timezone(timedelta(hours=-5)))
    article = build_article(candidate(published_at=offset))
    assert '"published_at":"2025-01-06T03:00:00-05:00"' in article.model_dump_json()


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("published_at", date(1985, 5, 1), None),
        ("published_at", datetime.now(UTC) + timedelta(days=30), None),
        ("language", "xx", None),
        ("language", "english", None),
        ("canonical_url", "javascript:void(0)", None),
        ("image_url", "/relative.jpg", None),
        ("authors", ["Jane Doe", "https://twitter.com/jd", "x" * 200, "a@b.example"], ["Jane Doe"]),
    ],
)
def test_implausible_optional_values_are_dropped_with_a_warning(
    field: str, value: Any, expected: Any
) -> None:
    article = build_article(candidate(**{field: value}))
    assert getattr(article, field) == expected
    assert article.warnings
    assert {w.field for w in article.warnings} == {field}


@pytest.mark.parametrize(
    ("changes", "failing_field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "t" * 10_000}, "title"),
        ({"text": "too short to be an article"}, "text"),
        ({"url": "not a url"}, "url"),
        ({"http_status": 999}, "http_status"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_broken_required_fields_reject_the_record(
    changes: dict[str, Any], failing_field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        build_article(candidate(**changes))
    assert failing_field in {str(e["loc"][0]) for e in error.value.errors() if e["loc"]}


def test_min_words_is_configurable() -> None:
    assert build_article(candidate(text="five words in this body"), min_words=5).word_count == 5
    with pytest.raises(ValidationError):
        build_article(candidate(text="five words in this body"), min_words=6)


def test_inconsistent_derived_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="word_count"):
        build_article(candidate(word_count=3))


def test_authors_and_tags_are_deduplicated_case_insensitively() -> None:
    article = build_article(candidate(authors=["Jane Doe", "jane doe"], tags=["EU", "eu", "UK"]))
    assert article.authors == ["Jane Doe"]
    assert article.tags == ["EU", "UK"]


def test_reject_reason_is_a_closed_vocabulary() -> None:
    with pytest.raises(ValidationError):
        Reject(url="x", reason="something_else", detail="", spider="articles")  # type: ignore[arg-type]
