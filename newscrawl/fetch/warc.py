"""Reading and writing WARC files (ISO 28500) with warcio: the parts the crawl needs.

* `WarcWriter` appends response records (each with its request record) to gzip-per-record
  WARC/1.1 files, rotating to a new file once one reaches a size, and says where each
  response record starts (file, offset).
* `scan` walks a WARC file record by record, yielding each record's offset and headers
  without holding bodies, and finds where a truncated file tears: warcio stops silently at a
  cut-off gzip member or returns a short body, so the tail is checked here.
* `read_response` reads back the one response record at an offset (a seek, not a scan).
"""

from __future__ import annotations

import io
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

# Our own WARC header on response records: what the run knew about the page (JSON).
INPUT_HEADER = "WARC-Newscrawl-Input"
# HTTP headers that describe the bytes on the wire; the archived body is already decoded.
WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class ArchivedAt:
    """Where a response record starts."""

    file: str
    offset: int

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "offset": self.offset}


class WarcWriter:
    """Gzip-per-record WARC files `<prefix>-00000.warc.gz`, ... in `directory`."""

    def __init__(self, directory: Path, prefix: str, max_bytes: int, software: str) -> None:
        self.directory = directory
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.software = software
        self.files: list[str] = []
        self.records = 0
        self._handle: IO[bytes] | None = None
        self._writer: WARCWriter | None = None

    def _open_next(self) -> None:
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        number = len(list(self.directory.glob(f"{self.prefix}-*.warc.gz")))  # resume appends
        path = self.directory / f"{self.prefix}-{number:05d}.warc.gz"
        self._handle = path.open("xb")
        self._writer = WARCWriter(self._handle, gzip=True, warc_version="1.1")
        info = self._writer.create_warcinfo_record(
            path.name, {"software": self.software, "format": "WARC File Format 1.1"}
        )
        self._writer.write_record(info)
        self.files.append(path.name)

    def write(
        self,
        url: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        request_line: str,
        request_headers: list[tuple[str, str]],
        fetched_at: datetime,
        input_info: dict[str, Any],
    ) -> ArchivedAt:
        """Append one response (and its request); return where the response record starts."""
        if self._handle is None or self._handle.tell() >= self.max_bytes:
            self._open_next()
        assert self._writer is not None and self._handle is not None
        writer = self._writer
        date = fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        kept = [(k, v) for k, v in headers if k.lower() not in WIRE_HEADERS]
        kept.append(("Content-Length", str(len(body))))
        phrase = _phrase(status)
        http = StatusAndHeaders(f"{status} {phrase}".strip(), kept, protocol="HTTP/1.1")
        response = writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
            warc_headers_dict={
                "WARC-Date": date,
                INPUT_HEADER: json.dumps(input_info, ensure_ascii=True, separators=(",", ":")),
            },
        )  # fmt: skip
        offset = self._handle.tell()
        writer.write_record(response)
        request_http = StatusAndHeaders(request_line, request_headers, is_http_request=True)
        request = writer.create_warc_record(
            url, "request", payload=io.BytesIO(b""), length=0, http_headers=request_http,
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
            },
        )  # fmt: skip
        writer.write_record(request)
        self._handle.flush()
        self.records += 1
        return ArchivedAt(self.files[-1], offset)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = None
        self._writer = None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


@dataclass(slots=True)
class ScannedRecord:
    """One record of a scanned file: its type, offset and headers (no body kept)."""

    offset: int
    rec_type: str
    url: str
    date: str
    status: int | None
    content_type: str
    content_length: int
    input_info: dict[str, Any] | None
    head: bytes = b""  # the first bytes of the decoded body (for a quick look at the page)


@dataclass(slots=True)
class ScanResult:
    """What a scan found besides the records: how many, and where the file tore."""

    records: int = 0
    tear: dict[str, Any] | None = None
    unusable: str | None = None  # why no record of the file can be used


