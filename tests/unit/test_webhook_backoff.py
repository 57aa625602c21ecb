"""The wait before a webhook's next attempt: doubling, capped, jittered in its upper half."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from application.webhooks import WebhookSettings, backoff

SETTINGS = WebhookSettings(first_retry=timedelta(seconds=5), longest_wait=timedelta(hours=2))
CAP = SETTINGS.longest_wait.total_seconds()


class Fixed(random.Random):
    """A "random" source that always draws the same number."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def base(attempts: int) -> float:
    """The un-jittered wait: 5 s, 10 s, 20 s ... up to two hours."""
    return min(5.0 * 2.0 ** (attempts - 1), CAP)


def test_without_jitter_the_wait_doubles_from_the_first_retry() -> None:
    # The top of the jitter range is the base itself.
    top = [backoff(n, SETTINGS, Fixed(1.0)).total_seconds() for n in range(1, 8)]
    assert top == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0]
    # The bottom of the range is half of it.
    bottom = [backoff(n, SETTINGS, Fixed(0.0)).total_seconds() for n in range(1, 8)]
    assert bottom == [2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0]


def test_zero_attempts_waits_like_the_first() -> None:
    assert backoff(0, SETTINGS, Fixed(1.0)) == timedelta(seconds=5)


def test_the_wait_is_capped_at_the_longest_wait() -> None:
    waits = [backoff(n, SETTINGS, Fixed(1.0)) for n in range(1, 40)]
    assert max(waits) == SETTINGS.longest_wait
    # 5 s * 2**10 = 85 minutes; 2**11 would be past two hours.
    assert waits[10] < SETTINGS.longest_wait == waits[11] == waits[-1]
    assert waits == sorted(waits)


@pytest.mark.parametrize("attempts", [64, 1_100, 10_000, 10**9])
def test_a_very_long_run_of_failures_still_waits_at_most_the_cap(attempts: int) -> None:
    # A delivery retried by hand again and again keeps counting its attempts.
    wait = backoff(attempts, SETTINGS, random.Random(attempts))
    assert CAP / 2 <= wait.total_seconds() <= CAP


def test_jitter_stays_within_half_and_all_of_the_base() -> None:
    rng = random.Random(20261120)
    for attempts in range(1, 30):
        for _ in range(200):
            wait = backoff(attempts, SETTINGS, rng).total_seconds()
            assert 0.5 * base(attempts) <= wait <= base(attempts)


def test_jitter_spreads_the_retries_of_one_outage() -> None:
    # A thousand deliveries failing at the same moment do not all retry at the same one.
    rng = random.Random(7)
    waits = [backoff(3, SETTINGS, rng).total_seconds() for _ in range(1000)]
    assert len(set(waits)) > 900
    assert min(waits) < 0.55 * base(3) and max(waits) > 0.95 * base(3)
    lower = sum(1 for wait in waits if wait < 0.75 * base(3))
    assert 400 < lower < 600  # even over the range


def test_a_seeded_source_gives_the_same_waits() -> None:
    first = [backoff(n, SETTINGS, random.Random(42)) for n in range(1, 12)]
    again = [backoff(n, SETTINGS, random.Random(42)) for n in range(1, 12)]
    assert first == again


def test_the_settings_shape_the_curve() -> None:
    quick = WebhookSettings(first_retry=timedelta(seconds=1), longest_wait=timedelta(seconds=30))
    waits = [backoff(n, quick, Fixed(1.0)).total_seconds() for n in range(1, 9)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
