"""POST /v1/deadlines/sweep: the platform records what fell due, once."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from infrastructure.clock import ManualClock
from tests.api.conftest import ANALYST, BUYER, MODERATOR, PLATFORM, SELLER

SHIP_BY = "2026-11-25T07:59:59Z"  # 23:59:59 on Tuesday 11-24 in Los Angeles
SHIP_BY_REMINDER = "2026-11-24T07:59:59Z"  # the bundled policy: a day before


def sweep(client: TestClient[Any], body: dict[str, Any] | None = None) -> Any:
    return client.post("/v1/deadlines/sweep", json=body or {}, headers=PLATFORM)


def wait_for_index(client: TestClient[Any], position: int) -> None:
    """The sweeper reads the disputes read model; let it reach ``position``."""
    response = client.get(f"/v1/disputes?min_position={position}", headers=MODERATOR)
    assert response.status_code == 200, response.text


def test_the_sweep_records_a_missed_deadline_dated_at_the_deadline(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    wait_for_index(client, case["position"])
    manual_clock.advance(timedelta(days=5))  # past Tuesday 23:59:59 in Los Angeles

    response = sweep(client)

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["examined"] == 1
    reminder, row = report["recorded"]
    assert (reminder["type"], reminder["occurred_at"]) == ("DeadlineApproaching", SHIP_BY_REMINDER)
    assert row["dispute_id"] == reminder["dispute_id"] == case["id"]
    assert row["type"] == "DeadlineMissed"
    assert row["occurred_at"] == SHIP_BY
    assert row["actor_role"] == "system"
    assert row["policy_version"] == "2027-01-default"
    view = client.get(f"/v1/disputes/{case['id']}", headers=BUYER).json()
    assert view["status"] == "overdue"


def test_sweeping_twice_records_nothing_new(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    wait_for_index(client, case["position"])
    manual_clock.advance(timedelta(days=5))
    assert len(sweep(client).json()["recorded"]) == 2  # the reminder and DeadlineMissed
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # until the index has seen the new event
        again = sweep(client).json()
        assert again["recorded"] == []
        if again["examined"] == 0:
            break
        time.sleep(0.1)
    history = client.get(f"/v1/disputes/{case['id']}/history", headers=MODERATOR).json()
    assert [e["type"] for e in history["data"]] == [
        "OrderPlaced", "DeadlineApproaching", "DeadlineMissed",
    ]


def test_now_may_be_earlier_but_never_later(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    wait_for_index(client, case["position"])
    manual_clock.advance(timedelta(days=30))
    earlier = sweep(client, {"now": "2026-11-25T12:00:00Z"})
    assert [r["type"] for r in earlier.json()["recorded"]] == [
        "DeadlineApproaching", "DeadlineMissed",
    ]
    later = sweep(client, {"now": (manual_clock.now() + timedelta(minutes=1)).isoformat()})
    assert later.status_code == 422
    assert later.json()["errors"][0]["field"] == "now"


@pytest.mark.parametrize("body", [{"now": "yesterday"}, {"now": [1]}, {"when": "x"}])
def test_a_bad_body_is_refused(client: TestClient[Any], body: dict[str, Any]) -> None:
    response = sweep(client, body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_naive_now_is_refused(client: TestClient[Any]) -> None:
    response = sweep(client, {"now": "2026-11-25T12:00:00"})
    assert response.status_code in (400, 422)


@pytest.mark.parametrize("headers", [BUYER, SELLER, MODERATOR, ANALYST])
def test_only_the_platform_sweeps(client: TestClient[Any], headers: dict[str, str]) -> None:
    response = client.post("/v1/deadlines/sweep", json={}, headers=headers)
    assert response.status_code == 403


def test_no_token_is_401(client: TestClient[Any]) -> None:
    assert client.post("/v1/deadlines/sweep", json={}).status_code == 401
