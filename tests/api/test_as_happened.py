"""GET /v1/disputes/{id}?as_happened=: the case as it was in the world at a business time.

The order was placed on Friday 2026-11-20 (18:00Z) but fed in only on December
2nd, together with a shipment dated Monday 23rd: nothing about it was recorded
by the 25th (``as_of`` has nothing), yet it had happened by then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from infrastructure.clock import ManualClock
from tests.api.conftest import MODERATOR, ORDER, PLATFORM, ROLE_HEADERS, SELLER, assert_problem

FED_IN = datetime(2026, 12, 2, 19, 0, tzinfo=UTC)  # 11:00 in Los Angeles
SHIPPED_AT = "2026-11-23T10:00:00-08:00"


@pytest.fixture
def late_case(client: TestClient[Any], manual_clock: ManualClock) -> dict[str, Any]:
    manual_clock.set(FED_IN)
    placed = client.post("/v1/orders", json=ORDER, headers=PLATFORM)
    assert placed.status_code == 201, placed.text
    manual_clock.advance(timedelta(minutes=5))
    shipped = client.post(
        f"/v1/orders/{ORDER['order_id']}/shipments",
        json={"carrier": "UPS", "tracking_number": "1Z999", "shipped_at": SHIPPED_AT},
        headers=SELLER,
    )
    assert shipped.status_code == 200, shipped.text
    manual_clock.advance(timedelta(minutes=5))
    body: dict[str, Any] = shipped.json()
    return body


def read(client: TestClient[Any], case: dict[str, Any], **params: str) -> Any:
    return client.get(f"/v1/disputes/{case['id']}", params=params, headers=MODERATOR)


def instants(view: dict[str, Any]) -> list[datetime]:
    return [datetime.fromisoformat(entry["occurred_at"]) for entry in view["timeline"]]


def test_given_an_order_fed_in_late_when_read_as_happened_then_the_world_then(
    client: TestClient[Any], late_case: dict[str, Any]
) -> None:
    response = read(client, late_case, as_happened="2026-11-25T12:00:00Z")

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["shipment"]["tracking_number"] == "1Z999"
    types = [entry["type"] for entry in view["timeline"]]
    assert types[:2] == ["OrderPlaced", "OrderShipped"]
    assert instants(view) == sorted(instants(view))  # in business-time order
    assert max(instants(view)) <= datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    happened = view["as_happened"]
    assert happened["at"] == "2026-11-25T12:00:00Z"
    assert happened["events"] == len(types)
    assert happened["recorded_later"] == len(types)  # all of it was fed in on the 2nd
    assert view.get("as_of") is None
    # Its version is the record's: the ETag changes only when the record does.
    assert view["version"] == late_case["version"]
    assert response.headers["etag"] == f'"{late_case["version"]}"'
    # As recorded by then, there was nothing.
    assert_problem(read(client, late_case, as_of="2026-11-25T12:00:00Z"), 404)


def test_given_an_instant_before_the_shipment_then_only_the_order(
    client: TestClient[Any], late_case: dict[str, Any]
) -> None:
    view = read(client, late_case, as_happened="2026-11-21T00:00:00+00:00").json()

    assert [entry["type"] for entry in view["timeline"]] == ["OrderPlaced"]
    assert view["shipment"] is None
    assert view["status"] == "awaiting_shipment"
    assert view["as_happened"]["events"] == 1


def test_given_an_instant_before_the_order_was_placed_then_404(
    client: TestClient[Any], late_case: dict[str, Any]
) -> None:
    assert_problem(read(client, late_case, as_happened="2026-11-20T17:59:59Z"), 404)
    assert_problem(read(client, late_case, as_happened="0001-01-01T00:00:00+01:00"), 404)


def test_given_the_etag_when_read_again_then_304(
    client: TestClient[Any], late_case: dict[str, Any]
) -> None:
    first = read(client, late_case, as_happened="2026-11-25T12:00:00Z")
    again = client.get(
        f"/v1/disputes/{late_case['id']}",
        params={"as_happened": "2026-11-25T12:00:00Z"},
        headers={**MODERATOR, "If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304


@pytest.mark.parametrize("role", ["buyer", "seller", "analyst", "platform"])
def test_only_moderators_read_as_happened(
    client: TestClient[Any], late_case: dict[str, Any], role: str
) -> None:
    response = client.get(
        f"/v1/disputes/{late_case['id']}",
        params={"as_happened": "2026-11-25T12:00:00Z"},
        headers=ROLE_HEADERS[role],
    )
    assert_problem(response, 403)


def test_given_both_as_of_and_as_happened_then_400(
    client: TestClient[Any], late_case: dict[str, Any]
) -> None:
    response = read(client, late_case, as_of="3", as_happened="2026-11-25T12:00:00Z")
    assert_problem(response, 400, field="as_happened")


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("yesterday", 400),
        ("7", 400),  # a version means nothing in business time
        ("2026-11-25T12:00:00", 422),  # no offset
        ("2026-12-09T00:00:00Z", 422),  # the world ahead is not known yet
    ],
)
def test_bad_as_happened(
    client: TestClient[Any], late_case: dict[str, Any], value: str, status: int
) -> None:
    assert_problem(read(client, late_case, as_happened=value), status, field="as_happened")
