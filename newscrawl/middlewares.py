"""Downloader middlewares: where the crawl may go, and how it waits when asked to.

`TargetGuardMiddleware` keeps discovered links and redirects away from the machine's own
network: non-http(s) schemes and loopback, private, link-local and metadata addresses are
refused (reject `blocked_target`) unless the host was given by the user or allowed by a
setting. `PoliteRetryMiddleware` is Scrapy's retry, plus honouring `Retry-After`.
`HeadMetaRefreshMiddleware` is Scrapy's meta-refresh redirect, reading only a page's head.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self, cast
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.utils.httpobj import urlparse_cached
from w3lib.html import get_base_url, get_meta_refresh

WEB_SCHEMES = frozenset({"http", "https"})


class BlockedTarget(IgnoreRequest):
    """A request the crawl refuses to send, and why."""


def is_internal_address(ip: str) -> bool:
    """Loopback, private, link-local (cloud metadata), unique-local or otherwise not public."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


class TargetGuardMiddleware:
    """Refuses requests to non-web schemes and internal addresses the user did not name."""

    def __init__(self, crawler: Crawler, allowed_hosts: frozenset[str]) -> None:
        self.crawler = crawler
        self.allowed_hosts = allowed_hosts
        self._resolved: dict[str, list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("NEWSCRAWL_GUARD_TARGETS"):
            raise NotConfigured
        hosts = crawler.settings.getlist("NEWSCRAWL_ALLOWED_INTERNAL_HOSTS")
        return cls(crawler, frozenset(h.lower() for h in hosts))

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        parts = urlsplit(request.url)
        if parts.scheme == "file":
            if not request.meta.get("user_given"):
                self._block(request, "file:// URLs are read only when given as input")
            return
        if parts.scheme not in WEB_SCHEMES:
            self._block(request, f"scheme {parts.scheme!r} is not fetched")
        host = (parts.hostname or "").lower()
        user_hosts: set[str] = getattr(self.crawler.spider, "user_hosts", set())
        if host in user_hosts or host in self.allowed_hosts:
            return
        for ip in await self._addresses(host, parts.port or 0):
            if is_internal_address(ip):
                self._block(request, f"{host} is an internal address ({ip})")

    async def _addresses(self, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            pass
        if host not in self._resolved:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError:
                infos = []  # unresolvable: the download itself fails with a clear error
            self._resolved[host] = sorted({str(info[4][0]) for info in infos})
        return self._resolved[host]

    def _block(self, request: Request, why: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("newscrawl/blocked_targets")
        raise BlockedTarget(f"blocked: {why}")


class PoliteRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, waiting as long as a 429/503 `Retry-After` asks (up to a limit)."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.max_retry_after = settings.getfloat("NEWSCRAWL_MAX_RETRY_AFTER")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler.settings)
        middleware.crawler = crawler
        return middleware

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        wait = _retry_after(response) if response.status in {429, 503} else None
        if wait is not None:
            if wait > self.max_retry_after:
                return response  # the server asks for longer than we wait: an http_error
            if request.meta.get("retry_times", 0) < request.meta.get(
                "max_retry_times", self.max_retry_times
            ):
                await asyncio.sleep(wait)
        return super().process_response(request, response)


def _retry_after(response: Response) -> float | None:
    """Seconds the server asks us to wait: `Retry-After` as seconds or as an HTTP date."""
    value = (response.headers.get(b"Retry-After") or b"").decode("latin-1").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# Scrapy looks for a refresh (and a <base>) in a page's first 4,096 characters.
META_SCAN = 4096


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's meta-refresh redirect (same settings, same outcome), decoding only the head.

    Scrapy's own decodes the whole body to search its first 4,096 characters, and the text
    stays cached on the response while the page waits for an extraction worker: the page's
    size again (up to four times, as a str) per response held, and about 0.1-0.2 ms a page,
    in the crawler process, for a tag that sits in the head. Extraction never reads that
    text (workers decode the bytes themselves).
    """

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if (
            request.meta.get("dont_redirect", False)
            or request.method == "HEAD"
            or not isinstance(response, HtmlResponse)
            or urlparse_cached(request).scheme not in WEB_SCHEMES
        ):
            return response
        interval, url = head_meta_refresh(response, self._ignore_tags)
        if not url:
            return response
        redirected = self._redirect_request_using_get(request, response, url)
        if urlparse_cached(redirected).scheme not in WEB_SCHEMES:
            return response
        if cast("float", interval) < self._maxdelay:
            return self._redirect(redirected, request, "meta refresh")
        return response


def head_meta_refresh(
    response: HtmlResponse, ignore_tags: list[str]
) -> tuple[None, None] | tuple[float, str]:
    """What Scrapy's `get_meta_refresh` finds in the page's first 4,096 characters, from a
    16 KB head (4,096 characters in any encoding) rather than the whole decoded text."""
    encoding = response.encoding  # declared (header, BOM, <meta charset>), else inferred
    text = response.body[: META_SCAN * 4].decode(encoding, "replace")[:META_SCAN]
    base = get_base_url(text, response.url, encoding)
    return get_meta_refresh(text, base, encoding, ignore_tags=ignore_tags)
