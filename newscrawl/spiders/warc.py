"""Pages from WARC files instead of the network: `crawl warc` and `scrapy reprocess`.

`scrapy crawl warc -a warcs=PATH|GLOB[,...]` reads WARC files written by any tool (CC-NEWS
among them). Every response record holding an HTML page is opened as an input and ends as
one article or reject, through the same extraction, validation and de-duplication as a
live crawl; other records (requests, metadata, warcinfo, revisits, redirects, non-HTML
responses) are only counted. `domains`, `since` (by the page's own date when its head
states one, else by WARC-Date), `allow` and `deny` are applied before extraction, filtered
records are counted by reason. A truncated file is read up to the tear, and the tear is
reported in run.json (`discovery.warc_files`).

`reprocess` (`scrapy reprocess RUN_DIR`, `newscrawl.commands.reprocess`) reads a run's own
archive (`NEWSCRAWL_ARCHIVE`): every response record is an input, with the requested URL,
discovery and spider the original run noted in it, so the records match the original's.

Bodies are not held: the scan keeps each record's offset, and `ReplayMiddleware` reads the
record back when its request is downloaded, so memory stays flat however large the files.
"""

from __future__ import annotations

import glob
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response
from scrapy.settings import BaseSettings

from newscrawl.extraction import ArticleFields
from newscrawl.extraction.metadata import parse_date
from newscrawl.fetch.archive import ARCHIVE_DIR
from newscrawl.fetch.warc import ScannedRecord, ScanResult, parse_warc_date, scan
from newscrawl.items import CandidateItem, NavigationItem, RejectItem
from newscrawl.spiders.base import HTML_TYPES, NewsSpider
from newscrawl.spiders.params import (
    ReprocessParams,
    SpiderArgumentError,
    WarcParams,
    parse_params,
)
from newscrawl.spiders.site import is_navigation
from schemas import Discovery, RejectReason

HEAD_BYTES = 64 * 1024  # the part of a page searched for its date (`since`)
REPLAY_ORDER = 10  # ahead of every other downloader middleware

# Settings of a replay: no network, so no politeness, robots.txt, retries or redirects.
REPLAY_SETTINGS = {
    "ROBOTSTXT_OBEY": False,
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "RETRY_ENABLED": False,
    "REDIRECT_ENABLED": False,
    "NEWSCRAWL_ARCHIVE": False,
}

_META_TAG = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_PUBLISHED_NAME = re.compile(
    rb"""(?:property|name|itemprop)\s*=\s*["']?(?:article:published_time|og:published_time"""
    rb"""|datePublished|pubdate|publishdate|dc\.date|date)["'\s/>]""",
    re.IGNORECASE,
)
_CONTENT = re.compile(rb"""content\s*=\s*["']([^"']{8,64})["']""", re.IGNORECASE)
_JSONLD_DATE = re.compile(rb'"datePublished"\s*:\s*"([^"]{8,64})"')


