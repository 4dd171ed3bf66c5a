"""The `Article` record: one accepted page, and how a candidate becomes one."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.types import (
    SCHEMA_VERSION,
    AbsoluteUrl,
    Description,
    HttpStatus,
    LanguageCode,
    PersonName,
    PlausibleDate,
    Sha256Hex,
    ShortLabel,
    Title,
)

DEFAULT_MIN_WORDS = 50

# Optional fields whose implausible values cost the field, not the article (see build_article).
SOFT_FIELDS = frozenset(
    {
        "canonical_url",
        "authors",
        "published_at",
        "modified_at",
        "language",
        "site_name",
        "description",
        "section",
        "tags",
        "image_url",
    }
)


# Scripts written without spaces between words: each character counts as one word.
_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f"
_WORD = re.compile(f"[{_UNSPACED}]|[^\\s{_UNSPACED}]+")


@functools.lru_cache(maxsize=32)  # building and validating a record counts one text 3 times
def count_words(text: str) -> int:
    """Words: whitespace-separated tokens, each CJK, kana or Thai character counting
    as one. The unit of `word_count` and of the minimum body length."""
    return len(_WORD.findall(text))


def text_sha256(text: str) -> str:
    """Hash of the normalised body text, the key for content de-duplication."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ExtractorInfo(BaseModel):
    """Which code produced the record, so analysts can compare runs across upgrades."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    trafilatura: str


class Discovery(BaseModel):
    """How the run found a URL, with what the source said about it (hints, unverified)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["list", "sitemap", "news_sitemap", "feed", "link", "warc"]
    source: str | None = Field(
        default=None, max_length=4096, description="The URL file, sitemap, feed or page."
    )
    title: str | None = Field(default=None, max_length=1000, description="Title the source gave.")
    published_at: str | None = Field(
        default=None, max_length=100, description="Date the source gave, as written."
    )


