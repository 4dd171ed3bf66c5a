"""`scrapy crawl articles -a urls=PATH [-a url=URL]`: crawl a list of article URLs.

Every non-comment line of the list ends as exactly one record: an article, or a reject
(`invalid_url` for a line that is not a URL, `duplicate_url` for a repeat, `seen_before` for
a page an earlier run exported, or whatever its fetch and extraction gave). With
`-a refresh=true` pages exported before are revalidated instead (conditional requests); with a
job directory (`-a resume=DIR` or `-s JOBDIR=DIR`) a killed run's settled inputs are skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Self

from scrapy.crawler import Crawler

from newscrawl.history.runkeys import RunKeys
from newscrawl.runs.reruns import Reruns
from newscrawl.sources.inputs import InputLine, parse_input, read_url_file, url_key
from newscrawl.spiders.base import MAX_REJECT_URL, NewsSpider
from newscrawl.spiders.params import ArticlesParams, parse_params
from schemas import Discovery, RejectReason


class ArticlesSpider(NewsSpider):
    """Fetch and extract each page named in a URL file (`urls`) and/or one URL (`url`)."""

    name = "articles"
    resumable = True  # start() skips inputs an earlier attempt of the run settled

    def __init__(self, **kwargs: Any) -> None:
        self.params = parse_params(ArticlesParams, kwargs)
        super().__init__()
        # Inputs already scheduled, by URL key: repeats are rejected without a second fetch.
        # On disk (newscrawl.history.runkeys), so memory does not grow with the length of the list.
        self._first_seen = RunKeys()
        # The input lines as start() reads them: what it had not read when the run stopped is
        # read by `unread_inputs`, so every line of the input still ends as one record.
        self._lines: Iterator[InputLine] | None = None

    def inputs(self) -> Iterator[InputLine]:
        """The inputs in order: the single `url` first, then the lines of the `urls` file."""
        if self.params.url is not None:
            yield parse_input(self.params.url, 0, None)
        if self.params.urls is not None:
            max_line = self.settings.getint("NEWSCRAWL_MAX_INPUT_LINE")
            yield from read_url_file(self.params.urls, max_line)

    def expected_total(self) -> int:
        """How many inputs this run has (progress display): the URL file read once more."""
        total: int | None = getattr(self, "_expected_total", None)
        if total is None:
            total = self._expected_total = sum(1 for _ in self.inputs())
        return total

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.params.resume is not None:  # `-s JOBDIR` on the command line still wins
            crawler.settings.set("JOBDIR", str(spider.params.resume), priority="spider")
        return spider

    async def start(self) -> AsyncIterator[Any]:
        from_file = Discovery(
            kind="list", source=self.params.urls.resolve().as_uri() if self.params.urls else None
        )
        from_argument = Discovery(kind="list", source=None)
        reruns = self.crawler.get_extension(Reruns)
        self._lines = self.inputs()
        for line in self._lines:
            source, first = self._admit(line, reruns)
            if source is None:
                continue
            input_id = self.open_input(source, self._input_key(line.line_number))
            via = from_file if line.line_number else from_argument
            if line.url is None:
                where = f"line {line.line_number}" if line.line_number else "-a url"
                yield self.reject_input(
                    input_id, line.raw, RejectReason.invalid_url, f"{where}: {line.error}",
                    discovered_via=via,
                )  # fmt: skip
                continue
            if first is not None:
                yield self.reject_input(
                    input_id, line.url, RejectReason.duplicate_url,
                    f"same page as an earlier input line: {first}", duplicate_of=first,
                    discovered_via=via,
                )  # fmt: skip
                continue
            yield self.first_request(input_id, line.url, via)

    def _admit(self, line: InputLine, reruns: Reruns | None) -> tuple[str | None, str | None]:
        """(the input's source, the earlier line it repeats), or (None, None) when an earlier
        attempt of this run already wrote its record (carried over, not opened again)."""
        source = (line.url or line.raw)[:MAX_REJECT_URL]
        page = url_key(line.url) if line.url is not None else None
        first = self._first_seen.add(page, source) if page is not None else None
        key = self._input_key(line.line_number)
        if reruns is not None and reruns.take_settled(key):
            self.ledger.carry_over()
            self.crawler.stats.inc_value("newscrawl/inputs")
            self.crawler.stats.inc_value("newscrawl/resume/carried_over")
            return None, None
        return source, first

    def unread_inputs(self) -> Iterator[tuple[int, str, int]]:
        """The input lines start() never read (the run stopped first), each opened now:
        (input id, source, line number). Streamed: the rest of the file is read line by line."""
        reruns = self.crawler.get_extension(Reruns)
        if self._lines is None:  # stopped before start() read anything: the whole input
            self._lines = self.inputs()
        for line in self._lines:
            source, _first = self._admit(line, reruns)
            if source is not None:
                yield (
                    self.open_input(source, self._input_key(line.line_number)),
                    source,
                    line.line_number,
                )

    def _input_key(self, line_number: int) -> str:
        """`<URL file>#<line>` (the file as given, resolved), or `-a url#0` for the argument."""
        if line_number == 0 or self.params.urls is None:
            return "-a url#0"
        return f"{self.params.urls.resolve()}#{line_number}"
