"""Grouped reads: commands that ask together share one query, and none is answered by a
query sent before it asked."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from application.grouped_reads import GroupedReads


@dataclass(frozen=True)
class Event:
    originator_id: UUID
    originator_version: int


class FakeStore:
    """Each dispute's versions; every query is recorded with what it was asked.

    ``gate``: each query waits for it, so that the test decides who asks while a
    query is in flight.
    """

    def __init__(self) -> None:
        self.versions: dict[UUID, int] = {}
        self.queries: list[dict[UUID, int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail = False

    def query(self, after: Mapping[UUID, int]) -> dict[UUID, Sequence[Event]]:
        self.queries.append(dict(after))
        self.entered.set()
        assert self.gate.wait(10)
        if self.fail:
            raise ConnectionError("the database went away")
        # read when the query runs, after the gate: what was committed by then
        return {i: [Event(i, v) for v in range(after[i] + 1, self.versions.get(i, 0) + 1)]
                for i in after}


def asking(reads: GroupedReads, dispute_id: UUID, after: int,
           answers: dict[UUID, Any]) -> threading.Thread:
    thread = threading.Thread(target=lambda: answers.__setitem__(
        dispute_id, reads.newer(dispute_id, after)))
    thread.start()
    return thread


def hold_a_query(store: FakeStore, reads: GroupedReads,
                 answers: dict[UUID, Any]) -> threading.Thread:
    """A caller whose query is in flight with the gate shut: later callers wait behind it."""
    store.gate.clear()
    leader = asking(reads, uuid4(), 0, answers)
    assert store.entered.wait(5)
    return leader


def wait_until_waiting(reads: GroupedReads, n: int) -> None:
    for _ in range(500):
        if len(reads._waiting) >= n:
            return
        time.sleep(0.01)
    raise AssertionError(f"{n} callers never waited")


def test_a_caller_alone_gets_its_dispute_s_events_after_its_version_at_once() -> None:
    store = FakeStore()
    d = uuid4()
    store.versions[d] = 5
    reads = GroupedReads(store.query)

    assert reads.newer(d, 3) == [Event(d, 4), Event(d, 5)]
    assert reads.newer(d, 5) == []
    assert store.queries == [{d: 3}, {d: 5}]
    assert reads.groups == 0


def test_callers_that_ask_while_a_query_runs_share_the_next_one() -> None:
    store = FakeStore()
    first, *others = [uuid4() for _ in range(6)]
    for i in (first, *others):
        store.versions[i] = 2
    reads = GroupedReads(store.query)
    answers: dict[UUID, Any] = {}
    store.gate.clear()
    leader = asking(reads, first, 1, answers)
    assert store.entered.wait(5)
    threads = [asking(reads, i, 0, answers) for i in others]
    wait_until_waiting(reads, len(others))

    store.gate.set()
    for thread in (leader, *threads):
        thread.join(10)

    assert store.queries == [{first: 1}, dict.fromkeys(others, 0)]
    assert answers[first] == [Event(first, 2)]
    for i in others:
        assert answers[i] == [Event(i, 1), Event(i, 2)]
    assert reads.groups == 1


def test_a_query_sent_before_a_caller_asked_never_answers_it() -> None:
    """The command asks after another worker's commit: the answer must hold that commit."""
    store = FakeStore()
    d = uuid4()
    store.versions[d] = 1
    reads = GroupedReads(store.query)
    answers: dict[UUID, Any] = {}
    early = hold_a_query(store, reads, answers)  # then another worker commits v2
    store.versions[d] = 2
    late = asking(reads, d, 1, answers)
    wait_until_waiting(reads, 1)

    store.gate.set()
    early.join(10)
    late.join(10)

    assert d not in store.queries[0]
    assert answers[d] == [Event(d, 2)]


def test_one_dispute_asked_at_two_versions_gets_each_caller_its_own_events() -> None:
    store = FakeStore()
    d = uuid4()
    store.versions[d] = 4
    reads = GroupedReads(store.query)
    answers: dict[str, Any] = {}
    leader = hold_a_query(store, reads, {})
    threads = [threading.Thread(target=lambda v=v: answers.__setitem__(
        f"after {v}", reads.newer(d, v))) for v in (1, 3)]
    for thread in threads:
        thread.start()
    wait_until_waiting(reads, 2)

    store.gate.set()
    for thread in (leader, *threads):
        thread.join(10)

    assert store.queries[1] == {d: 1}
    assert answers == {"after 1": [Event(d, 2), Event(d, 3), Event(d, 4)],
                       "after 3": [Event(d, 4)]}


def test_a_failed_query_sends_each_of_its_callers_to_ask_alone() -> None:
    store = FakeStore()
    store.fail = True
    reads = GroupedReads(store.query)
    answers: dict[UUID, Any] = {}
    leader = hold_a_query(store, reads, answers)
    ids = [uuid4() for _ in range(3)]
    threads = [asking(reads, i, 0, answers) for i in ids]
    wait_until_waiting(reads, 3)

    store.gate.set()
    for thread in (leader, *threads):
        thread.join(10)

    assert all(answer is None for answer in answers.values()) and len(answers) == 4
    store.fail = False
    assert reads.newer(ids[0], 0) == []  # the next one leads again


def test_a_caller_behind_a_hung_query_asks_alone_after_its_patience() -> None:
    store = FakeStore()
    reads = GroupedReads(store.query, patience=0.2)
    hung = hold_a_query(store, reads, {})
    d = uuid4()
    started = time.monotonic()

    assert reads.newer(d, 0) is None

    assert 0.2 <= time.monotonic() - started < 5
    assert not reads._waiting
    store.gate.set()
    hung.join(10)
