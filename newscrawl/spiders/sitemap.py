"""`scrapy crawl sitemap -a sitemaps=URL[,URL]` or `-a domains=example.com[,...]`.

Reads sitemaps (indexes followed, `.xml.gz` unzipped, Google News sitemaps' publication date
and title kept as hints), from the given URLs or from each domain's robots.txt (falling back
to /sitemap.xml), and fetches the article URLs they list.

A domain given without a scheme is tried over https first; when that fails to connect or
its TLS handshake fails (an http-only host), over http. `domains=http://host` asks for http.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from OpenSSL import SSL
from scrapy import Request
from scrapy.exceptions import (
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.internet import error as twisted_errors
from twisted.python.failure import Failure
from twisted.web.client import ResponseNeverReceived

from newscrawl.distributed.frontier import FrontierEntry
from newscrawl.items import RejectItem
from newscrawl.sources.discovery import SourceError, decompress, parse_sitemap
from newscrawl.sources.inputs import to_fetchable_url, url_key
from newscrawl.spiders.discovery_base import DiscoverySpider, failure_detail
from newscrawl.spiders.params import SitemapParams, SpiderArgumentError, parse_params
from schemas import Discovery

# Failures of an https request that an http-only host gives (refused, TLS handshake failed,
# connection dropped or timed out), after which the domain is tried over http. Not DNS
# failures or HTTP statuses: http would not fare better.
HTTPS_FAILURES = (
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    ResponseDataLossError,
    ResponseNeverReceived,
    SSL.Error,
    twisted_errors.ConnectionRefusedError,
    twisted_errors.TCPTimedOutError,
    twisted_errors.TimeoutError,
    twisted_errors.ConnectionLost,
    twisted_errors.ConnectionDone,
)


class SitemapSpider(DiscoverySpider):
    """Article URLs from XML sitemaps and news sitemaps."""

    name = "sitemap"
    params: SitemapParams

    def __init__(self, **kwargs: Any) -> None:
        frontier = kwargs.pop("frontier", None)  # scrapy enqueue (frontier mode) only
        super().__init__(parse_params(SitemapParams, kwargs), frontier)
        try:
            self._start_sitemaps = [
                to_fetchable_url(url, Path.cwd()) for url in self.params.sitemaps or []
            ]
        except ValueError as exc:
            raise SpiderArgumentError(f"-a sitemaps: {exc}") from None
        # (base URL, whether http is tried when https fails): only for domains without scheme
        self._domains = [
            (domain.rstrip("/"), False)
            if "://" in domain
            else (f"https://{domain.strip('/')}", True)
            for domain in self.params.domains or []
        ]
        self._sitemaps_read: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        for url in self._start_sitemaps:
            for request in self._sitemap_requests([url], user_given=True):
                yield request
        for domain, http_fallback in self._domains:
            yield self._robots_request(domain, http_fallback)

    def _robots_request(self, domain: str, http_fallback: bool) -> Request:
        return self.source_request(
            f"{domain}/robots.txt",
            "robots.txt",
            self.parse_robots,
            dont_obey_robotstxt=True,
            user_given=True,
            domain=domain,
            http_fallback=http_fallback,
            handle_httpstatus_all=True,
        )

    def parse_robots(self, response: Response) -> Iterator[Request]:
        """The Sitemap: lines of robots.txt, or /sitemap.xml where there are none."""
        found = (  # from the bytes: Scrapy deprecates passing robots.txt as str
            list(sitemap_urls_from_robots(response.body, base_url=response.url))
            if response.status == 200
            else []
        )
        if found:
            self.report_source(response.url, "robots.txt", entries=len(found))
        else:
            fallback = f"{response.meta['domain']}/sitemap.xml"
            self.report_source(
                response.url, "robots.txt", f"no Sitemap lines (HTTP {response.status}); "
                f"trying {fallback}",
            )  # fmt: skip
            found = [fallback]
        yield from self._sitemap_requests(found)

    def source_failed(self, failure: Failure) -> Iterator[Request]:
        """A domain's robots.txt that failed over https is tried over http (the domain was
        given without scheme, and https failed to connect); else its /sitemap.xml."""
        request = failure.request  # type: ignore[attr-defined]
        meta = request.meta
        if (
            meta["source_kind"] == "robots.txt"
            and meta.get("http_fallback")
            and failure.check(*HTTPS_FAILURES)
        ):
            http = "http://" + meta["domain"].removeprefix("https://")
            detail = f"{failure_detail(failure)}; trying {http}/robots.txt"
            self.report_source(request.url, "robots.txt", detail)
            yield self._robots_request(http, http_fallback=False)
            return
        yield from super().source_failed(failure)
        if meta["source_kind"] == "robots.txt":
            yield from self._sitemap_requests([f"{meta['domain']}/sitemap.xml"])

    def _sitemap_requests(self, urls: list[str], user_given: bool = False) -> Iterator[Request]:
        """Requests for sitemaps not read yet in this run (an index that loops is read once)."""
        for url in urls:
            key = url_key(url)
            if key in self._sitemaps_read:
                self.filtered["sitemap_already_read"] += 1
                continue
            self._sitemaps_read.add(key)
            yield self.source_request(url, "sitemap", self.parse_sitemap, user_given=user_given)

    def parse_sitemap(self, response: Response) -> Iterator[Request | RejectItem | FrontierEntry]:
        """A sitemap index's children, or the article URLs of a sitemap."""
        try:
            body = decompress(response.body, response.url, self.settings.getint("DOWNLOAD_MAXSIZE"))
            sitemap = parse_sitemap(body)
        except SourceError as exc:
            self.report_source(response.url, "sitemap", str(exc))
            return
        if sitemap.is_index:
            self.report_source(response.url, "sitemap_index", entries=len(sitemap.children))
            yield from self._sitemap_requests([urljoin(response.url, c) for c in sitemap.children])
            return
        self.report_source(response.url, "sitemap", entries=len(sitemap.entries))
        for entry in sitemap.entries:
            via = Discovery(
                kind=entry.kind,
                source=response.url,
                title=(entry.title or None) and entry.title[:1000],
                published_at=(entry.published_at or None) and entry.published_at[:100],
            )
            request = self.offer(urljoin(response.url, entry.url), via)
            if request is not None:
                yield request
