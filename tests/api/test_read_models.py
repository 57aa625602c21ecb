"""GET /v1/disputes, /v1/moderation/queue, /v1/sellers/{id}/scorecard, /v1/metrics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from application.disputes import DisputeDesk
from application.projections import queries as queries_module
from application.projections.runner import RUNNER_LOCK
from domain.dispute import Actor
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from infrastructure.stores import open_store
from interface.http.app import create_app
from tests.api.conftest import (
    ANALYST,
    BUYER,
    MODERATOR,
    ORDER,
    OTHER_BUYER,
    PLATFORM,
    SELLER,
    assert_problem,
    auth,
)

LA = ZoneInfo("America/Los_Angeles")
SCORECARD_FIELDS = {
    "seller_id", "orders", "shipped", "late_dispatch_rate", "auto_cancel_rate", "disputes",
    "interventions", "interventions_lost", "refund_rate", "average_rating", "reviews",
    "median_response_hours",
}


def settle(client: TestClient[Any], desk: DisputeDesk) -> None:
    """Wait (through the API) until the read models hold every event recorded so far.

    The app's projection worker starts with the app.
    """
    head = desk.recorder.max_notification_id()
    response = client.get(f"/v1/metrics?min_position={head}", headers=MODERATOR)
    assert response.status_code == 200, response.text


def order(client: TestClient[Any], order_id: str, buyer: str = "b-1",
          seller: str = "s-1", placed_at: datetime | None = None) -> dict[str, Any]:
    body = {**ORDER, "order_id": order_id, "buyer_id": buyer, "seller_id": seller}
    if placed_at is not None:
        body["placed_at"] = placed_at.isoformat()
    response = client.post("/v1/orders", json=body, headers=PLATFORM)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def orders_of(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    assert int(response.headers["X-Read-Model-Position"]) == response.json()["position"]
    return sorted(row["order_id"] for row in response.json()["data"])


def test_each_caller_lists_what_it_may_see(
    client: TestClient[Any], desk: DisputeDesk, settings: Settings
) -> None:
    order(client, "o-1", buyer="b-1", seller="s-1")
    order(client, "o-2", buyer="b-2", seller="s-2")
    settle(client, desk)
    assert orders_of(client.get("/v1/disputes", headers=MODERATOR)) == ["o-1", "o-2"]
    assert orders_of(client.get("/v1/disputes", headers=BUYER)) == ["o-1"]
    assert orders_of(client.get("/v1/disputes", headers=OTHER_BUYER)) == ["o-2"]
    assert orders_of(client.get("/v1/disputes?buyer_id=b-2", headers=BUYER)) == []
    assert orders_of(client.get("/v1/disputes", headers=SELLER)) == ["o-1"]
    assert orders_of(client.get("/v1/disputes?seller_id=s-2", headers=SELLER)) == []
    assert orders_of(client.get("/v1/disputes?seller_id=s-2", headers=MODERATOR)) == ["o-2"]
    assert orders_of(client.get("/v1/disputes?order_id=o-2", headers=MODERATOR)) == ["o-2"]
    assert orders_of(client.get("/v1/disputes?status=shipped", headers=MODERATOR)) == []
    row = client.get("/v1/disputes?order_id=o-1", headers=MODERATOR).json()["data"][0]
    assert row["status"] == "awaiting_shipment"
    assert row["amount"] == {"amount": "25.00", "currency": "USD"}
    assert row["next_due"]["type"] == "DeadlineApproaching"  # a day before ship_by
    assert datetime.fromisoformat(row["ship_by"]) == datetime(2026, 11, 24, 23, 59, 59,
                                                              tzinfo=LA)


def test_roles_and_bad_parameters_are_problems(
    client: TestClient[Any], desk: DisputeDesk, settings: Settings
) -> None:
    order(client, "o-1")
    settle(client, desk)
    assert_problem(client.get("/v1/disputes"), 401)
    assert_problem(client.get("/v1/disputes", headers=ANALYST), 403)
    assert_problem(client.get("/v1/disputes", headers=PLATFORM), 403)
    assert_problem(client.get("/v1/moderation/queue", headers=BUYER), 403)
    assert_problem(client.get("/v1/metrics", headers=SELLER), 403)
    assert_problem(client.get("/v1/disputes?limit=0", headers=MODERATOR), 400)
    assert_problem(client.get("/v1/disputes?limit=501", headers=MODERATOR), 400)
    assert_problem(client.get("/v1/disputes?limit=abc", headers=MODERATOR), 400)
    assert_problem(client.get("/v1/disputes?cursor=bm9wZQ", headers=MODERATOR), 400)
    assert_problem(client.get("/v1/disputes?status=lost", headers=MODERATOR), 422,
                   field="status")
    assert_problem(client.get("/v1/moderation/queue?reason=bored", headers=MODERATOR), 422,
                   field="reason")
    assert_problem(client.get("/v1/moderation/queue?min_age_hours=-1", headers=MODERATOR),
                   400)


def test_pages_follow_the_cursor(
    client: TestClient[Any], desk: DisputeDesk, settings: Settings, manual_clock: ManualClock
) -> None:
    for n in range(5):
        manual_clock.advance(timedelta(minutes=1))
        order(client, f"o-{n}", placed_at=manual_clock.now())
    settle(client, desk)
    seen: list[str] = []
    url = "/v1/disputes?limit=2"
    while True:
        body = client.get(url, headers=MODERATOR).json()
        seen += [row["order_id"] for row in body["data"]]
        if body["next_cursor"] is None:
            break
        url = f"/v1/disputes?limit=2&cursor={body['next_cursor']}"
    assert seen == ["o-4", "o-3", "o-2", "o-1", "o-0"]  # newest first


def test_the_queue_scorecard_and_metrics(
    client: TestClient[Any], desk: DisputeDesk, settings: Settings, manual_clock: ManualClock
) -> None:
    case = order(client, "o-1")
    dispute = UUID(case["id"])
    manual_clock.set(datetime(2026, 11, 25, 9, tzinfo=LA))
    desk.contact_seller(dispute, message="?", channel="chat", actor=Actor("buyer", "b-1"))
    manual_clock.advance(timedelta(hours=3))
    desk.respond(dispute, message="soon", actor=Actor("seller", "s-1"))
    desk.request_intervention(dispute, reason="not_shipped", statement="nothing",
                              actor=Actor("buyer", "b-1"))
    manual_clock.advance(timedelta(hours=2))
    settle(client, desk)

    queue = client.get("/v1/moderation/queue", headers=MODERATOR)
    assert orders_of(queue) == ["o-1"]
    entry = queue.json()["data"][0]
    assert entry["reason"] == "not_shipped" and entry["age_hours"] == 2.0
    assert entry["status"] == "under_review" and entry["intervention"]["open"] is True
    assert orders_of(client.get("/v1/moderation/queue?min_age_hours=3", headers=MODERATOR)) == []
    assert orders_of(client.get("/v1/moderation/queue?region=GB", headers=MODERATOR)) == []

    for headers in (BUYER, SELLER, MODERATOR, ANALYST, PLATFORM, auth("seller", "s-9")):
        card = client.get("/v1/sellers/s-1/scorecard", headers=headers)
        assert card.status_code == 200, card.text
        assert set(card.json()) >= SCORECARD_FIELDS
    figures = card.json()
    assert figures["orders"] == 1 and figures["late_dispatch_rate"] == 1.0
    assert figures["disputes"] == 1 and figures["interventions"] == 1
    assert figures["median_response_hours"] == 3.0 and figures["average_rating"] is None
    assert_problem(client.get("/v1/sellers/s-1/scorecard"), 401)

    metrics = client.get("/v1/metrics", headers=MODERATOR)
    assert metrics.status_code == 200, metrics.text
    assert metrics.json()["counts_by_status"]["under_review"] == 1
    assert metrics.json()["time_to_resolution_hours"] == {
        "resolved": 0, "median": None, "p90": None,
    }


def test_a_client_reads_its_own_write_with_min_position(
    client: TestClient[Any], desk: DisputeDesk
) -> None:
    case = order(client, "o-1")
    view = desk.contact_seller(UUID(case["id"]), message="?", channel="chat",
                               actor=Actor("buyer", "b-1"))
    response = client.get(f"/v1/disputes?min_position={view['position']}", headers=BUYER)
    assert orders_of(response) == ["o-1"]
    assert response.json()["data"][0]["status"] == "awaiting_seller"
    assert response.json()["position"] >= view["position"]
    never = client.get(f"/v1/disputes?min_position={view['position'] + 99}", headers=BUYER)
    assert_problem(never, 422, field="min_position")


def test_a_read_model_that_lags_behind_is_a_503(
    desk: DisputeDesk, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(queries_module, "WAIT_TIMEOUT", 0.3)
    blocker = open_store(settings.database, application_name=desk.name)
    assert blocker.try_lock(RUNNER_LOCK)  # taken first: the app's worker can only stand by
    with TestClient(create_app(desk, settings)) as client:
        try:
            order(client, "o-1")
            head = desk.recorder.max_notification_id()
            behind = client.get(f"/v1/disputes?min_position={head}", headers=MODERATOR)
            assert_problem(behind, 503)
            assert behind.headers["Retry-After"] == "1"
            assert behind.json()["type"].endswith("read-model-behind")
        finally:
            blocker.close()
        monkeypatch.undo()
        settle(client, desk)  # the standby takes over once the lock is free
