"""Bytes to text for pages that lie about their encoding.

Servers and templates get charsets wrong: cp1252 bytes declared UTF-8, Shift_JIS declared
nowhere, a BOM contradicting the header. Decoding with the declared charset and replacing
errors (what browsers' and Scrapy's defaults amount to) then gives mojibake. Here a
declaration is believed only when the bytes agree with it; otherwise the bytes decide.

When neither the declaration nor UTF-8 fits, the page is a legacy single- or double-byte
encoding, and the bytes alone often cannot tell which: every byte is valid in windows-1252,
windows-1250 and ISO-8859-2 alike, and charset-normalizer, left to guess, picks a Baltic or
Central European code page for plain Portuguese ("Reflexćo"). The page's declared language
(`<html lang>`, `<meta http-equiv="content-language">`, ...) narrows the candidates to the
encodings that language was written in; among those that decode the whole page cleanly, the
one giving the most letters of that language wins (charset-normalizer breaks a tie). A
Western or undeclared language gets windows-1252, the WHATWG default for legacy pages, where
it decodes cleanly (for an undeclared one, unless detection finds it messier than another
code page, as for Cyrillic or Greek bytes).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

# Share of non-ASCII bytes that may fail to decode before a declaration is disbelieved:
# a UTF-8 page with a few corrupt bytes stays UTF-8; a cp1252 page labelled UTF-8 does not.
MAX_ERROR_SHARE = 0.2
# Detection on at most this much of the page keeps it cheap on large pages.
DETECTION_SAMPLE = 200_000
# The declared language is looked for in the page's first bytes (its <head>).
LANGUAGE_SAMPLE = 65_536
# The WHATWG default for legacy pages in Western languages, and for an unknown language.
WESTERN = "cp1252"

_CENTRAL = ("cp1250", "iso8859_2")
_CYRILLIC = ("cp1251", "iso8859_5")
_BALTIC = ("cp1257", "iso8859_13", "iso8859_4")
# Legacy encodings by language (ISO 639-1), most common first, with the language's own
# non-ASCII letters where code pages of the same script disagree (e.g. cp1250 / ISO-8859-2
# on a, s, z with diacritics). Languages not listed are written in windows-1252.
_LEGACY: dict[str, tuple[tuple[str, ...], str]] = {
    "pl": (_CENTRAL, "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"),
    "cs": (_CENTRAL, "áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ"),
    "sk": (_CENTRAL, "áäčďéíĺľňóôŕšťúýžÁÄČĎÉÍĹĽŇÓÔŔŠŤÚÝŽ"),
    "hu": (_CENTRAL, "áéíóöőúüűÁÉÍÓÖŐÚÜŰ"),
    "sl": (_CENTRAL, "čšžČŠŽ"),
    "hr": (_CENTRAL, "čćđšžČĆĐŠŽ"),
    "bs": (_CENTRAL, "čćđšžČĆĐŠŽ"),
    "ro": (("cp1250", "iso8859_16", "iso8859_2"), "ăâîșțşţĂÂÎȘȚŞŢ"),
    "sq": (_CENTRAL, "çëÇË"),
    "ru": (("cp1251", "koi8_r", "iso8859_5"), ""),
    "uk": (("cp1251", "koi8_u", "iso8859_5"), ""),
    "be": (_CYRILLIC, ""),
    "bg": (_CYRILLIC, ""),
    "mk": (_CYRILLIC, ""),
    "sr": (_CYRILLIC, ""),
    "el": (("cp1253", "iso8859_7"), ""),
    "tr": (("cp1254", "iso8859_9"), "çğıöşüÇĞİÖŞÜ"),
    "az": (("cp1254", "iso8859_9"), "çəğıöşüÇƏĞİÖŞÜ"),
    "he": (("cp1255", "iso8859_8"), ""),
    "yi": (("cp1255", "iso8859_8"), ""),
    "ar": (("cp1256", "iso8859_6"), ""),
    "fa": (("cp1256",), ""),
    "ur": (("cp1256",), ""),
    "lt": (_BALTIC, "ąčęėįšųūžĄČĘĖĮŠŲŪŽ"),
    "lv": (_BALTIC, "āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ"),
    "et": (_BALTIC, "äõöüšžÄÕÖÜŠŽ"),
    "vi": (("cp1258",), ""),
    "th": (("cp874",), ""),
    "ja": (("shift_jis", "euc_jp", "iso2022_jp"), ""),
    "zh": (("gb18030", "big5"), ""),
    "zh-hant": (("big5", "gb18030"), ""),
    "ko": (("euc_kr",), ""),
}
_TRADITIONAL_CHINESE = {"tw", "hk", "mo", "hant"}

_HTML_LANG = re.compile(
    rb"<html\b[^>]*?\s(?:xml:)?lang\s*=\s*[\"']?\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)",
    re.IGNORECASE,
)
_META = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))")
_LANGUAGE_METAS = {
    b"http-equiv": {b"content-language"},
    b"name": {b"language", b"dc.language", b"content-language"},
    b"property": {b"og:locale"},
}


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """The page as text: BOM first, then a declaration the bytes agree with, then UTF-8,
    then the legacy encodings of the page's language, then detection."""
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
    encoding = legacy_encoding(body, declared_language(body))
    if encoding is not None:
        return body.decode(encoding)
    best = from_bytes(body[:DETECTION_SAMPLE]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, "replace")
    return body.decode(declared or "utf-8", "replace")


