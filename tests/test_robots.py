"""robots.txt obeyed by the real `scrapy crawl`: every waiting request, and RFC 9309's errors.

One crawl covers several hosts (each a server of its own on 127.0.0.1, so its own netloc and
robots.txt): a slow robots.txt with 40 pages queued behind it, a 404, a 503, an unreachable
host, an oversize file and redirect chains. The servers' hit logs say what was fetched.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import CrawlResult, run_crawl
from tests.generated import article_html
from tests.httpd import LocalServer, QuietHandler

RULES = b"User-agent: *\nDisallow: /private/\n"
LIMIT = 500 * 1024


@dataclass
class Robots:
    """How one host answers /robots.txt."""

    status: int = 200
    body: bytes = RULES
    delay: float = 0.0
    redirects: int = 0  # hops /robots.txt -> /hop/1 -> ... -> /hop/<n> -> the file
    location: str | None = None  # /robots.txt redirects there instead
    served_at: list[float] = field(default_factory=list)


class RobotsSite(LocalServer):
    """A host with its own robots.txt; /news/, /private/ and /late/ pages are articles."""

    def __init__(self, robots: Robots) -> None:
        super().__init__(_Handler)
        self.robots = robots
        self.hits: Counter[str] = Counter()
        self.first_page_at: float | None = None


class _Handler(QuietHandler):
    server: RobotsSite

    def do_GET(self) -> None:
        path = self.path
        self.server.hits[path] += 1
        robots = self.server.robots
        if path == "/robots.txt" and robots.location:
            return self.send(302, "text/html", b"", {"Location": robots.location})
        if path == "/robots.txt" or path.startswith("/hop/"):
            hop = int(path.rsplit("/", 1)[1]) if path.startswith("/hop/") else 0
            if hop < robots.redirects:
                return self.send(301, "text/html", b"", {"Location": f"/hop/{hop + 1}"})
            time.sleep(robots.delay)
            robots.served_at.append(time.monotonic())
            return self.send(robots.status, "text/plain", robots.body)
        for section in ("/news/", "/private/", "/late/"):
            if path.startswith(section) and path.endswith(".html"):
                if self.server.first_page_at is None:
                    self.server.first_page_at = time.monotonic()
                n = int(path[len(section) : -len(".html")])
                return self.send(200, "text/html; charset=utf-8", article_html(n))
        return self.send(404, "text/html", b"<h1>Not Found</h1>")


def _oversize() -> bytes:
    """robots.txt past 500 KiB: a rule before the limit, one after it."""
    head = b"User-agent: *\nDisallow: /private/\n"
    filler = b"".join(b"# padding line %06d of a very long robots.txt\n" % i for i in range(12000))
    assert len(head + filler) > LIMIT
    return head + filler + b"Disallow: /late/\n"


HOSTS = {
    "slow": Robots(delay=1.5),
    "missing": Robots(status=404, body=b"<h1>Not Found</h1>"),
    "failing": Robots(status=503, body=b"<h1>Service Unavailable</h1>"),
    "oversize": Robots(body=_oversize()),
    "five_redirects": Robots(redirects=5),
    "six_redirects": Robots(redirects=6),
    "to_file": Robots(location="file:///etc/passwd"),
}


@dataclass
class Crawl:
    result: CrawlResult
    sites: dict[str, RobotsSite]
    unreachable: str  # base URL of a port nothing listens on
    urls: dict[str, list[str]]  # host name -> its input URLs


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory, closed_port: int) -> Iterator[Crawl]:
    sites = {name: RobotsSite(robots).start() for name, robots in HOSTS.items()}
    unreachable = f"http://127.0.0.1:{closed_port}"
    urls: dict[str, list[str]] = {}
    story = iter(range(1, 10_000))  # every page a different story: no duplicate_content
    slow = sites["slow"].base
    # 40 pages of the slow host, every third under /private/, all queued before robots.txt.
    urls["slow"] = [
        f"{slow}/{'private' if i % 3 == 0 else 'news'}/{next(story)}.html" for i in range(40)
    ]
    for name in ("missing", "failing", "oversize", "five_redirects", "six_redirects", "to_file"):
        base = sites[name].base
        urls[name] = [f"{base}/{section}/{next(story)}.html" for section in ("news", "private")]
    urls["oversize"].append(f"{sites['oversize'].base}/late/{next(story)}.html")
    urls["unreachable"] = [f"{unreachable}/news/{next(story)}.html"]
    workdir = tmp_path_factory.mktemp("robots")
    url_file = workdir / "urls.txt"
    url_file.write_text("\n".join(u for group in urls.values() for u in group) + "\n")
    result = run_crawl(workdir / "out", "-a", f"urls={url_file}")
    yield Crawl(result, sites, unreachable, urls)
    for site in sites.values():
        site.stop()


def _outcomes(crawl: Crawl, host: str) -> dict[str, tuple[str, str]]:
    """Input URL -> (reason or "article", detail) for one host's inputs."""
    records = {a["requested_url"]: ("article", "") for a in crawl.result.articles}
    records |= {r["requested_url"]: (r["reason"], r["detail"]) for r in crawl.result.rejects}
    return {url: records[url] for url in crawl.urls[host]}


