"""A host that answers 429 + Retry-After pauses only itself: the real `scrapy crawl`.

Two hosts, each a server of its own (127.0.0.1 and localhost: two download slots). The "busy"
one rate-limits: every request in the 5 s from its first is answered 429 with
`Retry-After: 5`; it has 60 pages queued first (more than CONCURRENT_REQUESTS). The "calm"
one has 10 pages after them. The servers' timestamps say that every calm page was served
while the busy host was waiting, and that the busy host waited as asked. (The old middleware
slept in `process_response`, holding 16 downloader places: the calm pages came after.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import CrawlResult, run_crawl
from tests.generated import article_html
from tests.httpd import LocalServer, QuietHandler

RETRY_AFTER = 5
BUSY_PAGES = 60
CALM_PAGES = 10


class TimedSite(LocalServer):
    """Serves /page/<n>.html (story n); records when each path was served, and the status."""

    request_queue_size = 128  # no connection left waiting in the backlog (a 1 s SYN retry)

    def __init__(self, rate_limited: bool = False) -> None:
        super().__init__(_Handler)
        self.rate_limited = rate_limited  # 429 to everything for RETRY_AFTER s from the first
        self.limit_ends: float | None = None  # when the Retry-After asked for is over
        self.served: dict[str, list[tuple[float, int]]] = {}  # path -> [(time, status)]
        self._lock = threading.Lock()

    def status_now(self, path: str) -> int:
        """429 inside the rate-limit window, else 200; recorded with the time."""
        with self._lock:
            now = time.monotonic()
            if self.rate_limited and self.limit_ends is None:
                self.limit_ends = now + RETRY_AFTER
            status = 429 if self.limit_ends is not None and now < self.limit_ends else 200
            self.served.setdefault(path, []).append((now, status))
            return status


class _Handler(QuietHandler):
    server: TimedSite

    def do_GET(self) -> None:
        path = self.path
        if path == "/robots.txt":
            return self.send(404, "text/plain", b"")
        if path.startswith("/page/") and path.endswith(".html"):
            if self.server.status_now(path) == 429:
                headers = {"Retry-After": str(RETRY_AFTER)}
                return self.send(429, "text/html", b"<h1>Slow down</h1>", headers)
            n = int(path[len("/page/") : -len(".html")])
            return self.send(200, "text/html; charset=utf-8", article_html(n))
        return self.send(404, "text/html", b"<h1>Not Found</h1>")


@dataclass
class Crawl:
    result: CrawlResult
    busy: TimedSite
    calm: TimedSite


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    busy = TimedSite(rate_limited=True).start()
    calm = TimedSite().start()
    lines = [f"{busy.base}/page/{n}.html" for n in range(1, BUSY_PAGES + 1)]
    lines += [f"http://localhost:{calm.port}/page/{n}.html" for n in range(1001, 1001 + CALM_PAGES)]
    workdir = tmp_path_factory.mktemp("retry_after")
    (workdir / "urls.txt").write_text("\n".join(lines) + "\n")
    result = run_crawl(workdir / "out", "-a", f"urls={workdir / 'urls.txt'}")
    yield Crawl(result, busy, calm)
    busy.stop()
    calm.stop()


def _first_429(site: TimedSite) -> float:
    return min(t for hits in site.served.values() for t, status in hits if status == 429)


def test_every_page_ends_as_an_article(crawl: Crawl) -> None:
    assert crawl.result.returncode == 0, crawl.result.log[-3000:]
    assert len(crawl.result.articles) == BUSY_PAGES + CALM_PAGES
    assert crawl.result.rejects == []
    # localhost was connected to through newscrawl's resolver (else the guard warns).
    assert "TWISTED_DNS_RESOLVER is not" not in crawl.result.log


def test_the_busy_host_waits_as_asked(crawl: Crawl) -> None:
    limited = {path: hits for path, hits in crawl.busy.served.items() if hits[0][1] == 429}
    assert limited  # the rate limit was hit
    for path, [(asked_at, _), (retried_at, status)] in limited.items():
        assert status == 200, path
        assert retried_at - asked_at >= RETRY_AFTER - 0.2, path
    # The whole host waited: once the first 429 was in (requests already sent aside),
    # nothing was asked of it until the pause ended.
    start = _first_429(crawl.busy)
    times = sorted(t for hits in crawl.busy.served.values() for t, _ in hits)
    assert [t - start for t in times if start + 1.0 < t < start + RETRY_AFTER - 0.2] == []


def test_the_other_host_is_not_held_back(crawl: Crawl) -> None:
    calm = [t for hits in crawl.calm.served.values() for t, _ in hits]
    assert len(calm) == CALM_PAGES
    assert crawl.busy.limit_ends is not None and max(calm) < crawl.busy.limit_ends
