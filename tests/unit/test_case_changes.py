"""Which cases a run of commits touched: named ones, unnamed ones, forgotten ones."""

from __future__ import annotations

from collections.abc import Hashable
from uuid import UUID, uuid4

from application.case_changes import CaseChanges
from application.own_commits import OwnCommits
from infrastructure.commit_payload import MAX_NAMED, cases_in, payload_of


def test_a_commit_naming_cases_touches_those_cases_only() -> None:
    changes = CaseChanges()
    changes.touched(["a", "b"], at=1)
    assert changes.touched_after("a", 0) and changes.touched_after("b", 0)
    assert not changes.touched_after("c", 0)
    assert not changes.touched_after("a", 1)  # not after the reader's own stamp


def test_a_commit_naming_no_case_may_have_touched_any() -> None:
    changes = CaseChanges()
    changes.touched(["a"], at=1)
    changes.touched(None, at=2)
    assert changes.touched_after("c", 1)
    assert not changes.touched_after("c", 2)


def test_a_case_forgotten_to_bound_the_memory_counts_as_touched_then() -> None:
    changes = CaseChanges(remembered=2)
    changes.touched(["a"], at=1)
    changes.touched(["b"], at=2)
    changes.touched(["c"], at=3)  # "a" is forgotten: it may have changed at 1
    assert changes.touched_after("a", 0)
    assert changes.touched_after("z", 0)  # never named, but 1 is no longer told apart
    assert not changes.touched_after("z", 1)
    assert not changes.touched_after("b", 2)


class _Store:
    """A store counter that has counted nothing new (its stamps do not tell cases apart)."""

    def stamp(self) -> Hashable | None:
        return "s"

    def peek(self) -> Hashable | None:
        return "s"

    def same_for(self, dispute_id: UUID, earlier: Hashable, now: Hashable) -> bool:
        return earlier == now

    def close(self) -> None:
        pass


def test_this_process_s_own_commit_changes_its_case_at_once_and_no_other() -> None:
    mine, other = uuid4(), uuid4()
    commits = OwnCommits(_Store())
    earlier = commits.stamp()
    assert earlier is not None
    commits.committed([mine])
    now = commits.stamp()
    assert now is not None
    assert not commits.same_for(mine, earlier, now)
    assert commits.same_for(other, earlier, now)
    commits.committed(None)  # a save that could not say which cases: any case
    assert not commits.same_for(other, now, commits.stamp() or now)


def test_a_notification_names_each_case_once_or_none_when_there_are_too_many() -> None:
    assert cases_in(payload_of(["a", "b", "a"])) == ["a", "b"]
    assert cases_in(payload_of(str(n) for n in range(MAX_NAMED + 1))) is None
    assert cases_in("") is None
