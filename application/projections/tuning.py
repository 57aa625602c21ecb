"""How the catch-up engine spends memory and time: batch and cache sizes, garbage
collection during a run, the overlapping writer and the LRU of live aggregates.

None of it changes what the read models hold, only how fast they get there.
"""

from __future__ import annotations

import contextlib
import gc
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from application.projections.facts import DisputeFacts
from application.projections.ports import ReadModelStore
from domain.dispute import Dispute

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CACHE_SIZE",
    "GC_EVERY_BATCHES",
    "Entry",
    "Progress",
    "StateCache",
    "overlapping_writer",
    "young_gc_only",
]

DEFAULT_BATCH_SIZE = 2000
DEFAULT_CACHE_SIZE = 20_000
#: A run collects garbage cycles this seldom: folding makes almost none, and
#: each collection walks every young survivor, so collecting after every batch
#: cost a noticeable share of a rebuild (figures: docs/benchmarks.md).
GC_EVERY_BATCHES = 16


@dataclass(frozen=True, slots=True)
class Progress:
    """Reported after every batch."""

    position: int
    processed: int  # notifications read by this run so far
    elapsed: float


#: A live dispute: the aggregate and its facts.
Entry = tuple[Dispute, DisputeFacts]


@contextlib.contextmanager
def young_gc_only() -> Iterator[None]:
    """No automatic collections while a long run goes on.

    With tens of thousands of cached aggregates (millions of objects) Python's
    full collections, triggered by the churn of a catch-up, cost more than the
    projection itself; the run collects the young generations every few
    batches and leaves the old one alone (the cache frees by reference counting).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def overlapping_writer(store: ReadModelStore) -> Iterator[ReadModelStore | None]:
    """The ``writer`` for a long :meth:`CatchUp.run`: a second connection where the
    database works while Python folds (``store.overlap_writes``), else None."""
    writer = store.clone() if store.overlap_writes else None
    try:
        yield writer
    finally:
        if writer is not None:
            writer.close()


class StateCache:
    """A bounded LRU of live aggregates, keyed as ``_fold`` groups a batch.

    ``get`` makes an entry the most recent; ``put`` of a key just read keeps it
    there, a new key becomes the most recent. ``trim`` evicts the least recent
    entries, by batch rather than by ``put``.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[object, Entry] = OrderedDict()

    def get(self, key: object) -> Entry | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: object, entry: Entry) -> None:
        self._items[key] = entry

    def trim(self, room: int = 0) -> None:
        """Evict down to the capacity, less ``room`` for entries about to be put."""
        items = self._items
        while items and len(items) > self.capacity - room:
            items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
