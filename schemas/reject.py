"""The `Reject` record: a page or input line that did not become an article, and why."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.article import Discovery, WarcLocation
from schemas.types import SCHEMA_VERSION, HttpStatus


class RejectReason(StrEnum):
    """Why a page is not in articles.jsonl. A public contract: see the README."""

    invalid_url = "invalid_url"
    duplicate_url = "duplicate_url"
    robots_forbidden = "robots_forbidden"
    blocked_target = "blocked_target"
    http_error = "http_error"
    download_error = "download_error"
    too_large = "too_large"
    not_html = "not_html"
    no_article_text = "no_article_text"
    extraction_error = "extraction_error"
    extraction_timeout = "extraction_timeout"
    validation_error = "validation_error"
    duplicate_content = "duplicate_content"
    near_duplicate = "near_duplicate"
    seen_before = "seen_before"
    unchanged = "unchanged"
    not_processed = "not_processed"
    internal_error = "internal_error"


class Reject(BaseModel):
    """One input that ended without an article, with enough to act on it or retry it."""

    model_config = ConfigDict(extra="forbid", title="Reject")

    schema_version: Literal["1.2"] = SCHEMA_VERSION
    url: str = Field(max_length=4096, description="The URL (or input line) as it was seen.")
    reason: RejectReason
    detail: str = Field(description="Human-readable cause: status, error, field errors.")
    http_status: HttpStatus | None = None
    fetched_at: AwareDatetime | None = Field(
        default=None, description="When the response arrived; null if nothing was fetched."
    )
    spider: str
    requested_url: str | None = Field(default=None, max_length=4096)
    input_id: str | None = Field(
        default=None,
        max_length=8192,
        description=(
            "The input this record settles, stable across attempts: `<source>#<position>`"
            " (URL file and line, discovery source and position, distributed run and input)."
        ),
    )
    duplicate_of: str | None = Field(
        default=None,
        description=(
            "duplicate_url, duplicate_content, near_duplicate: the URL of the first record;"
            " seen_before, unchanged: the URL an earlier run exported."
        ),
    )
    discovered_via: Discovery | None = Field(default=None, description="How the URL was found.")
    warc: WarcLocation | None = Field(
        default=None, description="Where the response is archived, for a fetched page."
    )
    record: dict[str, Any] | None = Field(
        default=None, description="The partial record, where extraction produced one."
    )
