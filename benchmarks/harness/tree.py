"""Measuring a command's whole process tree: wall time, CPU of every descendant, peak RSS."""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLE_EVERY = 0.1


def become_subreaper() -> bool:
    """Orphaned descendants are re-parented to this process, so all of them get waited for."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, 1, 0, 0, 0) == 0)  # PR_SET_CHILD_SUBREAPER
    except OSError:
        return False


@dataclass
class TreeRun:
    name: str
    command: list[str]
    returncode: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    peak_rss: int = 0
    rss_series: list[tuple[float, int, int]] = field(default_factory=list)  # time, rss, done
    main_cpu: float = 0.0  # the command's own process (last sample before it ended)
    others_cores: float = 0.0  # CPU used meanwhile by processes outside the tree, in cores
    stdout: str = ""
    stderr: str = ""


def run_tree(
    name: str,
    command: list[str],
    *,
    cwd: Path,
    progress: Callable[[], int] | None = None,
    timeout: float = 3600,
) -> TreeRun:
    """Run a command; measure wall time, CPU of the whole tree, and the tree's peak RSS."""
    import psutil

    print(f"running: {name}", flush=True)
    run = TreeRun(name, command)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    busy_before = _busy_seconds()
    me = psutil.Process()
    stop = threading.Event()

    def sample() -> None:
        root = psutil.Process(process.pid)
        while not stop.is_set():
            with contextlib.suppress(psutil.Error):
                times = root.cpu_times()
                run.main_cpu = times.user + times.system
            total = 0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
            done = progress() if progress else 0
            run.rss_series.append((time.monotonic() - started, total, done))
            run.peak_rss = max(run.peak_rss, total)
            stop.wait(SAMPLE_EVERY)

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            run.returncode = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            run.returncode = process.wait()
        run.wall = time.monotonic() - started
        _reap_orphans()
        stop.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        run.stdout = out.read().decode("utf-8", "replace")
        run.stderr = err.read().decode("utf-8", "replace")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    own = (self_after.ru_utime - self_before.ru_utime) + (
        self_after.ru_stime - self_before.ru_stime
    )
    others = _busy_seconds() - busy_before - run.cpu - own
    run.others_cores = max(0.0, others / run.wall) if run.wall else 0.0
    return run


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all processes, all cores)."""
    import psutil

    times = psutil.cpu_times()
    return float(
        sum(
            getattr(times, name, 0.0)
            for name in ("user", "nice", "system", "irq", "softirq", "steal")
        )
    )


def _reap_orphans(deadline: float = 30.0) -> None:
    """Wait for descendants left behind (re-parented to us as subreaper)."""
    end = time.monotonic() + deadline
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > end:
                import psutil

                for child in psutil.Process().children(recursive=True):
                    child.kill()
                end = time.monotonic() + 5
            time.sleep(0.02)


class LineCounter:
    """Lines written so far to some files (the crawl's JSONL outputs), read incrementally."""

    def __init__(self, pattern_dir: Path, names: tuple[str, ...]) -> None:
        self.dir = pattern_dir
        self.names = names
        self.offsets: dict[Path, int] = {}
        self.count = 0

    def __call__(self) -> int:
        for name in self.names:
            for path in self.dir.glob(f"*/*/{name}"):
                offset = self.offsets.get(path, 0)
                try:
                    with path.open("rb") as handle:
                        handle.seek(offset)
                        chunk = handle.read()
                except OSError:
                    continue
                self.count += chunk.count(b"\n")
                self.offsets[path] = offset + len(chunk)
        return self.count


def crawl_seconds(summary: dict[str, Any]) -> float:
    from datetime import datetime

    try:
        start = datetime.fromisoformat(summary["started_at"])
        end = datetime.fromisoformat(summary["finished_at"])
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()