class WarcSpider(NewsSpider):
    """Extract the HTML pages of WARC files (`-a warcs=PATH|GLOB[,...]`)."""

    name = "warc"

    def __init__(self, **kwargs: Any) -> None:
        self.params = self.parse_arguments(kwargs)
        super().__init__()
        self.files = self.warc_files()
        self.records: Counter[str] = Counter()
        self.filtered: Counter[str] = Counter()
        self.file_reports: list[dict[str, Any]] = []

    def parse_arguments(self, kwargs: dict[str, Any]) -> Any:
        return parse_params(WarcParams, kwargs)

    def warc_files(self) -> list[Path]:
        """The files the arguments name, in order; an argument matching none is an error."""
        found: list[Path] = []
        for pattern in self.params.warcs or ():  # none: a distributed worker's come from Redis
            matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
            paths = [Path(m).resolve() for m in matches if Path(m).is_file()]
            if not paths:
                raise SpiderArgumentError(f"-a warcs: no WARC file matches {pattern!r}")
            found.extend(p for p in paths if p not in found)
        return found

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        for name, value in REPLAY_SETTINGS.items():
            settings.set(name, value, priority="spider")
        middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
        middlewares["newscrawl.fetch.archive.ReplayMiddleware"] = REPLAY_ORDER
        settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="spider")

    async def start(self) -> AsyncIterator[Any]:
        for item in self._inputs():
            yield item

    def _inputs(self) -> Iterator[Request | RejectItem]:
        for path in self.files:
            yield from self.file_inputs(path)

    def file_inputs(
        self, path: Path, params: WarcParams | None = None
    ) -> Iterator[Request | RejectItem]:
        """The inputs of one file (a request, or a reject, per page record kept by the
        filters), then its report in `file_reports`. `params`: the filters to apply instead of
        the spider's own (a distributed worker takes them from the file's frontier entry)."""
        stats = self.crawler.stats
        assert stats is not None
        result = ScanResult()
        counts: Counter[str] = Counter()
        filtered: Counter[str] = Counter()
        inputs = 0
        unreadable: str | None = None
        try:
            for record in scan(path, result, head_bytes=HEAD_BYTES):
                kind = self.classify(record)
                counts[kind] += 1
                self.records[kind] += 1
                stats.inc_value(f"newscrawl/warc/records/{kind}")
                if kind != "page":
                    continue
                reason = self.filter_reason(record, params)
                if reason is not None:
                    filtered[reason] += 1
                    self.filtered[reason] += 1
                    stats.inc_value(f"newscrawl/warc/filtered/{reason}")
                    continue
                inputs += 1
                yield self.page_input(path, record)
        except OSError as exc:  # gone, unmounted, unreadable: the file cannot be (fully) read
            unreadable = f"cannot read the file: {exc}"
        status = "unreadable" if unreadable else "unusable" if result.unusable else None
        report: dict[str, Any] = {
            "path": str(path),
            "records": result.records,
            "by_kind": dict(sorted(counts.items())),
            "filtered": dict(sorted(filtered.items())),
            "inputs": inputs,
            "status": status or ("torn" if result.tear else "ok"),
            "tear": result.tear,
            "detail": unreadable or result.unusable,
        }
        self.file_reports.append(report)
        if unreadable:
            stats.inc_value("newscrawl/warc/unreadable_files")
            self.logger.error("WARC file %s: %s", path, unreadable)
        elif result.unusable:
            stats.inc_value("newscrawl/warc/unusable_files")
            self.logger.error("WARC file %s not read: %s", path, result.unusable)
        if result.tear:
            stats.inc_value("newscrawl/warc/torn_files")
            self.logger.warning("WARC file %s is torn: %s", path, result.tear["detail"])

    def classify(self, record: ScannedRecord) -> str:
        """What a record is: `page` (an HTML response, to extract) or what is only counted."""
        if record.rec_type != "response":
            return record.rec_type or "unknown"
        if record.status is None:
            return "not_http"
        if 300 <= record.status < 400:
            return "redirect"
        content_type = record.content_type.lower()
        if content_type:
            return "page" if content_type.startswith(HTML_TYPES) else "not_html"
        sniffed = record.head[:1024].lstrip().lower()
        return "page" if sniffed.startswith((b"<!doctype html", b"<html")) else "not_html"

    def filter_reason(self, record: ScannedRecord, params: WarcParams | None = None) -> str | None:
        """Why a page record is left out (`domain`, `deny`, `allow`, `since`), or None."""
        params = params or self.params
        url = record.url
        host = (urlsplit(url).hostname or "").lower()
        if params.domains and not any(host == d or host.endswith("." + d) for d in params.domains):
            return "domain"
        if params.deny is not None and params.deny.search(url):
            return "deny"
        if params.allow is not None and not params.allow.search(url):
            return "allow"
        if params.since is not None:
            day = page_date(record.head) or _day(parse_warc_date(record.date))
            if day is not None and day < params.since:
                return "since"
        return None

    def page_input(self, path: Path, record: ScannedRecord) -> Request | RejectItem:
        """Open the record as an input: the request the replay answers from the file."""
        input_id = self.open_input(record.url, f"{path}#{record.offset}")
        via = Discovery(kind="warc", source=str(path))
        return self.replay_request(
            input_id, record, path, record.url, via.model_dump(), {"file": str(path)}
        )

    def replay_request(
        self,
        input_id: int,
        record: ScannedRecord,
        path: Path,
        requested_url: str,
        discovered_via: dict[str, Any] | None,
        warc: dict[str, Any],
        **meta: Any,
    ) -> Request | RejectItem:
        try:
            return Request(
                record.url,
                callback=self.parse_page,
                errback=self.on_error,
                dont_filter=True,
                meta={
                    "input_id": input_id,
                    "requested_url": requested_url,
                    "discovered_via": discovered_via,
                    "warc": {**warc, "offset": record.offset},
                    "replay": {"path": str(path), "offset": record.offset},
                    **meta,
                },
            )
        except ValueError as exc:  # a WARC-Target-URI Scrapy cannot request
            return self.reject_input(
                input_id, record.url or "(no WARC-Target-URI)", RejectReason.invalid_url,
                f"WARC record at offset {record.offset} of {path}: {exc}",
                discovered_via=discovered_via, warc={**warc, "offset": record.offset},
            )  # fmt: skip

    def discovery_summary(self) -> dict[str, Any]:
        """run.json's account of the files read: records by kind, filters, tears."""
        return {
            "warc_files": self.file_reports,
            "records": dict(sorted(self.records.items())),
            "filtered": dict(sorted(self.filtered.items())),
        }


