"""What spiders hand to the pipelines. Every item names the input it settles (`input_id`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas import Article, Reject


@dataclass(frozen=True, slots=True)
class Validators:
    """A page's ETag and Last-Modified, as its response gave them: carried with its item to
    the writer, which keeps them in the state store for the next run's conditional request."""

    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def of(cls, headers: Mapping[bytes, Any]) -> Validators:
        """From a response's headers (Scrapy's `Headers`: bytes values)."""
        etag = headers.get(b"ETag")
        modified = headers.get(b"Last-Modified")
        return cls(
            etag.decode("latin-1") if etag else None,
            modified.decode("latin-1") if modified else None,
        )


NO_VALIDATORS = Validators()


@dataclass(slots=True)
class CandidateItem:
    """A fetched page with its extracted fields, not yet validated into an Article."""

    input_id: int
    record: dict[str, Any]
    signature: bytes | None = None  # MinHash of the text (history.neardup), from the worker
    validators: Validators = NO_VALIDATORS


@dataclass(slots=True)
class ArticleItem:
    """A validated article, on its way to de-duplication and the articles file."""

    input_id: int
    article: Article
    signature: bytes | None = None  # MinHash of the text (history.neardup), from the worker
    validators: Validators = NO_VALIDATORS


@dataclass(slots=True)
class RejectItem:
    """An input that ends as a reject; written to the rejects file."""

    input_id: int
    reject: Reject
    validators: Validators = NO_VALIDATORS  # an `unchanged` page's, for the state store


@dataclass(slots=True)
class NavigationItem:
    """A page fetched only for its links (section front, tag page): settled, not written."""

    input_id: int
    url: str
