"""robots.txt, obeyed for every request: one fetch per host, every waiting request answered.

Scrapy's `RobotsTxtMiddleware` (2.19) has the requests that arrive while a host's robots.txt
is downloading await one Deferred: the first gets the parser, the others get `None`, which
it reads as "allowed", so pages robots.txt forbids were fetched. `RobotsMiddleware` replaces
it: each origin (scheme, host and port: RFC 9309 2.3 scopes robots.txt to them) gets one
asyncio task fetching its robots.txt, and every request of that origin awaits its result.

Errors follow RFC 9309 (section 2.3.1):
- 2xx: the rules are parsed (Scrapy's `ROBOTSTXT_PARSER`, Protego by default) from at most
  the first 500 KiB; the download stops there, and a line cut by the limit is dropped;
- 3xx: up to 5 redirects are followed; after more, robots.txt is taken as unavailable (as a
  4xx): everything is allowed;
- 4xx (429 aside): no robots.txt, everything is allowed;
- 5xx, 429, or unreachable (DNS, refused connection, time-out, a refused redirect): complete
  disallow for that host during the run; its pages end as `robots_forbidden` rejects whose
  detail says robots.txt was unavailable and why, and one WARNING line is logged.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urljoin

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured, StopDownload
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object

from newscrawl.runs.summary import ROBOTS_UNAVAILABLE

logger = logging.getLogger(__name__)

MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309 2.5: crawlers parse at least 500 KiB
MAX_ROBOTS_REDIRECTS = 5  # RFC 9309 2.3.1.2: follow at least five consecutive redirects
ROBOTS_META = "newscrawl_robots"  # marks our robots.txt requests (size limit, no robots check)
ROBOTS_PRIORITY = 1000  # robots.txt goes before pages


class RobotsForbidden(IgnoreRequest):
    """A page robots.txt keeps the crawl from: disallowed, or robots.txt unavailable."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class HostRules:
    """What a host's robots.txt says: rules to check, allow all, or disallow all (and why)."""

    parser: RobotParser | None = None
    unavailable: str | None = None  # set: robots.txt could not be read; every page disallowed

    def check(self, url: str, user_agent: str | bytes) -> None:
        """Raise `RobotsForbidden` unless these rules let `user_agent` fetch `url`."""
        if self.unavailable is not None:
            raise RobotsForbidden(
                f"{ROBOTS_UNAVAILABLE} ({self.unavailable}): the host is disallowed for this run"
            )
        if self.parser is not None and not self.parser.allowed(url, user_agent):
            raise RobotsForbidden("disallowed by the site's robots.txt")


ALLOW_ALL = HostRules()


class RobotsMiddleware:
    """Downloader middleware obeying robots.txt (`ROBOTSTXT_OBEY`) for every request."""

    def __init__(
        self,
        crawler: Crawler,
        parser_class: type[RobotParser],
        user_agent: str | None,
        default_user_agent: str,
        max_bytes: int = MAX_ROBOTS_BYTES,
        max_redirects: int = MAX_ROBOTS_REDIRECTS,
    ) -> None:
        self.crawler = crawler
        self.parser_class = parser_class
        self.user_agent = user_agent
        self.default_user_agent = default_user_agent
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._hosts: dict[str, asyncio.Task[HostRules]] = {}  # origin -> its rules
        # robots.txt request -> bytes received so far (forgotten with the request)
        self._received: weakref.WeakKeyDictionary[Request, int] = weakref.WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        middleware = cls(
            crawler,
            load_object(settings["ROBOTSTXT_PARSER"]),
            settings.get("ROBOTSTXT_USER_AGENT") or None,
            settings["USER_AGENT"],
        )
        crawler.signals.connect(middleware._bytes_received, signal=signals.bytes_received)
        return middleware

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Wait for the host's rules (fetched once), then let the request pass or refuse it."""
        if request.meta.get("dont_obey_robotstxt") or request.meta.get(ROBOTS_META):
            return
        parts = urlparse_cached(request)
        if parts.scheme not in ("http", "https"):
            return  # file:, data:: nothing to ask
        origin = f"{parts.scheme}://{parts.netloc}"
        task = self._hosts.get(origin)
        if task is None:
            task = asyncio.ensure_future(self._fetch_rules(f"{origin}/robots.txt", origin))
            self._hosts[origin] = task
        rules = task.result() if task.done() else await asyncio.shield(task)
        user_agent = (
            self.user_agent or request.headers.get(b"User-Agent") or self.default_user_agent
        )
        try:
            rules.check(request.url, user_agent)
        except RobotsForbidden:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("newscrawl/robots/forbidden")
            raise

    async def _fetch_rules(self, url: str, origin: str) -> HostRules:
        """Download robots.txt (redirects followed by hand, to count them) into rules."""
        assert self.crawler.stats is not None and self.crawler.engine is not None
        self.crawler.stats.inc_value("newscrawl/robots/requests")
        for _ in range(self.max_redirects + 1):
            try:
                request = Request(
                    url,
                    priority=ROBOTS_PRIORITY,
                    callback=NO_CALLBACK,
                    meta={
                        ROBOTS_META: True,
                        "dont_obey_robotstxt": True,
                        "dont_redirect": True,
                        "give_up_log_level": "DEBUG",  # retries exhausted: our WARNING says it
                    },
                )
                response = await self.crawler.engine.download_async(request)
            except Exception as exc:  # DNS, refused, time-out, refused or bad redirect
                return self._unavailable(origin, _describe(exc))
            status = response.status
            location = response.headers.get(b"Location")
            if 300 <= status < 400 and status != 304 and location:
                url = urljoin(response.url, location.decode("latin-1"))
                continue
            if 200 <= status < 300:
                return HostRules(parser=self._parse(response))
            if status == 429 or status >= 500:
                return self._unavailable(origin, f"HTTP {status}")
            self.crawler.stats.inc_value("newscrawl/robots/missing")
            return ALLOW_ALL  # 4xx (and other answers without rules, such as a bare 3xx)
        logger.warning(
            "%s/robots.txt: more than %d redirects; taken as missing (all allowed)",
            origin,
            self.max_redirects,
        )
        self.crawler.stats.inc_value("newscrawl/robots/missing")
        return ALLOW_ALL

    def _parse(self, response: Response) -> RobotParser:
        body = response.body
        if len(body) > self.max_bytes:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("newscrawl/robots/truncated")
            body = body[: self.max_bytes]
            cut = max(body.rfind(b"\n"), body.rfind(b"\r"))
            body = body[: cut + 1]  # the line the limit cut through is not a rule
        parser: RobotParser = build_from_crawler(self.parser_class, self.crawler, body)
        return parser

    def _unavailable(self, origin: str, why: str) -> HostRules:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("newscrawl/robots/unavailable")
        logger.warning(
            "%s/robots.txt unavailable (%s): none of its pages is fetched in this run",
            origin,
            why,
        )
        return HostRules(unavailable=why)

    def _bytes_received(self, data: bytes, request: Request, **kwargs: Any) -> None:
        """Stop a robots.txt download once it is past the size we read (the body is kept)."""
        if not request.meta.get(ROBOTS_META):
            return
        received = self._received.get(request, 0) + len(data)
        self._received[request] = received
        if received > self.max_bytes:
            raise StopDownload(fail=False)


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__
