"""GET /health: no token; 200 when the event store answers, else 503."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from application.disputes import DisputeDesk


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
