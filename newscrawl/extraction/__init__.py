"""HTML in, article fields out. Imports nothing from Scrapy, so it runs anywhere."""

from newscrawl.extraction.article import (
    EXTRACTOR_NAME,
    EXTRACTOR_VERSION,
    TRAFILATURA_VERSION,
    ArticleFields,
    extract_article,
)
from newscrawl.extraction.boilerplate import Removal

__all__ = [
    "EXTRACTOR_NAME",
    "EXTRACTOR_VERSION",
    "TRAFILATURA_VERSION",
    "ArticleFields",
    "Removal",
    "extract_article",
]
