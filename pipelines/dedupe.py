"""De-duplicate within a run: by canonical URL and by content hash; repeats become rejects.

The keys of every article passed are kept on disk (`newscrawl.history.runkeys`), not in dicts, so
the pipeline's memory does not grow with the run.
"""

from __future__ import annotations

from typing import Any, Self

from scrapy.crawler import Crawler

from newscrawl.history.runkeys import RunKeys
from newscrawl.history.urls import page_keys
from newscrawl.items import ArticleItem, RejectItem
from schemas import Article, Reject, RejectReason


class DedupePipeline:
    """The first article for a URL or a body wins; later ones are `duplicate_*` rejects."""

    def __init__(self) -> None:
        self._by_url = RunKeys()  # page key -> URL of the first article with it
        self._by_content = RunKeys()  # content_sha256 -> URL of the first article with it

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        article = item.article
        # Final URL and same-site canonical link (not the requested URL: a redirect from
        # another input is found by the final URL); see newscrawl.history.urls.
        keys = set(page_keys(None, article.url, article.canonical_url))
        first_url = self._by_url.first(keys)
        if first_url is not None:
            return self._duplicate(item, RejectReason.duplicate_url, first_url, "same page as")
        first_body = self._by_content.get(article.content_sha256)
        if first_body is not None:
            return self._duplicate(item, RejectReason.duplicate_content, first_body, "same text as")
        for key in keys:
            self._by_url.put(key, article.url)
        self._by_content.put(article.content_sha256, article.url)
        return item

    def close_spider(self) -> None:
        self._by_url.close()
        self._by_content.close()

    @staticmethod
    def _duplicate(item: ArticleItem, reason: RejectReason, first: str, what: str) -> RejectItem:
        return duplicate_reject(item, reason, first, f"{what} {first}")


def duplicate_reject(
    item: ArticleItem, reason: RejectReason, first: str, detail: str, *, keep_record: bool = True
) -> RejectItem:
    """The reject for an article that repeats `first` (also used by `pipelines.history`);
    `keep_record`: carry the article itself in `record`."""
    article: Article = item.article
    reject = Reject(
        url=article.url,
        reason=reason,
        detail=detail,
        http_status=article.http_status,
        fetched_at=article.fetched_at,
        spider=article.spider,
        requested_url=article.requested_url,
        duplicate_of=first,
        discovered_via=article.discovered_via,
        warc=article.warc,
        record=article.model_dump(mode="json") if keep_record else None,
    )
    return RejectItem(item.input_id, reject, item.validators)
