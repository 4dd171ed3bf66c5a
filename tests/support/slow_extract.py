"""An extraction function that takes its time, so a test crawl lasts long enough to watch.

`-s NEWSCRAWL_EXTRACT_FUNCTION=tests.support.slow_extract.extract_article`: each page waits
`DELAY` seconds, then goes to the real extractor.
"""

from __future__ import annotations

import time

from newscrawl.extraction import ArticleFields
from newscrawl.extraction import extract_article as real_extract_article

DELAY = 0.4


def extract_article(html: str | bytes, url: str) -> ArticleFields:
    time.sleep(DELAY)
    return real_extract_article(html, url)
