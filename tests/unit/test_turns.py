"""Writers take turns in arrival order; the thread leaving cannot take its turn straight back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from application.turns import Turns

TIMEOUT = 10.0


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _queue(turns: Turns, order: list[str], name: str) -> threading.Thread:
    """Start a thread that takes one turn, and return once it is waiting."""
    waiting = turns.waiting

    def take() -> None:
        with turns:
            order.append(name)

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    _until(lambda: turns.waiting == waiting + 1)
    return thread


def test_waiting_threads_are_served_in_arrival_order() -> None:
    turns, order = Turns(), []
    with turns:
        threads = [_queue(turns, order, name) for name in "abcde"]
    for thread in threads:
        thread.join(TIMEOUT)
    assert order == list("abcde")


def test_the_leaving_thread_cannot_overtake_a_waiting_one() -> None:
    turns, order = Turns(), []
    with turns:
        order.append("first turn")
        waiter = _queue(turns, order, "waiter")
    with turns:  # straight back: the waiter was handed the turn first
        order.append("second turn")
    waiter.join(TIMEOUT)
    assert order == ["first turn", "waiter", "second turn"]


def test_a_thread_may_take_its_turn_again_inside_it() -> None:
    turns, order = Turns(), []
    with turns:
        with turns:
            waiter = _queue(turns, order, "waiter")
        order.append("still mine")
    waiter.join(TIMEOUT)
    assert order == ["still mine", "waiter"]


def test_only_the_holder_ends_a_turn() -> None:
    turns = Turns()
    with pytest.raises(RuntimeError, match="only be ended by the thread that holds it"):
        turns.__exit__(None, None, None)
