"""Settings, database URLs and their mapping onto eventsourcing (plus clock and logging).

Everything here runs without a database server except ``test_event_store_round_trip``,
whose ``postgres`` variant needs one (see ``tests/conftest.py``).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID, uuid4

import psycopg.conninfo
import pytest
import structlog
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.postgres import PostgresFactory
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import Environment
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.clock import ManualClock, SystemClock
from infrastructure.database_url import (
    DatabaseURL,
    eventsourcing_env,
    parse_database_url,
    psycopg_conninfo,
)
from infrastructure.logging import configure_logging, get_logger
from infrastructure.settings import Settings, SettingsError

# --------------------------------------------------------------------------- Settings


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path}/var/disputedesk.db"
    assert settings.database.sqlite_path == tmp_path / "var" / "disputedesk.db"
    assert settings.secret is None
    assert settings.policy_path is None
    assert settings.log_format is None
    assert settings.var_dir == tmp_path / "var"


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISPUTEDESK_DATABASE_URL", "sqlite:///data/x.db")
    monkeypatch.setenv("DISPUTEDESK_SECRET", "s3cret")
    monkeypatch.setenv("DISPUTEDESK_LOG_FORMAT", "json")
    monkeypatch.delenv("DISPUTEDESK_POLICY", raising=False)
    settings = Settings.from_env()
    assert settings.database_url == f"sqlite:///{tmp_path}/data/x.db"
    assert settings.secret == "s3cret"
    assert settings.log_format == "json"
    assert settings.var_dir == tmp_path / "var"


def test_blank_values_count_as_unset(tmp_path: Path) -> None:
    environ = {
        "DISPUTEDESK_DATABASE_URL": " ",
        "DISPUTEDESK_SECRET": "",
        "DISPUTEDESK_POLICY": "",
        "DISPUTEDESK_LOG_FORMAT": "  ",
    }
    assert Settings.from_env(environ, cwd=tmp_path) == Settings.from_env({}, cwd=tmp_path)


def test_secret_is_kept_verbatim(tmp_path: Path) -> None:
    settings = Settings.from_env({"DISPUTEDESK_SECRET": " padded "}, cwd=tmp_path)
    assert settings.secret == " padded "


@pytest.mark.parametrize(("raw", "expected"), [("console", "console"), ("JSON", "json")])
def test_log_format(tmp_path: Path, raw: str, expected: str) -> None:
    settings = Settings.from_env({"DISPUTEDESK_LOG_FORMAT": raw}, cwd=tmp_path)
    assert settings.log_format == expected


def test_bad_log_format(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="DISPUTEDESK_LOG_FORMAT must be 'console' or 'json'"):
        Settings.from_env({"DISPUTEDESK_LOG_FORMAT": "xml"}, cwd=tmp_path)


def test_policy_path_is_resolved_and_must_exist(tmp_path: Path) -> None:
    (tmp_path / "candidate.toml").write_text('version = "x"\n')
    settings = Settings.from_env({"DISPUTEDESK_POLICY": "candidate.toml"}, cwd=tmp_path)
    assert settings.policy_path == tmp_path / "candidate.toml"
    with pytest.raises(SettingsError, match=r"DISPUTEDESK_POLICY points to .*missing\.toml"):
        Settings.from_env({"DISPUTEDESK_POLICY": "missing.toml"}, cwd=tmp_path)


def test_bad_database_url_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": "mysql://root@db/x"}, cwd=tmp_path)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == (
        "DISPUTEDESK_DATABASE_URL must start with sqlite:/// or postgresql://, "
        "got 'mysql://root@db/x'"
    )


def test_repr_hides_secrets(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "DISPUTEDESK_DATABASE_URL": "postgresql://app:hunter2@db:5432/dd",
            "DISPUTEDESK_SECRET": "topsecret",
        },
        cwd=tmp_path,
    )
    text = repr(settings)
    assert "hunter2" not in text
    assert "topsecret" not in text
    assert "postgresql://app:***@db:5432/dd" in text


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    with pytest.raises(FrozenInstanceError):
        settings.secret = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- SQLite URLs


def test_sqlite_absolute_and_relative(tmp_path: Path) -> None:
    absolute = parse_database_url("sqlite:////srv/dd/events.db")
    assert absolute == DatabaseURL(kind="sqlite", sqlite_path=Path("/srv/dd/events.db"))
    assert absolute.is_sqlite and not absolute.is_postgres
    relative = parse_database_url("sqlite:///./var/../var/e.db", cwd=tmp_path)
    assert relative.sqlite_path == tmp_path / "var" / "e.db"
    assert relative.to_url() == f"sqlite:///{tmp_path}/var/e.db"


def test_sqlite_lock_timeout_query() -> None:
    url = parse_database_url("sqlite:////x/e.db?lock_timeout=30")
    assert url.query == {"lock_timeout": "30"}
    assert parse_database_url(url.to_url()) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://host/e.db", "names a host for SQLite"),
        ("sqlite:///", "names no SQLite file"),
        ("sqlite:///:memory:", "in-memory SQLite"),
        ("sqlite:////x/e.db?pool_size=3", "unknown parameter"),
        ("sqlite:////x/e.db?lock_timeout=soon", "lock_timeout='soon': it must be a whole number"),
        ("events.db", "must start with sqlite:/// or postgresql://"),
        ("", "must start with sqlite:/// or postgresql://"),
        ("http://example.com/db", "must start with sqlite:/// or postgresql://"),
    ],
)
def test_bad_sqlite_urls(url: str, message: str) -> None:
    with pytest.raises(SettingsError, match=r"^DISPUTEDESK_DATABASE_URL ") as info:
        parse_database_url(url)
    assert message in str(info.value)


# --------------------------------------------------------------------------- PostgreSQL URLs


def test_postgres_full_url() -> None:
    url = parse_database_url(
        "postgresql://app:p%40ss%3Aword@db.internal:6543/disputes?pool_size=20&schema=dd"
    )
    assert url.kind == "postgres"
    assert url.sqlite_path is None
    assert (url.host, url.port, url.user, url.password, url.dbname) == (
        "db.internal",
        6543,
        "app",
        "p@ss:word",
        "disputes",
    )
    assert url.query == {"pool_size": "20", "schema": "dd"}
    assert url.schema == "dd"
    assert "p@ss" not in repr(url)
    assert (
        str(url)
        == url.redacted()
        == ("postgresql://app:***@db.internal:6543/disputes?pool_size=20&schema=dd")
    )
    assert parse_database_url(url.to_url()) == url


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg", "POSTGRESQL"])
def test_postgres_aliases_and_defaults(scheme: str) -> None:
    url = parse_database_url(f"{scheme}:///disputedesk")
    assert url == DatabaseURL(
        kind="postgres",
        host="localhost",
        port=5432,
        user="postgres",
        password="",
        dbname="disputedesk",
    )


def test_postgres_unix_socket_and_ipv6() -> None:
    socket = parse_database_url("postgresql://app@/dd?host=%2Fvar%2Frun%2Fpostgresql")
    assert socket.host == "/var/run/postgresql"
    assert socket.query == {}
    assert parse_database_url(socket.to_url()) == socket
    ipv6 = parse_database_url("postgresql://app@[::1]:5433/dd")
    assert (ipv6.host, ipv6.port) == ("::1", 5433)
    assert parse_database_url(ipv6.to_url()) == ipv6


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://app@db:5432", "must name one database"),
        ("postgresql://app@db:5432/", "must name one database"),
        ("postgresql://app@db:5432/a/b", "must name one database"),
        ("postgresql://app@db:99999/dd", "is not a valid PostgreSQL URL"),
        ("postgresql://app@db:port/dd", "is not a valid PostgreSQL URL"),
        ("postgresql://app@db/dd?pool_size=0", "pool_size=0: it must be at least 1"),
        ("postgresql://app@db/dd?pool_size=many", "it must be a whole number"),
        ("postgresql://app@db/dd?max_overflow=-1", "it must be at least 0"),
        ("postgresql://app@db/dd?schema=1bad", "schema='1bad'"),
        ("postgresql://app@db/dd?schema=a;drop", "schema='a;drop'"),
        ("postgresql://app@db/dd?sslmod=require", "unknown parameter(s) sslmod"),
        ("postgresql://app:pa#ss@db/dd", "percent-encode them as %2F, %3F and %23"),
        ("postgresql://app:pa/ss@db/dd", "percent-encode them"),
        ("postgresql://app@db/dd#frag", "'#' fragment"),
    ],
)
def test_bad_postgres_urls(url: str, message: str) -> None:
    with pytest.raises(SettingsError, match=r"^DISPUTEDESK_DATABASE_URL ") as info:
        parse_database_url(url)
    assert message in str(info.value)


def test_errors_never_show_the_password() -> None:
    for url in (
        "mysql://root:hunter2@db/x",
        "postgresql://root:hunter2@db:99999/x",
        "postgresql://root:hunter2#@db/x",
        "postgresql://root:hun/ter2@db:port/x",
    ):
        with pytest.raises(SettingsError) as info:
            parse_database_url(url)
        assert "hunter2" not in str(info.value)
        assert "ter2" not in str(info.value)
        assert "***" in str(info.value)


_names = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=20,
)


@given(user=_names, password=_names, dbname=_names.filter(lambda s: "/" not in s))
def test_postgres_url_round_trips(user: str, password: str, dbname: str) -> None:
    url = DatabaseURL(
        kind="postgres", host="db", port=5432, user=user, password=password, dbname=dbname
    )
    assert parse_database_url(url.to_url()) == url


# --------------------------------------------------------------------------- eventsourcing


def test_eventsourcing_env_sqlite(tmp_path: Path) -> None:
    url = parse_database_url(f"sqlite:///{tmp_path}/nested/dir/events.db")
    env = eventsourcing_env(url, name="Disputes")
    expected = {
        "PERSISTENCE_MODULE": "infrastructure.sqlite_persistence",
        "SQLITE_DBNAME": f"{tmp_path}/nested/dir/events.db",
        "SQLITE_LOCK_TIMEOUT": "10",
    }
    assert env == {**expected, **{f"DISPUTES_{k}": v for k, v in expected.items()}}
    assert (tmp_path / "nested" / "dir").is_dir()


def test_eventsourcing_env_postgres() -> None:
    url = parse_database_url("postgresql://app:pw@db:6543/dd")
    env = eventsourcing_env(url, name="Disputes")
    expected = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "dd",
        "POSTGRES_HOST": "db",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "app",
        "POSTGRES_PASSWORD": "pw",
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_MAX_OVERFLOW": "10",
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "APPLICATION_RECORDER_TOPIC": "infrastructure.binary_insert:BinaryInsertRecorder",
    }
    assert env == {**expected, **{f"DISPUTES_{k}": v for k, v in expected.items()}}
    library_insert = eventsourcing_env(url, name="Disputes", binary_insert=False)
    assert "APPLICATION_RECORDER_TOPIC" not in library_insert
    assert {k: v for k, v in env.items() if "APPLICATION_RECORDER_TOPIC" not in k} == \
        library_insert


def test_eventsourcing_env_postgres_overrides() -> None:
    url = parse_database_url(
        "postgresql://app@db/dd?pool_size=3&max_overflow=0&schema=tenant_a"
        "&connect_timeout=2&lock_timeout=1"
    )
    env = eventsourcing_env(url, name="x")
    assert env["POSTGRES_PASSWORD"] == ""  # present: eventsourcing refuses a missing key
    assert env["POSTGRES_POOL_SIZE"] == "3"
    assert env["POSTGRES_MAX_OVERFLOW"] == "0"
    assert env["POSTGRES_SCHEMA"] == env["X_POSTGRES_SCHEMA"] == "tenant_a"
    assert env["POSTGRES_CONNECT_TIMEOUT"] == "2"
    assert env["POSTGRES_LOCK_TIMEOUT"] == "1"


def test_eventsourcing_env_keys_are_the_librarys_own() -> None:
    """Guard against a library upgrade renaming a setting we rely on."""
    postgres = eventsourcing_env(parse_database_url("postgresql:///dd?schema=s"), name="a")
    sqlite = eventsourcing_env(parse_database_url("sqlite:////tmp/dd/e.db"), name="a")
    known = {
        value
        for cls in (PostgresFactory, SQLiteFactory, InfrastructureFactory)
        for key, value in vars(cls).items() | vars(cls.__mro__[1]).items()
        if key.isupper() and isinstance(value, str)
    }
    for key in [k for k in postgres | sqlite if not k.startswith("A_")]:
        assert key in known, key


def test_eventsourcing_env_needs_a_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="name"):
        eventsourcing_env(parse_database_url(f"sqlite:///{tmp_path}/e.db"), name="")


def test_eventsourcing_accepts_the_sqlite_env(tmp_path: Path) -> None:
    env = eventsourcing_env(parse_database_url(f"sqlite:///{tmp_path}/e.db"), name="Disputes")
    factory = InfrastructureFactory.construct(Environment("Disputes", env))
    try:
        assert isinstance(factory, SQLiteFactory)
    finally:
        factory.close()


def test_psycopg_conninfo() -> None:
    url = parse_database_url("postgresql://app:it's%20me@db:6543/dd?schema=tenant_a")
    info = psycopg.conninfo.conninfo_to_dict(psycopg_conninfo(url))
    assert info == {
        "host": "db",
        "port": "6543",
        "user": "app",
        "password": "it's me",
        "dbname": "dd",
        "connect_timeout": "5",
        "options": "-c search_path=tenant_a,public",
        # A partition that drops packets ends the connection within seconds.
        "keepalives": "1",
        "keepalives_idle": "10",
        "keepalives_interval": "3",
        "keepalives_count": "3",
        "tcp_user_timeout": "10000",
    }
    with pytest.raises(SettingsError, match="names SQLite, not PostgreSQL"):
        psycopg_conninfo(parse_database_url("sqlite:////tmp/e.db"))


class _Probe(Aggregate):
    @event("Created")
    def __init__(self, name: str) -> None:
        self.name = name


class _ProbeApp(Application[UUID]):
    name = "Probe"


def test_event_store_round_trip(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The env we build really drives eventsourcing, on both stores."""
    # A stray prefixed variable in the process environment must not win over the URL.
    monkeypatch.setenv("PROBE_PERSISTENCE_MODULE", "eventsourcing.popo")
    env = eventsourcing_env(parse_database_url(database_url), name="Probe")
    app = _ProbeApp(env=env)
    try:
        assert type(app.factory).__module__ == env["PERSISTENCE_MODULE"]
        probe = _Probe(name=f"p-{uuid4()}")
        app.save(probe)
        # Annotate: eventsourcing's Repository.get is generic in its return type.
        stored: _Probe = app.repository.get(probe.id)
        assert stored.name == probe.name
        notifications = app.notification_log.select(start=1, limit=10)
        assert [n.originator_id for n in notifications] == [probe.id]
    finally:
        app.close()
    # A second process-like instance sees the same store.
    again = _ProbeApp(env=env)
    try:
        reloaded: _Probe = again.repository.get(probe.id)
        assert reloaded.name == probe.name
    finally:
        again.close()


