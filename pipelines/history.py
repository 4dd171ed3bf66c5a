"""Compare each article with what earlier runs exported (the state store, `history.state`).

After the in-run checks (`pipelines.dedupe`), an article whose page is already in the store
becomes `seen_before` (found only after fetching: a redirect or a canonical link led to it),
or, with `-a refresh=true`, `unchanged` or a new revision (`revision` + 1, `previous_sha256`).
A body already exported under another page is `duplicate_content`; a body close to one
(MinHash, `NEWSCRAWL_NEAR_DUPLICATE_THRESHOLD`) is `near_duplicate`. Both name the original.
Pages exported earlier in this same run (an attempt killed and resumed) count as in-run:
the same outcomes `pipelines.dedupe` would have given.
"""

from __future__ import annotations

from typing import Any, Self

from scrapy.crawler import Crawler

from newscrawl.history import neardup
from newscrawl.history.urls import page_keys
from newscrawl.items import ArticleItem, RejectItem
from newscrawl.runs.reruns import Reruns
from pipelines.dedupe import duplicate_reject
from schemas import RejectReason


class HistoryPipeline:
    """ArticleItem -> the same, a new revision, or a reject naming the earlier record."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._reruns: Reruns | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        self._reruns = self.crawler.get_extension(Reruns)

    def process_item(self, item: Any) -> Any:
        reruns = self._reruns
        if not isinstance(item, ArticleItem) or reruns is None:
            return item
        article = item.article
        keys = page_keys(article.requested_url, article.url, article.canonical_url)
        page = reruns.store.lookup(keys)
        if page is not None and page.run_id == reruns.run_id:
            return _reject(item, RejectReason.duplicate_url, page.url, f"same page as {page.url}")
        if page is not None and not reruns.refresh:
            detail = f"same page as {page.url}, exported in run {page.run_id}"
            return _reject(item, RejectReason.seen_before, page.url, detail)
        if page is not None and page.content_sha256 == article.content_sha256:
            detail = f"content unchanged since run {page.run_id}"
            return _reject(item, RejectReason.unchanged, page.url, detail)
        signature = neardup.from_bytes(item.signature)  # made by the extraction worker
        if signature is None:
            signature = neardup.signature(article.text)
        if page is None:
            first = reruns.store.find_content(article.content_sha256)
            if first is not None:
                detail = f"same text as {first.url}"
                return _reject(item, RejectReason.duplicate_content, first.url, detail)
            if reruns.near_threshold > 0:
                near = reruns.nearest(signature, exclude=set(keys))
                if near is not None:
                    url, similarity = near
                    detail = (
                        f"near copy of {url} (estimated similarity {similarity:.2f},"
                        f" threshold {reruns.near_threshold:.2f})"
                    )
                    return _reject(item, RejectReason.near_duplicate, url, detail)
        else:
            article = article.model_copy(
                update={"revision": page.revision + 1, "previous_sha256": page.content_sha256}
            )
        # The signature travels on with the item: the writer saves what the item carries.
        item = ArticleItem(item.input_id, article, neardup.to_bytes(signature), item.validators)
        reruns.on_its_way(keys[0], article.url, signature)
        return item


def _reject(item: ArticleItem, reason: RejectReason, first: str, detail: str) -> RejectItem:
    return duplicate_reject(item, reason, first, detail, keep_record=reason not in _RECORD_NOT_KEPT)


# The earlier record is the same page: no need to carry the body again.
_RECORD_NOT_KEPT = frozenset({RejectReason.seen_before, RejectReason.unchanged})
