"""What every newscrawl spider shares after discovery: fetch, extract, and account.

A subclass only discovers URLs and calls `open_input` + `page_request` (or `reject_input`).
Everything a fetched page can turn into (an article candidate, or a reject with a reason)
is decided here, so all spiders treat pages alike.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, ResponseDataLossError
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from newscrawl import signals as run_signals
from newscrawl.extraction import (
    EXTRACTOR_NAME,
    EXTRACTOR_VERSION,
    TRAFILATURA_VERSION,
    ArticleFields,
)
from newscrawl.fetch.middlewares import WEB_SCHEMES, BlockedTarget
from newscrawl.fetch.robots import RobotsForbidden
from newscrawl.history.state import PageState
from newscrawl.items import CandidateItem, NavigationItem, RejectItem, Validators
from newscrawl.pool.workers import ExtractionFailed, extractor_for
from newscrawl.runs.ledger import Ledger
from newscrawl.runs.reruns import Reruns
from newscrawl.spiders.params import INPUTS_FROM_REDIS
from schemas import Discovery, Reject, RejectReason

HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_REJECT_URL = 4096


class NewsSpider(Spider):
    """Base spider: turns each accepted input into exactly one item for the pipelines."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Hosts the user named (inputs, start pages, sources): the target guard lets them be
        # internal addresses; hosts only reached by links or redirects may not be.
        self.user_hosts: set[str] = set()

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # Distributed mode (newscrawl.distributed): inputs come from Redis, not -a arguments.
        INPUTS_FROM_REDIS.set(bool(settings.get("NEWSCRAWL_REDIS_URL")))

    @property
    def ledger(self) -> Ledger:
        """The crawl's ledger (`Ledger.of`): the inputs this spider opened, until settled."""
        return Ledger.of(self.crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """The spider, with its answers to newscrawl's signals connected (`newscrawl.signals`):
        the other components ask, they do not read its attributes."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.unread_inputs, signal=run_signals.unread_inputs)
        crawler.signals.connect(spider.expected_total, signal=run_signals.expected_total)
        crawler.signals.connect(spider.discovery_summary, signal=run_signals.discovery_report)
        return spider

    def expected_total(self) -> int | None:
        """How many inputs this run has, for the progress display; None when not known."""
        return None

    def discovery_summary(self) -> dict[str, Any] | None:
        """The discovery part of run.json; None for spiders that do not discover URLs."""
        return None

    def trust(self, url: str) -> None:
        """Record that the user named this URL's host."""
        host = urlsplit(url).hostname
        if host:
            self.user_hosts.add(host.lower())

    def open_input(self, url: str, key: str | None = None) -> int:
        """Take responsibility for one input; it must end as exactly one item. `key` is its
        stable id from its source (`<source>#<position>`), written on its record."""
        self.crawler.stats.inc_value("newscrawl/inputs")
        return self.ledger.open(url[:MAX_REJECT_URL], key)

    def unread_inputs(self) -> Iterator[tuple[int, str, int]]:
        """Inputs the spider had not read when the run stopped, each opened now: (input id,
        source, line number). None here; spiders reading an input file yield its rest."""
        return iter(())

    def page_request(
        self, input_id: int, url: str, discovered_via: Discovery | None = None
    ) -> Request:
        """The request for an input's page, wired to the shared callback and errback.

        Inputs from a list, and start pages (no source), are the user's own choice.
        """
        user_given = (
            discovered_via is None or discovered_via.kind == "list" or discovered_via.source is None
        )
        if user_given:
            self.trust(url)
        return Request(
            url,
            callback=self.parse_page,
            errback=self.on_error,
            dont_filter=True,  # duplicates are decided by us and become rejects, never dropped
            meta={
                "input_id": input_id,
                "requested_url": url,
                "discovered_via": discovered_via.model_dump() if discovered_via else None,
                "user_given": user_given,
            },
        )

    def reject_input(
        self, input_id: int, url: str, reason: RejectReason, detail: str, **extra: Any
    ) -> RejectItem:
        """A reject for an input that is not (or could not be) fetched."""
        reject = Reject(
            url=url[:MAX_REJECT_URL], reason=reason, detail=detail, spider=self.name, **extra
        )
        return RejectItem(input_id, reject)

    def first_request(self, input_id: int, url: str, via: Discovery | None) -> Request | RejectItem:
        """The first of the two places the history is consulted, before the fetch (the other
        is `pipelines.history`, after extraction): a page an earlier run exported is not
        fetched again (`seen_before`), or with `-a refresh=true` is revalidated with a
        conditional request; any other page is requested."""
        reruns = self.crawler.get_extension(Reruns)
        earlier = reruns.exported_before(url) if reruns is not None else None
        if earlier is None:
            return self.page_request(input_id, url, via)
        if reruns is not None and reruns.refresh:
            return self.revalidation_request(input_id, url, via, earlier)
        return self.reject_input(
            input_id, url, RejectReason.seen_before,
            f"exported in run {earlier.run_id} as {earlier.url}; not fetched again"
            " (-a refresh=true refetches)",
            duplicate_of=earlier.url, discovered_via=via,
        )  # fmt: skip

    def revalidation_request(
        self, input_id: int, url: str, via: Discovery | None, earlier: PageState
    ) -> Request:
        """A conditional request for a page an earlier run exported (`-a refresh=true`)."""
        headers = {}
        if earlier.etag:
            headers["If-None-Match"] = earlier.etag
        if earlier.last_modified:
            headers["If-Modified-Since"] = earlier.last_modified
        request = self.page_request(input_id, url, via)
        meta = {
            **request.meta,
            "handle_httpstatus_list": [304],
            "earlier": {"url": earlier.url, "run_id": earlier.run_id},
        }
        revalidation = request.replace(meta=meta, callback=self.parse_revalidated)
        revalidation.headers.update(headers)
        return revalidation

    def parse_revalidated(self, response: Response) -> Any:
        """A 304 ends the input as `unchanged`; a full answer is parsed like any page."""
        if response.status != 304:
            return self.parse_page(response)
        earlier = response.meta["earlier"]
        reject = self.reject_input(
            response.meta["input_id"], response.url, RejectReason.unchanged,
            f"not modified since run {earlier['run_id']} (HTTP 304)",
            http_status=304, fetched_at=datetime.now(UTC),
            requested_url=response.meta["requested_url"], duplicate_of=earlier["url"],
            discovered_via=response.meta.get("discovered_via"),
        )  # fmt: skip
        reject.validators = Validators.of(response.headers)  # for the state store's touch
        return [reject]

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        """Extract the article from a fetched page, or reject the page with the reason.

        Extraction runs in a worker process (`newscrawl.pool.workers`); waiting for it holds this
        response, so a busy pool slows the downloader instead of piling pages up in memory.
        """
        input_id: int = response.meta["input_id"]
        requested: str = response.meta["requested_url"]
        # An archived or replayed response carries its WARC record's time and location.
        fetched_at = response.meta.get("fetched_at") or datetime.now(UTC)
        common = {
            "http_status": response.status,
            "fetched_at": fetched_at,
            "requested_url": requested,
            "discovered_via": response.meta.get("discovered_via"),
            "warc": response.meta.get("warc"),
        }
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        is_html = (
            content_type.startswith(HTML_TYPES)
            if content_type
            else isinstance(response, HtmlResponse)  # no header (file://): Scrapy's guess
        )
        if not isinstance(response, TextResponse) or not is_html:
            shown = content_type or type(response).__name__
            yield self.reject_input(
                input_id,
                response.url,
                RejectReason.not_html,
                f"not an HTML page ({shown})",
                **common,
            )
            return
        try:
            page = await extractor_for(self.crawler).extract(
                response.body, content_type, response.url
            )
        except ExtractionFailed as exc:  # a crash, a time-out or a bug: the input still ends
            yield self.reject_input(input_id, response.url, exc.reason, exc.detail, **common)
            return
        fields: ArticleFields = page.fields
        record = {
            "url": response.url,
            **fields.record_fields(),
            **common,
            "spider": self.name,
            "extractor": {
                "name": EXTRACTOR_NAME,
                "version": EXTRACTOR_VERSION,
                "trafilatura": TRAFILATURA_VERSION,
            },
            "warnings": fields.problems,
        }
        outcome = self.page_outcome(input_id, response, fields, record, common)
        if isinstance(outcome, CandidateItem):  # what the history pipeline and writer need
            outcome.signature = page.signature
            outcome.validators = Validators.of(response.headers)
        yield outcome

    def page_outcome(
        self,
        input_id: int,
        response: Response,
        fields: ArticleFields,
        record: dict[str, Any],
        common: dict[str, Any],
    ) -> CandidateItem | RejectItem | NavigationItem:
        """What an extracted page becomes: a candidate article, or `no_article_text`.

        Spiders that also crawl pages for their links override this to let non-articles
        pass as navigation instead of rejects.
        """
        if fields.is_listing or not fields.text:
            detail = (
                "page is a listing (section or front page), not an article"
                if fields.is_listing
                else "no article body found in the page"
            )
            return self.reject_input(
                input_id, response.url, RejectReason.no_article_text, detail,
                record=record, **common,
            )  # fmt: skip
        return CandidateItem(input_id, record)

    def on_error(self, failure: Failure) -> Any:
        """Turn a failed download into a reject that says what went wrong."""
        request = failure.request  # type: ignore[attr-defined]
        input_id: int = request.meta["input_id"]
        reason, detail, status = _classify_failure(failure)
        fetched = request.meta.get("fetched_at") or datetime.now(UTC)  # archived: its time
        yield self.reject_input(
            input_id, request.url, reason, detail,
            http_status=status, requested_url=request.meta["requested_url"],
            discovered_via=request.meta.get("discovered_via"),
            fetched_at=fetched if status else None,
            warc=request.meta.get("warc"),  # set once a response was archived, or replayed
        )  # fmt: skip


def _classify_failure(failure: Failure) -> tuple[RejectReason, str, int | None]:
    error = failure.value
    if isinstance(error, HttpError):
        response = error.response
        location = (response.headers.get(b"Location") or b"").decode("latin-1")
        target = urlsplit(urljoin(response.url, location)).scheme if location else ""
        if 300 <= response.status < 400 and location and target not in WEB_SCHEMES:
            detail = f"redirect to {location[:200]!r} refused: only http(s) is followed"
            return RejectReason.blocked_target, detail, response.status
        return RejectReason.http_error, f"HTTP {response.status}", response.status
    if isinstance(error, BlockedTarget):
        return RejectReason.blocked_target, str(error)[:500], None
    if isinstance(error, RobotsForbidden):
        return RejectReason.robots_forbidden, error.detail, None
    if "max size" in str(error) or "DOWNLOAD_MAXSIZE" in str(error):
        return RejectReason.too_large, str(error)[:500], None
    if isinstance(error, DownloadCancelledError) and not str(error):
        # Scrapy cancels a body that grows past DOWNLOAD_MAXSIZE without a message.
        return RejectReason.too_large, "download cancelled: body larger than DOWNLOAD_MAXSIZE", None
    return RejectReason.download_error, _describe(error)[:1000], None


def _describe(error: BaseException) -> str:
    """A download failure as a person reads it: what happened, then the library's words."""
    if isinstance(error, ResponseDataLossError):
        return "connection closed before the whole body arrived (ResponseDataLossError)"
    text = str(error)
    if "SSL" in text or "TLS" in text:
        reasons = re.findall(r"'([^']*(?:version|certificate|handshake|alert)[^']*)'", text)
        return f"TLS error: {reasons[0] if reasons else text}"
    return f"{type(error).__name__}: {text}"
