"""Validate each candidate into an `Article`; a record that fails becomes a `Reject`."""

from __future__ import annotations

from typing import Any, Self

from pydantic import ValidationError
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from newscrawl.items import ArticleItem, CandidateItem, RejectItem
from schemas import Reject, RejectReason, build_article

# Failures of these fields mean the page has no usable body, not a broken record.
_BODY_FIELDS = frozenset({"text", "word_count"})


class ValidatePipeline:
    """CandidateItem -> ArticleItem, or RejectItem (`no_article_text` / `validation_error`)."""

    def __init__(self, stats: StatsCollector, min_words: int) -> None:
        self.stats = stats
        self.min_words = min_words

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(crawler.stats, crawler.settings.getint("NEWSCRAWL_MIN_WORDS"))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, CandidateItem):
            return item
        try:
            article = build_article(item.record, min_words=self.min_words)
        except ValidationError as exc:
            return RejectItem(item.input_id, self._reject(item.record, exc), item.validators)
        if article.warnings:
            self.stats.inc_value("newscrawl/articles_with_warnings")
        return ArticleItem(item.input_id, article, item.signature, item.validators)

    def _reject(self, record: dict[str, Any], exc: ValidationError) -> Reject:
        errors = exc.errors(include_url=False, include_input=False)
        fields = {str(e["loc"][0]) for e in errors if e["loc"]}
        only_body = bool(fields) and fields <= _BODY_FIELDS
        reason = RejectReason.no_article_text if only_body else RejectReason.validation_error
        detail = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg'].removeprefix('Value error, ')}"
            for e in errors
        )
        return Reject(
            url=str(record.get("url", ""))[:4096],
            reason=reason,
            detail=detail[:2000],
            http_status=record.get("http_status"),
            fetched_at=record.get("fetched_at"),
            spider=str(record.get("spider", "")),
            requested_url=record.get("requested_url"),
            discovered_via=record.get("discovered_via"),
            warc=record.get("warc"),
            record=record,
        )