def test_crawl_ends_cleanly_with_one_record_per_input(crawl: Crawl) -> None:
    result = crawl.result
    assert result.returncode == 0, result.log[-3000:]
    total = sum(len(group) for group in crawl.urls.values())
    assert len(result.articles) + len(result.rejects) == total
    assert result.run["accounting"]["ok"] is True
    # The failing, unreachable and to_file hosts' 5 pages count as download errors (exit
    # status 4 above NEWSCRAWL_MAX_ERROR_RATE): a network down is not a clean run.
    error = result.run["summary"]["error_rate"]
    assert (error["robots_unavailable"], error["errors"], error["requested"]) == (5, 5, total)
    assert "Traceback" not in result.log


def test_pages_queued_behind_a_slow_robots_txt_obey_it(crawl: Crawl) -> None:
    site = crawl.sites["slow"]
    assert site.hits["/robots.txt"] == 1  # one fetch for the host, however many waited
    assert not [path for path in site.hits if path.startswith("/private/")]
    assert site.first_page_at is not None and site.first_page_at >= site.robots.served_at[0]
    outcomes = _outcomes(crawl, "slow")
    for url, (reason, detail) in outcomes.items():
        if "/private/" in url:
            assert (reason, detail) == ("robots_forbidden", "disallowed by the site's robots.txt")
        else:
            assert reason == "article", (url, detail)
    assert sum(1 for url in outcomes if "/private/" in url) == 14


def test_a_missing_robots_txt_allows_everything(crawl: Crawl) -> None:
    assert {reason for reason, _ in _outcomes(crawl, "missing").values()} == {"article"}
    assert crawl.sites["missing"].hits["/robots.txt"] == 1


def test_a_failing_robots_txt_disallows_the_whole_host(crawl: Crawl) -> None:
    site = crawl.sites["failing"]
    assert site.hits["/robots.txt"] == 3  # first try + RETRY_TIMES=2
    assert set(site.hits) == {"/robots.txt"}  # no page fetched
    for reason, detail in _outcomes(crawl, "failing").values():
        assert reason == "robots_forbidden"
        assert detail == "robots.txt unavailable (HTTP 503): the host is disallowed for this run"
    warnings = [line for line in crawl.result.log.splitlines() if f"{site.base}/robots.txt" in line]
    assert len(warnings) == 1 and " WARNING: " in warnings[0], warnings


def test_an_unreachable_robots_txt_disallows_the_host_without_a_traceback(crawl: Crawl) -> None:
    [(reason, detail)] = _outcomes(crawl, "unreachable").values()
    assert reason == "robots_forbidden"
    assert detail == (
        "robots.txt unavailable (DownloadConnectionRefusedError: Connection was refused by"
        " other side: 111: Connection refused.): the host is disallowed for this run"
    )
    netloc = crawl.unreachable.removeprefix("http://")
    lines = [line for line in crawl.result.log.splitlines() if netloc in line]
    warnings = [line for line in lines if f"{crawl.unreachable}/robots.txt unavailable" in line]
    assert len(warnings) == 1 and " WARNING: " in warnings[0], lines
    assert not [line for line in lines if " ERROR: " in line]


def test_only_the_first_500_kib_of_robots_txt_count(crawl: Crawl) -> None:
    outcomes = {
        url.split("/")[3]: reason for url, (reason, _) in _outcomes(crawl, "oversize").items()
    }
    assert outcomes == {"news": "article", "private": "robots_forbidden", "late": "article"}


def test_five_redirects_are_followed_and_six_are_taken_as_no_robots_txt(crawl: Crawl) -> None:
    five = crawl.sites["five_redirects"]
    assert five.hits["/hop/5"] == 1 and five.robots.served_at
    assert {url.split("/")[3]: r for url, (r, _) in _outcomes(crawl, "five_redirects").items()} == {
        "news": "article",
        "private": "robots_forbidden",
    }
    six = crawl.sites["six_redirects"]
    assert six.hits["/hop/5"] == 1 and six.hits["/hop/6"] == 0 and not six.robots.served_at
    assert {reason for reason, _ in _outcomes(crawl, "six_redirects").values()} == {"article"}
    assert "more than 5 redirects; taken as missing (all allowed)" in crawl.result.log


def test_a_robots_txt_redirected_off_the_web_is_unavailable(crawl: Crawl) -> None:
    site = crawl.sites["to_file"]
    assert set(site.hits) == {"/robots.txt"}
    for reason, detail in _outcomes(crawl, "to_file").values():
        assert (reason, detail) == (
            "robots_forbidden",
            "robots.txt unavailable (BlockedTarget: blocked: file:// URLs are read only when"
            " given as input): the host is disallowed for this run",
        )


def test_robots_stats_are_counted(crawl: Crawl) -> None:
    # slow 14, failing 2, unreachable 1, oversize 1, five redirects 1, to_file 2
    assert "'newscrawl/robots/forbidden': 21," in crawl.result.log
    assert "'newscrawl/robots/unavailable': 3," in crawl.result.log
    assert "'newscrawl/robots/truncated': 1," in crawl.result.log