def scan(path: Path, result: ScanResult, head_bytes: int = 0) -> Iterator[ScannedRecord]:
    """Each complete record of a WARC file, in order; a torn tail is noted in `result`.

    A record is yielded only once the next one has begun (or the tail was checked), so a
    record cut short by the tear is never handed on.
    """
    size = path.stat().st_size
    pending: ScannedRecord | None = None
    with path.open("rb") as handle:
        iterator = ArchiveIterator(handle, check_digests=False)
        try:
            for record in iterator:
                scanned = _scanned(record, head_bytes)
                scanned.offset = iterator.get_record_offset()  # only valid once read
                if pending is not None:
                    result.records += 1
                    yield pending
                pending = scanned
        except Exception as exc:  # warcio's errors for garbage mid-file are of several types
            if "non-chunked gzip" in str(exc):
                # One gzip stream for the whole file: no record can be read by its offset.
                result.unusable = (
                    "compressed as one gzip stream, not one gzip member per record, so records"
                    " cannot be read back by offset; fix with `warcio recompress IN OUT`"
                )
                pending = None
            else:
                # The record before the unreadable one was read to its end: it stands.
                end = max(iterator.offset, 0)
                result.tear = {
                    "offset": end,
                    "detail": f"unreadable from byte {end}: {type(exc).__name__}: {exc}"[:500],
                }
        else:
            end = iterator.offset
            if end < size:
                result.tear = {
                    "offset": end,
                    "detail": f"file ends with {size - end} bytes of an incomplete record",
                }
            elif pending is not None and not _complete_tail(handle, pending.offset, size):
                result.tear = {
                    "offset": pending.offset,
                    "detail": "the last record is cut short (truncated file)",
                }
                pending = None
    if pending is not None:
        result.records += 1
        yield pending


def _scanned(record: ArcWarcRecord, head_bytes: int) -> ScannedRecord:
    headers = record.rec_headers
    http = record.http_headers
    status: int | None = None
    content_type = ""
    if record.rec_type == "response" and http is not None:
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            status = None
        content_type = (http.get_header("Content-Type") or "").strip()
    raw_info = headers.get_header(INPUT_HEADER)
    info: dict[str, Any] | None = None
    if raw_info:
        try:
            info = json.loads(raw_info)
        except ValueError:
            info = None
    stream = record.content_stream()
    head = stream.read(head_bytes) if head_bytes else b""
    while stream.read(_CHUNK):  # drain: the body is not kept
        pass
    return ScannedRecord(
        offset=0,
        rec_type=record.rec_type,
        url=headers.get_header("WARC-Target-URI") or "",
        date=headers.get_header("WARC-Date") or "",
        status=status,
        content_type=content_type,
        content_length=int(headers.get_header("Content-Length") or 0),
        input_info=info if isinstance(info, dict) else None,
        head=head,
    )


def _complete_tail(handle: IO[bytes], start: int, end: int) -> bool:
    """Whether the bytes [start, end) hold a whole record: a complete gzip member, or an
    uncompressed record as long as its Content-Length says, closed by its CRLF CRLF."""
    handle.seek(start)
    if handle.read(2) == b"\x1f\x8b":
        handle.seek(start)
        inflater = zlib.decompressobj(wbits=31)
        left = end - start
        try:
            while left > 0 and not inflater.eof:
                chunk = handle.read(min(_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                inflater.decompress(chunk)
        except zlib.error:
            return False
        return inflater.eof
    handle.seek(start)
    head = handle.read(min(_CHUNK, end - start))
    header_end = head.find(b"\r\n\r\n")
    if header_end < 0:
        return False
    declared = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head[:header_end])
    if declared is None:
        return False
    record_end = start + header_end + 4 + int(declared[1]) + 4
    if record_end > end:
        return False
    handle.seek(record_end - 4)
    return handle.read(4) == b"\r\n\r\n"


@dataclass(slots=True)
class ReadResponse:
    """A response record read back: enough to rebuild the Scrapy response."""

    url: str
    date: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class NotAResponse(ValueError):
    """The record at an offset is not a readable HTTP response record."""


def read_response(handle: IO[bytes], offset: int, max_bytes: int) -> ReadResponse:
    """The response record at `offset`, its body decoded (chunked, gzip) as warcio does.

    A body longer than `max_bytes` raises `ValueError` naming DOWNLOAD_MAXSIZE.
    """
    handle.seek(offset)
    try:
        record = next(iter(ArchiveIterator(handle, check_digests=False)))
    except (StopIteration, Exception) as exc:
        raise NotAResponse(f"no WARC record at offset {offset}: {exc}") from exc
    if record.rec_type != "response" or record.http_headers is None:
        raise NotAResponse(f"the record at offset {offset} is a {record.rec_type} record")
    declared = int(record.rec_headers.get_header("Content-Length") or 0)
    if max_bytes and declared > max_bytes:
        raise ValueError(
            f"archived body of {declared} bytes is larger than DOWNLOAD_MAXSIZE ({max_bytes})"
        )
    body = record.content_stream().read()
    http = record.http_headers
    headers = [(k, v) for k, v in http.headers if k.lower() not in WIRE_HEADERS]
    return ReadResponse(
        url=record.rec_headers.get_header("WARC-Target-URI") or "",
        date=record.rec_headers.get_header("WARC-Date") or "",
        status=int(http.get_statuscode()),
        headers=headers,
        body=body,
    )


def parse_warc_date(value: str) -> datetime | None:
    """A WARC-Date (W3C-DTF, second to microsecond precision) as an aware datetime."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
