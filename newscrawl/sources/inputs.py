"""Reading URL lists: one URL per line, comments and blanks skipped, bad lines reported.

A line is a URL (http, https or file) or a path to a local page, resolved relative to the
list file. Every other line comes back with the reason it cannot be crawled, so the spider
can reject it instead of losing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from w3lib.url import safe_url_string

from newscrawl.history.urls import canonical_url

FETCHABLE_SCHEMES = frozenset({"http", "https", "file"})


@dataclass(frozen=True, slots=True)
class InputLine:
    """One non-comment line: the URL to fetch, or the error that stops it."""

    line_number: int
    raw: str
    url: str | None
    error: str | None


def read_url_file(path: Path, max_line: int) -> Iterator[InputLine]:
    """Yield each non-blank, non-comment line of a URL file, streamed (never read whole)."""
    base = path.resolve().parent
    with path.open("rb") as handle:
        for number, raw_bytes in enumerate(handle, start=1):
            if len(raw_bytes) > max_line:
                shown = raw_bytes[:200].decode("utf-8", "replace")
                yield InputLine(
                    number, shown, None, f"line {number} is longer than {max_line} bytes"
                )
                continue
            try:
                line = raw_bytes.decode("utf-8-sig" if number == 1 else "utf-8").strip()
            except UnicodeDecodeError:
                shown = raw_bytes.decode("utf-8", "replace").strip()
                yield InputLine(number, shown, None, f"line {number} is not valid UTF-8")
                continue
            if not line or line.startswith("#"):
                continue
            yield parse_input(line, number, base)


def parse_input(line: str, number: int, base: Path | None) -> InputLine:
    """Turn one input (URL or path) into a fetchable URL, or say why it cannot be fetched."""
    try:
        return InputLine(number, line, to_fetchable_url(line, base), None)
    except ValueError as exc:
        return InputLine(number, line, None, str(exc))


def to_fetchable_url(value: str, base: Path | None) -> str:
    """An absolute http(s) or file URL for `value`; ValueError naming the problem otherwise."""
    if "\x00" in value or any(ch in value for ch in "\r\n\t"):
        raise ValueError("contains control characters")
    scheme = urlsplit(value).scheme.lower() if "://" in value or ":" in value[:12] else ""
    if scheme in {"http", "https"}:
        if " " in value.strip():
            raise ValueError("URL contains spaces")
        try:
            url = safe_url_string(value)
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError as exc:
            raise ValueError(f"malformed URL: {exc}") from None
        if not parts.hostname:
            raise ValueError(f"{scheme} URL has no host")
        return url
    if scheme == "file":
        if not urlsplit(value).path.startswith("/"):
            raise ValueError("file URL needs an absolute path")
        return value
    if scheme and len(scheme) > 1:
        raise ValueError(f"unsupported URL scheme {scheme!r} (use http, https or file)")
    if base is not None:
        candidate = (base / value).resolve()
        if candidate.is_file():
            return candidate.as_uri()
        raise ValueError(f"not a URL (no http/https scheme) and no such file: {candidate}")
    raise ValueError("not an absolute URL (no http/https scheme)")


def url_key(url: str) -> str:
    """The form two URLs share when they name the same page (see `newscrawl.history.urls`)."""
    return canonical_url(url)
