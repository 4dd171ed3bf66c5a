"""Pages whose bytes contradict their declared charset: decoded into the right code page.

In-process on `decode_html` (what each extraction worker runs) for pages in six languages
saved in windows-1252, windows-1250 or ISO-8859-2 and labelled UTF-8, and one real crawl
of the same pages from the fixture server, checked field by field.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newscrawl.extraction.encoding import declared_language, decode_html, legacy_encoding
from tests import mislabelled
from tests.conftest import run_crawl
from tests.server import FixtureServer

UTF8 = "text/html; charset=utf-8"
LANGUAGES = sorted(mislabelled.TEXTS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_mislabelled_page_decodes_in_its_languages_code_page(language: str) -> None:
    page = mislabelled.page(language)
    body = page.encode(mislabelled.ENCODINGS[language])
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # the label is wrong
    assert decode_html(body, UTF8) == page


@pytest.mark.parametrize(("language", "encoding"), [("pl", "iso8859_2"), ("cs", "cp1250")])
def test_the_language_chooses_between_code_pages_that_both_decode(
    language: str, encoding: str
) -> None:
    """Polish and Czech in either Central European code page: every byte is valid in both
    (and in windows-1252), so only the language's letters tell them apart."""
    page = mislabelled.page(language)
    body = page.encode(encoding)
    for other in ("cp1250", "iso8859_2", "cp1252"):
        body.decode(other)  # no error in any of them
    assert decode_html(body, UTF8) == page
    assert legacy_encoding(body, language) == encoding


def test_windows_1252_is_the_default_for_a_western_or_undeclared_language() -> None:
    page = mislabelled.page("pt", with_language=False)
    body = page.encode("cp1252")
    assert declared_language(body) is None
    assert legacy_encoding(body, None) == "cp1252"
    assert decode_html(body, UTF8) == page
    assert "Reflexão" in decode_html(body, UTF8)
    assert legacy_encoding(body, "pt") == "cp1252"


def test_cyrillic_bytes_without_a_language_are_not_read_as_windows_1252() -> None:
    text = "Портовое управление объявило, что северный причал закроют на ремонт весной."
    page = f'<html><head><meta charset="utf-8"></head><body><p>{text}</p></body></html>'
    body = page.encode("cp1251")
    body.decode("cp1252")  # would decode, as "Ïîðòîâîå"
    assert decode_html(body, UTF8) == page


@pytest.mark.parametrize(
    ("head", "language"),
    [
        (b'<html lang="pt-BR">', "pt"),
        (b"<html class=x LANG=cs>", "cs"),
        (b'<html xml:lang="pl">', "pl"),
        (b'<html><meta http-equiv="Content-Language" content="de-AT">', "de"),
        (b"<html><meta content='es_ES' property='og:locale'>", "es"),
        (b'<html lang="zh-Hant-TW">', "zh-hant"),
        (b'<html lang="zh-CN">', "zh"),
        (b"<html><head><title>x</title>", None),
        (b'<html lang="">', None),
    ],
)
def test_declared_language(head: bytes, language: str | None) -> None:
    assert declared_language(head) == language


def test_mislabelled_pages_crawl_into_readable_articles(
    server: FixtureServer, tmp_path: Path
) -> None:
    urls = tmp_path / "urls.txt"
    pages = {f"{server.base}/mislabelled/{language}": language for language in LANGUAGES}
    urls.write_text("\n".join(pages) + "\n", encoding="utf-8")
    result = run_crawl(tmp_path / "out", "-a", f"urls={urls}")
    assert result.returncode == 0, result.log[-3000:]
    assert result.rejects == []
    articles = {article["url"]: article for article in result.articles}
    assert sorted(articles) == sorted(pages)
    for url, language in pages.items():
        title, paragraphs = mislabelled.TEXTS[language]
        article = articles[url]
        assert (article["title"], article["language"]) == (title, language), url
        assert article["text"].split("\n\n") == paragraphs, url
