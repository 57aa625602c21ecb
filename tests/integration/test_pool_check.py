"""The pools' check on checkout: no round trip for a connection used a moment ago,
and a connection the server ended, or one that sat idle through an outage, is
dropped before a request uses it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from infrastructure.database_url import parse_database_url, psycopg_conninfo
from infrastructure.pool_check import PoolCheck, pool_hooks
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres
APPLICATION_NAME = "disputedesk-pool-check-test"


@pytest.fixture
def conninfo(postgres_url: str) -> Iterator[str]:
    info = psycopg_conninfo(parse_database_url(postgres_url))
    yield info
    _terminate_ours(info)


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy(upstream_port=5432) as staged:
        yield staged


def _terminate_ours(conninfo: str) -> int:
    """End this test's sessions and wait until their backends are gone (the signal
    is only sent when ``pg_terminate_backend`` returns)."""
    with psycopg.connect(conninfo, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s", (APPLICATION_NAME,)
        ).fetchall()
        deadline = time.monotonic() + 10
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                            (APPLICATION_NAME,)).fetchone() != (0,):
            assert time.monotonic() < deadline, "the ended sessions did not go away"
            time.sleep(0.01)
    return len(rows)


def _pool(conninfo: str, quiet: float, size: int) -> ConnectionPool[Any]:
    pool: ConnectionPool[Any] = ConnectionPool(
        conninfo, min_size=size, max_size=size, open=True, **pool_hooks(quiet),
        kwargs={"autocommit": True, "application_name": APPLICATION_NAME},
    )
    pool.wait()
    return pool


def test_a_connection_used_a_moment_ago_goes_out_without_asking_the_server(
    conninfo: str, proxy: TcpProxy
) -> None:
    checks = PoolCheck(quiet=60.0)
    with psycopg.connect(conninfo.replace("port=5432", f"port={proxy.port}"),
                         autocommit=True) as conn:
        # Given a connection just back in its pool, whose server no longer answers
        checks.returned(conn)
        proxy.hang()
        # When it is checked
        done = threading.Event()

        def check() -> None:
            checks.check(conn)
            done.set()

        checker = threading.Thread(target=check, daemon=True)
        checker.start()
        checker.join(5.0)
        proxy.forward()
        # Then the check returned at once: it sent nothing that waits for an answer
        assert done.is_set()


def test_a_connection_the_server_ended_fails_the_check(conninfo: str) -> None:
    checks = PoolCheck(quiet=60.0)
    with psycopg.connect(conninfo, autocommit=True, application_name=APPLICATION_NAME) as conn:
        checks.returned(conn)
        checks.check(conn)  # alive
        checks.returned(conn)
        assert _terminate_ours(conninfo) == 1
        with pytest.raises(psycopg.OperationalError):
            checks.check(conn)


def test_a_pool_whose_connections_were_all_ended_hands_out_a_working_one(
    conninfo: str,
) -> None:
    pool = _pool(conninfo, 60.0, 3)
    try:
        for _ in range(3):  # each has been handed out and returned once
            with pool.connection() as conn:
                conn.execute("SELECT 1")
        assert _terminate_ours(conninfo) == 3
        for _ in range(5):
            with pool.connection() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.close()


def test_connections_idle_through_an_outage_are_asked_before_use(
    conninfo: str, proxy: TcpProxy
) -> None:
    # Given a pool whose connections look alive after an outage (the link was cut
    # without a word reaching them: only something sent on them finds out)
    pool = _pool(conninfo.replace("port=5432", f"port={proxy.port}"), 0.2, 2)
    try:
        with pool.connection() as conn:
            conn.execute("SELECT 1")
        proxy.refuse()
        time.sleep(0.3)
        proxy.forward()
        # When requests take connections after they sat idle longer than ``quiet``
        # Then each gets one that works
        for _ in range(4):
            with pool.connection() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.close()