def declared_language(body: bytes) -> str | None:
    """The page's declared language as a lower-case ISO 639 code (`zh-hant` for Traditional
    Chinese), from `<html lang>` or a language `<meta>`; None when it declares none."""
    head = body[:LANGUAGE_SAMPLE]
    found = _HTML_LANG.search(head)
    tag = found[1] if found else None
    if tag is None:
        for meta in _META.finditer(head):
            attributes = {
                match[1].lower(): (match[2] or match[3] or match[4] or b"").strip()
                for match in _ATTRIBUTE.finditer(meta[0])
            }
            if any(
                attributes.get(name, b"").lower() in values
                for name, values in _LANGUAGE_METAS.items()
            ):
                tag = attributes.get(b"content") or None
                if tag:
                    break
    if not tag:
        return None
    parts = re.split(r"[-_,;\s]+", tag.decode("ascii", "replace").lower().strip())
    language = parts[0]
    if not re.fullmatch(r"[a-z]{2,3}", language):
        return None
    if language == "zh" and _TRADITIONAL_CHINESE.intersection(parts[1:]):
        return "zh-hant"
    return language


def legacy_encoding(body: bytes, language: str | None) -> str | None:
    """The legacy encoding to read a page in that is not UTF-8, or None to leave it to
    detection: among the encodings of `language` that decode every byte, the one giving
    the most letters of the language; windows-1252 for a Western or unknown language."""
    encodings, letters = _LEGACY.get(language or "", ((WESTERN,), ""))
    clean = {}
    for encoding in encodings:
        try:
            clean[encoding] = body.decode(encoding)
        except UnicodeDecodeError:
            continue
    if not clean:
        return None
    if language is None and not _detection_agrees(body, WESTERN):
        return None
    if len(clean) == 1:
        return next(iter(clean))
    scores = {encoding: _letter_share(text, letters) for encoding, text in clean.items()}
    top = max(scores.values())
    tied = [encoding for encoding in encodings if encoding in scores and scores[encoding] == top]
    if len(tied) > 1:
        best = from_bytes(body[:DETECTION_SAMPLE], cp_isolation=tied).best()
        if best is not None and best.encoding in tied:
            return str(best.encoding)
    return tied[0]


def _letter_share(text: str, letters: str) -> float:
    """Share of the non-ASCII characters that are letters of the language (any letter when
    the language lists none) or common typography (quotes, dashes, the euro sign...)."""
    good = total = 0
    for char in text:
        if char < "\x80":
            continue
        total += 1
        if letters:
            good += char in letters or _typography(char)
        else:
            good += unicodedata.category(char).startswith("L") or _typography(char)
    return good / total if total else 1.0


def _typography(char: str) -> bool:
    return unicodedata.category(char) in {"Pd", "Pi", "Pf", "Po", "Ps", "Pe", "Sc", "Zs"}


def _detection_agrees(body: bytes, encoding: str) -> bool:
    """For a page without a language: `encoding` decodes it no messier than the code page
    detection likes best (Cyrillic or Greek bytes read as windows-1252 are)."""
    sample = body[:DETECTION_SAMPLE]
    best = from_bytes(sample).best()
    if best is None or best.encoding == encoding:
        return True
    ours = from_bytes(sample, cp_isolation=[encoding]).best()
    return ours is not None and ours.chaos <= best.chaos


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
