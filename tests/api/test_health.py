"""GET /health: no token; 200 when the event store answers, else 503."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from litestar.testing import TestClient
from psycopg import sql

from application.disputes import DisputeDesk
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from interface.http.app import create_app
from tests.api.conftest import MODERATOR, ORDER, PLATFORM, SECRET
from tests.conftest import _with_dbname, postgres_admin_url


def test_health_is_ok_without_a_token(client: TestClient[Any]) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "ok"}
    assert response.headers["x-request-id"]


def test_health_is_503_when_the_store_does_not_answer(
    client: TestClient[Any], desk: DisputeDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> int:
        raise OSError("connection refused")

    monkeypatch.setattr(desk.recorder, "max_notification_id", broken)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "store": "unavailable"}


def test_request_ids_are_echoed_or_made(client: TestClient[Any]) -> None:
    echoed = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made = client.get("/health", headers={"X-Request-ID": "x" * 500})
    assert made.headers["x-request-id"] != "x" * 500
    unrouted = client.get("/nowhere")
    assert unrouted.status_code == 404
    assert unrouted.headers["x-request-id"]
    assert unrouted.headers["content-type"].startswith("application/problem+json")


# ---- a PostgreSQL store that goes away and comes back --------------------------------


@pytest.fixture
def scratch_url(postgres_url: str) -> Iterator[str]:
    """A database of its own (it is made to refuse connections), dropped at the end.

    ``postgres_url`` is asked for its skip-or-fail rule and the ``postgres`` marker."""
    dbname = f"disputedesk_hc_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url(), autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        yield _with_dbname(postgres_admin_url(), dbname)
    finally:
        with psycopg.connect(postgres_admin_url(), autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("ALTER DATABASE {} allow_connections true").format(
                sql.Identifier(dbname)))
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(dbname)))


def _allow_connections(url: str, allow: bool) -> None:
    dbname = urlsplit(url).path.lstrip("/")
    with psycopg.connect(postgres_admin_url(), autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} allow_connections {}").format(
            sql.Identifier(dbname), sql.SQL("true" if allow else "false")))
        if not allow:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s", (dbname,))


def _timed(calls: dict[str, Callable[[], Any]], limit: float) -> dict[str, tuple[Any, float]]:
    """Each call's result and duration, run side by side; fails (without waiting
    them out) if one takes more than ``limit`` s."""
    results: dict[str, tuple[Any, float]] = {}
    started = time.monotonic()

    def run(what: str, call: Callable[[], Any]) -> None:
        result = call()
        results[what] = (result, time.monotonic() - started)

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, started + limit - time.monotonic()))
    slow = sorted(set(calls) - set(results))
    if slow:
        pytest.fail(f"{', '.join(slow)} took more than {limit} s (or raised)")
    return results


def test_health_reports_a_dead_postgres_store_in_seconds_and_recovers(
    scratch_url: str, tmp_path: Path, manual_clock: ManualClock
) -> None:
    settings = Settings.from_env(
        {"DISPUTEDESK_DATABASE_URL": scratch_url, "DISPUTEDESK_SECRET": SECRET}, cwd=tmp_path
    )
    desk = build_application(settings, clock=manual_clock)
    try:
        with TestClient(create_app(desk, settings)) as client:
            assert client.get("/health").status_code == 200
            assert client.get("/v1/disputes", headers=MODERATOR).status_code == 200

            _allow_connections(scratch_url, False)
            try:
                health, took = _timed({"GET /health": lambda: client.get("/health")}, 5)[
                    "GET /health"
                ]
                assert health.status_code == 503, health.text
                assert health.json() == {"status": "unavailable", "store": "unavailable"}
                assert took < 4
                # Ordinary requests, on the event store and on the read models, too.
                answers = _timed({
                    "POST /v1/orders": lambda: client.post("/v1/orders", json=ORDER,
                                                           headers=PLATFORM),
                    "GET /v1/disputes": lambda: client.get("/v1/disputes", headers=MODERATOR),
                }, 8)
                for what, (response, _) in answers.items():
                    assert response.status_code == 503, (what, response.text)
            finally:
                _allow_connections(scratch_url, True)

            deadline = time.monotonic() + 5
            while client.get("/health").status_code != 200:
                assert time.monotonic() < deadline, "/health did not recover within 5 s"
                time.sleep(0.1)
            order, _ = _timed({
                "POST /v1/orders": lambda: client.post("/v1/orders", json=ORDER, headers=PLATFORM)
            }, 5)["POST /v1/orders"]
            assert order.status_code == 201, order.text
    finally:
        desk.close()
