"""The PostgreSQL commit counter: it follows commits from their notifications, and
gives no stamp (every read asks the store) while its channel is down or hangs."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from application.disputes import DisputeDesk
from domain.dispute import Actor
from domain.money import Money
from infrastructure import pg_commit_counter
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.database_url import parse_database_url, psycopg_conninfo
from infrastructure.pg_commit_counter import LIVENESS, PostgresCommitCounter
from infrastructure.settings import Settings
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres
CHANNEL = "disputedesk_events"
BUYER = Actor("buyer", "b-1")


def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


@pytest.fixture
def writer(postgres_url: str, manual_clock: ManualClock) -> Iterator[DisputeDesk]:
    """Another process's application, writing straight to the database."""
    from tests.conftest import reset_postgres

    reset_postgres(postgres_url)
    desk = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": postgres_url}),
                             clock=manual_clock)
    yield desk
    desk.close()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy(upstream_port=5432) as staged:
        yield staged


@pytest.fixture
def counter(postgres_url: str, proxy: TcpProxy) -> Iterator[PostgresCommitCounter]:
    """A counter whose connection goes through the proxy (so a test can cut or hang it)."""
    url = parse_database_url(postgres_url)
    conninfo = psycopg_conninfo(url).replace("port=5432", f"port={proxy.port}")
    listening = PostgresCommitCounter(conninfo, CHANNEL)
    _eventually(lambda: listening.stamp() is not None)
    yield listening
    listening.close()


def _count(stamp: Hashable | None) -> int:
    """The commits a stamp (epoch, count) has counted."""
    assert isinstance(stamp, tuple)
    return int(stamp[1])


def _place(desk: DisputeDesk, clock: ManualClock, order_id: str) -> UUID:
    view, _ = desk.place_order(
        order_id=order_id, buyer_id="b-1", seller_id="s-1", region="US", category="general",
        amount=Money.of("25.00", "USD"), placed_at=clock.now(), actor=Actor("platform", "p"),
    )
    return UUID(view["id"])


def test_a_commit_by_another_process_changes_the_stamp_and_nothing_else_does(
    writer: DisputeDesk, counter: PostgresCommitCounter, manual_clock: ManualClock
) -> None:
    quiet = counter.stamp()
    time.sleep(3 * LIVENESS)  # pings and waits: no commit, no change
    assert counter.stamp() == quiet
    _place(writer, manual_clock, "o-1")
    _eventually(lambda: counter.stamp() != quiet)
    assert counter.stamp() is not None


def test_a_kept_case_stays_current_while_another_process_writes_to_other_cases(
    writer: DisputeDesk, counter: PostgresCommitCounter, postgres_url: str,
    manual_clock: ManualClock,
) -> None:
    reader = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": postgres_url}),
                               clock=manual_clock)
    try:
        reader.follow_commits(counter)
        kept, other = _place(writer, manual_clock, "o-kept"), _place(writer, manual_clock, "o-2")

        def kept_current() -> bool:
            reader.case(kept, BUYER)
            return reader.case_in_memory(kept, BUYER) is not None

        _eventually(kept_current)
        manual_clock.advance(timedelta(minutes=1))
        before = counter.stamp()
        for n in range(3):  # other cases written to: the kept one is still known current
            writer.contact_seller(other, message=f"hello {n}", channel="chat", actor=BUYER)
            _place(writer, manual_clock, f"o-new-{n}")
        _eventually(lambda: _count(counter.stamp()) >= _count(before) + 6)  # all six heard
        assert reader.case_in_memory(kept, BUYER) is not None
        # The kept case written to: it is not, and the next read has the write.
        written = writer.contact_seller(kept, message="and mine?", channel="chat", actor=BUYER)
        _eventually(lambda: reader.case_in_memory(kept, BUYER) is None)
        assert reader.case(kept, BUYER)["version"] == written["version"]
    finally:
        reader.close()


def test_a_commit_is_counted_when_its_notification_arrives_not_when_the_wait_ends(
    writer: DisputeDesk, postgres_url: str, manual_clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a listener whose wait for notifications is longer than the test's patience
    monkeypatch.setattr(pg_commit_counter, "WAIT", 6.0)
    monkeypatch.setattr(pg_commit_counter, "LIVENESS", 30.0)
    listening = PostgresCommitCounter(
        psycopg_conninfo(parse_database_url(postgres_url)), CHANNEL
    )
    try:
        _eventually(lambda: listening.stamp() is not None)
        quiet = listening.stamp()
        # When another process commits as the wait begins
        _place(writer, manual_clock, "o-5")
        # Then the stamp moves long before that wait would have ended
        _eventually(lambda: listening.stamp() != quiet, seconds=3.0)
    finally:
        listening.close()


def test_while_its_connection_hangs_it_gives_no_stamp_and_after_it_a_new_one(
    writer: DisputeDesk, counter: PostgresCommitCounter, proxy: TcpProxy,
    manual_clock: ManualClock,
) -> None:
    before: Hashable | None = counter.stamp()
    proxy.hang()
    _eventually(lambda: counter.stamp() is None, seconds=3 * LIVENESS)
    _place(writer, manual_clock, "o-2")  # a commit it cannot hear of
    assert counter.stamp() is None
    proxy.forward()
    _eventually(lambda: counter.stamp() is not None, seconds=30)
    assert counter.stamp() != before


def test_when_its_connection_is_cut_it_gives_no_stamp_then_reconnects_in_a_new_epoch(
    writer: DisputeDesk, counter: PostgresCommitCounter, proxy: TcpProxy,
    manual_clock: ManualClock,
) -> None:
    before = counter.stamp()
    proxy.refuse()
    _eventually(lambda: counter.stamp() is None, seconds=3 * LIVENESS)
    _place(writer, manual_clock, "o-3")
    proxy.forward()
    _eventually(lambda: counter.stamp() is not None, seconds=30)
    assert counter.stamp() != before


def test_a_reader_whose_channel_hangs_asks_the_store_and_reads_current_cases(
    writer: DisputeDesk, counter: PostgresCommitCounter, proxy: TcpProxy,
    postgres_url: str, manual_clock: ManualClock,
) -> None:
    reader = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": postgres_url}),
                               clock=manual_clock)
    try:
        reader.follow_commits(counter)
        dispute_id = _place(writer, manual_clock, "o-4")

        def kept_current() -> bool:
            reader.case(dispute_id, BUYER)
            return reader.case_in_memory(dispute_id, BUYER) is not None

        _eventually(kept_current)
        proxy.hang()
        _eventually(lambda: counter.stamp() is None, seconds=3 * LIVENESS)
        manual_clock.advance(timedelta(minutes=1))
        written = writer.contact_seller(dispute_id, message="hello?", channel="chat",
                                        actor=BUYER)
        assert reader.case_in_memory(dispute_id, BUYER) is None
        assert reader.case(dispute_id, BUYER)["version"] == written["version"]
    finally:
        proxy.forward()
        reader.close()
