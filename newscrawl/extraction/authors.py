"""Author names out of bylines and metadata: names only, as analysts count them."""

from __future__ import annotations

import re
from collections.abc import Iterable

from newscrawl.extraction.boilerplate import normalise_space

_PREFIX = re.compile(r"^(?:by|written\s+by|words\s+by|von|par|por|di|door|av|af)\s*:?\s+", re.I)
_SEPARATORS = re.compile(r"\s*(?:,|;|&|\||\band\b|\bund\b|\bet\b|\ben\b|\bog\b)\s*", re.I)
_HANDLE = re.compile(r"@\w+|\S+@\S+\.\w+|https?://\S+|www\.\S+")
_ROLE_WORDS = re.compile(
    r"""\b(?:reporters?|editors?|correspondents?|staff|writers?|journalists?|columnists?|
    contributors?|desk|team|newsroom|agency|agencies|redaktion|redakteur(?:in)?|korrespondent(?:in)?|
    rédaction|journaliste|envoyée?\s+spéciale?|photographer|producer|analyst|chief|senior|deputy|
    political|business|health|science|sports?|news|published|updated|minutes?|read)\b""",
    re.IGNORECASE | re.VERBOSE,
)
_MAX_NAME_WORDS = 6


def clean_authors(raw: Iterable[str]) -> list[str]:
    """Split bylines into person names; drop prefixes, roles, handles, URLs and repeats."""
    names: list[str] = []
    seen: set[str] = set()
    for value in raw:
        value = _HANDLE.sub(" ", normalise_space(value))
        value = re.sub(r"\(.*?\)", " ", value)
        for part in _SEPARATORS.split(_PREFIX.sub("", value)):
            name = _PREFIX.sub("", normalise_space(part)).strip(" .-–—:")
            if not _looks_like_name(name):
                continue
            key = name.casefold()
            if key not in seen:
                seen.add(key)
                names.append(name)
    return names


def _looks_like_name(name: str) -> bool:
    words = name.split()
    if not words or len(words) > _MAX_NAME_WORDS or len(name) > 80:
        return False
    if _ROLE_WORDS.search(name) or any(ch.isdigit() for ch in name):
        return False
    return any(word[0].isupper() for word in words)
