"""A pipeline that loses one item, the way a buggy or third-party pipeline would."""

from __future__ import annotations

from typing import Any

from newscrawl.items import ArticleItem


class LoseOneArticle:
    """Raises on the first article whose URL contains `/articles/semantic_html5`."""

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem) and "/articles/semantic_html5" in item.article.url:
            raise RuntimeError("simulated pipeline bug")
        return item