def page_date(head: bytes) -> date | None:
    """The publication date a page's head states (meta tags, JSON-LD), if any: cheap, no
    parse of the page."""
    candidates = [
        found[1]
        for tag in _META_TAG.findall(head)
        if _PUBLISHED_NAME.search(tag) and (found := _CONTENT.search(tag))
    ]
    candidates += _JSONLD_DATE.findall(head)
    for raw in candidates:
        parsed = parse_date(raw.decode("latin-1"))
        if parsed is not None:
            return _day(parsed)
    return None


def _day(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value


class ReprocessSpider(WarcSpider):
    """Today's extraction over a run's archive (`-a run=RUN_DIR`; see `scrapy reprocess`)."""

    name = "reprocess"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        original = self.params.run / "run.json"
        try:
            self.original: dict[str, Any] = json.loads(original.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.original = {}

    def parse_arguments(self, kwargs: dict[str, Any]) -> Any:
        return parse_params(ReprocessParams, kwargs)

    def warc_files(self) -> list[Path]:
        return sorted((self.params.run / ARCHIVE_DIR).glob("*.warc.gz"))

    def classify(self, record: ScannedRecord) -> str:
        """Every response the run archived was one of its pages, whatever it held."""
        return "page" if record.rec_type == "response" else record.rec_type or "unknown"

    def filter_reason(self, record: ScannedRecord, params: WarcParams | None = None) -> str | None:
        return None

    def page_input(self, path: Path, record: ScannedRecord) -> Request | RejectItem:
        info = record.input_info or {}
        # The input here is the archived response, so its id is its place in the archive.
        input_id = self.open_input(
            str(info.get("requested_url") or record.url), f"{path}#{record.offset}"
        )
        return self.replay_request(
            input_id, record, path, str(info.get("requested_url") or record.url),
            info.get("discovered_via"),
            {"file": str(path)},
            original_spider=info.get("spider"),
        )  # fmt: skip

    def page_outcome(
        self,
        input_id: int,
        response: Response,
        fields: ArticleFields,
        record: dict[str, Any],
        common: dict[str, Any],
    ) -> CandidateItem | RejectItem | NavigationItem:
        """As the original spider decided: a site crawl's link pages stay navigation."""
        if response.meta.get("original_spider") == "site" and is_navigation(
            fields, response, self.settings.getint("NEWSCRAWL_MIN_WORDS")
        ):
            return NavigationItem(input_id, response.url)
        return super().page_outcome(input_id, response, fields, record, common)

    def discovery_summary(self) -> dict[str, Any]:
        return {
            "reprocessed_from": {
                "run_dir": str(self.params.run),
                "run_id": self.original.get("run_id"),
                "spider": self.original.get("spider"),
                "archive": str(self.params.run / ARCHIVE_DIR),
            },
            **super().discovery_summary(),
        }
