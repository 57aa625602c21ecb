"""Which cases a run of commits touched, told apart by case, in bounded memory.

A commit counter that only counts makes a commit to one case unknown news for
every kept case; under steady writes a kept case was then almost never known
current. This remembers, for the most recent cases, the count at which each
was last touched. A commit that names no case, and every case forgotten to
keep the memory bounded, count as touching any case, so an answer errs only
towards asking the store.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

__all__ = ["REMEMBERED", "CaseChanges"]

#: How many cases' last touch is remembered.
REMEMBERED = 65_536


class CaseChanges:
    """The count at which each recent case was last touched. Not thread-safe: the
    owner holds its own lock around it."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._remembered = remembered
        self._touched: OrderedDict[str, int] = OrderedDict()
        self._any_at = 0  # the last count that may have touched any case

    def touched(self, cases: Iterable[str] | None, at: int) -> None:
        """Commit number ``at`` touched ``cases`` (None: it did not say, any case)."""
        if cases is None:
            self._any_at = at
            return
        for case in cases:
            self._touched[case] = at
            self._touched.move_to_end(case)
        while len(self._touched) > self._remembered:
            _, forgotten_at = self._touched.popitem(last=False)
            self._any_at = max(self._any_at, forgotten_at)

    def touched_after(self, case: str, at: int) -> bool:
        """Whether a commit numbered above ``at`` may have touched ``case``."""
        return max(self._touched.get(case, 0), self._any_at) > at
