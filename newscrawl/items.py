"""What spiders hand to the pipelines. Every item names the input it settles (`input_id`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas import Article, Reject


@dataclass(slots=True)
class CandidateItem:
    """A fetched page with its extracted fields, not yet validated into an Article."""

    input_id: int
    record: dict[str, Any]
    signature: bytes | None = None  # MinHash of the text (history.neardup), from the worker


@dataclass(slots=True)
class ArticleItem:
    """A validated article, on its way to de-duplication and the articles file."""

    input_id: int
    article: Article
    signature: bytes | None = None  # MinHash of the text (history.neardup), from the worker


@dataclass(slots=True)
class RejectItem:
    """An input that ends as a reject; written to the rejects file."""

    input_id: int
    reject: Reject


@dataclass(slots=True)
class NavigationItem:
    """A page fetched only for its links (section front, tag page): settled, not written."""

    input_id: int
    url: str
