"""`scrapy crawl feeds -a feeds=URL|PATH[,...]`: the article links of RSS 2.0 and Atom feeds.

Each part of `feeds` is a feed URL, a local feed file, or a text file listing feeds (one per
line, as URL lists are written). Each item's date and title are kept as hints.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from scrapy import Request
from scrapy.http import Response

from newscrawl.distributed.frontier import FrontierEntry
from newscrawl.items import RejectItem
from newscrawl.sources.discovery import SourceError, parse_feed
from newscrawl.sources.inputs import read_url_file, to_fetchable_url
from newscrawl.spiders.discovery_base import DiscoverySpider
from newscrawl.spiders.params import FeedsParams, SpiderArgumentError, parse_params
from schemas import Discovery


class FeedsSpider(DiscoverySpider):
    """Article URLs from RSS and Atom feeds."""

    name = "feeds"
    params: FeedsParams

    def __init__(self, **kwargs: Any) -> None:
        frontier = kwargs.pop("frontier", None)  # scrapy enqueue (frontier mode) only
        super().__init__(parse_params(FeedsParams, kwargs), frontier)
        for item in self.params.feeds:
            if "://" not in item and not Path(item).is_file():
                raise SpiderArgumentError(f"-a feeds: not a URL and no such file: {item}")

    async def start(self) -> AsyncIterator[Any]:
        for item in self.params.feeds:
            for url in self._feed_urls(item):
                yield self.source_request(url, "feed", self.parse_feed, user_given=True)

    def _feed_urls(self, item: str) -> Iterator[str]:
        """A feed URL as given; a local feed as a file URL; a list file as its lines."""
        if "://" in item:
            try:
                yield to_fetchable_url(item, None)
            except ValueError as exc:
                self.report_source(item, "feed", str(exc))
            return
        path = Path(item)
        with path.open("rb") as handle:
            head = handle.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"<"):
            yield path.resolve().as_uri()
            return
        for line in read_url_file(path, self.settings.getint("NEWSCRAWL_MAX_INPUT_LINE")):
            if line.url is None:
                self.report_source(line.raw, "feed", f"{path}: {line.error}")
            else:
                yield line.url

    def parse_feed(self, response: Response) -> Iterator[Request | RejectItem | FrontierEntry]:
        """The feed's item links, with their dates and titles as hints (a malformed feed's
        entries too, where feedparser recovers them: the source is then `recovered`)."""
        try:
            feed = parse_feed(response.body)
        except SourceError as exc:
            self.report_source(response.url, "feed", str(exc))
            return
        self.report_source(
            response.url, "feed", entries=len(feed.entries), recovered_from=feed.recovered_from
        )
        for entry in feed.entries:
            via = Discovery(
                kind="feed",
                source=response.url,
                title=entry.title[:1000] if entry.title else None,
                published_at=entry.published_at[:100] if entry.published_at else None,
            )
            request = self.offer(urljoin(response.url, entry.url), via)
            if request is not None:
                yield request
