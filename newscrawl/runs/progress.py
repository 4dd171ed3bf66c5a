"""A crawl's progress: a live display on a terminal, a plain log line every N seconds elsewhere.

On a terminal (stderr is a TTY) a rich progress bar shows inputs done / total (the total where
the spider knows it: `expected_total()`), articles, rejects, pages/s and the time left. While
it is shown, the log's stream handler writes through the same rich console, so every log line
is printed whole above the bar and nothing is interleaved. Off a terminal (cron, CI, a pipe)
nothing but plain text is written: a `newscrawl.progress` INFO log line every
`NEWSCRAWL_PROGRESS_INTERVAL` seconds.

`NEWSCRAWL_PROGRESS`: `auto` (default: live on a terminal, plain lines otherwise), `live`,
`plain`, or `off`.
"""

from __future__ import annotations

import atexit
import logging
import sys
import time
from collections import deque
from typing import IO, Any, Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import (
    Progress as RichProgress,
)
from rich.text import Text
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.spiders import Spider
from twisted.internet import task, threads

from newscrawl.signals import ask, expected_total

logger = logging.getLogger("newscrawl.progress")

MODES = ("auto", "live", "plain", "off")
LIVE_TICK = 0.25  # seconds between updates of the live display
RATE_WINDOW = 30.0  # pages/s is measured over this many recent seconds


class Progress:
    """Scrapy extension: the live display or the periodic progress line."""

    def __init__(self, crawler: Crawler, *, live: bool, interval: float) -> None:
        self.crawler = crawler
        self.live = live
        self.interval = interval
        self.total: int | None = None
        self._asking = False  # a call of the spider's expected_total() is running
        self._samples: deque[tuple[float, int]] = deque()
        self._loop: task.LoopingCall | None = None
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._rerouted: list[tuple[logging.StreamHandler[Any], IO[str]]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        mode = str(settings.get("NEWSCRAWL_PROGRESS", "auto")).strip().lower()
        if mode not in MODES:
            raise ValueError(f"NEWSCRAWL_PROGRESS must be one of {', '.join(MODES)}: {mode!r}")
        interval = settings.getfloat("NEWSCRAWL_PROGRESS_INTERVAL")
        live = mode == "live" or (mode == "auto" and _is_terminal(sys.stderr))
        if mode == "off" or (not live and interval <= 0):
            raise NotConfigured
        progress = cls(crawler, live=live, interval=interval)
        crawler.signals.connect(progress.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(progress.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(progress.engine_stopped, signal=signals.engine_stopped)
        return progress

    # --- the numbers ---

    def snapshot(self) -> dict[str, Any]:
        """Inputs done (and expected), articles, rejects, pages/s over the last seconds, ETA."""
        stats = self.crawler.stats
        assert stats is not None
        # From the stats the spider and the writer keep (an attempt's carried-over inputs
        # are both opened and settled).
        carried = int(stats.get_value("newscrawl/resume/carried_over", 0))
        done = int(stats.get_value("newscrawl/settled", 0)) + carried
        opened = int(stats.get_value("newscrawl/inputs", 0))
        now = time.monotonic()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] > RATE_WINDOW:
            self._samples.popleft()
        first_time, first_done = self._samples[0]
        rate = (done - first_done) / (now - first_time) if now - first_time > 0.5 else None
        total = max(self.total, opened) if self.total is not None else None
        eta = (total - done) / rate if total is not None and rate else None
        return {
            "done": done,
            "total": total,
            "opened": opened,
            "articles": int(stats.get_value("newscrawl/articles", 0)),
            "rejects": int(stats.get_value("newscrawl/rejects", 0)),
            "rate": rate,
            "eta": eta,
        }

    def line(self) -> str:
        """The plain progress line."""
        s = self.snapshot()
        if s["total"] is not None:
            share = f" ({s['done'] / s['total']:.0%})" if s["total"] else ""
            done = f"{s['done']}/{s['total']} inputs done{share}"
        else:
            done = f"{s['done']} inputs done of {s['opened']} found so far"
        rate = f"{s['rate']:.1f} pages/s" if s["rate"] is not None else "– pages/s"
        eta = f", ETA {_clock(s['eta'])}" if s["eta"] is not None else ""
        return f"progress: {done}, {s['articles']} articles, {s['rejects']} rejects, {rate}{eta}"

    # --- signals ---

    def spider_opened(self, spider: Spider) -> None:
        self._ask_total()
        if self.live:
            self._start_live(spider.name)
            self._loop = task.LoopingCall(self._update_live)
            self._loop.start(LIVE_TICK, now=True)
        else:
            self.snapshot()
            self._loop = task.LoopingCall(self._log_line)
            self._loop.start(self.interval, now=False)

    def spider_closed(self, spider: Spider) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self.live:
            self._update_live()

    def engine_stopped(self) -> None:
        """The live display ends after the closing log lines, before the run's summary."""
        self._stop_live()

    def _ask_total(self) -> None:
        """Ask the spider for its expected total (`newscrawl.signals.expected_total`; it may
        change: discovery finds more). The answer may read a whole URL file, so it is asked
        off the reactor thread.
        """
        if not self._asking:
            self._asking = True
            threads.deferToThread(ask, self.crawler, expected_total).addCallbacks(
                self._got_total, self._no_total
            )

    def _got_total(self, total: int | None) -> None:
        self._asking = False
        self.total = total

    def _no_total(self, failure: Any) -> None:
        self._asking = False
        logger.debug("newscrawl: no expected total: %s", failure.getErrorMessage())

    def _log_line(self) -> None:
        self._ask_total()
        logger.info("%s", self.line())

    # --- the live display ---

    def _start_live(self, name: str) -> None:
        console = Console(file=sys.stderr, highlight=False)
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "inputs · [green]{task.fields[articles]}[/] articles · "
                "[red]{task.fields[rejects]}[/] rejects ·"
            ),
            _RateColumn(),
            TextColumn("· ETA"),
            TimeRemainingColumn(),
            console=console,
            refresh_per_second=4,
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self._task = self._bar.add_task(name, total=None, articles=0, rejects=0, rate=None)
        self._reroute_log(console)
        self._bar.start()
        atexit.register(self._stop_live)  # a crash still gives the terminal its cursor back

    def _update_live(self) -> None:
        if self._bar is None or self._task is None:
            return
        self._ask_total()
        s = self.snapshot()
        self._bar.update(
            self._task,
            completed=s["done"],
            total=s["total"],
            articles=s["articles"],
            rejects=s["rejects"],
            rate=s["rate"],
        )

    def _stop_live(self) -> None:
        bar, self._bar = self._bar, None
        if bar is None:
            return
        bar.refresh()
        bar.stop()
        for handler, stream in self._rerouted:
            handler.setStream(stream)
        self._rerouted.clear()

    def _reroute_log(self, console: Console) -> None:
        """Log handlers writing to the terminal write through the live console instead."""
        for handler in logging.getLogger().handlers:
            if type(handler) is logging.StreamHandler and handler.stream in (
                sys.stderr,
                sys.__stderr__,
            ):
                old = handler.setStream(_ConsoleStream(console))  # type: ignore[arg-type]
                if old is not None:
                    self._rerouted.append((handler, old))


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        rate = task.fields.get("rate")
        return Text(f"{rate:.1f} pages/s" if rate is not None else "– pages/s")


class _ConsoleStream:
    """A text stream for a logging handler: whole lines go to the console, above the display."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self.console.out(line, highlight=False)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.console.out(self._pending, highlight=False)
            self._pending = ""


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
