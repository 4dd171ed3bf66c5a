"""Distributed mode on a real redis-server: three workers, a SIGKILL, a Redis restart.

Every enqueued input must end as exactly one record across the workers' parts (checked by
`scrapy merge`), whatever happens to a worker or to Redis mid-run.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.utils.request import RequestFingerprinter
from scrapy.utils.test import get_crawler
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.pipelines import RedisPipeline
from scrapy_redis.spiders import RedisSpider

from newscrawl.distributed import DistributedScheduler, Keys
from newscrawl.state import PageState, open_store
from newscrawl.state_redis import RedisStateStore
from tests.conftest import FAST_SETTINGS, REPO, SCRAPY
from tests.redis_support import RedisServer
from tests.server import FixtureServer

PAGES = 600


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def clean_redis(redis_server: RedisServer) -> RedisServer:
    client = redis_server.client()
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture(scope="module")
def slow_site() -> Iterator[FixtureServer]:
    """The fixture site, its /gen/ pages answering after a short delay (requests in flight)."""
    site = FixtureServer().start()
    site.gen_delay = 0.05
    yield site
    site.stop()


def scrapy_command(*args: str, settings: dict[str, str]) -> list[str]:
    command = [str(SCRAPY), *args]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def worker_settings(redis_url: str, output: Path, worker: str) -> dict[str, str]:
    return {
        **FAST_SETTINGS,
        "NEWSCRAWL_REDIS_URL": redis_url,
        "NEWSCRAWL_OUTPUT_DIR": str(output),
        "NEWSCRAWL_WORKER_ID": worker,
        "NEWSCRAWL_REDIS_IDLE_CLOSE": "3",
        "NEWSCRAWL_REDIS_LEASE": "3",
        "NEWSCRAWL_EXTRACT_WORKERS": "0",
        "CONCURRENT_REQUESTS": "8",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
        "NEWSCRAWL_PROGRESS": "off",
    }


def worker_command(redis_url: str, output: Path, worker: str) -> list[str]:
    return scrapy_command("crawl", "articles", settings=worker_settings(redis_url, output, worker))


def enqueue(redis_url: str, output: Path, urls: Path) -> str:
    settings = {"NEWSCRAWL_REDIS_URL": redis_url, "NEWSCRAWL_OUTPUT_DIR": str(output)}
    done = subprocess.run(
        scrapy_command("enqueue", "--spider", "articles", str(urls), settings=settings),
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.split()[1].rstrip(":")  # "run <id>: N inputs queued ..."


def merge(run_dir: Path) -> tuple[int, dict]:
    done = subprocess.run(
        scrapy_command("merge", str(run_dir), settings={}),
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    return done.returncode, json.loads((run_dir / "run.json").read_text(encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def records_written(run_dir: Path) -> int:
    total = 0
    for path in run_dir.glob("part-*/*.jsonl"):
        total += path.read_bytes().count(b"\n")
    return total


def wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_three_workers_sigkill_and_redis_restart(
    clean_redis: RedisServer, slow_site: FixtureServer, tmp_path: Path
) -> None:
    """600 pages, 3 workers; one SIGKILLed with requests in flight; Redis restarted."""
    output = tmp_path / "out"
    urls = tmp_path / "urls.txt"
    page_urls = [f"{slow_site.base}/gen/{n}.html" for n in range(1, PAGES + 1)]
    extra = ["javascript:alert(1)", page_urls[10], f"{slow_site.base}/missing"]
    urls.write_text("\n".join([*page_urls, *extra]) + "\n", encoding="utf-8")
    run_id = enqueue(clean_redis.url, output, urls)
    run_dir = output / "articles" / run_id
    logs = {}
    workers = {}
    for name in ("w1", "w2", "w3"):
        logs[name] = (tmp_path / f"{name}.log").open("w+")
        workers[name] = subprocess.Popen(
            scrapy_command("crawl", "articles", settings=worker_settings(
                clean_redis.url, output, name)),
            cwd=REPO, stdout=logs[name], stderr=subprocess.STDOUT,
        )  # fmt: skip
    client = clean_redis.client()
    victim_inflight = Keys("articles").inflight("w3")
    try:
        wait_until(
            lambda: records_written(run_dir) >= 60 and client.llen(victim_inflight) > 0,
            120, "the first records and requests in flight in w3",
        )  # fmt: skip
        in_flight_at_kill = client.llen(victim_inflight)
        os.kill(workers["w3"].pid, signal.SIGKILL)
        workers["w3"].wait()
        client.close()
        wait_until(lambda: records_written(run_dir) >= 300, 120, "half the records")
        clean_redis.restart()  # persistence on: the frontier and in-flight lists survive
        for name in ("w1", "w2"):
            workers[name].wait(timeout=240)
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        log_text = {}
        for name, handle in logs.items():
            handle.seek(0)
            log_text[name] = handle.read()
            handle.close()
    for name in ("w1", "w2"):
        assert workers[name].returncode == 0, log_text[name][-3000:]
    assert in_flight_at_kill > 0
    assert "queued again" in log_text["w1"] + log_text["w2"]  # w3's inputs were reclaimed
    code, summary = merge(run_dir)
    assert code == 0, summary["accounting"]
    assert summary["accounting"]["inputs"] == PAGES + len(extra)
    assert summary["workers"]["w3"]["run_json"] is False  # killed: no run.json of its own
    articles = read_jsonl(run_dir / "articles.jsonl")
    rejects = read_jsonl(run_dir / "rejects.jsonl")
    exported = Counter(article["requested_url"] for article in articles)
    assert set(exported) == set(page_urls)
    assert max(exported.values()) == 1  # every URL exported exactly once across the union
    assert Counter(reject["reason"] for reject in rejects) == {
        "invalid_url": 1, "duplicate_url": 1, "http_error": 1,
    }  # fmt: skip


def test_scrapy_redis_lags_behind_scrapy(clean_redis: RedisServer) -> None:
    """What scrapy-redis 0.9.1 does differently from Scrapy 2.19, and what we rely on."""
    settings = {
        "REDIS_URL": clean_redis.url,
        "SCHEDULER_PERSIST": True,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
    }
    crawler = get_crawler(Spider, settings, prevent_warnings=False)
    request = Request("https://example.org/a?b=1&a=2")
    # Its dupefilter keys requests by its own fingerprint, not Scrapy's REQUEST_FINGERPRINTER.
    client = clean_redis.client()
    dupefilter = RFPDupeFilter(client, "test:dupefilter")
    scrapy_fp = RequestFingerprinter().fingerprint(request).hex()
    assert dupefilter.request_fingerprint(request) != scrapy_fp
    client.close()
    # Its item pipeline still takes `spider` (deprecated in Scrapy 2.14+): we do not use it.
    assert "spider" in inspect.signature(RedisPipeline.process_item).parameters
    # Plain-string start entries are deprecated: ours are JSON {"url", "meta"} and become a
    # plain GET of the URL (other keys would be sent as form data).
    entry = json.dumps({"url": "https://example.org/x", "meta": {"newscrawl": {"input": 0}}})
    spider = RedisSpider(name="articles")
    spider.redis_encoding = "utf-8"
    made = spider.make_request_from_data(entry.encode())
    assert made.method == "GET" and made.url == "https://example.org/x"
    assert made.meta["newscrawl"] == {"input": 0}
    # The scheduler and dupefilter we use run without deprecation warnings (pytest: errors).
    scheduler = DistributedScheduler.from_crawler(crawler)
    scheduler.open(Spider.from_crawler(crawler, name="lagcheck"))
    assert scheduler.enqueue_request(Request("https://example.org/shared"))
    assert scheduler.enqueue_request(Request("https://example.org/mine", meta={"input_id": 0}))
    assert not scheduler.enqueue_request(Request("https://example.org/shared"))  # seen
    first = scheduler.next_request()
    second = scheduler.next_request()
    assert first is not None and first.url == "https://example.org/mine"  # local first
    assert second is not None and second.url == "https://example.org/shared"  # from Redis
    assert scheduler.next_request() is None
    scheduler.close("finished")
    scheduler.server.close()


def test_stopped_worker_hands_back_its_inputs(
    clean_redis: RedisServer, slow_site: FixtureServer, tmp_path: Path
) -> None:
    """Ctrl-C on a worker: it stops claiming, hands back what it dropped; another finishes."""
    output = tmp_path / "out"
    urls = tmp_path / "urls.txt"
    page_urls = [f"{slow_site.base}/gen/{n}.html" for n in range(1001, 1061)]
    urls.write_text("\n".join(page_urls) + "\n", encoding="utf-8")
    run_dir = output / "articles" / enqueue(clean_redis.url, output, urls)
    first = subprocess.Popen(
        worker_command(clean_redis.url, output, "w1"),
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: records_written(run_dir) >= 10, 60, "the first records")
        first.send_signal(signal.SIGINT)  # a clean stop, as Ctrl-C
        # Scrapy lets downloads in progress finish; inputs it had to drop are not_processed.
        assert first.wait(timeout=60) in (0, 3)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    handed_back = [
        r
        for r in read_jsonl(run_dir / "part-w1" / "rejects.jsonl")
        if r["reason"] == "not_processed"
    ]
    assert len(read_jsonl(run_dir / "part-w1" / "articles.jsonl")) < len(page_urls)
    second = subprocess.run(
        worker_command(clean_redis.url, output, "w2"),
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert second.returncode == 0, second.stdout[-3000:]
    code, summary = merge(run_dir)
    assert code == 0, summary["accounting"]
    assert summary["accounting"]["superseded"] == len(handed_back)
    exported = Counter(a["requested_url"] for a in read_jsonl(run_dir / "articles.jsonl"))
    assert set(exported) == set(page_urls) and max(exported.values()) == 1


def test_redis_state_store(clean_redis: RedisServer) -> None:
    """The Redis store answers as the SQLite one: keys, aliases, body hashes, signatures."""
    store = open_store(f"{clean_redis.url}?prefix=t:")
    assert isinstance(store, RedisStateStore)
    page = PageState(
        key="https://a.example/x", url="https://a.example/x?r=1", content_sha256="abc",
        revision=1, run_id="r1", first_seen="2026-01-01T00:00:00+00:00",
        last_fetched="2026-01-01T00:00:00+00:00", signature=b"\x00sig",
    )  # fmt: skip
    store.save(page, ["https://a.example/x", "https://a.example/y"])
    assert store.lookup(["https://nope.example/", "https://a.example/y"]) == page
    assert store.find_content("abc") == page
    assert store.find_content("other") is None
    assert list(store.signatures()) == [("https://a.example/x", page.url, b"\x00sig")]
    store.touch(page.key, "2026-02-01T00:00:00+00:00", '"e1"', None)
    touched = store.lookup([page.key])
    assert touched is not None and touched.etag == '"e1"' and touched.last_modified is None
    store.save(replace(page, content_sha256="def", revision=2), [page.key])
    assert store.find_content("abc") is None  # the page's body changed since
    store.close()
