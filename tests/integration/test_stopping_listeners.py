"""Threads that wait for PostgreSQL notifications stop when asked, not when their
wait runs out: a server that shuts down (or a test that closes its application)
is not held up by a commit listener or a projection worker between notifications."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from infrastructure import pg_commit_counter
from infrastructure.database_url import parse_database_url, psycopg_conninfo
from infrastructure.pg_commit_counter import PostgresCommitCounter
from infrastructure.stores.postgres import PostgresStore

pytestmark = pytest.mark.postgres
CHANNEL = "disputedesk_events"
#: A wait far longer than a stop may take: a thread still in it fails the test.
LONG_WAIT = 5.0


@pytest.fixture
def conninfo(postgres_url: str) -> str:
    return psycopg_conninfo(parse_database_url(postgres_url))


@pytest.fixture
def store(conninfo: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(conninfo, "disputedesk-test", channel=CHANNEL)
    yield opened
    opened.close()


def test_a_commit_listener_in_a_long_wait_closes_at_once(
    conninfo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a commit listener that hears nothing and would wait long before its next ping
    monkeypatch.setattr(pg_commit_counter, "WAIT", LONG_WAIT)
    counter = PostgresCommitCounter(conninfo, CHANNEL)
    deadline = time.monotonic() + 10
    while counter.stamp() is None:
        assert time.monotonic() < deadline, "the listener never started"
        time.sleep(0.01)
    time.sleep(0.1)  # well inside its wait

    # When it is closed
    started = time.monotonic()
    counter.close()

    # Then its thread ended long before the wait would have
    assert time.monotonic() - started < LONG_WAIT / 2


def test_a_projection_store_waiting_for_events_returns_once_stopped(
    store: PostgresStore,
) -> None:
    # Given a projection worker's store waiting for new events that do not come
    stop = threading.Event()
    returned = threading.Event()

    def wait() -> None:
        store.wait_for_events(LONG_WAIT, stop)
        returned.set()

    waiter = threading.Thread(target=wait, daemon=True)
    started = time.monotonic()
    waiter.start()
    time.sleep(0.2)
    assert not returned.is_set()

    # When the worker is asked to stop
    stop.set()

    # Then the wait ends long before its timeout
    assert returned.wait(LONG_WAIT / 2)
    assert time.monotonic() - started < LONG_WAIT / 2


def test_a_projection_store_still_wakes_for_a_notification(
    store: PostgresStore, conninfo: str
) -> None:
    # Given a store waiting for events
    returned = threading.Event()
    waiter = threading.Thread(
        target=lambda: (store.wait_for_events(LONG_WAIT, threading.Event()), returned.set()),
        daemon=True,
    )
    waiter.start()
    time.sleep(0.2)

    # When a commit notifies its channel
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"NOTIFY {CHANNEL}")

    # Then the wait ends at once
    assert returned.wait(LONG_WAIT / 2)
