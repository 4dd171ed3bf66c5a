"""The accounting behind "every input ends as exactly one record".

Spiders open an entry for every input they accept responsibility for; the writer settles it
when it writes that input's one record. Only unsettled inputs are held, so memory follows
what is in flight, not the size of the run. This is the in-memory view of the run's journal
(`newscrawl.runs.journal`): once the writer attaches it, every input opened is journaled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

from newscrawl.runs.journal import Journal


@dataclass
class Ledger:
    """Inputs opened by the spider and settled by the writer, with the anomalies seen."""

    opened: int = 0
    settled: int = 0
    settled_twice: int = 0
    unknown: int = 0
    pending: dict[int, str] = field(default_factory=dict)
    # The stable id from its source (`<source>#<position>`) of each pending input.
    keys: dict[int, str] = field(default_factory=dict)
    journal: Journal | None = None  # attached by the writer when it opens the run directory
    # One ledger per crawl, held for its crawler (`of`), not on the spider.
    _of_crawler: ClassVar[WeakKeyDictionary[Any, Ledger]] = WeakKeyDictionary()

    @classmethod
    def of(cls, crawler: Any) -> Ledger:
        """The crawl's ledger, made on first use: the spider opens its inputs in it, the
        writer settles them, the distributed add-on counts those in flight."""
        ledger = cls._of_crawler.get(crawler)
        if ledger is None:
            ledger = cls._of_crawler[crawler] = cls()
        return ledger

    def open(self, url: str, key: str | None = None) -> int:
        """Register one input (its URL or raw line, and its stable id) and return its id."""
        input_id = self.opened
        self.opened += 1
        self.pending[input_id] = url
        if key is not None:
            self.keys[input_id] = key
        if self.journal is not None:
            self.journal.opened(input_id, key, url)
        return input_id

    def key(self, input_id: int) -> str | None:
        """The stable id of a pending input, or None."""
        return self.keys.get(input_id)

    def carry_over(self) -> int:
        """Register an input an earlier attempt of this run already settled (resume)."""
        input_id = self.opened
        self.opened += 1
        self.settled += 1
        return input_id

    def settle(self, input_id: int) -> bool:
        """Mark an input as ended; False if it already was (or was never opened)."""
        if self.pending.pop(input_id, None) is not None:
            self.keys.pop(input_id, None)
            self.settled += 1
            return True
        if 0 <= input_id < self.opened:
            self.settled_twice += 1
        else:
            self.unknown += 1
        return False

    @property
    def balanced(self) -> bool:
        """Every input opened was settled exactly once."""
        return (
            not self.pending
            and self.settled == self.opened
            and self.settled_twice == 0
            and self.unknown == 0
        )
