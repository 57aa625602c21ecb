"""A server whose database hangs or refuses: 503 in time, never 500, and it recovers.

A real ``disputedesk serve`` process talks to PostgreSQL through a TCP proxy
(``tests/tcp_proxy.py``). ``hang()`` stops every byte while the connections stay
open, as a frozen host or a partition does (the proxy's kernel still ACKs, so
only the server's own deadlines can notice); ``refuse()`` resets them, as a host
that went down does. Either way ``/health`` must answer 503 within 3 s, a list
and a command 503 with ``Retry-After`` within 10 s, and the same requests must
succeed within 10 s of the database coming back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bench.load.scenario import cli_command, free_port
from infrastructure.bootstrap import build_application
from infrastructure.outages import STORE_OUTAGES
from infrastructure.settings import Settings
from interface.http.auth import issue_token
from tests.conftest import reset_postgres
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hung-database-tests-secret-0123456789abcdef"
HEALTH_LIMIT = 3.0
REQUEST_LIMIT = 10.0
RECOVERY_LIMIT = 10.0
CLIENT_TIMEOUT = 20.0  # a request still unanswered after this counts as hung


def _auth(role: str, sub: str) -> dict[str, str]:
    token = issue_token(SECRET, role, sub, ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


PLATFORM = _auth("platform", "p-1")
MODERATOR = _auth("moderator", "m-1")


@dataclass
class Answer:
    status: int | None  # None: no answer within CLIENT_TIMEOUT
    headers: dict[str, str]  # names in lower case
    body: bytes
    took: float

    def json(self) -> Any:
        return json.loads(self.body)

    def __str__(self) -> str:
        return f"{self.status} after {self.took:.2f} s: {self.body[:300]!r}"


@dataclass
class Server:
    base: str
    proxy: TcpProxy
    process: subprocess.Popen[bytes]
    log: Path

    def call(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: Any = None,
        *,
        timeout: float = CLIENT_TIMEOUT,
    ) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=dict(headers or {})
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Answer(response.status, _lower(response.headers), response.read(),
                              time.monotonic() - started)
        except urllib.error.HTTPError as error:
            return Answer(error.code, _lower(error.headers), error.read(),
                          time.monotonic() - started)
        except (TimeoutError, OSError):
            return Answer(None, {}, b"", time.monotonic() - started)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _lower(headers: Any) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items()}


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ``serve`` process for the module, its database behind a proxy."""
    reset_postgres(postgres_url)
    parts = urlsplit(postgres_url)
    workdir = tmp_path_factory.mktemp("hung-database")
    log = workdir / "server.log"
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        url = f"postgresql://{parts.username or 'postgres'}@127.0.0.1:{proxy.port}{parts.path}"
        port = free_port()
        env = {
            **os.environ,
            "DISPUTEDESK_DATABASE_URL": url,
            "DISPUTEDESK_SECRET": SECRET,
            "DISPUTEDESK_LOG_FORMAT": "json",
            "PYTHONPATH": str(ROOT),
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*cli_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=workdir, env=env, stdout=out, stderr=out, start_new_session=True,
            )
        running = Server(f"http://127.0.0.1:{port}", proxy, process, log)
        try:
            deadline = time.monotonic() + 60
            while running.call("GET", "/health", timeout=2).status != 200:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start:\n{running.log_tail()}")
                time.sleep(0.2)
            yield running
        finally:
            _stop(process)


def _side_by_side(server: Server, calls: dict[str, tuple[Any, ...]]) -> dict[str, Answer]:
    answers: dict[str, Answer] = {}

    def run(name: str, args: tuple[Any, ...]) -> None:
        answers[name] = server.call(*args)

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(CLIENT_TIMEOUT + 5)
    return answers


def _until(server: Server, name: str, call: tuple[Any, ...], ok: set[int]) -> Answer:
    """Repeat ``call`` until its status is in ``ok``; the answer carries the time
    since the first try. Fails after ``RECOVERY_LIMIT`` s."""
    started = time.monotonic()
    while True:
        answer = server.call(*call, timeout=RECOVERY_LIMIT)
        answer.took = time.monotonic() - started
        if answer.status in ok:
            return answer
        if answer.took > RECOVERY_LIMIT:
            pytest.fail(f"{name} did not recover within {RECOVERY_LIMIT} s; last: {answer}\n"
                        f"{server.log_tail()}")
        time.sleep(0.2)


def _order(order_id: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "buyer_id": "b-1",
        "seller_id": "s-1",
        "region": "US",
        "category": "general",
        "amount": {"amount": "25.00", "currency": "USD"},
        "placed_at": "2026-11-20T10:00:00-08:00",
    }


def _ready(server: Server, order_id: str) -> str:
    """The proxy forwarding, the server answering, and a case to write to (its id)."""
    server.proxy.forward()
    _until(server, "GET /health", ("GET", "/health"), {200})
    placed = _until(server, "POST /v1/orders",
                    ("POST", "/v1/orders", PLATFORM, _order(order_id)), {200, 201})
    _until(server, "GET /v1/disputes", ("GET", "/v1/disputes", MODERATOR), {200})
    dispute_id: str = placed.json()["id"]
    return dispute_id


