"""`scrapy crawl site -a start=URL[,URL] [-a depth=N]`: follow a site's links to its articles.

Links are followed within the start pages' hosts up to `depth` clicks from a start page.
Pages that look like articles (structured data says so, or the extractor finds a real body)
are exported; section fronts, tag, author and pagination pages are crawled for their links
only: never exported, never rejected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor

from newscrawl.distributed.frontier import FrontierEntry
from newscrawl.extraction import ArticleFields
from newscrawl.items import CandidateItem, NavigationItem, RejectItem
from newscrawl.sources.inputs import to_fetchable_url
from newscrawl.spiders.discovery_base import DiscoverySpider
from newscrawl.spiders.params import SiteParams, SpiderArgumentError, parse_params
from schemas import Discovery
from schemas.article import count_words

# A page without article markup and with this many teasers is a listing, not a story.
_MIN_TEASERS = 2


class SiteSpider(DiscoverySpider):
    """Article URLs found by following links from section and front pages."""

    name = "site"
    params: SiteParams

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(parse_params(SiteParams, kwargs))
        try:
            self._starts = [to_fetchable_url(url, None) for url in self.params.start]
        except ValueError as exc:
            raise SpiderArgumentError(f"-a start: {exc}") from None
        self._hosts = {urlsplit(url).netloc.lower() for url in self._starts}
        self._links = LinkExtractor(deny_extensions=None, unique=True)

    async def start(self) -> AsyncIterator[Any]:
        for url in self._starts:
            request = self.offer(url, Discovery(kind="link", source=None), depth=0)
            if request is not None:
                yield request

    def offer(  # type: ignore[override]
        self, url: str, via: Discovery, depth: int = 0
    ) -> Request | RejectItem | FrontierEntry | None:
        """As for every discovery spider, plus: same hosts only, and the depth travelled.

        (Never in frontier mode: following links means fetching the pages.)"""
        if urlsplit(url).netloc.lower() not in self._hosts:
            self.filtered["off_domain"] += 1
            self.crawler.stats.inc_value("newscrawl/discovery/filtered/off_domain")
            return None
        outcome = super().offer(url, via)
        if isinstance(outcome, Request):
            outcome.meta["link_depth"] = depth
        return outcome

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        """The page's own outcome, then requests for its links while depth allows."""
        async for item in super().parse_page(response):
            yield item
        depth = response.meta.get("link_depth", 0)
        if depth >= self.params.depth or not isinstance(response, TextResponse):
            return
        via = Discovery(kind="link", source=response.url)
        for link in self._links.extract_links(response):
            request = self.offer(link.url, via, depth=depth + 1)
            if request is not None:
                yield request

    def page_outcome(
        self,
        input_id: int,
        response: Response,
        fields: ArticleFields,
        record: dict[str, Any],
        common: dict[str, Any],
    ) -> CandidateItem | RejectItem | NavigationItem:
        """Navigation for pages that neither declare an article nor carry a real body."""
        if is_navigation(fields, response, self.settings.getint("NEWSCRAWL_MIN_WORDS")):
            return NavigationItem(input_id, response.url)
        return super().page_outcome(input_id, response, fields, record, common)


def is_navigation(fields: ArticleFields, response: Response, min_words: int) -> bool:
    """A page the site spider crawls only for its links (also used when reprocessing)."""
    if fields.is_declared_article:
        return False
    return fields.is_listing or count_words(fields.text) < min_words or _has_teasers(response)


def _has_teasers(response: Response) -> bool:
    """Front, section, tag and author pages: repeated teasers, each a headline linking away."""
    if not isinstance(response, TextResponse):
        return False
    teasers = len(response.xpath("//article"))
    linked_headlines = len(response.xpath("//h2[a] | //h3[a] | //a[h2] | //a[h3]"))
    return teasers >= _MIN_TEASERS or linked_headlines >= _MIN_TEASERS
