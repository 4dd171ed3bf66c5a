"""`scrapy crawl articles -a urls=PATH [-a url=URL]`: crawl a list of article URLs.

Every non-comment line of the list ends as exactly one record: an article, or a reject
(`invalid_url` for a line that is not a URL, `duplicate_url` for a repeat, or whatever its
fetch and extraction gave).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from newscrawl.inputs import InputLine, parse_input, read_url_file, url_key
from newscrawl.spiders.base import NewsSpider
from newscrawl.spiders.params import ArticlesParams, parse_params
from schemas import Discovery, RejectReason


class ArticlesSpider(NewsSpider):
    """Fetch and extract each page named in a URL file (`urls`) and/or one URL (`url`)."""

    name = "articles"

    def __init__(self, **kwargs: Any) -> None:
        self.params = parse_params(ArticlesParams, kwargs)
        super().__init__()
        # Inputs already scheduled, by URL key: repeats are rejected without a second fetch.
        self._first_seen: dict[str, str] = {}

    def inputs(self) -> Iterator[InputLine]:
        """The inputs in order: the single `url` first, then the lines of the `urls` file."""
        if self.params.url is not None:
            yield parse_input(self.params.url, 0, None)
        if self.params.urls is not None:
            max_line = self.settings.getint("NEWSCRAWL_MAX_INPUT_LINE")
            yield from read_url_file(self.params.urls, max_line)

    async def start(self) -> AsyncIterator[Any]:
        from_file = Discovery(
            kind="list", source=self.params.urls.resolve().as_uri() if self.params.urls else None
        )
        from_argument = Discovery(kind="list", source=None)
        for line in self.inputs():
            input_id = self.open_input(line.url or line.raw)
            via = from_file if line.line_number else from_argument
            if line.url is None:
                where = f"line {line.line_number}" if line.line_number else "-a url"
                yield self.reject_input(
                    input_id, line.raw, RejectReason.invalid_url, f"{where}: {line.error}",
                    discovered_via=via,
                )  # fmt: skip
                continue
            key = url_key(line.url)
            first = self._first_seen.get(key)
            if first is not None:
                yield self.reject_input(
                    input_id, line.url, RejectReason.duplicate_url,
                    f"same page as an earlier input line: {first}", duplicate_of=first,
                    discovered_via=via,
                )  # fmt: skip
                continue
            self._first_seen[key] = line.url
            yield self.page_request(input_id, line.url, via)
