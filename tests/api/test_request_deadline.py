"""Every request is answered within its route's budget; store outages are 503, never 500."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import psycopg
import psycopg.errors
import psycopg_pool
import pytest
from eventsourcing import persistence
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.response import Stream
from litestar.testing import TestClient
from litestar.types import Scope
from structlog.testing import capture_logs

from application.disputes import DisputeDesk
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from interface.http import deadline
from interface.http.app import create_app
from interface.http.auth import PUBLIC
from interface.http.controllers import health
from interface.http.deadline import BUDGETS, DEADLINE_OPT, DeadlineMiddleware
from tests.api.conftest import MODERATOR, ORDER, PLATFORM, SECRET, assert_problem

BUDGET = 0.4  # the test routes' budget (s)


class Gate:
    """Holds a route's thread until opened; says when the route has finished."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.finished = threading.Event()

    def hold(self) -> None:
        if not self.open.wait(10):
            raise AssertionError("the gate was never opened")

    def release(self) -> None:
        self.open.set()


def _raised_from(outer: type[Exception], inner: Exception) -> Exception:
    """``outer`` raised ``from inner``, as eventsourcing wraps psycopg's errors."""
    try:
        try:
            raise inner
        except Exception as error:
            raise outer(str(error)) from error
    except Exception as wrapped:
        return wrapped


OUTAGES: dict[str, Callable[[], Exception]] = {
    "admin-shutdown": lambda: psycopg.errors.AdminShutdown("terminating connection"),
    "cannot-connect-now": lambda: psycopg.errors.CannotConnectNow("the database is starting"),
    "query-canceled": lambda: psycopg.errors.QueryCanceled("canceling statement due to timeout"),
    "connection-closed": lambda: psycopg.InterfaceError("the connection is closed"),
    "idle-in-transaction": lambda: psycopg.errors.IdleInTransactionSessionTimeout(
        "terminating connection due to idle-in-transaction timeout"),
    "pool-timeout": lambda: psycopg_pool.PoolTimeout("couldn't get a connection after 0.30 s"),
    "wrapped-idle-in-transaction": lambda: _raised_from(
        persistence.InternalError, psycopg.errors.IdleInTransactionSessionTimeout(
            "terminating connection due to idle-in-transaction timeout")),
    "wrapped-lost-connection": lambda: _raised_from(
        persistence.OperationalError, psycopg.OperationalError("server closed the connection")),
}
BUGS: dict[str, Callable[[], Exception]] = {
    "value-error": lambda: ValueError("a bug"),
    "wrapped-failed-transaction": lambda: _raised_from(
        persistence.InternalError, psycopg.errors.InFailedSqlTransaction(
            "current transaction is aborted")),
    "wrapped-integrity": lambda: _raised_from(
        persistence.IntegrityError, psycopg.errors.UniqueViolation("duplicate key")),
    "syntax": lambda: psycopg.errors.SyntaxError("syntax error at or near"),
}


@pytest.fixture
def gate() -> Iterator[Gate]:
    opened = Gate()
    yield opened
    opened.release()  # never leave a thread waiting


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {"DISPUTEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/events.db",
         "DISPUTEDESK_SECRET": SECRET},
        cwd=tmp_path,
    )


@pytest.fixture
def sqlite_desk(sqlite_settings: Settings, manual_clock: ManualClock) -> Iterator[DisputeDesk]:
    application = build_application(sqlite_settings, clock=manual_clock)
    yield application
    application.close()


def _test_routes(gate: Gate) -> list[Any]:
    @get("/test/slow", opt={PUBLIC: True, DEADLINE_OPT: BUDGET}, sync_to_thread=True)
    def slow() -> dict[str, bool]:
        gate.hold()
        gate.finished.set()
        return {"late": True}

    @get("/test/streamed", opt={PUBLIC: True, DEADLINE_OPT: BUDGET})
    async def streamed() -> Stream:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"started in time, "
            await asyncio.sleep(BUDGET * 2)
            yield b"finished late"

        return Stream(chunks(), media_type="text/plain")

    @get("/test/unlimited", opt={PUBLIC: True, DEADLINE_OPT: None}, sync_to_thread=True)
    def unlimited() -> dict[str, bool]:
        time.sleep(BUDGET * 1.5)
        return {"done": True}

    @get("/test/raise/{kind:str}", opt={PUBLIC: True})
    async def raises(kind: FromPath[str]) -> None:
        raise {**OUTAGES, **BUGS}[kind]()

    return [slow, streamed, unlimited, raises]


@pytest.fixture
def client(
    sqlite_desk: DisputeDesk, sqlite_settings: Settings, gate: Gate
) -> Iterator[TestClient[Litestar]]:
    app = create_app(sqlite_desk, sqlite_settings, extra_route_handlers=_test_routes(gate))
    with TestClient(app) as test_client:
        yield test_client


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_request_past_its_budget_is_503_and_its_late_answer_is_dropped(
    client: TestClient[Litestar], gate: Gate
) -> None:
    with capture_logs() as logs:
        response, took = _timed(lambda: client.get("/test/slow", headers={"X-Request-ID": "r-1"}))
        body = assert_problem(response, 503)
        assert took < BUDGET + 1.5
        assert body["type"].endswith("/store-timeout")
        assert body["instance"] == "/test/slow"
        assert body["request_id"] == "r-1"
        assert response.headers["retry-after"] == "1"
        assert response.headers["x-request-id"] == "r-1"
        assert not gate.finished.is_set()

        gate.release()  # the abandoned run goes on, and its answer goes nowhere
        assert gate.finished.wait(5)
        deadline = time.monotonic() + 5
        while not any(e["event"] == "http.abandoned_request_finished" for e in logs):
            assert time.monotonic() < deadline, logs
            time.sleep(0.02)
        assert client.get("/health").status_code == 200  # the server is fine

    exceeded = [e for e in logs if e["event"] == "http.deadline_exceeded"]
    assert [e["budget_s"] for e in exceeded] == [BUDGET]
    finished = [e for e in logs if e["event"] == "http.abandoned_request_finished"]
    assert finished[0]["outcome"] == "response"
    assert finished[0]["status"] == 200
    requests = [e for e in logs if e["event"] == "http.request" and e["path"] == "/test/slow"]
    assert [e["status"] for e in requests] == [503]  # logged once, as answered


