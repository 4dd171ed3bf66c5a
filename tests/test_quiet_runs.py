"""What a cron job mails: stderr of the real `scrapy crawl` at `LOG_LEVEL=WARNING`.

A rerun that fetches nothing prints nothing on stderr; a problem at start (a bad `-s` value,
a state store in use) is one line naming it, with exit status 1; an unreachable host is its
rejects and the summary, not a line per page; a sitemap run warns about nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from newscrawl.history.state import SqliteStateStore
from tests.conftest import FAST_SETTINGS, REPO, SCRAPY
from tests.newssite import NewsSite
from tests.server import FixtureServer

SAMPLES = REPO / "data" / "samples" / "urls.txt"


def _scrapy(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl ...` as cron runs it: LOG_LEVEL=WARNING, stdout and stderr apart."""
    command = [str(SCRAPY), "crawl", *args]
    for name, value in {
        **FAST_SETTINGS, "LOG_LEVEL": "WARNING",
        "NEWSCRAWL_OUTPUT_DIR": str(tmp_path / "out"),
        "NEWSCRAWL_STATE": str(tmp_path / "state.sqlite3"),
        **settings,
    }.items():  # fmt: skip
        command += ["-s", f"{name}={value}"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def _sample_count() -> int:
    lines = SAMPLES.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line.strip() and not line.startswith("#"))


def test_the_readmes_run_it_twice_is_quiet(tmp_path: Path) -> None:
    """`make crawl` twice: the second run fetches nothing and says so on stdout only."""
    first = _scrapy(tmp_path, "articles", "-a", f"urls={SAMPLES}")
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stderr == ""
    second = _scrapy(tmp_path, "articles", "-a", f"urls={SAMPLES}")
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stderr == ""  # no worker was started, none hung up on
    assert f"rejects by reason: seen_before {_sample_count()}" in second.stdout


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("NEWSCRAWL_MIN_WORDS", "abc", "not a whole number (default 50)"),
        ("NEWSCRAWL_MAX_ERROR_RATE", "lots", "not a number (default 0.25)"),
        ("NEWSCRAWL_REPORT", "maybe", "not true or false (True/False, 1/0) (default True)"),
        ("NEWSCRAWL_EXTRACT_WORKERS", "many", "not a whole number (default 0)"),
    ],
)
def test_a_bad_setting_value_is_one_line_naming_it(
    server: FixtureServer, tmp_path: Path, setting: str, value: str, message: str
) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{server.base}/gen/4100.html\n", encoding="utf-8")
    done = _scrapy(tmp_path, "articles", "-a", f"urls={urls}", **{setting: value})
    assert done.returncode == 1
    assert done.stderr == f"newscrawl: -s {setting}={value}: {message}. Nothing was fetched.\n"
    assert done.stdout == ""
    assert server.hits["/gen/4100.html"] == 0
    assert not (tmp_path / "out").exists()


def test_a_range_checked_setting_is_one_line_too(server: FixtureServer, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{server.base}/gen/4101.html\n", encoding="utf-8")
    done = _scrapy(tmp_path, "articles", "-a", f"urls={urls}", NEWSCRAWL_EXTRACT_WORKERS="-1")
    assert done.returncode == 1
    assert done.stderr == "newscrawl: NEWSCRAWL_EXTRACT_WORKERS must be >= 0, not '-1'\n"
    assert server.hits["/gen/4101.html"] == 0


def test_a_state_store_in_use_is_one_line(server: FixtureServer, tmp_path: Path) -> None:
    state = tmp_path / "held.sqlite3"
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{server.base}/gen/4102.html\n", encoding="utf-8")
    holder = SqliteStateStore(state)  # this process holds it, as a running crawl would
    try:
        done = _scrapy(tmp_path, "articles", "-a", f"urls={urls}", NEWSCRAWL_STATE=str(state))
    finally:
        holder.close()
    assert done.returncode == 1
    assert done.stderr == (
        f"newscrawl: state store {state} is in use by another crawl (pid {os.getpid()});"
        " wait for it to finish, or give this crawl its own store with -s NEWSCRAWL_STATE=PATH\n"
    )
    assert server.hits["/gen/4102.html"] == 0


def test_an_unreachable_host_is_its_rejects_and_the_summary(
    server: FixtureServer, closed_port: int, tmp_path: Path
) -> None:
    """Pages given up on are rejects counted in the summary; no ERROR line or traceback per
    page. With robots.txt obeyed (the default), the unreachable host's robots.txt is
    unavailable: one WARNING line, and its page a `robots_forbidden` reject saying so."""
    good = [f"{server.base}/gen/{n}.html" for n in range(4110, 4114)]
    gone = f"http://127.0.0.1:{closed_port}/story"
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join([*good, gone]) + "\n", encoding="utf-8")
    done = _scrapy(tmp_path, "articles", "-a", f"urls={urls}")
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = done.stderr.splitlines()
    assert "WARNING" in line and f"127.0.0.1:{closed_port}" in line and "robots.txt" in line
    assert "download/HTTP errors: 1 of 5 requested (20%), within" in done.stdout
    (rejects,) = (tmp_path / "out" / "articles").glob("*/rejects.jsonl")
    (reject,) = [json.loads(x) for x in rejects.read_text(encoding="utf-8").splitlines()]
    assert (reject["url"], reject["reason"]) == (gone, "robots_forbidden")
    assert reject["detail"].startswith("robots.txt unavailable")

    robots_off = tmp_path / "robots-off"
    robots_off.mkdir()
    done = _scrapy(robots_off, "articles", "-a", f"urls={urls}", ROBOTSTXT_OBEY="False")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    (rejects,) = (robots_off / "out" / "articles").glob("*/rejects.jsonl")
    assert '"reason":"download_error"' in rejects.read_text(encoding="utf-8")

    alone = tmp_path / "alone"
    urls.write_text(gone + "\n", encoding="utf-8")
    done = _scrapy(alone, "articles", "-a", f"urls={urls}", ROBOTSTXT_OBEY="False")
    assert done.returncode == 4
    (line,) = done.stderr.splitlines()  # the exit status's reason, once
    assert line.endswith(
        "[newscrawl.runs.runreport] ERROR: newscrawl: 1 of 1 requested pages failed to"
        " download (100%), above NEWSCRAWL_MAX_ERROR_RATE=0.25"
    )


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    news = NewsSite().start()
    yield news
    news.stop()


def test_a_sitemap_run_warns_about_nothing(site: NewsSite, tmp_path: Path) -> None:
    done = _scrapy(tmp_path, "sitemap", "-a", f"domains={site.base}", "-a", "since=2025-01-01")
    assert done.returncode == 0, done.stderr[-3000:]
    # Only the news site's deliberately broken sitemaps, each once; no ScrapyDeprecationWarning
    # (robots.txt read as str) or any other line.
    unusable = re.compile(r"^\S+ \S+ \[sitemap\] WARNING: sitemap http://\S+ unusable: ")
    lines = done.stderr.splitlines()
    assert [line for line in lines if not unusable.match(line)] == []
    assert len(lines) == len({line.split("] WARNING: ")[1] for line in lines}) == 5
