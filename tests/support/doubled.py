"""A spider middleware that emits one reject twice, the way a buggy spider callback would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from newscrawl.items import RejectItem


class DoubleHttpErrorReject:
    """Yields every `http_error` reject twice: the writer must refuse (and not count) the copy."""

    async def process_spider_output_async(
        self, response: Any, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for item in result:
            yield item
            if isinstance(item, RejectItem) and item.reject.reason == "http_error":
                yield item

    def process_spider_output(self, response: Any, result: Any) -> Any:
        for item in result:
            yield item
            if isinstance(item, RejectItem) and item.reject.reason == "http_error":
                yield item
