"""Downloader middlewares: where the crawl may go, and how it waits when asked to.

`TargetGuardMiddleware` keeps discovered links and redirects away from the machine's own
network: non-http(s) schemes and loopback, private, link-local and metadata addresses are
refused (reject `blocked_target`) unless the host was given by the user or allowed by a
setting. `PoliteRetryMiddleware` is Scrapy's retry, plus honouring `Retry-After` by pausing only
the host that asked.
`HeadMetaRefreshMiddleware` is Scrapy's meta-refresh redirect, reading only a page's head.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self, cast
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.core.downloader import Slot
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.utils.asyncio import call_later
from scrapy.utils.httpobj import urlparse_cached
from w3lib.html import get_base_url, get_meta_refresh

from newscrawl.fetch.resolver import PinnedResolver

logger = logging.getLogger(__name__)

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

    def __init__(
        self,
        crawler: Crawler,
        allowed_hosts: frozenset[str],
        resolver: PinnedResolver | None = None,
    ) -> None:
        self.crawler = crawler
        self.allowed_hosts = allowed_hosts
        # The reactor's resolver: names are checked on the very answer the connection uses.
        self.resolver = resolver
        self._resolved: dict[str, list[str]] = {}  # without it: our own lookups (getaddrinfo)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("NEWSCRAWL_GUARD_TARGETS"):
            raise NotConfigured
        hosts = crawler.settings.getlist("NEWSCRAWL_ALLOWED_INTERNAL_HOSTS")
        from twisted.internet import reactor  # installed by now: the crawl is starting

        resolver = getattr(reactor, "resolver", None)
        if not isinstance(resolver, PinnedResolver):
            logger.warning(
                "target guard: TWISTED_DNS_RESOLVER is not newscrawl.fetch.resolver.PinnedResolver;"
                " a name may answer the guard and the connection differently (DNS rebinding)"
            )
            resolver = None
        return cls(crawler, frozenset(h.lower() for h in hosts), resolver)

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
        loop = asyncio.get_running_loop()
        if self.resolver is not None:
            try:
                return [await self.resolver.getHostByName(host).asFuture(loop)]
            except Exception:  # unresolvable: the connection gets the same failure
                return []
        if host not in self._resolved:
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
    """Scrapy's retries; a 429/503 `Retry-After` (up to a limit) pauses that host's slot.

    The wait never blocks the downloader: the retry goes back to the scheduler at once, and
    the host's download slot sends nothing until the time is up (its queue is held with the
    slot's own timer, the one Scrapy uses for `DOWNLOAD_DELAY`), so other hosts go on. The
    paused host's queued pages count as its slot's active ones, so Scrapy's default
    `DownloaderAwarePriorityQueue` hands the downloader other hosts' requests first.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.max_retry_after = settings.getfloat("NEWSCRAWL_MAX_RETRY_AFTER")
        self._paused_until: dict[str, float] = {}  # slot key -> monotonic time it resumes

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler.settings)
        middleware.crawler = crawler
        return middleware

    def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        wait = _retry_after(response) if response.status in {429, 503} else None
        if wait is not None and not request.meta.get("dont_retry"):
            if wait > self.max_retry_after:
                return response  # the server asks for longer than we wait: an http_error
            if request.meta.get("retry_times", 0) < request.meta.get(
                "max_retry_times", self.max_retry_times
            ):
                self._pause_slot(request, wait)
        return super().process_response(request, response)

    def _pause_slot(self, request: Request, wait: float) -> None:
        """Hold the queue of the request's download slot for `wait` seconds."""
        assert self.crawler.engine is not None and self.crawler.stats is not None
        downloader = self.crawler.engine.downloader
        key = request.meta.get("download_slot") or downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        now = time.monotonic()
        if slot is None or self._paused_until.get(key, 0.0) >= now + wait:
            return  # gone (nothing queued), or already paused at least as long
        self._paused_until[key] = now + wait
        if slot.latercall is not None:
            slot.latercall.cancel()  # a DOWNLOAD_DELAY timer: the pause is the longer wait
        slot.latercall = call_later(wait, self._resume_slot, key, slot)
        self.crawler.stats.inc_value("newscrawl/retry_after/pauses")
        logger.debug("Retry-After: download slot %s paused for %.1f s", key, wait)

    def _resume_slot(self, key: str, slot: Slot) -> None:
        self._paused_until.pop(key, None)
        assert self.crawler.engine is not None
        self.crawler.engine.downloader._latercall(slot)  # clears latercall, runs the queue


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
