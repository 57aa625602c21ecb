"""POST /v1/orders, /v1/orders/{order_id}/shipments and /deliveries."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from domain.dispute import dispute_id_for
from tests.api.conftest import (
    BUYER,
    MODERATOR,
    ORDER,
    OTHER_SELLER,
    PLATFORM,
    ROLE_HEADERS,
    SELLER,
    assert_problem,
)

SHIPMENT = {"carrier": "UPS", "tracking_number": "1Z999", "shipped_at": "2026-11-20T18:30:00Z"}


def _history(client: TestClient[Any], dispute_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/disputes/{dispute_id}/history", headers=MODERATOR)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


def test_place_order_is_201_with_the_case_location_and_etag(client: TestClient[Any]) -> None:
    response = client.post("/v1/orders", json=ORDER, headers=PLATFORM)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == str(dispute_id_for("o-1"))
    assert response.headers["location"] == f"/v1/disputes/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert body["version"] == 1
    assert body["status"] == "awaiting_shipment"
    assert body["amount"] == {"amount": "25.00", "currency": "USD"}
    assert body["ship_by"] == "2026-11-25T07:59:59Z"
    assert body["ship_by_local"] == "2026-11-24T23:59:59-08:00"
    assert body["timeline"] == [{"type": "OrderPlaced", "occurred_at": "2026-11-20T18:00:00Z"}]


def test_the_same_order_again_is_200_with_the_same_case(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    response = client.post("/v1/orders", json=ORDER, headers=PLATFORM)
    assert response.status_code == 200
    assert response.json()["id"] == case["id"]
    assert len(_history(client, case["id"])) == 1


@pytest.mark.parametrize("role", ["buyer", "seller", "moderator", "analyst"])
def test_only_the_platform_places_orders(client: TestClient[Any], role: str) -> None:
    assert_problem(client.post("/v1/orders", json=ORDER, headers=ROLE_HEADERS[role]), 403)


def test_malformed_json_is_400(client: TestClient[Any]) -> None:
    response = client.post(
        "/v1/orders",
        content=b'{"order_id": ',
        headers={**PLATFORM, "Content-Type": "application/json"},
    )
    assert_problem(response, 400)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": {"amount": 25.0, "currency": "USD"}}, "amount.amount"),
        ({"amount": "25.00"}, "amount"),
        ({"buyer_id": 7}, "buyer_id"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_wrong_types_are_400_naming_the_field(
    client: TestClient[Any], change: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/orders", json={**ORDER, **change}, headers=PLATFORM)
    assert_problem(response, 400, field=field)


def test_a_missing_field_is_400_naming_it(client: TestClient[Any]) -> None:
    body = {key: value for key, value in ORDER.items() if key != "seller_id"}
    assert_problem(client.post("/v1/orders", json=body, headers=PLATFORM), 400, field="seller_id")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"placed_at": "2026-11-20T10:00:00"}, "placed_at"),
        ({"placed_at": "2026-11-21T10:00:00Z"}, "placed_at"),
        ({"amount": {"amount": "12.345", "currency": "USD"}}, "amount.amount"),
        ({"amount": {"amount": "-1.00", "currency": "USD"}}, "amount.amount"),
        ({"amount": {"amount": "ten", "currency": "USD"}}, "amount.amount"),
        ({"amount": {"amount": "10.00", "currency": "usd"}}, "amount.currency"),
        ({"region": "XX"}, "region"),
        ({"category": "spaceships"}, "category"),
        ({"order_id": "   "}, "order_id"),
        ({"placed_at": "2020-01-01T00:00:00Z"}, "placed_at"),
    ],
)
def test_invalid_values_are_422_naming_the_field(
    client: TestClient[Any], change: dict[str, Any], field: str
) -> None:
    body = {**ORDER, "order_id": "o-422", **change}
    assert_problem(client.post("/v1/orders", json=body, headers=PLATFORM), 422, field=field)


def test_an_order_placed_tomorrow_is_422_event_in_future(client: TestClient[Any]) -> None:
    body = {**ORDER, "placed_at": "2026-11-21T18:00:00Z"}
    problem = assert_problem(
        client.post("/v1/orders", json=body, headers=PLATFORM), 422, field="placed_at"
    )
    assert problem["type"].endswith("/event-in-future")
    assert "future" in problem["detail"]


def test_platform_and_own_seller_may_ship(client: TestClient[Any], case: dict[str, Any]) -> None:
    response = client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=SELLER)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "shipped"
    assert body["shipment"]["carrier"] == "UPS"
    assert response.headers["etag"] == f'"{body["version"]}"'


def test_platform_ships_by_order_id(client: TestClient[Any], case: dict[str, Any]) -> None:
    response = client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=PLATFORM)
    assert response.status_code == 200
    assert response.json()["id"] == case["id"]


def test_another_sellers_order_is_404(client: TestClient[Any], case: dict[str, Any]) -> None:
    other = assert_problem(
        client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=OTHER_SELLER), 404
    )
    missing = assert_problem(
        client.post("/v1/orders/o-404/shipments", json=SHIPMENT, headers=OTHER_SELLER), 404
    )
    assert other["type"] == missing["type"] and other["title"] == missing["title"]
    assert other["detail"] == f"no dispute {case['id']}"
    assert missing["detail"] == f"no dispute {dispute_id_for('o-404')}"


@pytest.mark.parametrize("role", ["buyer", "moderator", "analyst"])
def test_roles_that_may_not_ship(client: TestClient[Any], case: dict[str, Any], role: str) -> None:
    response = client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=ROLE_HEADERS[role])
    assert_problem(response, 403)


def test_shipping_twice_is_409_saying_why(client: TestClient[Any], case: dict[str, Any]) -> None:
    assert client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=SELLER).status_code == 200
    problem = assert_problem(
        client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=SELLER), 409
    )
    assert "already shipped" in problem["detail"]


def test_shipping_with_a_stale_if_match_is_412(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    stale = {**SELLER, "If-Match": '"0"'}
    assert_problem(client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=stale), 412)
    fresh = {**SELLER, "If-Match": '"1"'}
    assert client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=fresh).status_code == 200


def test_shipped_before_the_order_is_422(client: TestClient[Any], case: dict[str, Any]) -> None:
    early = {**SHIPMENT, "shipped_at": "2026-11-19T09:00:00Z"}
    response = client.post("/v1/orders/o-1/shipments", json=early, headers=SELLER)
    assert_problem(response, 422, field="shipped_at")


def test_delivery_after_shipment(client: TestClient[Any], case: dict[str, Any]) -> None:
    client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=PLATFORM)
    before = {"delivered_at": "2026-11-20T18:20:00Z"}
    response = client.post("/v1/orders/o-1/deliveries", json=before, headers=PLATFORM)
    assert_problem(response, 422, field="delivered_at")
    response = client.post(
        "/v1/orders/o-1/deliveries", json={"delivered_at": "2026-11-20T18:50:00Z"}, headers=PLATFORM
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "delivered"
    again = client.post(
        "/v1/orders/o-1/deliveries", json={"delivered_at": "2026-11-20T18:55:00Z"}, headers=PLATFORM
    )
    assert "delivered" in assert_problem(again, 409)["detail"]


def test_delivery_before_shipment_is_409(client: TestClient[Any], case: dict[str, Any]) -> None:
    response = client.post(
        "/v1/orders/o-1/deliveries",
        json={"delivered_at": "2026-11-20T18:40:00Z"},
        headers=PLATFORM,
    )
    problem = assert_problem(response, 409)
    assert "not shipped" in problem["detail"]


@pytest.mark.parametrize("role", ["buyer", "seller", "moderator", "analyst"])
def test_only_the_platform_records_deliveries(
    client: TestClient[Any], case: dict[str, Any], role: str
) -> None:
    response = client.post(
        "/v1/orders/o-1/deliveries",
        json={"delivered_at": "2026-11-20T18:40:00Z"},
        headers=ROLE_HEADERS[role],
    )
    assert_problem(response, 403)


def test_buyer_reads_the_case_of_a_delivered_order(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=PLATFORM)
    response = client.post(
        "/v1/orders/o-1/deliveries", json={"delivered_at": "2026-11-20T18:55:00Z"}, headers=PLATFORM
    )
    assert response.status_code == 200, response.text
    view = client.get(f"/v1/disputes/{case['id']}", headers=BUYER).json()
    assert view["status"] == "delivered"
    assert view["shipment"]["delivered_at"] == "2026-11-20T18:55:00Z"
