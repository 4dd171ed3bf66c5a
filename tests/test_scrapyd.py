"""Scheduled runs on scrapyd: deploy with scrapyd-client, schedule over HTTP, read the JSONL.

A real scrapyd on 127.0.0.1 (its own config, eggs, logs and databases in a temporary
directory). The project is deployed from a copy, because `scrapyd-deploy` writes setup.py,
build/ and *.egg-info next to scrapy.cfg; the test checks the working tree stays clean.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest

from tests.conftest import REPO
from tests.redis_support import free_port
from tests.server import FixtureServer

BIN = Path(sys.executable).parent
PROJECT_FILES = ("scrapy.cfg", "pyproject.toml", "README.md", "newscrawl", "pipelines", "schemas")


def api(base: str, endpoint: str, data: dict[str, str | list[str]] | None = None) -> dict:
    body = urlencode(data, doseq=True).encode() if data is not None else None
    with urlopen(f"{base}/{endpoint}", data=body, timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    home = tmp_path / "scrapyd"
    home.mkdir()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\ndbs_dir = {home / 'dbs'}\n"
        "items_dir =\npoll_interval = 0.2\nmax_proc = 2\n",
        encoding="utf-8",
    )
    with (home / "scrapyd.out").open("w") as log:
        process = subprocess.Popen(
            [str(BIN / "scrapyd")], cwd=home, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                api(base, "daemonstatus.json")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((home / "scrapyd.out").read_text()) from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_deploy_and_schedule_on_scrapyd(
    scrapyd: str, server: FixtureServer, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, project / name)
    config = (project / "scrapy.cfg").read_text(encoding="utf-8")
    assert "[deploy]" in config and "project = newscrawl" in config
    (project / "scrapy.cfg").write_text(
        config.replace("http://localhost:6800/", scrapyd + "/"), encoding="utf-8"
    )
    deployed = subprocess.run(
        [str(BIN / "scrapyd-deploy")], cwd=project, capture_output=True, text=True
    )
    assert deployed.returncode == 0, deployed.stderr
    assert '"status": "ok"' in deployed.stdout + deployed.stderr
    assert (project / "setup.py").exists()  # what deploying leaves behind (gitignored)
    ignored = subprocess.run(
        ["git", "check-ignore", "setup.py", "build/", "newscrawl.egg-info/"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert ignored.stdout.split() == ["setup.py", "build/", "newscrawl.egg-info/"]

    urls = tmp_path / "urls.txt"
    urls.write_text(
        f"{server.base}/articles/semantic_html5.html\n{server.base}/missing\n", encoding="utf-8"
    )
    output = tmp_path / "out"
    settings = {
        "NEWSCRAWL_OUTPUT_DIR": str(output),
        "NEWSCRAWL_STATE": str(tmp_path / "state.sqlite3"),
        "AUTOTHROTTLE_ENABLED": "False",
        "DOWNLOAD_DELAY": "0",
    }
    job = api(
        scrapyd, "schedule.json",
        {
            "project": "newscrawl", "spider": "articles", "urls": str(urls),
            "setting": [f"{name}={value}" for name, value in settings.items()],
        },
    )  # fmt: skip
    assert job["status"] == "ok", job
    deadline = time.monotonic() + 120
    while True:
        jobs = api(scrapyd, "listjobs.json?project=newscrawl")
        if any(done["id"] == job["jobid"] for done in jobs["finished"]):
            break
        assert time.monotonic() < deadline, jobs
        time.sleep(0.3)
    runs = sorted((output / "articles").glob("*/run.json"))
    assert runs, "the scheduled crawl wrote no run"
    run_dir = runs[-1].parent
    articles = [json.loads(line) for line in (run_dir / "articles.jsonl").read_text().splitlines()]
    rejects = [json.loads(line) for line in (run_dir / "rejects.jsonl").read_text().splitlines()]
    assert [article["url"] for article in articles] == [
        f"{server.base}/articles/semantic_html5.html"
    ]
    assert [reject["reason"] for reject in rejects] == ["http_error"]
    assert json.loads(runs[-1].read_text())["accounting"]["ok"] is True
