"""What the discovery spiders (sitemap, feeds, site) share: filtering announced URLs and
reporting on the sources they came from.

Every URL a run decides to fetch is opened in the ledger and ends as one record, as in the
`articles` spider. URLs filtered out before fetching (`since`, `allow`/`deny`,
`max_articles`, off-domain, repeats, unusable URLs) are only counted, by reason, in run.json;
so is every source (sitemap, feed, robots.txt) with its status.

Frontier mode (`scrapy enqueue --sitemaps/--domains/--feeds`, distributed mode): the spider
is given a `Frontier` and, instead of opening an input and requesting the page, yields each
accepted URL as a `FrontierEntry` item (its `discovered_via`, and whether its host is one the
user named) for `FrontierPipeline` to queue. It then fetches sources only, never a page; the
workers decide `seen_before` when they claim the entry, against the shared state store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from newscrawl.distributed.frontier import Frontier, FrontierEntry
from newscrawl.fetch.middlewares import WEB_SCHEMES
from newscrawl.history.runkeys import RunKeys
from newscrawl.items import RejectItem
from newscrawl.sources.discovery import is_older_than
from newscrawl.sources.inputs import to_fetchable_url, url_key
from newscrawl.spiders.base import NewsSpider
from newscrawl.spiders.params import DiscoveryParams, SpiderArgumentError
from schemas import Discovery


class DiscoverySpider(NewsSpider):
    """Base of spiders that find article URLs in sources rather than take a list."""

    params: DiscoveryParams

    def __init__(self, params: DiscoveryParams, frontier: object = None) -> None:
        super().__init__()
        if frontier is not None and not isinstance(frontier, Frontier):
            raise SpiderArgumentError("-a frontier: unknown argument")  # set by enqueue only
        self.params = params
        self.frontier: Frontier | None = frontier
        self.filtered: Counter[str] = Counter()
        self.sources: list[dict[str, Any]] = []
        self._offered = RunKeys()  # URL keys accepted so far (on disk: history.runkeys)
        self._accepted = 0
        self._sources_requested = 0
        self._sources_pending = 0  # sources requested and not yet read (or failed)
        self._positions: Counter[str] = Counter()  # URLs accepted per source (input ids)

    def offer(self, url: str, via: Discovery) -> Request | RejectItem | FrontierEntry | None:
        """What an announced URL becomes: a request; a `seen_before` reject when an earlier
        run exported it (not fetched again; with `-a refresh=true`, a conditional request
        instead); or None (counted) when it is filtered out. In
        frontier mode: the entry to queue for the workers."""
        reason = self._filter_reason(url, via)
        if reason is not None:
            self.filtered[reason] += 1
            self.crawler.stats.inc_value(f"newscrawl/discovery/filtered/{reason}")
            return None
        self._accepted += 1
        if self.frontier is not None:
            host = (urlsplit(url).hostname or "").lower()
            return FrontierEntry(url, via, trusted=host in self.user_hosts)
        source = via.source or self.name
        self._positions[source] += 1
        input_id = self.open_input(url, f"{source}#{self._positions[source]}")
        return self.first_request(input_id, url, via)

    def _filter_reason(self, url: str, via: Discovery) -> str | None:
        if urlsplit(url).scheme not in WEB_SCHEMES:
            return "invalid_url"
        try:
            to_fetchable_url(url, None)
        except ValueError:
            return "invalid_url"
        if self._offered.add(url_key(url)) is not None:
            return "duplicate"
        params = self.params
        if params.deny is not None and params.deny.search(url):
            return "deny"
        if params.allow is not None and not params.allow.search(url):
            return "allow"
        if params.since is not None and is_older_than(via.published_at, params.since):
            return "since"
        if params.max_articles is not None and self._accepted >= params.max_articles:
            return "max_articles"
        return None

    def source_request(
        self, url: str, kind: str, callback: Any, *, user_given: bool = False, **meta: Any
    ) -> Request:
        """A request for a sitemap, feed or robots.txt; its failure is reported, not raised.

        `user_given`: the user named this source (argument), so its host is trusted.
        """
        if user_given:
            self.trust(url)
        self._sources_requested += 1
        self._sources_pending += 1
        return Request(
            url,
            callback=self._read_source,
            errback=self._source_error,
            dont_filter=True,
            meta={
                "source_kind": kind,
                "user_given": user_given,
                "source_callback": callback.__name__,
                **meta,
            },
        )

    def _read_source(self, response: Any) -> Iterator[Any]:
        """The source's own callback, counted as read once it has yielded everything."""
        try:
            yield from getattr(self, response.meta["source_callback"])(response) or ()
        finally:
            self._sources_pending -= 1

    def _source_error(self, failure: Failure) -> Iterator[Request]:
        try:
            yield from self.source_failed(failure)
        finally:
            self._sources_pending -= 1

    def expected_total(self) -> int | None:
        """The run's inputs once every source requested so far is read (progress display).

        None while a source is being read, and for spiders that find pages without sources.
        """
        if self._sources_requested and not self._sources_pending:
            return self.ledger.opened
        return None

    def report_source(
        self,
        url: str,
        kind: str,
        error: str | None = None,
        entries: int = 0,
        *,
        recovered_from: str | None = None,
    ) -> None:
        """Record one source's outcome for run.json (and the stats): `ok`, `error`, or
        `recovered` (malformed, but its `entries` were read; `detail` is the error)."""
        status = "error" if error else "recovered" if recovered_from else "ok"
        detail = error or recovered_from
        self.sources.append(
            {"url": url, "kind": kind, "status": status, "entries": entries, "detail": detail}
        )
        self.crawler.stats.inc_value(f"newscrawl/discovery/sources/{status}")
        if error:
            self.logger.warning("%s %s unusable: %s", kind, url, error)
        elif recovered_from:
            self.logger.warning(
                "%s %s recovered (%d entries read): %s", kind, url, entries, recovered_from
            )

    def source_failed(self, failure: Failure) -> Iterator[Request]:
        """A source that could not be fetched: reported, and the run goes on.

        Subclasses may yield fallback requests (a domain's /sitemap.xml after robots.txt).
        """
        request = failure.request  # type: ignore[attr-defined]
        self.report_source(request.url, request.meta["source_kind"], failure_detail(failure))
        yield from ()

    def discovery_summary(self) -> dict[str, Any]:
        """The discovery part of run.json: sources read and URLs not fetched, by reason."""
        return {
            "sources": self.sources,
            "accepted": self._accepted,
            "filtered": dict(sorted(self.filtered.items())),
        }


def failure_detail(failure: Failure) -> str:
    """A failed source request in one line: its HTTP status, or the error."""
    error = failure.value
    if isinstance(error, HttpError):
        return f"HTTP {error.response.status}"
    return f"{type(error).__name__}: {error}"[:500]
