"""Fixtures for the HTTP API tests: one app per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from application.disputes import DisputeDesk
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from interface.http.app import create_app
from interface.http.auth import issue_token
from tests.conftest import store_url

SECRET = "api-tests-secret-0123456789abcdef0123456789"

ORDER: dict[str, Any] = {
    "order_id": "o-1",
    "buyer_id": "b-1",
    "seller_id": "s-1",
    "region": "US",
    "category": "general",
    "amount": {"amount": "25.00", "currency": "USD"},
    "placed_at": "2026-11-20T10:00:00-08:00",
}


def auth(role: str, sub: str = "x", *, ttl: timedelta = timedelta(hours=1)) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, role, sub, ttl=ttl)}"}


PLATFORM = auth("platform", "p-1")
BUYER = auth("buyer", "b-1")
OTHER_BUYER = auth("buyer", "b-2")
SELLER = auth("seller", "s-1")
OTHER_SELLER = auth("seller", "s-2")
MODERATOR = auth("moderator", "m-1")
ANALYST = auth("analyst", "a-1")
ROLE_HEADERS = {
    "platform": PLATFORM,
    "buyer": BUYER,
    "seller": SELLER,
    "moderator": MODERATOR,
    "analyst": ANALYST,
}


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The suite's ``database_url``, with PostgreSQL's tables emptied rather than dropped:
    these tests do not look at the schema (see ``tests/conftest.py``)."""
    return store_url(request, tmp_path, keep_tables=True)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {"DISPUTEDESK_DATABASE_URL": database_url, "DISPUTEDESK_SECRET": SECRET}, cwd=tmp_path
    )


@pytest.fixture
def desk(settings: Settings, manual_clock: ManualClock) -> Iterator[DisputeDesk]:
    application = build_application(settings, clock=manual_clock)
    yield application
    application.close()


@pytest.fixture
def client(desk: DisputeDesk, settings: Settings) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(desk, settings)) as test_client:
        yield test_client


@pytest.fixture
def case(client: TestClient[Any], manual_clock: ManualClock) -> dict[str, Any]:
    """The case of order o-1 (buyer b-1, seller s-1), placed at 18:00Z; the clock is then 19:00Z."""
    response = client.post("/v1/orders", json=ORDER, headers=PLATFORM)
    assert response.status_code == 201, response.text
    manual_clock.advance(timedelta(hours=1))
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: Any, status: int, *, field: str | None = None) -> dict[str, Any]:
    """A problem+json response with this status (and naming ``field``, if given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"] and body["detail"]
    if field is not None:
        fields = [error["field"] for error in body.get("errors", [])]
        assert field in fields, body
    return body
