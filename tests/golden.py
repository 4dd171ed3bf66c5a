"""Golden fixtures: `tests/fixtures/<case>.html` beside `<case>.json`, the expected record."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
COMPARED_FIELDS = (
    "title", "authors", "published_at", "modified_at", "language", "site_name",
    "description", "section", "tags", "canonical_url", "image_url", "text",
)  # fmt: skip


def load_cases() -> dict[str, dict[str, Any]]:
    """Every golden case by name."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(FIXTURES.glob("*.json"))
    }


def article_cases() -> list[str]:
    return [name for name, case in load_cases().items() if not case.get("no_article")]


def no_article_cases() -> list[str]:
    return [name for name, case in load_cases().items() if case.get("no_article")]


def as_comparable(field: str, value: Any) -> Any:
    """Dates compare by value, precision and offset ("Z" equals "+00:00"; a date is no datetime)."""
    if field in {"published_at", "modified_at"} and value is not None:
        if isinstance(value, str):
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        if isinstance(value, datetime):
            return ("datetime", value.replace(tzinfo=None), value.utcoffset())
        return ("date", value)
    return value
