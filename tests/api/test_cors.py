"""CORS from DISPUTEDESK_CORS_ORIGINS: listed origins only; off when unset."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from application.disputes import DisputeDesk
from infrastructure.settings import Settings
from interface.http.app import create_app
from tests.api.conftest import BUYER

ALLOWED = "https://ops.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}


@pytest.fixture
def cors_client(desk: DisputeDesk, settings: Settings) -> Iterator[TestClient[Any]]:
    ops = dataclasses.replace(settings.ops, cors_origins=(ALLOWED,))
    with TestClient(create_app(desk, dataclasses.replace(settings, ops=ops))) as client:
        yield client


def test_a_listed_origin_may_call_the_api(cors_client: TestClient[Any]) -> None:
    preflight = cors_client.options("/v1/orders", headers={"Origin": ALLOWED, **PREFLIGHT})
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
    read = cors_client.get("/v1/policies/current", headers={"Origin": ALLOWED, **BUYER})
    assert read.status_code == 200
    assert read.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in read.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in read.headers


def test_another_origin_gets_no_cors_headers(cors_client: TestClient[Any]) -> None:
    other = "https://evil.example.net"
    preflight = cors_client.options("/v1/orders", headers={"Origin": other, **PREFLIGHT})
    assert "access-control-allow-origin" not in preflight.headers
    read = cors_client.get("/v1/policies/current", headers={"Origin": other, **BUYER})
    assert "access-control-allow-origin" not in read.headers


def test_cors_is_off_by_default(client: TestClient[Any]) -> None:
    read = client.get("/v1/policies/current", headers={"Origin": ALLOWED, **BUYER})
    assert read.status_code == 200
    assert "access-control-allow-origin" not in read.headers
