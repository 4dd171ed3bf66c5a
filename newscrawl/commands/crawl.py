"""`scrapy crawl`, with an exit status cron and monitoring can act on.

Scrapy's own `crawl` exits 0 whenever the spider started, even if records went missing.
Exit statuses: 0 the run finished and every input has exactly one record; 1 the crawl could not
start (bad arguments or `NEWSCRAWL_*` values, the state store or job directory in use,
unwritable output, `-o`/`-O`/`FEEDS` asked for: one line on stderr says which); 3 the
accounting check failed; 4 the share of `download_error`/`http_error` rejects among the pages
requested passed `NEWSCRAWL_MAX_ERROR_RATE` (a site blocking us, or the network down); 5 the
run was stopped before it finished (Ctrl-C, SIGTERM, a CLOSESPIDER_* limit), every input has
its record (the unreached ones `not_processed`) and the summary prints the command that resumes
it; 6 a discovery spider (sitemap, feeds) could read none of its sources (every sitemap, feed
or robots.txt failed), so nothing was discovered; 7 a state-store save failed (run.json
`reruns.state_save`): the records are written, the articles the store missed are kept in the
run's `state-unsaved.jsonl` and saved by the next start, so none is exported twice. When
several apply: 3, then 7, then 6, then 4, then 5.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from scrapy.commands import crawl
from scrapy.exceptions import UsageError
from scrapy.settings import Settings

from newscrawl import settings as defaults
from newscrawl.history.state import StateStoreError
from newscrawl.runs.resume import ResumeError
from newscrawl.spiders.params import SpiderArgumentError

EXIT_CANNOT_START = 1
EXIT_ACCOUNTING_FAILED = 3
EXIT_ERROR_RATE = 4
EXIT_STOPPED = 5
EXIT_DISCOVERY_FAILED = 6
EXIT_STATE_SAVE_FAILED = 7


def output_problem(directory: Path) -> str | None:
    """Why records cannot be written under `directory`, or None: checked before any fetch."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-check-"):
            pass
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return None


_KINDS: tuple[tuple[type, str, str], ...] = (
    (bool, "getbool", "true or false (True/False, 1/0)"),
    (int, "getint", "a whole number"),
    (float, "getfloat", "a number"),
)


def settings_problem(settings: Settings) -> str | None:
    """The first NEWSCRAWL_* setting whose value does not read as its type, or None.

    Checked before the crawl starts, so `-s NEWSCRAWL_MIN_WORDS=abc` gives one line naming
    the setting instead of a ValueError from whichever component reads it first. The type
    is that of the default declared in `newscrawl/settings.py`.
    """
    for name in sorted(vars(defaults)):
        if not name.startswith("NEWSCRAWL_") or settings.get(name) is None:
            continue
        default, value = getattr(defaults, name), settings.get(name)
        if name == "NEWSCRAWL_EXTRACT_WORKERS":  # "auto" or a count
            if str(value).strip().lower() in {"", "auto"}:
                continue
            default = 0
        for kind, getter, wanted in _KINDS:
            if isinstance(default, kind):
                try:
                    getattr(settings, getter)(name)
                except (TypeError, ValueError):
                    return f"-s {name}={value}: not {wanted} (default {default!r})"
                break
    return None


def feeds_refusal(feeds: dict[str, object], output: Path) -> str | None:
    """Why Scrapy's feed exports (`-o`, `-O`, `FEEDS`) are refused, or None without any.

    The records go to the run directory (articles.jsonl, rejects.jsonl, run.json); a feed
    would receive only part of them, so a run asked for one stops before any fetch instead.
    """
    if not feeds:
        return None
    names = ", ".join(sorted(str(uri) for uri in feeds))
    return (
        f"feed exports (-o/-O/FEEDS: {names}) are not supported: each run writes its articles"
        f" to {output}/<run_id>/articles.jsonl (rejects.jsonl and run.json beside it);"
        " set NEWSCRAWL_OUTPUT_DIR to choose the directory. Nothing was fetched."
    )


def _explain_bad_arguments(started: asyncio.Future[None]) -> None:
    """A bad spider argument or setting, or a state store or job directory in use: its
    one-line message, not asyncio's traceback of the task.

    The crawl then never started, so Scrapy marks it failed and we exit 1 as usual.
    """
    if started.cancelled():
        return
    error = started.exception()  # retrieved: asyncio no longer logs it with a traceback
    if isinstance(error, SpiderArgumentError | StateStoreError | ResumeError) or (
        isinstance(error, ValueError) and str(error).startswith("NEWSCRAWL_")
    ):
        print(f"newscrawl: {error}", file=sys.stderr)
    elif error is not None:
        started.get_loop().call_exception_handler(
            {"message": "the crawl could not start", "exception": error, "future": started}
        )


class Command(crawl.Command):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name")
        assert self.crawler_process is not None
        crawler = self._create_crawler(args[0])
        bad_setting = settings_problem(crawler.settings)
        if bad_setting is not None:
            print(f"newscrawl: {bad_setting}. Nothing was fetched.", file=sys.stderr)
            self.exitcode = EXIT_CANNOT_START
            return
        output = Path(crawler.settings.get("NEWSCRAWL_OUTPUT_DIR")) / args[0]
        refusal = feeds_refusal(crawler.settings.getdict("FEEDS"), output)
        if refusal is not None:
            print(f"newscrawl: {refusal}", file=sys.stderr)
            self.exitcode = EXIT_CANNOT_START
            return
        problem = output_problem(output)
        if problem is not None:
            print(
                f"newscrawl: cannot write the run's output under {output} ({problem}); "
                "set NEWSCRAWL_OUTPUT_DIR to a writable directory. Nothing was fetched.",
                file=sys.stderr,
            )
            self.exitcode = EXIT_CANNOT_START
            return
        started = self.crawler_process.crawl(crawler, **opts.spargs)
        if isinstance(started, asyncio.Future):
            started.add_done_callback(_explain_bad_arguments)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = EXIT_CANNOT_START
            return
        stats = crawler.stats
        if stats is None:
            return
        if stats.get_value("newscrawl/accounting_ok") is False:
            self.exitcode = EXIT_ACCOUNTING_FAILED
        elif stats.get_value("newscrawl/state/save_failed"):
            self.exitcode = EXIT_STATE_SAVE_FAILED
        elif stats.get_value("newscrawl/discovery_failed"):
            self.exitcode = EXIT_DISCOVERY_FAILED
        elif stats.get_value("newscrawl/error_rate_exceeded"):
            self.exitcode = EXIT_ERROR_RATE
        elif stats.get_value("newscrawl/stopped_early"):
            self.exitcode = EXIT_STOPPED
