"""Output records of a crawl: the pydantic models and the JSON Schema exported from them.

`Article` is one accepted page, `Reject` one page (or input line) that did not become an
article, with the reason. Both are written one per line with `model_dump_json()`.
"""

from schemas.article import (
    Article,
    Discovery,
    ExtractorInfo,
    FieldWarning,
    WarcLocation,
    build_article,
)
from schemas.reject import Reject, RejectReason
from schemas.types import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Article",
    "Discovery",
    "ExtractorInfo",
    "FieldWarning",
    "Reject",
    "RejectReason",
    "WarcLocation",
    "build_article",
]
