"""The requests an aggregate carried out: remembered from its events, for a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.requests import REQUESTS_KEPT_FOR, KeyReused, RequestMemory, RequestStamp

T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def test_given_a_stamped_event_when_the_same_request_asks_then_its_version_is_the_outcome(
) -> None:
    memory = RequestMemory()
    memory.remember(RequestStamp("key", "print").encode(), 4, T0)

    assert memory.outcome(RequestStamp("key", "print")) == 4
    assert memory.outcome(RequestStamp("other", "print")) is None


def test_given_a_stamped_event_when_another_request_uses_its_key_then_it_is_refused() -> None:
    memory = RequestMemory()
    memory.remember(RequestStamp("key", "print").encode(), 4, T0)

    with pytest.raises(KeyReused):
        memory.outcome(RequestStamp("key", "another print"))


def test_given_a_command_of_several_events_then_the_last_version_is_the_outcome() -> None:
    memory = RequestMemory()
    stamp = RequestStamp("key", "print").encode()
    memory.remember(stamp, 4, T0)
    memory.remember(stamp, 5, T0)

    assert memory.outcome(RequestStamp("key", "print")) == 5


def test_given_requests_older_than_a_day_when_a_new_one_is_remembered_then_they_are_forgotten(
) -> None:
    memory = RequestMemory()
    memory.remember(RequestStamp("old", "p").encode(), 2, T0)
    memory.remember(RequestStamp("recent", "p").encode(), 3, T0 + timedelta(hours=12))

    memory.remember(RequestStamp("new", "p").encode(), 4, T0 + REQUESTS_KEPT_FOR
                    + timedelta(seconds=1))

    assert memory.outcome(RequestStamp("old", "p")) is None
    assert memory.outcome(RequestStamp("recent", "p")) == 3
    assert len(memory) == 2
