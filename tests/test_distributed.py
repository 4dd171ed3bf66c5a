"""Distributed mode on a real redis-server: three workers, a SIGKILL, a Redis restart and a
Redis crash; the frontier fed from URL files, sitemaps and feeds.

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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO

import pytest
from scrapy import Request, Spider
from scrapy.utils.request import RequestFingerprinter
from scrapy.utils.test import get_crawler
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.pipelines import RedisPipeline
from scrapy_redis.spiders import RedisSpider

from newscrawl.distributed.feeding import Feeding
from newscrawl.distributed.keys import Keys, join_run, live_feeders
from newscrawl.distributed.scheduler import DistributedScheduler
from newscrawl.history.state import PageState
from newscrawl.history.state_redis import RedisStateStore
from newscrawl.history.stores import open_store
from tests.conftest import FAST_SETTINGS, REPO, SCRAPY
from tests.newssite import IN_ATOM, IN_RSS, IN_SITEMAP_2025, NEW, OLD, NewsSite, _urlset
from tests.newssite import Story as NewsStory
from tests.redis_support import RedisServer, free_port
from tests.server import FixtureServer

PAGES = 600


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


def run_worker(redis_url: str, output: Path, worker: str) -> subprocess.CompletedProcess[str]:
    """One distributed worker, run until it stops by itself (idle frontier)."""
    return subprocess.run(
        worker_command(redis_url, output, worker),
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


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
    for path in [*run_dir.glob("part-*/articles.jsonl"), *run_dir.glob("part-*/rejects.jsonl")]:
        total += path.read_bytes().count(b"\n")
    return total


def start_workers(
    redis_url: str,
    output: Path,
    tmp_path: Path,
    names: Sequence[str],
    extra: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[dict[str, subprocess.Popen[bytes]], dict[str, IO[str]]]:
    """Distributed workers running in the background, each logging to `tmp_path/<name>.log`
    (read back by `stop_workers`); `extra` adds settings per worker name."""
    logs = {name: (tmp_path / f"{name}.log").open("w+") for name in names}
    workers = {}
    for name, log in logs.items():
        settings = {**worker_settings(redis_url, output, name), **(extra or {}).get(name, {})}
        workers[name] = subprocess.Popen(
            scrapy_command("crawl", "articles", settings=settings),
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return workers, logs


def stop_workers(
    workers: dict[str, subprocess.Popen[bytes]], logs: dict[str, IO[str]]
) -> dict[str, str]:
    """Kill the workers still running; their logs' text by worker name."""
    for process in workers.values():
        if process.poll() is None:
            process.kill()
            process.wait()
    log_text = {}
    for name, handle in logs.items():
        handle.seek(0)
        log_text[name] = handle.read()
        handle.close()
    return log_text


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
    workers, logs = start_workers(clean_redis.url, output, tmp_path, ("w1", "w2", "w3"))
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
        log_text = stop_workers(workers, logs)
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
    # Each record names the global input number `scrapy enqueue` gave its line, exactly once.
    listed = {
        f"{run_id}#{entry['input']}": entry["source"]
        for entry in read_jsonl(run_dir / "inputs.jsonl")
    }
    records = articles + rejects
    assert Counter(record["input_id"] for record in records) == Counter(list(listed))
    for record in records:
        assert (record.get("requested_url") or record["url"]) == listed[record["input_id"]]


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
        assert first.wait(timeout=60) == 5  # stopped early: its unfinished inputs handed back
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
    second = run_worker(clean_redis.url, output, "w2")
    assert second.returncode == 0, second.stdout[-3000:]
    code, summary = merge(run_dir)
    assert code == 0, summary["accounting"]
    assert summary["accounting"]["superseded"] == len(handed_back)
    exported = Counter(a["requested_url"] for a in read_jsonl(run_dir / "articles.jsonl"))
    assert set(exported) == set(page_urls) and max(exported.values()) == 1


