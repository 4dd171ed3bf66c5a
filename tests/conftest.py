"""Shared test fixtures: the local fixture server and a runner for the real `scrapy crawl`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.server import FixtureServer

REPO = Path(__file__).resolve().parents[1]
SCRAPY = Path(sys.executable).with_name("scrapy")

# Test runs hit only 127.0.0.1: no politeness delays, short timeouts, quick retries.
FAST_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "DOWNLOAD_TIMEOUT": "10",
    "LOG_LEVEL": "INFO",
}


@dataclass
class CrawlResult:
    """What one `scrapy crawl` left behind: its exit code, log, and output files."""

    returncode: int
    log: str
    run_dir: Path | None

    def jsonl(self, name: str) -> list[dict[str, Any]]:
        assert self.run_dir is not None, self.log[-3000:]
        lines = (self.run_dir / name).read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    @property
    def articles(self) -> list[dict[str, Any]]:
        return self.jsonl("articles.jsonl")

    @property
    def rejects(self) -> list[dict[str, Any]]:
        return self.jsonl("rejects.jsonl")

    @property
    def run(self) -> dict[str, Any]:
        assert self.run_dir is not None, self.log[-3000:]
        return json.loads((self.run_dir / "run.json").read_text(encoding="utf-8"))


def run_crawl(
    output_dir: Path, *args: str, settings: dict[str, str] | None = None, spider: str = "articles"
) -> CrawlResult:
    """Run `scrapy crawl <spider>` from the project directory, as a user does."""
    command = [str(SCRAPY), "crawl", spider, *args]
    for name, value in {
        **FAST_SETTINGS,
        "NEWSCRAWL_OUTPUT_DIR": str(output_dir),
        **(settings or {}),
    }.items():
        command += ["-s", f"{name}={value}"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    runs = sorted((output_dir / spider).glob("*/run.json"))
    return CrawlResult(
        done.returncode, done.stderr + done.stdout, runs[-1].parent if runs else None
    )


@pytest.fixture(scope="session")
def server() -> Iterator[FixtureServer]:
    site = FixtureServer().start()
    yield site
    site.stop()


@pytest.fixture(scope="session")
def closed_port() -> int:
    """A local port with nothing listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
