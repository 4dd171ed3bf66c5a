"""The extractor against golden fixtures: every field exact, no boilerplate line left."""

from __future__ import annotations

import pytest

from newscrawl.extraction import extract_article
from tests.golden import (
    COMPARED_FIELDS,
    FIXTURES,
    article_cases,
    as_comparable,
    load_cases,
    no_article_cases,
)

CASES = load_cases()


def _extract(name: str):
    case = CASES[name]
    return extract_article((FIXTURES / f"{name}.html").read_bytes(), case["url"])


@pytest.mark.parametrize("name", article_cases())
@pytest.mark.parametrize("field", COMPARED_FIELDS)
def test_field_matches_golden(name: str, field: str) -> None:
    got = getattr(_extract(name), field)
    assert as_comparable(field, got) == as_comparable(field, CASES[name][field])


@pytest.mark.parametrize("name", article_cases())
def test_no_boilerplate_line_survives(name: str) -> None:
    text = _extract(name).text
    left = [line for line in CASES[name]["boilerplate"] if line in text]
    assert left == []


@pytest.mark.parametrize("name", no_article_cases())
def test_pages_without_an_article_give_no_article(name: str) -> None:
    fields = _extract(name)
    assert fields.is_listing or len(fields.text.split()) < 50


def test_decodes_bytes_and_text_alike() -> None:
    name = article_cases()[0]
    raw = (FIXTURES / f"{name}.html").read_bytes()
    url = CASES[name]["url"]
    assert extract_article(raw, url).text == extract_article(raw.decode("utf-8"), url).text


@pytest.mark.parametrize("html", [b"", "", b"\x00\x01\x02", "<html></html>", "plain words only"])
def test_unusable_input_gives_empty_text_not_an_exception(html: str | bytes) -> None:
    fields = extract_article(html, "https://example.org/a")
    assert fields.text == ""
    assert fields.title is None or isinstance(fields.title, str)


def test_removed_lines_are_reported_with_their_rule() -> None:
    fields = _extract("seed_like_lbc_style")
    rules = {removal.rule for removal in fields.removed}
    assert {"cross_link", "teaser_block"} <= rules