def test_a_response_started_in_time_is_not_cut(client: TestClient[Litestar]) -> None:
    response = client.get("/test/streamed")
    assert response.status_code == 200
    assert response.text == "started in time, finished late"


def test_a_route_without_a_budget_is_not_limited(client: TestClient[Litestar]) -> None:
    response = client.get("/test/unlimited")
    assert response.status_code == 200
    assert response.json() == {"done": True}


@pytest.mark.parametrize("kind", sorted(OUTAGES))
def test_a_store_outage_is_503_with_retry_after(client: TestClient[Litestar], kind: str) -> None:
    response = client.get(f"/test/raise/{kind}")
    body = assert_problem(response, 503)
    assert response.headers["retry-after"]
    assert body["type"].endswith("/unavailable")


@pytest.mark.parametrize("kind", sorted(BUGS))
def test_a_bug_is_still_500(client: TestClient[Litestar], kind: str) -> None:
    assert_problem(client.get(f"/test/raise/{kind}"), 500)


def test_budgets_by_route() -> None:
    middleware = DeadlineMiddleware(app=lambda scope, receive, send: None)  # type: ignore[arg-type, return-value]

    def budget(method: str, template: str, opt: dict[str, Any] | None = None) -> float | None:
        handler = type("Handler", (), {"opt": opt or {}})()
        scope = {"type": "http", "method": method, "path_template": template,
                 "route_handler": handler}
        return middleware.budget_of(cast(Scope, scope))

    health_budget = BUDGETS[("GET", "/health")]
    assert health_budget is not None and health_budget < 3
    assert budget("GET", "/health") == health_budget
    assert budget("POST", "/v1/simulations") is None
    assert budget("GET", "/v1/disputes") == deadline.DEFAULT_BUDGET <= 8
    assert budget("POST", "/v1/disputes/{dispute_id:uuid}/notes") == deadline.DEFAULT_BUDGET
    assert budget("GET", "/v1/disputes", {DEADLINE_OPT: 1.5}) == 1.5
    assert budget("GET", "/v1/disputes", {DEADLINE_OPT: None}) is None


def test_health_is_503_in_time_when_the_store_check_hangs(
    client: TestClient[Litestar], gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hangs(desk: DisputeDesk, timeout: float) -> None:
        gate.hold()

    monkeypatch.setattr(health, "check_event_store", hangs)
    monkeypatch.setattr(health, "HEALTH_TIMEOUT", 0.3)
    response, took = _timed(lambda: client.get("/health"))
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "store": "unavailable"}
    assert took < 1.5
    gate.release()
    monkeypatch.undo()
    assert client.get("/health").status_code == 200


def test_health_has_a_backstop_below_3_s(
    client: TestClient[Litestar], gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the route's own bound fail, the middleware still answers /health in time."""
    def hangs(desk: DisputeDesk, timeout: float) -> None:
        gate.hold()

    monkeypatch.setattr(health, "check_event_store", hangs)
    monkeypatch.setattr(health, "HEALTH_TIMEOUT", 30.0)
    response, took = _timed(lambda: client.get("/health"))
    body = assert_problem(response, 503)
    assert body["type"].endswith("/store-timeout")
    assert took < 3
    gate.release()


def test_an_abandoned_command_is_recorded_once_and_a_retry_gets_its_outcome(
    sqlite_desk: DisputeDesk, sqlite_settings: Settings, gate: Gate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deadline, "DEFAULT_BUDGET", 1.0)
    app = create_app(sqlite_desk, sqlite_settings)
    with TestClient(app) as client:
        placed = client.post("/v1/orders", json=ORDER, headers=PLATFORM)
        assert placed.status_code == 201, placed.text
        dispute_id = placed.json()["id"]
        add_note = sqlite_desk.add_note

        def held_add_note(*args: Any, **kwargs: Any) -> Any:
            gate.hold()
            return add_note(*args, **kwargs)

        monkeypatch.setattr(sqlite_desk, "add_note", held_add_note)
        note = {"text": "written while the store hung"}
        headers = {**MODERATOR, "Idempotency-Key": "note-1"}
        path = f"/v1/disputes/{dispute_id}/notes"

        first, took = _timed(lambda: client.post(path, json=note, headers=headers))
        body = assert_problem(first, 503)
        assert body["type"].endswith("/store-timeout")
        assert "Idempotency-Key" in body["detail"]
        assert took < 2.5

        gate.release()
        deadline_at = time.monotonic() + 10
        while True:  # retries with the same key until the first run's outcome is kept
            retry = client.post(path, json=note, headers=headers)
            if retry.status_code == 200:
                break
            assert retry.status_code == 503, retry.text
            assert time.monotonic() < deadline_at, retry.text
            time.sleep(0.1)
        assert retry.headers.get("idempotent-replayed") == "true"

        history = client.get(f"/v1/disputes/{dispute_id}/history", headers=MODERATOR).json()
        notes = [e for e in history["data"] if e["type"] == "NoteAdded"]
        assert len(notes) == 1, notes
