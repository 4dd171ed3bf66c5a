"""Reusable field constraints shared by the record models."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Final
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

SCHEMA_VERSION: Final = "1.2"

MAX_URL_LENGTH = 2048
EARLIEST_PLAUSIBLE_DATE = date(1990, 1, 1)
# Pages in a time zone ahead of the crawler's clock can legitimately look a little early.
FUTURE_DATE_SLACK = timedelta(days=1)

# ISO 639-1: the two-letter codes an analyst can group by.
ISO_639_1 = frozenset(
    [
        "aa",
        "ab",
        "ae",
        "af",
        "ak",
        "am",
        "an",
        "ar",
        "as",
        "av",
        "ay",
        "az",
        "ba",
        "be",
        "bg",
        "bh",
        "bi",
        "bm",
        "bn",
        "bo",
        "br",
        "bs",
        "ca",
        "ce",
        "ch",
        "co",
        "cr",
        "cs",
        "cu",
        "cv",
        "cy",
        "da",
        "de",
        "dv",
        "dz",
        "ee",
        "el",
        "en",
        "eo",
        "es",
        "et",
        "eu",
        "fa",
        "ff",
        "fi",
        "fj",
        "fo",
        "fr",
        "fy",
        "ga",
        "gd",
        "gl",
        "gn",
        "gu",
        "gv",
        "ha",
        "he",
        "hi",
        "ho",
        "hr",
        "ht",
        "hu",
        "hy",
        "hz",
        "ia",
        "id",
        "ie",
        "ig",
        "ii",
        "ik",
        "io",
        "is",
        "it",
        "iu",
        "ja",
        "jv",
        "ka",
        "kg",
        "ki",
        "kj",
        "kk",
        "kl",
        "km",
        "kn",
        "ko",
        "kr",
        "ks",
        "ku",
        "kv",
        "kw",
        "ky",
        "la",
        "lb",
        "lg",
        "li",
        "ln",
        "lo",
        "lt",
        "lu",
        "lv",
        "mg",
        "mh",
        "mi",
        "mk",
        "ml",
        "mn",
        "mr",
        "ms",
        "mt",
        "my",
        "na",
        "nb",
        "nd",
        "ne",
        "ng",
        "nl",
        "nn",
        "no",
        "nr",
        "nv",
        "ny",
        "oc",
        "oj",
        "om",
        "or",
        "os",
        "pa",
        "pi",
        "pl",
        "ps",
        "pt",
        "qu",
        "rm",
        "rn",
        "ro",
        "ru",
        "rw",
        "sa",
        "sc",
        "sd",
        "se",
        "sg",
        "si",
        "sk",
        "sl",
        "sm",
        "sn",
        "so",
        "sq",
        "sr",
        "ss",
        "st",
        "su",
        "sv",
        "sw",
        "ta",
        "te",
        "tg",
        "th",
        "ti",
        "tk",
        "tl",
        "tn",
        "to",
        "tr",
        "ts",
        "tt",
        "tw",
        "ty",
        "ug",
        "uk",
        "ur",
        "uz",
        "ve",
        "vi",
        "vo",
        "wa",
        "wo",
        "xh",
        "yi",
        "yo",
        "za",
        "zh",
        "zu",
    ]
)

_URL_SCHEMES = {"http", "https", "file"}
_SPACE_RUN = re.compile(r"\s+")


def _absolute_url(value: str) -> str:
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"URL longer than {MAX_URL_LENGTH} characters")
    if _SPACE_RUN.search(value):
        raise ValueError("URL contains whitespace")
    parts = urlsplit(value)
    if parts.scheme not in _URL_SCHEMES:
        raise ValueError(f"not an absolute http(s) or file URL: {value[:100]!r}")
    if parts.scheme != "file" and not parts.hostname:
        raise ValueError(f"URL has no host: {value[:100]!r}")
    if parts.scheme == "file" and not parts.path.startswith("/"):
        raise ValueError(f"file URL has no absolute path: {value[:100]!r}")
    return value


def _plausible_date(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if day < EARLIEST_PLAUSIBLE_DATE:
        raise ValueError(
            f"date {value.isoformat()} is before {EARLIEST_PLAUSIBLE_DATE.isoformat()}"
        )
    now = datetime.now(UTC)
    if isinstance(value, datetime) and value.tzinfo is not None:
        too_late = value > now + FUTURE_DATE_SLACK
    else:
        too_late = day > (now + FUTURE_DATE_SLACK).date()
    if too_late:
        raise ValueError(f"date {value.isoformat()} is in the future")
    return value


def _person_name(value: str) -> str:
    if re.match(r"(?i)^(https?:|www\.)", value) or "/" in value:
        raise ValueError("author looks like a URL, not a name")
    if "@" in value:
        raise ValueError("author looks like an e-mail address or a handle, not a name")
    if not re.search(r"\w", value):
        raise ValueError("author has no letters")
    return value


def _language(value: str) -> str:
    if value not in ISO_639_1:
        raise ValueError(f"{value!r} is not an ISO 639-1 language code")
    return value


def _collapse_spaces(value: object) -> object:
    return _SPACE_RUN.sub(" ", value).strip() if isinstance(value, str) else value


AbsoluteUrl = Annotated[str, AfterValidator(_absolute_url)]
"""An absolute http(s) URL with a host, or an absolute file:// URL (bundled samples)."""

PlausibleDate = Annotated[datetime | date, AfterValidator(_plausible_date)]
"""A datetime (with its offset if the page gave one) or a plain date, 1990 to tomorrow."""

_ONE_LINE = BeforeValidator(_collapse_spaces)
"""Whitespace collapsed to single spaces before the length constraints are checked."""

Title = Annotated[str, StringConstraints(min_length=1, max_length=500), _ONE_LINE]
PersonName = Annotated[
    str, StringConstraints(min_length=2, max_length=100), _ONE_LINE, AfterValidator(_person_name)
]
ShortLabel = Annotated[str, StringConstraints(min_length=1, max_length=200), _ONE_LINE]
Description = Annotated[str, StringConstraints(min_length=1, max_length=2000), _ONE_LINE]
LanguageCode = Annotated[
    str, StringConstraints(to_lower=True, pattern=r"^[a-z]{2}$"), AfterValidator(_language)
]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
HttpStatus = Annotated[int, Field(ge=100, le=599)]
