"""Bytes to text for pages that lie about their encoding.

Servers and templates get charsets wrong: cp1252 bytes declared UTF-8, Shift_JIS declared
nowhere, a BOM contradicting the header. Decoding with the declared charset and replacing
errors (what browsers' and Scrapy's defaults amount to) then gives mojibake. Here a
declaration is believed only when the bytes agree with it; otherwise the bytes decide.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

# Share of non-ASCII bytes that may fail to decode before a declaration is disbelieved:
# a UTF-8 page with a few corrupt bytes stays UTF-8; a cp1252 page labelled UTF-8 does not.
MAX_ERROR_SHARE = 0.2
# Detection on at most this much of the page keeps it cheap on large pages.
DETECTION_SAMPLE = 200_000


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """The page as text: BOM first, then a declaration the bytes agree with, then detection."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding and bom:
        return body[len(bom) :].decode(bom_encoding, "replace")
    declared = _declared(body, content_type)
    if declared:
        text = _decode_if_mostly_valid(body, declared)
        if text is not None:
            return text
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(body[:DETECTION_SAMPLE]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, "replace")
    return body.decode(declared or "utf-8", "replace")


def _declared(body: bytes, content_type: str | None) -> str | None:
    """The charset the header or the page's <meta> names, if Python knows it."""
    for name in (http_content_type_encoding(content_type or ""), html_body_declared_encoding(body)):
        if name:
            try:
                return codecs.lookup(name).name
            except LookupError:
                continue
    return None


def _decode_if_mostly_valid(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        pass
    except LookupError:
        return None
    text = body.decode(encoding, "replace")
    errors = text.count("\ufffd")
    non_ascii = max(sum(1 for byte in body if byte > 0x7F), 20)
    return text if errors / non_ascii <= MAX_ERROR_SHARE else None
