"""Shared fixtures for the whole test suite.

Databases
---------
``postgres_url`` (session scope)
    ``postgresql://postgres@127.0.0.1:5432/disputedesk_test_<random>``: a fresh
    database created for this test session (one per xdist worker) and dropped
    ``WITH (FORCE)`` at the end. The server is the one named by
    ``DISPUTEDESK_TEST_POSTGRES_URL`` (default
    ``postgresql://postgres@127.0.0.1:5432/postgres``, trust auth). When it cannot
    be reached the test is *skipped*, unless ``DISPUTEDESK_REQUIRE_POSTGRES=1``
    (set by ``.ci/run``), in which case it *fails*. Tests that request it get the
    ``postgres`` marker automatically. The database is shared by every test of
    the session: call :func:`reset_postgres` (or use ``database_url``) for a
    clean slate.

``database_url`` (function scope, parametrized ``sqlite`` / ``postgres``)
    Runs the test once per store. ``sqlite`` gives ``sqlite:///<tmp_path>/events.db``
    (a new file per test); ``postgres`` gives the session database above after
    :func:`reset_postgres` emptied it, and carries the ``postgres`` marker. Use
    it for anything that must behave the same on both stores::

        def test_round_trip(database_url: str) -> None:
            app = Disputes(env=eventsourcing_env(parse_database_url(database_url),
                                                 name="Disputes"))
            ...
            app.close()  # close pools, or the next reset has to kill them

    Select one store with ``-k sqlite`` / ``-k postgres`` or ``-m "not postgres"``.
    The API tests (``tests/api``), which never look at the schema, get the
    PostgreSQL database from :func:`empty_postgres` instead: its tables emptied,
    not dropped, which spares each test creating every table again.

Time
----
``manual_clock``: an ``infrastructure.clock.ManualClock`` at 2026-11-20T18:00:00Z
(a Friday, 10:00 in Los Angeles).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import structlog
from psycopg import sql

from infrastructure import logging as infra_logging
from infrastructure.clock import ManualClock

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REQUIRE_ENV = "DISPUTEDESK_REQUIRE_POSTGRES"
ADMIN_URL_ENV = "DISPUTEDESK_TEST_POSTGRES_URL"

# Schemas that belong to PostgreSQL itself and are never dropped by reset_postgres.
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


def postgres_admin_url() -> str:
    """URL of a maintenance database on the test server (used to create/drop databases)."""
    return os.environ.get(ADMIN_URL_ENV) or DEFAULT_ADMIN_URL


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes", "y"}


def _with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def _alone_in(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """End every other session of the database (a pool a test forgot to close
    cannot block what follows) and bound the wait for locks."""
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    conn.execute("SET lock_timeout = '10s'")


def reset_postgres(url: str) -> None:
    """Empty the database at ``url``: drop every user schema, recreate ``public``.

    Tables, sequences, types and functions (eventsourcing creates all four) go.
    Other connections to the database are terminated first, so a connection pool
    a previous test forgot to close cannot block the drop.
    """
    with _connect(url) as conn:
        _alone_in(conn)
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace "
            "WHERE nspname <> ALL(%s) AND nspname NOT LIKE 'pg\\_%%'",
            (list(_SYSTEM_SCHEMAS),),
        ).fetchall()
        for (schema,) in rows:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(str(schema))))
        conn.execute("CREATE SCHEMA public")
        conn.execute("GRANT ALL ON SCHEMA public TO public")


def empty_postgres(url: str) -> None:
    """Empty every table of the database at ``url`` and restart its sequences.

    The data is gone as after :func:`reset_postgres`, but the tables stay, so the
    next application creates none (about 0.3 s of DDL a test). Only for tests that
    do not look at the schema: one that checks how tables are created or changed
    needs :func:`reset_postgres`.
    """
    with _connect(url) as conn:
        _alone_in(conn)
        user_schemas = "schemaname <> ALL(%s) AND schemaname NOT LIKE 'pg\\_%%'"
        tables = conn.execute(
            f"SELECT schemaname, tablename FROM pg_tables WHERE {user_schemas}",
            (list(_SYSTEM_SCHEMAS),),
        ).fetchall()
        with conn.transaction():  # DELETE, not TRUNCATE: no new files for tables this small
            for schema, table in tables:
                conn.execute(sql.SQL("DELETE FROM {}").format(
                    sql.Identifier(str(schema), str(table))))
        sequences = conn.execute(
            f"SELECT schemaname, sequencename FROM pg_sequences WHERE {user_schemas}",
            (list(_SYSTEM_SCHEMAS),),
        ).fetchall()
        for schema, name in sequences:
            conn.execute(sql.SQL("ALTER SEQUENCE {} RESTART").format(
                sql.Identifier(str(schema), str(name))))


def _unavailable(reason: str) -> NoReturn:
    message = f"PostgreSQL is not available: {reason}"
    if postgres_required():
        pytest.fail(f"{message} (and {REQUIRE_ENV}=1 says it must be)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session; see the module docstring."""
    admin_url = postgres_admin_url()
    try:
        admin = _connect(admin_url)
    except psycopg.Error as error:
        _unavailable(f"cannot connect to {_redact(admin_url)}: {error}".strip())
    dbname = f"disputedesk_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    except psycopg.Error as error:
        _unavailable(f"cannot create a test database on {_redact(admin_url)}: {error}")
    try:
        yield _with_dbname(admin_url, dbname)
    finally:
        with _connect(admin_url) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty event store per test, once on SQLite and once on PostgreSQL."""
    return store_url(request, tmp_path, keep_tables=False)


def store_url(request: pytest.FixtureRequest, tmp_path: Path, *, keep_tables: bool) -> str:
    """``database_url``'s store; ``keep_tables``: emptied by :func:`empty_postgres`."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/events.db"
    url: str = request.getfixturevalue("postgres_url")
    (empty_postgres if keep_tables else reset_postgres)(url)
    return url


@pytest.fixture
def manual_clock() -> ManualClock:
    """A controllable clock at Friday 2026-11-20 18:00 UTC (10:00 in Los Angeles)."""
    return ManualClock(datetime(2026, 11, 20, 18, 0, tzinfo=UTC))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses ``postgres_url`` directly with ``postgres``."""
    for item in items:
        fixturenames = getattr(item, "fixturenames", ())
        if "postgres_url" in fixturenames and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo a test's logging configuration (handlers, level, structlog, our state)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    infra_logging._state = None
    infra_logging._json_lines = None