def test_redis_state_store(clean_redis: RedisServer) -> None:
    """The Redis store answers as the SQLite one: keys, aliases, body hashes, LSH bands."""
    store = open_store(f"{clean_redis.url}?prefix=t:")
    assert isinstance(store, RedisStateStore)
    page = PageState(
        key="https://a.example/x", url="https://a.example/x?r=1", content_sha256="abc",
        revision=1, run_id="r1", first_seen="2026-01-01T00:00:00+00:00",
        last_fetched="2026-01-01T00:00:00+00:00", signature=b"\x00sig",
    )  # fmt: skip
    store.save(page, ["https://a.example/x", "https://a.example/y"], [11, -7])
    assert store.lookup(["https://nope.example/", "https://a.example/y"]) == page
    assert store.find_content("abc") == page
    assert store.find_content("other") is None
    assert list(store.similar([5, -7])) == [("https://a.example/x", page.url, b"\x00sig")]
    assert list(store.similar([5])) == []
    store.touch(page.key, "2026-02-01T00:00:00+00:00", '"e1"', None)
    touched = store.lookup([page.key])
    assert touched is not None and touched.etag == '"e1"' and touched.last_modified is None
    store.save(replace(page, content_sha256="def", revision=2), [page.key], [5])
    assert store.find_content("abc") is None  # the page's body changed since
    assert [key for key, _, _ in store.similar([5, 11, -7])] == [page.key]  # new band only
    assert list(store.similar([11, -7])) == []
    store.close()


# --- the frontier fed from sitemaps and feeds (`scrapy enqueue --sitemaps/--feeds`) ---------


@pytest.fixture
def news_site() -> Iterator[NewsSite]:
    """The discovery tests' news site, plus a sitemap index that the target guard limits."""
    site = NewsSite().start()
    elsewhere = f"http://localhost:{site.port}"  # the same server, by a name nobody gave
    xml = "application/xml"
    site.pages["/sitemaps/guarded.xml"] = (
        xml,
        (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{elsewhere}/sitemaps/articles-2024.xml</loc></sitemap>"
            f"<sitemap><loc>{site.base}/sitemaps/elsewhere.xml</loc></sitemap></sitemapindex>"
        ).encode(),
    )
    site.pages["/sitemaps/elsewhere.xml"] = (xml, _urlset(elsewhere, [GUARDED]))
    yield site
    site.stop()


GUARDED = NewsStory("elsewhere", 2025, 5, "Elsewhere", "Nobody")  # on an internal host


