"""Keep what was fetched, and serve it back: the two downloader middlewares of WARC work.

`ArchiveMiddleware` (`-s NEWSCRAWL_ARCHIVE=true`) writes every page response of the crawl,
with its request and headers, to gzip-per-record WARC files under `archive/` in the run
directory (`newscrawl.fetch.warc.WarcWriter`), starting a new file past
`NEWSCRAWL_ARCHIVE_ROTATE_MB`. It sits below the retry (550), redirect (600) and
decompression (590) middlewares, so it sees each input's final response once, decoded: a
retried 503 or a followed redirect is not archived, the answer the spider parses is. The
response's place (file, offset) goes into `request.meta["warc"]`, and from there into the
page's record (`warc` field). Only page requests (those with an input) are archived, not
robots.txt, sitemaps or feeds; nor 304 answers to revalidation, which have no body.

`ReplayMiddleware`, enabled by the WARC spiders (`newscrawl.spiders.warc`) in front of all
others, answers each request from the WARC record named in `request.meta["replay"]` and
refuses any other request: a replayed crawl never touches the network.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Self
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from newscrawl.fetch.warc import NotAResponse, WarcWriter, parse_warc_date, read_response
from newscrawl.runs.reruns import Reruns

logger = logging.getLogger(__name__)

ARCHIVE_DIR = "archive"
OPEN_FILES = 8  # WARC files the replay keeps open at once


class ArchiveMiddleware:
    """Writes each page response to the run's WARC archive and notes where it went."""

    def __init__(self, crawler: Crawler, max_bytes: int) -> None:
        self.crawler = crawler
        self.max_bytes = max_bytes
        self._writer: WarcWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("NEWSCRAWL_ARCHIVE"):
            raise NotConfigured  # no message: Scrapy would log one warning per crawl
        rotate_mb = settings.getfloat("NEWSCRAWL_ARCHIVE_ROTATE_MB")
        if not rotate_mb > 0:
            raise ValueError(f"NEWSCRAWL_ARCHIVE_ROTATE_MB must be > 0, not {rotate_mb!r}")
        middleware = cls(crawler, int(rotate_mb * 1024 * 1024))
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def _open(self) -> WarcWriter:
        reruns = self.crawler.get_extension(Reruns)
        if reruns is None:
            raise RuntimeError("NEWSCRAWL_ARCHIVE needs the newscrawl.runs.reruns.Reruns extension")
        version = self.crawler.settings.get("USER_AGENT", "newscrawl")
        prefix = reruns.run_id.replace("/", "-")  # distributed mode: <run_id>/part-<worker>
        self._writer = WarcWriter(
            reruns.run_dir / ARCHIVE_DIR, prefix, self.max_bytes, f"newscrawl ({version})"
        )
        return self._writer

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        meta = request.meta
        if "input_id" not in meta or response.status == 304 or "replay" in meta:
            return response
        writer = self._writer or self._open()
        fetched_at = datetime.now(UTC)
        parts = urlsplit(request.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = [("Host", parts.netloc), *_pairs(request.headers)]
        discovered_via = meta.get("discovered_via")
        spider_name = self.crawler.spider.name if self.crawler.spider else ""
        place = writer.write(
            response.url, response.status, _pairs(response.headers), response.body,
            f"{request.method} {target} HTTP/1.1", request_headers, fetched_at,
            {
                "requested_url": meta.get("requested_url"),
                "discovered_via": discovered_via,
                "spider": spider_name,
            },
        )  # fmt: skip
        meta["warc"] = {"file": f"{ARCHIVE_DIR}/{place.file}", "offset": place.offset}
        meta["fetched_at"] = fetched_at
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("newscrawl/archive/responses")
        stats.inc_value("newscrawl/archive/body_bytes", len(response.body))
        stats.set_value("newscrawl/archive/files", len(writer.files))
        return response

    def spider_closed(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


class ReplayMiddleware:
    """Serves requests from WARC records; refuses every request that names none."""

    def __init__(self, crawler: Crawler, max_bytes: int) -> None:
        self.crawler = crawler
        self.max_bytes = max_bytes
        self._handles: OrderedDict[str, IO[bytes]] = OrderedDict()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler, crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def _handle(self, path: str) -> IO[bytes]:
        handle = self._handles.get(path)
        if handle is None:
            handle = Path(path).open("rb")  # noqa: SIM115 - kept open across requests
            self._handles[path] = handle
            if len(self._handles) > OPEN_FILES:
                self._handles.popitem(last=False)[1].close()
        else:
            self._handles.move_to_end(path)
        return handle

    def process_request(self, request: Request, spider: Spider | None = None) -> Response:
        place: dict[str, Any] | None = request.meta.get("replay")
        if place is None:
            raise IgnoreRequest(f"replaying WARC files: no network access ({request.url})")
        try:
            record = read_response(self._handle(place["path"]), place["offset"], self.max_bytes)
        except NotAResponse as exc:
            raise IgnoreRequest(str(exc)) from exc
        except ValueError as exc:  # larger than DOWNLOAD_MAXSIZE: a too_large reject
            raise IgnoreRequest(str(exc)) from exc
        except OSError as exc:
            raise IgnoreRequest(f"cannot read {place['path']}: {exc}") from exc
        request.meta["fetched_at"] = parse_warc_date(record.date)
        headers = Headers(record.headers)
        cls = responsetypes.from_args(headers=headers, url=record.url, body=record.body)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("newscrawl/warc/replayed")
        return cls(
            url=record.url or request.url, status=record.status, headers=headers,
            body=record.body, request=request,
        )  # fmt: skip

    def spider_closed(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