class WarcLocation(BaseModel):
    """Where a page's response is kept: a WARC file and the byte offset of its record."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(
        max_length=4096,
        description="The WARC file: relative to the run directory for the run's own archive.",
    )
    offset: int = Field(ge=0, description="Byte offset of the response record in the file.")


class FieldWarning(BaseModel):
    """An optional field that was dropped (set to null or removed from a list), and why."""

    model_config = ConfigDict(extra="forbid")

    field: str
    value: str = Field(description="The dropped value, as text, cut to 200 characters.")
    reason: str


class Article(BaseModel):
    """One news article page: clean body text and metadata, validated."""

    model_config = ConfigDict(extra="forbid", title="Article")

    schema_version: Literal["1.2"] = SCHEMA_VERSION
    url: AbsoluteUrl = Field(description="Final URL, after redirects.")
    requested_url: AbsoluteUrl = Field(description="URL as given in the input.")
    input_id: str | None = Field(
        default=None,
        max_length=8192,
        description=(
            "The input this record settles, stable across attempts: `<source>#<position>`"
            " (URL file and line, discovery source and position, distributed run and input)."
        ),
    )
    canonical_url: AbsoluteUrl | None = Field(description="<link rel=canonical> or og:url.")
    title: Title
    text: str = Field(description="Body paragraphs in order, separated by a blank line.")
    authors: list[PersonName] = Field(description="Person names only, de-duplicated.")
    published_at: PlausibleDate | None = Field(
        description="As precise as the page states it: datetime with offset, or a date."
    )
    modified_at: PlausibleDate | None
    language: LanguageCode | None = Field(description="ISO 639-1 code.")
    site_name: ShortLabel | None
    description: Description | None
    section: ShortLabel | None
    tags: list[ShortLabel]
    image_url: AbsoluteUrl | None
    paywalled: bool = Field(
        default=False,
        description="The page declares restricted access and text is only the teaser.",
    )
    word_count: int = Field(ge=0, description="Whitespace-separated tokens in text.")
    content_sha256: Sha256Hex = Field(description="SHA-256 of text (UTF-8).")
    fetched_at: AwareDatetime
    http_status: HttpStatus
    spider: str
    extractor: ExtractorInfo
    discovered_via: Discovery | None = Field(default=None, description="How the URL was found.")
    warc: WarcLocation | None = Field(
        default=None, description="Where the response is archived (NEWSCRAWL_ARCHIVE, WARC input)."
    )
    warnings: list[FieldWarning] = Field(
        default_factory=list, description="Optional fields dropped as implausible."
    )
    revision: int = Field(
        default=1, ge=1, description="1, plus one for each change seen by a refresh (-a refresh)."
    )
    previous_sha256: Sha256Hex | None = Field(
        default=None, description="content_sha256 of the previous revision (revision > 1)."
    )

    @field_validator("text")
    @classmethod
    def _text_long_enough(cls, text: str, info: ValidationInfo) -> str:
        if text != text.strip() or "\r" in text or "\n\n\n" in text:
            raise ValueError("text is not normalised (edge whitespace, CR or empty paragraphs)")
        min_words = (info.context or {}).get("min_words", DEFAULT_MIN_WORDS)
        words = count_words(text)
        if words < min_words:
            raise ValueError(f"body has {words} words, fewer than the minimum {min_words}")
        return text

    @field_validator("authors", "tags")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        seen: set[str] = set()
        unique = []
        for value in values:
            if value.casefold() not in seen:
                seen.add(value.casefold())
                unique.append(value)
        return unique

    @model_validator(mode="after")
    def _derived_fields_match_text(self) -> Article:
        if self.word_count != count_words(self.text):
            raise ValueError(f"word_count {self.word_count} does not match text")
        if self.content_sha256 != text_sha256(self.text):
            raise ValueError("content_sha256 does not match text")
        if (self.revision > 1) != (self.previous_sha256 is not None):
            raise ValueError("previous_sha256 is set exactly when revision is above 1")
        return self


def build_article(candidate: Mapping[str, Any], *, min_words: int = DEFAULT_MIN_WORDS) -> Article:
    """Validate a candidate record into an `Article`, salvaging what is valid.

    `word_count` and `content_sha256` are derived from `text`. An implausible value in an
    optional field (see SOFT_FIELDS) is dropped and listed in `warnings`, so a bad date does
    not cost the article. Anything else invalid raises `ValidationError`, naming the fields.
    """
    data = dict(candidate)
    text = data.get("text")
    if isinstance(text, str):
        data.setdefault("word_count", count_words(text))
        data.setdefault("content_sha256", text_sha256(text))
    warnings: list[dict[str, Any]] = list(data.pop("warnings", None) or [])
    context = {"min_words": min_words}
    while True:
        try:
            return Article.model_validate({**data, "warnings": warnings}, context=context)
        except ValidationError as exc:
            errors = exc.errors()
            if not errors or any(not e["loc"] or e["loc"][0] not in SOFT_FIELDS for e in errors):
                raise
            _drop_invalid(data, errors, warnings)


def _drop_invalid(data: dict[str, Any], errors: list[Any], warnings: list[dict[str, Any]]) -> None:
    """Remove each invalid soft value (a list element, or the whole field), noting why."""
    original = dict(data)
    bad_items: dict[str, set[int]] = {}
    for error in errors:
        loc = error["loc"]
        field = str(loc[0])
        value = original.get(field)
        if len(loc) > 1 and isinstance(loc[1], int) and isinstance(value, list):
            bad_items.setdefault(field, set()).add(loc[1])
            dropped = value[loc[1]]
        else:
            data[field] = [] if isinstance(value, list) else None
            dropped = value
        warnings.append({"field": field, "value": str(dropped)[:200], "reason": error["msg"]})
    for field, indexes in bad_items.items():
        if data[field]:
            data[field] = [v for i, v in enumerate(data[field]) if i not in indexes]
