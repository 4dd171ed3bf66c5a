"""Shared test fixtures: the local fixture server and a runner for the real `scrapy crawl`."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.redis_support import RedisServer
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
    peak_rss_mb: float = 0.0  # the crawl process's own peak (extraction workers not included)

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
    output_dir: Path,
    *args: str,
    settings: dict[str, str] | None = None,
    spider: str = "articles",
    timeout: float = 300,
) -> CrawlResult:
    """Run `scrapy crawl <spider>` from the project directory, as a user does; killed after
    `timeout` seconds (a hung crawl then fails its test instead of hanging it)."""
    command = [str(SCRAPY), "crawl", spider, *args]
    for name, value in {
        **FAST_SETTINGS,
        "NEWSCRAWL_OUTPUT_DIR": str(output_dir),
        "NEWSCRAWL_STATE": str(output_dir / "state.sqlite3"),  # each test's own history
        **(settings or {}),
    }.items():
        command += ["-s", f"{name}={value}"]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        peak_kb = 0
        deadline = time.monotonic() + timeout
        while process.poll() is None:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            if time.monotonic() > deadline:
                process.kill()
            time.sleep(0.05)
        log.seek(0)
        output = log.read()
    runs = sorted((output_dir / spider).glob("*/run.json"))
    return CrawlResult(
        process.returncode, output, runs[-1].parent if runs else None, peak_kb / 1024
    )


def _high_water_kb(pid: int) -> int:
    """Peak resident memory of a running process so far (VmHWM), in KiB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match[1]) if match else 0


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


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for one test module (PATH's, else the test extras' wheel)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def clean_redis(redis_server: RedisServer) -> RedisServer:
    """The module's redis-server, emptied for this test."""
    client = redis_server.client()
    client.flushall()
    client.close()
    return redis_server
