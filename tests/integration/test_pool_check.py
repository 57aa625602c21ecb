"""The pools' check on checkout: no round trip for a quiet connection, and a
connection the server ended is dropped before a request uses it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from infrastructure.database_url import parse_database_url, psycopg_conninfo
from infrastructure.pool_check import check_if_disturbed
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres
APPLICATION_NAME = "disputedesk-pool-check-test"


@pytest.fixture
def conninfo(postgres_url: str) -> str:
    return psycopg_conninfo(parse_database_url(postgres_url))


def _terminate_ours(conninfo: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s", (APPLICATION_NAME,)
        ).fetchall()
    return len(rows)


def test_a_quiet_connection_passes_without_asking_the_server(conninfo: str) -> None:
    # Given an idle connection whose server no longer answers (the network hangs)
    with TcpProxy(upstream_port=5432) as proxy:
        via_proxy = conninfo.replace("port=5432", f"port={proxy.port}")
        with psycopg.connect(via_proxy, autocommit=True) as conn:
            proxy.hang()
            # When it is checked
            done = threading.Event()
            checker = threading.Thread(target=lambda: (check_if_disturbed(conn), done.set()),
                                       daemon=True)
            checker.start()
            checker.join(5.0)
            proxy.forward()
            # Then the check returned at once: it sent nothing that waits for an answer
            assert done.is_set()


def test_a_connection_the_server_ended_fails_the_check(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True, application_name=APPLICATION_NAME) as conn:
        check_if_disturbed(conn)  # alive
        assert _terminate_ours(conninfo) == 1
        with pytest.raises(psycopg.OperationalError):
            check_if_disturbed(conn)


def test_a_pool_whose_connections_were_all_ended_hands_out_a_working_one(
    conninfo: str,
) -> None:
    pool: ConnectionPool[Any] = ConnectionPool(
        conninfo, min_size=3, max_size=3, open=True, check=check_if_disturbed,
        kwargs={"autocommit": True, "application_name": APPLICATION_NAME},
    )
    try:
        pool.wait()
        assert _terminate_ours(conninfo) == 3
        for _ in range(5):
            with pool.connection() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.close()


@pytest.fixture(autouse=True)
def _no_leftovers(conninfo: str) -> Iterator[None]:
    yield
    _terminate_ours(conninfo)
