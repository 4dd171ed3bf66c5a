"""Resume: a killed or stopped run finished in its own run directory, from its journal.

With a job directory (`-s JOBDIR=DIR` or `-a resume=DIR`) the run id is kept in
`DIR/newscrawl-job.json`, so the same command started again after a kill reuses the same run
directory. Its journal (`newscrawl.runs.journal`) is replayed: the record files are cut back
to the last record it settled (a torn or uncommitted last line, and the `not_processed`
rejects of a stopped attempt, go), and the inputs it settled are skipped by the spider and
counted as settled, so every input still ends as exactly one line. Once a run finishes, the
next start with the same job directory begins a new run.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from newscrawl.history.state import exclusive_lock
from newscrawl.runs.journal import (
    JOURNAL_FILE,
    NAVIGATION,
    RECORD_FILES,
    JournalError,
    Settle,
    replay,
    restore,
)

logger = logging.getLogger(__name__)

JOB_FILE = "newscrawl-job.json"


class ResumeError(RuntimeError):
    """A run directory cannot be resumed safely; the message says why."""


@dataclass
class Carried:
    """What the earlier attempts of a run settled, as its journal says."""

    keys: set[str] = field(default_factory=set)  # input ids settled (skipped by the spider)
    articles: int = 0
    rejects: int = 0
    navigation: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    lines: dict[str, int] = field(default_factory=dict)  # record file -> lines kept
    exported: list[Settle] = field(default_factory=list)  # the articles, checked in the store
    torn_lines: int = 0
    uncommitted: int = 0
    torn_journal: int = 0
    dropped_not_processed: int = 0
    attempts: int = 0

    @property
    def records(self) -> int:
        return self.articles + self.rejects

    def take(self, key: str) -> bool:
        """True (once) if an earlier attempt settled the input with this stable id."""
        if key in self.keys:
            self.keys.discard(key)
            return True
        return False


def resumable_dir(run_dir: Path) -> bool:
    """Whether a run directory can be resumed: it has a journal, or no records at all (the
    kill came first). Records without a journal were written by an older newscrawl."""
    if (run_dir / JOURNAL_FILE).exists():
        return True
    return not any((run_dir / name).exists() and (run_dir / name).stat().st_size
                   for name in RECORD_FILES)  # fmt: skip


def carry_over(run_dir: Path) -> Carried:
    """Replay the run's journal and cut its record files back to match it."""
    carried = Carried()
    path = run_dir / JOURNAL_FILE
    if not path.exists():
        return carried
    try:
        journal = replay(path, resuming=True)
        restored = restore(run_dir, journal)
    except JournalError as exc:
        raise ResumeError(str(exc)) from None
    for settle in journal.settles:
        if settle.input_id is not None:
            carried.keys.add(settle.input_id)
        if settle.outcome == NAVIGATION:
            carried.navigation += 1
        elif settle.where is not None and settle.where.file == "articles.jsonl":
            carried.articles += 1
            carried.exported.append(settle)
        else:
            carried.rejects += 1
            carried.reasons[settle.outcome] += 1
    carried.lines = restored.lines
    carried.torn_lines = restored.torn_lines
    carried.uncommitted = restored.uncommitted
    carried.torn_journal = int(restored.torn_journal)
    carried.dropped_not_processed = restored.not_processed
    carried.attempts = journal.attempts
    return carried


@dataclass
class Job:
    """A crawl's job directory, locked for the crawl: whether it resumes a run, and which."""

    lock: IO[str] | None = None
    resuming: bool = False
    run_id: str = ""
    attempt: int = 1


def open_job(job_dir: Path | None, spider: str, *, resumable: bool, output: Path) -> Job:
    """Lock the job directory (one crawl per job directory, like one per state store) and
    read its job file: the run to resume, if it did not finish and can be resumed here."""
    if job_dir is None:
        return Job()
    job_dir.mkdir(parents=True, exist_ok=True)
    lock = exclusive_lock(
        job_dir / (JOB_FILE + ".lock"), f"job directory {job_dir}", "or use another one"
    )
    try:
        job = read_job(job_dir)
    except BaseException:
        lock.close()
        raise
    if job is None or job.get("finished") or job.get("spider") != spider:
        return Job(lock)
    run_id = str(job["run_id"])
    if not resumable:
        logger.warning("newscrawl: spider %s cannot resume a run; starting a new one", spider)
        return Job(lock)
    if not resumable_dir(output / run_id):
        logger.warning(
            "newscrawl: run %s has records but no journal (written by an older newscrawl);"
            " starting a new run (what it exported is seen_before)", run_id,
        )  # fmt: skip
        return Job(lock)
    return Job(lock, True, run_id, int(job.get("attempt", 1)) + 1)


def read_job(job_dir: Path) -> dict[str, Any] | None:
    """The job file of a job directory, or None when there is none yet."""
    path = job_dir / JOB_FILE
    if not path.exists():
        return None
    try:
        job = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ResumeError(f"{path} is not valid JSON ({exc}); remove it to start afresh") from None
    return job if isinstance(job, dict) else None


def write_job(job_dir: Path, job: dict[str, Any]) -> None:
    """Replace the job file atomically."""
    job_dir.mkdir(parents=True, exist_ok=True)
    tmp = job_dir / (JOB_FILE + ".tmp")
    tmp.write_text(json.dumps(job, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, job_dir / JOB_FILE)


def command_line(extra: list[str]) -> str:
    """The crawl's command as the user typed it, plus `extra` arguments; `scrapy` is the full
    path when it was found on PATH (cron's PATH may differ), so the command runs as printed."""
    rest = sys.argv[1:]
    if rest[:1] != ["crawl"]:  # Scrapy's command line took the command name out of argv
        rest = ["crawl", *rest]
    argv0 = sys.argv[0]
    found = shutil.which(argv0) if os.sep not in argv0 else None
    return shlex.join([found or argv0, *rest, *extra])