def run_enqueue(redis_url: str, output: Path, *args: str) -> subprocess.CompletedProcess[str]:
    settings = {
        **FAST_SETTINGS,
        "NEWSCRAWL_REDIS_URL": redis_url,
        "NEWSCRAWL_OUTPUT_DIR": str(output),
    }
    return subprocess.run(
        scrapy_command("enqueue", "--spider", "articles", *args, settings=settings),
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def article_hits(site: NewsSite) -> dict[str, int]:
    return {path: n for path, n in site.hits.items() if path.startswith("/news/")}


def test_enqueue_sitemaps_and_feeds_for_the_workers(
    clean_redis: RedisServer, news_site: NewsSite, tmp_path: Path
) -> None:
    """Sitemap index and feeds read by enqueue (no article fetched), crawled by 2 workers."""
    base = news_site.base
    output = tmp_path / "out"
    feeds = ",".join(f"{base}/feeds/{name}" for name in ("rss.xml", "atom.xml", "broken.xml"))
    sitemaps = f"{base}/sitemap_index.xml,{base}/sitemaps/guarded.xml"
    done = run_enqueue(
        clean_redis.url, output, "--sitemaps", sitemaps, "--feeds", feeds, "--since", "2025-01-01"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = done.stdout.split()[1].rstrip(":")
    run_dir = output / "articles" / run_id
    assert article_hits(news_site) == {}  # enqueue read sources only, never a page
    assert news_site.hits["/sitemap_index.xml"] == 1  # it lists itself: not read again
    assert news_site.hits["/feeds/atom.xml"] == 1
    assert "/sitemaps/articles-2024.xml" in news_site.hits  # only via 127.0.0.1, not localhost
    assert sorted(path.name for path in run_dir.glob("discovery-*.json")) == [
        "discovery-1.json", "discovery-2.json",
    ]  # fmt: skip
    workers = [
        subprocess.Popen(
            worker_command(clean_redis.url, output, name),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("w1", "w2")
    ]
    try:
        for worker in workers:
            assert worker.wait(timeout=120) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    code, summary = merge(run_dir)
    assert code == 0, summary["accounting"]
    # The sitemap spider ran first: the 4 stories in both a sitemap and a feed are the
    # sitemap's; the feeds add the two only they announce (2025), all from 127.0.0.1.
    from_sitemap, from_feed = IN_SITEMAP_2025, [s for s in IN_ATOM if s in NEW[4:]]
    assert summary["accounting"]["inputs"] == len(from_sitemap) + len(from_feed) + 1
    articles = {a["requested_url"]: a for a in read_jsonl(run_dir / "articles.jsonl")}
    assert set(articles) == {base + s.path for s in NEW}
    assert {s.path for s in NEW} == set(article_hits(news_site))
    assert set(article_hits(news_site).values()) == {1}  # each page fetched once, by a worker
    for story in from_sitemap:
        assert articles[base + story.path]["discovered_via"] == {
            "kind": "sitemap", "source": f"{base}/sitemaps/articles-2025.xml.gz",
            "title": None, "published_at": story.date[:10],
        }  # fmt: skip
    for story in from_feed:
        assert articles[base + story.path]["discovered_via"] == {
            "kind": "feed", "source": f"{base}/feeds/atom.xml",
            "title": story.title, "published_at": story.date,
        }  # fmt: skip
    # Announced by a sitemap the user named, on a host the user did not: the worker's target
    # guard refuses it, as a single-machine sitemap crawl does.
    [guarded] = read_jsonl(run_dir / "rejects.jsonl")
    assert guarded["reason"] == "blocked_target"
    assert guarded["url"] == f"http://localhost:{news_site.port}{GUARDED.path}"
    assert guarded["discovered_via"] == {
        "kind": "sitemap", "source": f"{base}/sitemaps/elsewhere.xml",
        "title": None, "published_at": GUARDED.date[:10],
    }  # fmt: skip
    discovery = summary["discovery"]
    assert discovery["accepted"] == summary["accounting"]["inputs"]
    assert discovery["filtered"] == {
        "since": len(OLD) + len([s for s in IN_RSS + IN_ATOM if s in OLD]),
        "sitemap_already_read": 1,
        "duplicate": len([s for s in IN_RSS + IN_ATOM if s in IN_SITEMAP_2025]),
    }
    sources = {
        s["url"].removeprefix(base): (s["status"], s["detail"]) for s in discovery["sources"]
    }
    assert sources["/sitemap_index.xml"] == ("ok", None)
    assert sources["/sitemaps/articles-2025.xml.gz"] == ("ok", None)
    assert sources["/sitemaps/missing.xml"] == ("error", "HTTP 404")
    assert sources["/sitemaps/page.xml"] == ("error", "an HTML page, not a sitemap")
    assert sources["/sitemaps/broken.xml"][1].startswith("malformed XML")
    assert sources["/feeds/broken.xml"][1].startswith("malformed XML")
    assert sources["/feeds/atom.xml"] == ("ok", None)
    blocked = sources[f"http://localhost:{news_site.port}/sitemaps/articles-2024.xml"]
    assert blocked[0] == "error" and "internal address" in blocked[1]
    assert [(e["spider"], e["accepted"]) for e in discovery["enqueues"]] == [
        ("sitemap", len(from_sitemap) + 1), ("feeds", len(from_feed)),
    ]  # fmt: skip
    # The merged run has what a single-machine run has at its end.
    assert summary["summary"]["articles"] == len(NEW)
    assert summary["summary"]["rejects_by_reason"] == {"blocked_target": 1}
    assert summary["drift"]["previous_run"] is None
    assert "<h1>newscrawl run " in (run_dir / "report.html").read_text(encoding="utf-8")

    # A later run over the same feed: the shared state store knows the pages, so the worker
    # fetches none of them; each ends as seen_before, still saying how it was found.
    hits_before = article_hits(news_site)
    again = run_enqueue(
        clean_redis.url, output, "--feeds", f"{base}/feeds/atom.xml", "--since", "2025-01-01"
    )
    assert again.returncode == 0, again.stderr[-3000:]
    second_dir = output / "articles" / again.stdout.split()[1].rstrip(":")
    assert second_dir != run_dir
    worker = run_worker(clean_redis.url, output, "w3")
    assert worker.returncode == 0, (worker.stdout + worker.stderr)[-3000:]
    code, second = merge(second_dir)
    assert code == 0, second["accounting"]
    assert article_hits(news_site) == hits_before
    assert read_jsonl(second_dir / "articles.jsonl") == []
    rejects = {r["url"]: r for r in read_jsonl(second_dir / "rejects.jsonl")}
    announced = [s for s in IN_ATOM if s in NEW]
    assert set(rejects) == {base + s.path for s in announced}
    for story in announced:
        reject = rejects[base + story.path]
        assert reject["reason"] == "seen_before"
        assert reject["discovered_via"] == {
            "kind": "feed", "source": f"{base}/feeds/atom.xml",
            "title": story.title, "published_at": story.date,
        }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--sitemaps", "http://a.example/s.xml", "--since", "last week"), "--since:"),
        (("--feeds", "http://a.example/f.xml", "--max-articles", "0"), "--max-articles:"),
        (("--feeds", "/no/such/feeds.txt"), "--feeds: not a URL and no such file"),
        (("--deny", "video"), "--deny: only with --sitemaps, --domains or --feeds"),
    ],
)
def test_enqueue_bad_discovery_arguments_name_the_option(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """Validated by the spiders' own models before Redis or any source is contacted."""
    done = run_enqueue("redis://127.0.0.1:9/0", tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_enqueue_whose_every_source_failed_exits_6(
    clean_redis: RedisServer, news_site: NewsSite, tmp_path: Path
) -> None:
    """`--domains host:port` of an http-only site: https fails its TLS handshake, http is
    read (exit 0). Nothing listening on the port: every source fails, nothing is queued,
    exit status 6 and a line saying so."""
    host = news_site.base.removeprefix("http://")
    done = run_enqueue(clean_redis.url, tmp_path / "ok", "--domains", host, "-s", "RETRY_TIMES=0")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"robots.txt https://{host}/robots.txt: " in done.stdout  # reported, then http
    assert "discovery FAILED" not in done.stdout
    clean_redis.client().flushall()
    closed = f"127.0.0.1:{free_port()}"
    done = run_enqueue(
        clean_redis.url, tmp_path / "none", "--domains", closed, "-s", "RETRY_TIMES=0"
    )
    assert done.returncode == 6, done.stdout + done.stderr[-3000:]
    assert " 0 inputs queued on articles:start_urls " in done.stdout
    assert "discovery FAILED: all 3 sitemap source(s) failed, nothing queued" in done.stdout
    assert clean_redis.client().llen(Keys("articles").start) == 0


def test_feeding_enqueue_keeps_the_run_and_the_workers(clean_redis: RedisServer) -> None:
    """While an enqueue runs, workers join its run and see the frontier as busy."""
    keys = Keys("articles")
    client = clean_redis.client()
    with Feeding(clean_redis.url, keys, lease=1.0) as feeding:
        assert live_feeders(client, keys) == 1
        time.sleep(1.5)  # longer than the lease: the heartbeat keeps it
        assert live_feeders(client, keys) == 1
        assert join_run(client, keys, "w1") == feeding.run_id  # nothing queued yet
    assert live_feeders(client, keys) == 0
    client.srem(keys.workers, "w1")
    killed = Feeding(clean_redis.url, keys, lease=1.0)  # registered, never beating: as killed
    time.sleep(1.2)
    assert live_feeders(client, keys) == 0  # expired and forgotten
    assert join_run(client, keys) != killed.run_id  # a dead enqueue does not hold the run
    killed.client.close()
    client.close()


def test_redis_killed_mid_run(
    clean_redis: RedisServer, slow_site: FixtureServer, tmp_path: Path
) -> None:
    """SIGKILL to redis-server (no clean shutdown), restarted on its port and directory.

    With `appendfsync always` every reply Redis sent was preceded by its fsync, so nothing
    acknowledged is lost; a reply lost in the crash makes the client retry, and every retried
    write is safe to repeat (claims: orphans re-queued; acknowledgements: LREM; hand-backs and
    re-queues: moved only if still there; pushes: once per batch marker).
    """
    output = tmp_path / "out"
    urls = tmp_path / "urls.txt"
    page_urls = [f"{slow_site.base}/gen/{n}.html" for n in range(2001, 2201)]
    urls.write_text("\n".join(page_urls) + "\n", encoding="utf-8")
    run_dir = output / "articles" / enqueue(clean_redis.url, output, urls)
    workers, logs = start_workers(clean_redis.url, output, tmp_path, ("w1", "w2"))
    try:
        client = clean_redis.client()
        inflight = [Keys("articles").inflight(name) for name in workers]
        wait_until(
            lambda: records_written(run_dir) >= 40 and sum(map(client.llen, inflight)) > 0,
            120, "the first records, and inputs in flight",
        )  # fmt: skip
        redis_log = clean_redis.directory / "redis.log"
        log_before = redis_log.stat().st_size
        clean_redis.kill()
        client.close()
        written_at_kill = records_written(run_dir)
        time.sleep(1.0)  # the workers meet a dead Redis and retry
        clean_redis.start()
        for process in workers.values():
            process.wait(timeout=180)
    finally:
        log_text = stop_workers(workers, logs)
    for name, process in workers.items():
        assert process.returncode == 0, log_text[name][-3000:]
    assert written_at_kill < len(page_urls)  # the crash fell mid-run
    restarted = redis_log.read_bytes()[log_before:].decode("utf-8", "replace")
    assert "DB loaded from append only file" in restarted  # restarted from the AOF
    code, summary = merge(run_dir)
    assert code == 0, summary["accounting"]
    assert summary["accounting"]["superseded"] == 0
    assert summary["accounting"]["written_twice_by_killed_worker"] == 0
    exported = Counter(a["requested_url"] for a in read_jsonl(run_dir / "articles.jsonl"))
    assert set(exported) == set(page_urls) and max(exported.values()) == 1
    assert read_jsonl(run_dir / "rejects.jsonl") == []


def test_redis_stalled_longer_than_the_lease(
    clean_redis: RedisServer, slow_site: FixtureServer, tmp_path: Path
) -> None:
    """SIGSTOP to redis-server for 8 s (the lease is 3 s), then SIGCONT.

    While Redis is stopped its clock runs on, so every heartbeat key has expired when it
    answers again, and each worker's reactor was frozen in a Redis call. The lease threads
    renew the keys at once and a reclaim waits for a whole lease of missing heartbeats, so
    no worker takes a live worker's inputs: every input exactly once, none reclaimed. The
    extraction answers that came in while the reactor was frozen are in time: no
    `extraction_timeout` although the stall is longer than NEWSCRAWL_EXTRACT_TIMEOUT.
    """
    output = tmp_path / "out"
    urls = tmp_path / "urls.txt"
    page_urls = [f"{slow_site.base}/gen/{n}.html" for n in range(3001, 3201)]
    urls.write_text("\n".join(page_urls) + "\n", encoding="utf-8")
    run_dir = output / "articles" / enqueue(clean_redis.url, output, urls)
    # w1 extracts in a worker process with a time limit shorter than the stall; w2 on its
    # reactor, so that after the stall it is busy with the pages that came in meanwhile
    # before its own heartbeat call would run.
    extraction = {
        "w1": {"NEWSCRAWL_EXTRACT_WORKERS": "1", "NEWSCRAWL_EXTRACT_TIMEOUT": "3"},
        "w2": {"NEWSCRAWL_EXTRACT_WORKERS": "0"},
    }
    workers, logs = start_workers(clean_redis.url, output, tmp_path, ("w1", "w2"), extraction)
    assert clean_redis.process is not None
    try:
        client = clean_redis.client()
        inflight = [Keys("articles").inflight(name) for name in workers]
        wait_until(
            lambda: records_written(run_dir) >= 40 and all(map(client.llen, inflight)),
            120, "the first records, and inputs in flight in both workers",
        )  # fmt: skip
        client.close()
        clean_redis.process.send_signal(signal.SIGSTOP)
        try:
            written_at_stop = records_written(run_dir)
            time.sleep(8.0)
        finally:
            clean_redis.process.send_signal(signal.SIGCONT)
        for process in workers.values():
            process.wait(timeout=180)
    finally:
        log_text = stop_workers(workers, logs)
    for name, process in workers.items():
        assert process.returncode == 0, log_text[name][-3000:]
    assert written_at_stop < len(page_urls)  # the stall fell mid-run
    assert "queued again" not in log_text["w1"] + log_text["w2"]
    code, summary = merge(run_dir)
    assert code == 0, summary["accounting"]
    assert summary["accounting"]["superseded"] == 0
    assert summary["accounting"]["duplicated"] == 0
    exported = Counter(a["requested_url"] for a in read_jsonl(run_dir / "articles.jsonl"))
    assert set(exported) == set(page_urls) and max(exported.values()) == 1
    assert read_jsonl(run_dir / "rejects.jsonl") == []  # no extraction_timeout among them


def test_a_redis_password_never_reaches_the_log(
    clean_redis: RedisServer, slow_site: FixtureServer, tmp_path: Path
) -> None:
    """Credentials in NEWSCRAWL_REDIS_URL appear masked wherever the URL is logged or kept."""
    client = clean_redis.client()
    client.acl_setuser(
        "newscrawl-test", enabled=True, passwords=["+s3cr3t-pw"], keys=["*"], channels=["*"],
        commands=["+@all"],
    )  # fmt: skip
    url = clean_redis.url.replace("redis://", "redis://newscrawl-test:s3cr3t-pw@")
    output = tmp_path / "out"
    urls = tmp_path / "urls.txt"
    page_urls = [f"{slow_site.base}/gen/{n}.html" for n in range(1101, 1104)]
    urls.write_text("\n".join(page_urls) + "\n", encoding="utf-8")
    run_dir = output / "articles" / enqueue(url, output, urls)
    done = run_worker(url, output, "w1")
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "redis://newscrawl-test:***@127.0.0.1" in log  # the worker's start line
    assert "s3cr3t-pw" not in log
    assert "s3cr3t-pw" not in (run_dir / "part-w1" / "run.json").read_text(encoding="utf-8")
    assert len(read_jsonl(run_dir / "part-w1" / "articles.jsonl")) == len(page_urls)
    client.acl_deluser("newscrawl-test")


def test_merge_exits_4_when_the_error_rate_is_too_high(
    clean_redis: RedisServer, slow_site: FixtureServer, tmp_path: Path
) -> None:
    """As `scrapy crawl`: accounting fine, but most pages failed (a site blocking us)."""
    output = tmp_path / "out"
    urls = tmp_path / "urls.txt"
    good = f"{slow_site.base}/gen/1201.html"
    missing = [f"{slow_site.base}/missing-{n}.html" for n in range(3)]
    urls.write_text("\n".join([good, *missing]) + "\n", encoding="utf-8")
    run_dir = output / "articles" / enqueue(clean_redis.url, output, urls)
    worker = run_worker(clean_redis.url, output, "w1")
    assert worker.returncode == 4, (worker.stdout + worker.stderr)[-3000:]
    code, summary = merge(run_dir)
    assert code == 4
    assert summary["accounting"]["ok"] is True
    assert summary["counts"]["rejects_by_reason"] == {"http_error": 3}
    assert summary["summary"]["error_rate"]["exceeded"] is True
