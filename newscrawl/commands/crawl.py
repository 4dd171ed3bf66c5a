"""`scrapy crawl`, with an exit status that says whether the run's accounting held.

Scrapy's own `crawl` exits 0 whenever the spider started, even if records went missing.
Exit statuses: 0 the run finished and every input has exactly one record; 1 the crawl could
not start (bad arguments, unwritable output); 3 the accounting check failed.
"""

from __future__ import annotations

import argparse

from scrapy.commands import crawl
from scrapy.exceptions import UsageError

EXIT_ACCOUNTING_FAILED = 3


class Command(crawl.Command):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name")
        assert self.crawler_process is not None
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        accounting_ok = (
            crawler.stats.get_value("newscrawl/accounting_ok") if crawler.stats else None
        )
        if accounting_ok is False:
            self.exitcode = EXIT_ACCOUNTING_FAILED