# --------------------------------------------------------------------------- clock


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs(datetime.now(UTC) - now) < timedelta(seconds=5)


def test_manual_clock() -> None:
    start = datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=-8)))
    clock = ManualClock(start)
    assert clock.now() == start
    assert clock.now().tzinfo is UTC
    assert clock.advance(timedelta(hours=2)) == start + timedelta(hours=2)
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        ManualClock(datetime(2026, 1, 1))


def test_manual_clock_fixture(manual_clock: ManualClock) -> None:
    assert manual_clock.now() == datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- logging


@pytest.mark.usefixtures("restore_logging")
def test_json_logging_one_line_per_event() -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    configure_logging("json", stream=stream)  # idempotent: still one handler
    structlog.contextvars.bind_contextvars(request_id="req-1")
    get_logger("disputedesk.test").info("case_opened", dispute_id="d1")
    logging.getLogger("uvicorn.error").warning("listening on %s", "127.0.0.1:8000")
    get_logger("disputedesk.test").debug("hidden")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["event"] == "case_opened"
    assert first["dispute_id"] == "d1"
    assert first["request_id"] == "req-1"
    assert first["level"] == "info"
    assert first["logger"] == "disputedesk.test"
    assert datetime.fromisoformat(first["timestamp"]).utcoffset() == timedelta(0)
    assert second["event"] == "listening on 127.0.0.1:8000"
    assert second["logger"] == "uvicorn.error"
    assert second["request_id"] == "req-1"


@pytest.mark.usefixtures("restore_logging")
def test_console_logging_and_bad_arguments() -> None:
    stream = io.StringIO()
    configure_logging("console", level="DEBUG", stream=stream)
    get_logger("x").debug("visible", n=1)
    assert "visible" in stream.getvalue()
    assert "n=1" in stream.getvalue()
    with pytest.raises(ValueError, match="log format"):
        configure_logging("xml")
    with pytest.raises(ValueError, match="log level"):
        configure_logging("json", level="LOUD")
