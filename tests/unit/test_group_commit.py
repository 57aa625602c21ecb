"""Group commit: concurrent saves share a transaction; a conflict fails only its own save."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from application.group_commit import GroupCommit


@dataclass(frozen=True, eq=False)
class Event:
    originator_id: UUID
    originator_version: int


@dataclass(frozen=True)
class Recording:
    domain_event: Event
    notification: int


class FakeStore:
    """A store with the unique (originator, version) key; every call is one transaction.

    ``gate``: each transaction waits for it, so that the test decides when saves
    arrive while one is committing.
    """

    def __init__(self) -> None:
        self.rows: list[tuple[UUID, int]] = []
        self.transactions: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def save(self, *events: Event) -> list[Recording]:
        self.entered.set()
        assert self.gate.wait(10)
        with self._lock:
            keys = [(e.originator_id, e.originator_version) for e in events]
            if len(set(keys)) < len(keys) or any(key in self.rows for key in keys):
                raise IntegrityError("duplicate key")
            start = len(self.rows)
            self.rows.extend(keys)
            self.transactions.append(len(events))
            return [Recording(e, start + i + 1) for i, e in enumerate(events)]


def saving(group: GroupCommit, events: Sequence[Event],
           results: dict[UUID, Any]) -> threading.Thread:
    def run() -> None:
        try:
            results[events[0].originator_id] = group.save(events)
        except IntegrityError as error:
            results[events[0].originator_id] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def hold_first_transaction(store: FakeStore, group: GroupCommit,
                           results: dict[UUID, Any]) -> threading.Thread:
    """A save that is committing, with the gate shut: later saves wait behind it."""
    store.gate.clear()
    first = saving(group, [Event(uuid4(), 1)], results)
    assert store.entered.wait(5)
    return first


def wait_until_waiting(group: GroupCommit, n: int) -> None:
    for _ in range(500):
        if len(group._waiting) >= n:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"{n} saves never queued")


def test_an_idle_store_commits_a_save_at_once_in_its_own_transaction() -> None:
    store = FakeStore()
    group = GroupCommit(store.save)
    event = Event(uuid4(), 1)

    recordings = group.save([event])

    assert [r.domain_event for r in recordings] == [event]
    assert store.transactions == [1]


def test_saves_that_arrive_while_one_commits_are_committed_together_in_one_transaction() -> None:
    store, results = FakeStore(), dict[UUID, Any]()
    group = GroupCommit(store.save)
    first = hold_first_transaction(store, group, results)
    ids = [uuid4() for _ in range(5)]
    threads = [saving(group, [Event(i, 1), Event(i, 2)], results) for i in ids]
    wait_until_waiting(group, 5)

    store.gate.set()
    for thread in [first, *threads]:
        thread.join(5)

    assert store.transactions == [1, 10]
    for i in ids:
        assert [(r.domain_event.originator_id, r.domain_event.originator_version)
                for r in results[i]] == [(i, 1), (i, 2)]
    assert group.groups == 1


def test_a_conflict_in_a_group_fails_only_its_own_save_and_the_others_commit() -> None:
    store, results = FakeStore(), dict[UUID, Any]()
    group = GroupCommit(store.save)
    taken = Event(uuid4(), 1)
    store.save(taken)  # another process recorded version 1 of this dispute first
    store.transactions.clear()
    first = hold_first_transaction(store, group, results)
    ids = [uuid4() for _ in range(3)]
    threads = [saving(group, [Event(i, 1)], results) for i in ids[:1]]
    threads.append(saving(group, [Event(taken.originator_id, 1)], results))
    threads += [saving(group, [Event(i, 1)], results) for i in ids[1:]]
    wait_until_waiting(group, 4)

    store.gate.set()
    for thread in [first, *threads]:
        thread.join(5)

    assert isinstance(results[taken.originator_id], IntegrityError)
    assert all(len(results[i]) == 1 for i in ids)
    assert store.transactions == [1, 1, 1, 1]  # the group failed, then each alone, once


def test_two_saves_of_one_dispute_never_share_a_group() -> None:
    store, results = FakeStore(), dict[UUID, Any]()
    group = GroupCommit(store.save)
    first = hold_first_transaction(store, group, results)
    same = uuid4()
    outcomes: list[Any] = []

    def save_version_1() -> None:
        try:
            outcomes.append(group.save([Event(same, 1)]))
        except IntegrityError as error:
            outcomes.append(error)

    racers = [threading.Thread(target=save_version_1) for _ in range(2)]
    for racer in racers:
        racer.start()
    other = saving(group, [Event(uuid4(), 1)], results)
    wait_until_waiting(group, 3)

    store.gate.set()
    for thread in [first, *racers, other]:
        thread.join(5)

    assert sorted(type(o).__name__ for o in outcomes) == ["IntegrityError", "list"]
    assert store.transactions == [1, 2]  # one racer with the other dispute; the loser alone


def test_an_error_of_the_store_reaches_every_save_of_the_group() -> None:
    class Down(Exception):
        pass

    def broken(*events: Event) -> list[Recording]:
        raise Down("connection lost")

    group = GroupCommit(broken)
    with pytest.raises(Down):
        group.save([Event(uuid4(), 1)])


def test_a_leader_whose_commit_hangs_holds_only_its_own_group() -> None:
    class OneHangs(FakeStore):
        """The first transaction hangs until the gate opens; the others do not."""

        def save(self, *events: Event) -> list[Recording]:
            if not self.entered.is_set():
                return super().save(*events)
            with self._lock:
                start = len(self.rows)
                self.rows.extend((e.originator_id, e.originator_version) for e in events)
                self.transactions.append(len(events))
            return [Recording(e, start + i + 1) for i, e in enumerate(events)]

    store, results = OneHangs(), dict[UUID, Any]()
    group = GroupCommit(store.save, patience=0.2)
    stuck = hold_first_transaction(store, group, results)
    later = uuid4()

    alone = saving(group, [Event(later, 1)], results)
    alone.join(5)

    assert not alone.is_alive() and len(results[later]) == 1  # committed while the leader hangs
    assert stuck.is_alive()
    store.gate.set()
    stuck.join(5)
    assert store.transactions == [1, 1]