def _outage_calls(dispute_id: str, key: str) -> dict[str, tuple[Any, ...]]:
    note_headers = {**MODERATOR, "Idempotency-Key": key}
    return {
        "GET /health": ("GET", "/health"),
        "GET /v1/disputes": ("GET", "/v1/disputes", MODERATOR),
        "POST notes": ("POST", f"/v1/disputes/{dispute_id}/notes", note_headers, {"text": key}),
    }


def _check_outage(server: Server, answers: dict[str, Answer]) -> None:
    report = "\n".join(f"  {name}: {answer}" for name, answer in answers.items())
    print(f"during the outage:\n{report}")
    for name, answer in answers.items():
        assert answer.status is not None, f"{name} got no answer:\n{report}\n{server.log_tail()}"
        assert answer.status == 503, f"{name}: {answer}\n{report}"
        limit = HEALTH_LIMIT if name == "GET /health" else REQUEST_LIMIT
        assert answer.took < limit, f"{name} took {answer.took:.2f} s (limit {limit} s)"
    assert answers["GET /health"].json() == {"status": "unavailable", "store": "unavailable"}
    for name in ("GET /v1/disputes", "POST notes"):
        answer = answers[name]
        assert answer.headers.get("retry-after"), f"{name}: no Retry-After"
        assert answer.headers.get("content-type", "").startswith("application/problem+json")
        assert answer.headers.get("x-request-id"), f"{name}: no X-Request-ID"
        assert answer.json()["status"] == 503


def _check_recovery(server: Server, dispute_id: str, key: str) -> None:
    calls = _outage_calls(dispute_id, key)
    recovered = {
        "GET /health": _until(server, "GET /health", calls["GET /health"], {200}),
        "GET /v1/disputes": _until(server, "GET /v1/disputes", calls["GET /v1/disputes"], {200}),
        # The same Idempotency-Key: the first try's outcome, or a first success.
        "POST notes": _until(server, "POST notes", calls["POST notes"], {200}),
    }
    print("after the database came back:\n" + "\n".join(
        f"  {name}: {answer.status} within {answer.took:.2f} s"
        for name, answer in recovered.items()))
    history = server.call("GET", f"/v1/disputes/{dispute_id}/history?limit=500", MODERATOR)
    assert history.status == 200, history
    notes = [e for e in history.json()["data"]
             if e["type"] == "NoteAdded" and e["data"].get("text") == key]
    assert len(notes) == 1, f"the note of key {key} was recorded {len(notes)} times"


@pytest.mark.parametrize("outage", ["hang", "refuse"])
def test_a_database_that_hangs_or_refuses_is_503_in_time_and_service_comes_back(
    server: Server, outage: str
) -> None:
    dispute_id = _ready(server, f"{outage}-1")
    key = f"note-during-{outage}"
    getattr(server.proxy, outage)()
    try:
        answers = _side_by_side(server, _outage_calls(dispute_id, key))
        _check_outage(server, answers)
    finally:
        server.proxy.forward()
    _check_recovery(server, dispute_id, key)


def test_a_session_ended_during_a_hang_is_an_outage_and_its_connection_is_dropped(
    postgres_url: str, tmp_path: Path
) -> None:
    """A transaction waits on a hung connection while the server ends the session
    (``idle_in_transaction_session_timeout``, 5 s); when packets flow again the
    error that arrives is an outage (503, not 500), and the pool drops the
    connection instead of handing it out again."""
    parts = urlsplit(postgres_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        url = f"postgresql://{parts.username or 'postgres'}@127.0.0.1:{proxy.port}{parts.path}"
        settings = Settings.from_env(
            {"DISPUTEDESK_DATABASE_URL": url, "DISPUTEDESK_SECRET": SECRET}, cwd=tmp_path
        )
        desk = build_application(settings)
        try:
            datastore = desk.recorder.datastore  # type: ignore[attr-defined]
            in_transaction, hung = threading.Event(), threading.Event()
            raised: list[Exception] = []

            def transaction() -> None:
                try:
                    with datastore.transaction(commit=False) as cursor:
                        cursor.execute("SELECT 1")
                        in_transaction.set()
                        hung.wait(10)
                        cursor.execute("SELECT 2")  # waits on the hung connection
                except Exception as error:
                    raised.append(error)

            thread = threading.Thread(target=transaction, daemon=True)
            thread.start()
            assert in_transaction.wait(10)
            proxy.hang()
            hung.set()
            time.sleep(6.5)  # the server ends the idle transaction after 5 s
            assert thread.is_alive(), "nothing may end the wait while the path is hung"
            proxy.forward()
            thread.join(10)
            assert not thread.is_alive()
            assert len(raised) == 1
            error = raised[0]
            print(f"after the hang: {type(error).__module__}.{type(error).__name__}: {error}")
            assert isinstance(error, STORE_OUTAGES), repr(error)  # so: 503, never 500

            started = time.monotonic()
            desk.recorder.max_notification_id()  # a fresh connection, at once
            assert time.monotonic() - started < 2
            stats = datastore.pool.get_stats()
            assert stats.get("returns_bad", 0) + stats.get("connections_lost", 0) >= 1, stats
        finally:
            desk.close()
