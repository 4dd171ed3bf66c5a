"""newscrawl's own signals: what the spider tells the other components about its run.

The writer, the progress display and the frontier pipeline ask through the crawler's signal
manager (`ask`) rather than reading spider attributes; `NewsSpider.from_crawler` connects
its answers. A crawl whose spider does not answer gets None.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from twisted.python.failure import Failure

# As the run closes (run.json, an enqueue's report): the `discovery` part of the report
# (sources read, URLs filtered before fetching), or None for a spider that reads a list.
discovery_report = object()
# When a run stopped before it finished: the inputs the spider never read, each opened now,
# as an iterator of (input id, source, line number).
unread_inputs = object()
# For the progress display: how many inputs the run has, or None while it is not known.
expected_total = object()


def ask(crawler: Crawler, signal: object) -> Any:
    """The first answer to `signal` that is not None (a handler that raised is logged by
    Scrapy and skipped)."""
    for _receiver, answer in crawler.signals.send_catch_log(signal=signal):
        if answer is not None and not isinstance(answer, Failure):
            return answer
    return None
