"""Limits on abuse through the test client: request rates per caller (429) and body sizes (413)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from litestar.testing import TestClient

from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings
from interface.http.app import create_app
from interface.http.body_limits import DEFAULT_BODY_LIMIT, MIB, BodyLimitMiddleware, body_limit_of
from interface.http.errors import LimitReached
from tests.api.conftest import (
    BUYER,
    ORDER,
    OTHER_BUYER,
    PLATFORM,
    SECRET,
    SELLER,
    assert_problem,
)
from tests.tcp_proxy import TcpProxy

POLICY = "/v1/policies/current"
REDIS_PORT = 6379


@contextmanager
def app_client(tmp_path: Path, **env: str) -> Iterator[TestClient[Any]]:
    """An app on a fresh SQLite store with these settings (rates are per app)."""
    settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/events.db",
                                  "DISPUTEDESK_SECRET": SECRET, **env}, cwd=tmp_path)
    desk = build_application(settings)
    try:
        with TestClient(create_app(desk, settings)) as client:
            yield client
    finally:
        desk.close()


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=0.5):
            return True
    except OSError:
        return False


# -- request rates ---------------------------------------------------------------------------


def test_a_caller_over_its_rate_is_refused_with_429_and_when_to_retry(tmp_path: Path) -> None:
    # Given buyers may send 3 requests a minute
    with app_client(tmp_path, DISPUTEDESK_RATE_LIMITS="buyer=3/minute") as client:
        # When one buyer sends 4
        answers = [client.get(POLICY, headers=BUYER) for _ in range(4)]
        # Then the first 3 pass and the 4th is a 429 problem saying when to retry
        assert [answer.status_code for answer in answers[:3]] == [200, 200, 200]
        body = assert_problem(answers[3], 429)
        assert body["type"].endswith("/too-many-requests")
        assert "3/minute" in body["detail"]
        assert int(answers[3].headers["retry-after"]) >= 1
        assert answers[3].headers["ratelimit-limit"] == "3"
        assert answers[3].headers["ratelimit-remaining"] == "0"


def test_each_caller_has_a_budget_of_its_own_and_roles_their_own_rate(tmp_path: Path) -> None:
    # Given buyers may send 2 requests a minute and one buyer spent them
    with app_client(tmp_path, DISPUTEDESK_RATE_LIMITS="buyer=2/minute") as client:
        for _ in range(2):
            assert client.get(POLICY, headers=BUYER).status_code == 200
        assert client.get(POLICY, headers=BUYER).status_code == 429
        # When another buyer and a seller (the default seller rate) ask
        # Then they are answered
        assert client.get(POLICY, headers=OTHER_BUYER).status_code == 200
        assert client.get(POLICY, headers=SELLER).status_code == 200


def test_probes_metrics_and_the_api_docs_are_never_limited(tmp_path: Path) -> None:
    # Given requests without a token may be sent once a minute per address
    with app_client(tmp_path, DISPUTEDESK_RATE_LIMITS="anonymous=1/minute") as client:
        # When probes, scrapes and the docs are asked for again and again
        # Then every one is answered
        for path in ("/health", "/metrics", "/schema/openapi.json"):
            assert [client.get(path).status_code for _ in range(3)] == [200, 200, 200], path


def test_requests_without_a_token_are_counted_by_address(tmp_path: Path) -> None:
    # Given requests without a token may be sent twice a minute per address
    with app_client(tmp_path, DISPUTEDESK_RATE_LIMITS="anonymous=2/minute") as client:
        # When the console's sign-in page (no token needed) is asked for 3 times
        answers = [client.get("/console/sign-in") for _ in range(3)]
        # Then the third is refused, while a caller with a token is still answered
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert client.get(POLICY, headers=PLATFORM).status_code == 200


def test_rates_counted_in_redis_are_shared_by_every_app(tmp_path: Path) -> None:
    # Given two apps (two processes' worth) counting in the same Redis
    if not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    env = {"DISPUTEDESK_RATE_LIMITS": "buyer=3/minute",
           "DISPUTEDESK_REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
           "DISPUTEDESK_REDIS_PREFIX": f"test-{tmp_path.name}"}
    with app_client(tmp_path / "one", **env) as one, app_client(tmp_path / "two", **env) as two:
        # When a buyer spends 2 requests on one and 1 on the other
        assert [one.get(POLICY, headers=BUYER).status_code for _ in range(2)] == [200, 200]
        assert two.get(POLICY, headers=BUYER).status_code == 200
        # Then both refuse the 4th
        assert_problem(one.get(POLICY, headers=BUYER), 429)
        assert_problem(two.get(POLICY, headers=BUYER), 429)


def test_a_redis_that_hangs_lets_requests_through_and_counts_them(tmp_path: Path) -> None:
    # Given rates counted in a Redis that stops answering
    if not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    with TcpProxy(upstream_port=REDIS_PORT) as proxy:
        proxy.hang()
        env = {"DISPUTEDESK_RATE_LIMITS": "buyer=1/minute",
               "DISPUTEDESK_REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0",
               "DISPUTEDESK_REDIS_PREFIX": f"test-{tmp_path.name}"}
        with app_client(tmp_path, **env) as client:
            # When a buyer sends more than its rate
            answers = [client.get(POLICY, headers=BUYER).status_code for _ in range(3)]
            # Then each is answered (fail open), and the scrape counts what passed uncounted
            assert answers == [200, 200, 200]
            scrape = client.get("/metrics").text
            line = next(line for line in scrape.splitlines()
                        if line.startswith("disputedesk_rate_limit_fail_open_total"))
            assert float(line.split()[-1]) >= 1


# -- body sizes ------------------------------------------------------------------------------


def test_a_body_declared_too_large_is_413_before_it_is_read() -> None:
    # Given a JSON command route and a body whose Content-Length is past its limit
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the route ran")

    async def receive() -> Any:
        raise AssertionError("the body was read")

    scope = {"type": "http", "path": "/v1/orders", "path_template": "/v1/orders",
             "headers": [(b"content-length", str(DEFAULT_BODY_LIMIT + 1).encode())]}
    # When it arrives
    # Then it is refused naming the limit, no byte read
    with pytest.raises(LimitReached) as refused:
        anyio.run(BodyLimitMiddleware(app), scope, receive, None)
    assert refused.value.status_code == 413
    assert f"{DEFAULT_BODY_LIMIT:,} bytes" in refused.value.detail


def test_a_json_command_too_large_is_a_413_problem_naming_the_limit(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        # When an order of more than the default limit is sent, with its length said
        body = b'{"order_id": "' + b"x" * DEFAULT_BODY_LIMIT + b'"}'
        answer = client.post("/v1/orders", content=body, headers={
            **PLATFORM, "Content-Type": "application/json"})
        # Then it is a 413 problem naming the limit
        problem = assert_problem(answer, 413)
        assert problem["type"].endswith("/payload-too-large")
        assert f"{DEFAULT_BODY_LIMIT:,} bytes" in problem["detail"]


def test_a_chunked_body_that_runs_over_is_413(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        # When a body without a length runs past the limit as it is read
        def chunks() -> Iterator[bytes]:
            yield b'{"order_id": "'
            for _ in range(DEFAULT_BODY_LIMIT // 4096 + 1):
                yield b"x" * 4096
            yield b'"}'

        answer = client.post("/v1/orders", content=chunks(), headers={
            **PLATFORM, "Content-Type": "application/json"})
        assert "content-length" not in answer.request.headers
        # Then it is refused as too large
        assert f"{DEFAULT_BODY_LIMIT:,} bytes" in assert_problem(answer, 413)["detail"]


def test_a_body_within_the_limit_passes_on(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        # When a small but invalid order is sent
        answer = client.post("/v1/orders", json={"order_id": "x" * 1000}, headers=PLATFORM)
        # Then the route itself judges it (not the size)
        assert answer.status_code in (400, 422), answer.text


def test_routes_that_need_more_get_more_and_uploads_size_their_own() -> None:
    assert body_limit_of("/v1/orders") == DEFAULT_BODY_LIMIT
    assert body_limit_of("/v1/orders/batch") == MIB
    assert body_limit_of("/v1/orders/batch/{batch_id:str}") == MIB
    assert body_limit_of("/v1/orders/batches") == DEFAULT_BODY_LIMIT
    assert body_limit_of("/v1/disputes/{dispute_id}/evidence") is None
    assert body_limit_of("/v1/disputes/{dispute_id}/messages") == DEFAULT_BODY_LIMIT


def test_evidence_keeps_its_own_limit_past_the_default(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        # Given a case
        placed = client.post("/v1/orders", json=ORDER, headers=PLATFORM)
        assert placed.status_code == 201, placed.text
        path = f"/v1/disputes/{placed.json()['id']}/evidence"
        # When evidence described in more than the default limit, and in more than its
        # own 1 MiB, is sent
        big = {"kind": "other", "description": "x" * (DEFAULT_BODY_LIMIT + 1)}
        huge = {"kind": "other", "description": "x" * (MIB + 1)}
        # Then the first is the route's to judge, the second is past the route's own limit
        assert client.post(path, json=big, headers=BUYER).status_code != 413
        assert "1,048,576 bytes" in assert_problem(
            client.post(path, json=huge, headers=BUYER), 413)["detail"]
