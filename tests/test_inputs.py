"""URL-file reading and byline cleaning: small pure functions, tested directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from newscrawl.extraction.authors import clean_authors
from newscrawl.sources.inputs import read_url_file, to_fetchable_url


def test_url_file_lines_become_urls_or_reasons(tmp_path: Path) -> None:
    page = tmp_path / "pages" / "story.html"
    page.parent.mkdir()
    page.write_text("<html></html>", encoding="utf-8")
    listing = tmp_path / "urls.txt"
    listing.write_bytes(
        b"\xef\xbb\xbf# a comment\n"
        b"\n"
        b"   https://news.example/a?b=2&a=1   \n"
        b"pages/story.html\n"
        b"mailto:desk@news.example\n"
        b"\xff\xfe broken bytes\n"
        b"https://" + b"x" * 200 + b".example/\n"
        b"http:///no-host\n"
    )
    lines = list(read_url_file(listing, max_line=100))
    assert [(line.line_number, line.url) for line in lines[:2]] == [
        (3, "https://news.example/a?b=2&a=1"),
        (4, page.resolve().as_uri()),
    ]
    assert [line.error for line in lines[2:]] == [
        "unsupported URL scheme 'mailto' (use http, https or file)",
        "line 6 is not valid UTF-8",
        "line 7 is longer than 100 bytes",
        "http URL has no host",
    ]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("javascript:alert(1)", "unsupported URL scheme 'javascript'"),
        ("data:text/html,<p>x</p>", "unsupported URL scheme 'data'"),
        ("https://news.example:99999/", "malformed URL: Port out of range"),
        ("www.news.example/story", "no such file"),
        ("https://news.example/a b", "spaces"),
    ],
)
def test_unfetchable_inputs_say_why(tmp_path: Path, value: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        to_fetchable_url(value, tmp_path)


@pytest.mark.parametrize(
    ("bylines", "names"),
    [
        (["By Will Conroy"], ["Will Conroy"]),
        (
            ["By Jane Q. Example and Sam Ortega, Political Reporters"],
            ["Jane Q. Example", "Sam Ortega"],
        ),
        (["Par Claire Dumont"], ["Claire Dumont"]),
        (["Von Katrin Albers"], ["Katrin Albers"]),
        (["Jane Doe @janedoe"], ["Jane Doe"]),
        (["Staff Reporter"], []),
        (["Jane Doe", "JANE DOE", "John Roe; Jane Doe"], ["Jane Doe", "John Roe"]),
        (["https://www.facebook.com/someone"], []),
    ],
)
def test_bylines_become_names(bylines: list[str], names: list[str]) -> None:
    assert clean_authors(bylines) == names
