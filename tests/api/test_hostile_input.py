"""What a careless or hostile client can send: each is a 4xx naming the problem, never a 500.

Found by hand against a running server; each of these once answered 500 (or, for
the coerced types, 200 with a value the client never sent).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from litestar.testing import TestClient
from structlog.testing import capture_logs

from tests.api.conftest import (
    ANALYST,
    BUYER,
    MODERATOR,
    ORDER,
    PLATFORM,
    SELLER,
    assert_problem,
)

JSON = {"content-type": "application/json"}


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _ship_and_deliver(client: TestClient[Any]) -> None:
    shipped = {"carrier": "UPS", "tracking_number": "1Z", "shipped_at": "2026-11-20T18:30:00Z"}
    assert client.post("/v1/orders/o-1/shipments", json=shipped, headers=PLATFORM).is_success
    delivered = {"delivered_at": "2026-11-20T19:00:00Z"}
    assert client.post("/v1/orders/o-1/deliveries", json=delivered, headers=PLATFORM).is_success


def test_a_number_sent_as_a_string_is_400_not_read_as_a_number(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    _ship_and_deliver(client)
    reviews = f"/v1/disputes/{case['id']}/reviews"
    assert_problem(client.post(reviews, json={"rating": "5", "comment": "ok"}, headers=BUYER),
                   400, field="rating")
    assert client.post(reviews, json={"rating": 5, "comment": "ok"}, headers=BUYER).is_success


def test_a_boolean_sent_as_a_string_is_400(client: TestClient[Any], case: dict[str, Any]) -> None:
    requested = client.post(f"/v1/disputes/{case['id']}/refund-requests",
                            json={"reason": "late"}, headers=BUYER)
    assert requested.is_success, requested.text
    decisions = f"/v1/disputes/{case['id']}/refund-decisions"
    assert_problem(client.post(decisions, json={"approve": "false"}, headers=SELLER),
                   400, field="approve")
    assert_problem(client.post(decisions, json={"approve": 1}, headers=SELLER), 400)


def test_other_body_problems_keep_their_own_messages(client: TestClient[Any]) -> None:
    body = assert_problem(client.post("/v1/orders", json={**ORDER, "colour": "red"},
                                      headers=PLATFORM), 400, field="colour")
    assert "unknown field" in body["detail"].lower()
    assert_problem(client.post("/v1/orders", content=b"{nope", headers={**PLATFORM, **JSON}), 400)


@pytest.mark.parametrize("depth", [40, 600, 5000])
@pytest.mark.parametrize(
    ("path", "caller", "key"),
    [("/v1/orders", PLATFORM, "order_id"), ("/v1/simulations", ANALYST, "policy"),
     ("/v1/simulations", ANALYST, "changes")],
)
def test_a_deeply_nested_body_is_400(
    client: TestClient[Any], path: str, caller: dict[str, str], key: str, depth: int
) -> None:
    """600 levels once sent a simulation's deep copy into a RecursionError (a 500)."""
    body = b'{"%s": {"regions": ' % key.encode() + b"[" * depth + b"]" * depth + b"}}"
    response = client.post(path, content=body, headers={**caller, **JSON})
    assert "nested too deeply" in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize("amount", ["9" * 40, "1e40", "123456789012345678901234567890.5"])
def test_an_absurd_amount_is_422(client: TestClient[Any], amount: str) -> None:
    order = {**ORDER, "amount": {"amount": amount, "currency": "USD"}}
    response = client.post("/v1/orders", json=order, headers=PLATFORM)
    assert_problem(response, 422, field="amount.amount")


@pytest.mark.parametrize("field", ["order_id", "buyer_id", "seller_id"])
@pytest.mark.parametrize("value", ["o\x00x", "o\nx", "\x7f"])
def test_ids_with_control_characters_are_422(
    client: TestClient[Any], field: str, value: str
) -> None:
    response = client.post("/v1/orders", json={**ORDER, field: value}, headers=PLATFORM)
    assert_problem(response, 422, field=field)


def test_a_nul_in_free_text_is_422(client: TestClient[Any], case: dict[str, Any]) -> None:
    response = client.post(f"/v1/disputes/{case['id']}/seller-contacts",
                           json={"message": "where\x00is it", "channel": "email"}, headers=BUYER)
    assert_problem(response, 422, field="message")


def test_the_same_order_with_other_details_is_409(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    other = {**ORDER, "buyer_id": "b-9", "amount": {"amount": "26.00", "currency": "USD"}}
    body = assert_problem(client.post("/v1/orders", json=other, headers=PLATFORM), 409)
    assert "buyer_id" in body["detail"] and "amount" in body["detail"]
    # the same instant written with another offset is the same order
    same = {**ORDER, "placed_at": "2026-11-20T18:00:00+00:00"}
    again = client.post("/v1/orders", json=same, headers=PLATFORM)
    assert again.status_code == 200 and again.json()["id"] == case["id"]


@pytest.mark.parametrize(
    "query",
    ["seller_id=%00", "buyer_id=b%00", "order_id=%01", "region=U%00S", "status=%00"],
)
def test_a_filter_with_a_control_character_is_400(
    client: TestClient[Any], case: dict[str, Any], query: str
) -> None:
    assert_problem(client.get(f"/v1/disputes?{query}", headers=MODERATOR), 400)


def test_a_scorecard_for_a_seller_id_with_a_nul_is_400(client: TestClient[Any]) -> None:
    assert_problem(client.get("/v1/sellers/s%001/scorecard", headers=MODERATOR), 400,
                   field="seller_id")


@pytest.mark.parametrize(
    "raw", [b'[99999999999999999999,"zz"]', b'["\\u0000","x"]', b'{"\\u0000":1}', b"[-1e999]"]
)
@pytest.mark.parametrize("path", ["/v1/disputes", "/v1/moderation/queue"])
def test_a_crafted_cursor_is_400(
    client: TestClient[Any], case: dict[str, Any], raw: bytes, path: str
) -> None:
    response = client.get(f"{path}?cursor={_cursor(raw)}", headers=MODERATOR)
    assert response.status_code in (400, 200), response.text  # -1e999 is -inf: harmless
    if raw != b"[-1e999]":
        assert_problem(response, 400, field="cursor")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nope", 404), ("DELETE", "/v1/disputes/{id}", 405),
     ("GET", "/v1/disputes/not-a-uuid", 404)],
)
def test_requests_no_route_answers_are_logged_with_their_request_id(
    client: TestClient[Any], case: dict[str, Any], method: str, path: str, status: int
) -> None:
    with capture_logs() as logs:
        response = client.request(method, path.format(id=case["id"]), headers=MODERATOR)
    body = assert_problem(response, status)
    assert body["request_id"] == response.headers["x-request-id"]
    lines = [line for line in logs if line["event"] == "http.request"]
    assert len(lines) == 1, logs
    assert (lines[0]["status"], lines[0]["method"]) == (status, method)
    assert lines[0]["request_id"] == body["request_id"]
