"""What a payload says: honest statuses, refusals as sentences, one name for the next
due event, and one style for every instant (RFC 3339 in UTC with ``Z``; a deadline's
local time only in its ``*_local`` companion)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from litestar.testing import TestClient

from infrastructure.clock import ManualClock
from tests.api.conftest import (
    ANALYST,
    BUYER,
    MODERATOR,
    PLATFORM,
    SELLER,
    assert_problem,
)

UTC_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LOCAL_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT")
AFTER_SHIP_BY = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)  # Wednesday 09:00 in Los Angeles


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def instants(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (key, text) in ``value`` whose text looks like a date-time."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from instants(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from instants(item, key)
    elif isinstance(value, str) and LOOKS_LIKE_TIME.match(value):
        yield key, value


def assert_one_time_style(payload: Any) -> int:
    found = list(instants(payload))
    for key, text in found:
        if key.endswith("_local"):
            assert LOCAL_INSTANT.match(text), (key, text)
        else:
            assert UTC_INSTANT.match(text), (key, text)
    return len(found)


def ruled_case(client: TestClient[Any], case: dict[str, Any], clock: ManualClock) -> str:
    """The case of o-1 past its deadline, the seller answered, the platform ruled a full
    refund (not paid yet). Returns its URL; the read models include the ruling."""
    url = f"/v1/disputes/{case['id']}"
    ok(client.post(f"{url}/seller-contacts", json={"message": "Where?", "channel": "chat"},
                   headers=BUYER))
    ok(client.post(f"{url}/seller-responses", json={"message": "Soon"}, headers=SELLER))
    clock.set(AFTER_SHIP_BY)
    ok(client.post(f"{url}/interventions", json={"reason": "not_shipped", "statement": "late"},
                   headers=BUYER))
    ruling = {"outcome": "refund_full", "reason_code": "not_shipped_in_time"}
    ruled = ok(client.post(f"{url}/rulings", json=ruling, headers=MODERATOR))
    ok(client.get("/v1/metrics", params={"min_position": ruled["position"]}, headers=MODERATOR))
    return url


# ---- statuses -----------------------------------------------------------------------


def test_a_refund_approved_by_a_ruling_is_refund_approved_in_the_case_lists_and_metrics(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    url = ruled_case(client, case, manual_clock)
    assert ok(client.get(url, headers=BUYER))["status"] == "refund_approved"
    for status, found in (("refund_approved", [case["id"]]), ("refund_requested", [])):
        listed = ok(client.get("/v1/disputes", params={"status": status}, headers=MODERATOR))
        assert [row["id"] for row in listed["data"]] == found
    counts = ok(client.get("/v1/metrics", headers=ANALYST))["counts_by_status"]
    assert counts["refund_approved"] == 1 and counts["refund_requested"] == 0
    assert counts["partially_refunded"] == counts["under_appeal"] == 0


def test_a_partial_refund_then_the_rest(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    url = f"/v1/disputes/{case['id']}"
    ok(client.post("/v1/orders/o-1/shipments", headers=SELLER, json={
        "carrier": "UPS", "tracking_number": "1Z", "shipped_at": "2026-11-20T18:30:00Z"}))
    ten = {"amount": "10.00", "currency": "USD"}
    ok(client.post(f"{url}/refund-requests", json={"reason": "scratched", "amount": ten},
                   headers=BUYER))
    assert ok(client.post(f"{url}/refund-decisions", json={"approve": True},
                          headers=SELLER))["status"] == "refund_approved"
    paid = ok(client.post(f"{url}/refunds", json={"amount": ten}, headers=PLATFORM))
    assert paid["status"] == "partially_refunded"
    assert "request_refund" in ok(client.get(url, headers=BUYER))["next_actions"]
    rest = ok(client.post(f"{url}/refund-requests", json={"reason": "the rest"}, headers=BUYER))
    assert rest["status"] == "refund_requested"
    assert rest["refund"]["amount"] == {"amount": "15.00", "currency": "USD"}


# ---- who may: the access table, in sentences ----------------------------------------------


def test_analysts_read_the_metrics_and_buyers_are_told_why_not(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    assert ok(client.get("/v1/metrics", headers=ANALYST))["disputes"] >= 0
    refused = assert_problem(client.get("/v1/metrics", headers=BUYER), 403)
    assert refused["detail"] == (
        "a buyer may not read the marketplace metrics; only analysts and moderators may"
    )


def test_every_refusal_is_a_sentence(client: TestClient[Any], case: dict[str, Any]) -> None:
    url = f"/v1/disputes/{case['id']}"
    history = assert_problem(client.get(f"{url}/history", headers=BUYER), 403)
    assert history["detail"] == "a buyer may not read the case history; only moderators may"
    analyst = assert_problem(client.post("/v1/orders", json={}, headers=ANALYST), 403)
    assert analyst["detail"] == "an analyst may not place orders; only the platform may"
    queue = assert_problem(client.get("/v1/moderation/queue", headers=SELLER), 403)
    assert queue["detail"] == "a seller may not read the moderation queue; only moderators may"


# ---- next_due: one name --------------------------------------------------------------------


def test_next_due_is_type_and_at_in_the_case_and_in_lists(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    in_case = case["next_due"]
    assert set(in_case) == {"type", "at"}
    listed = ok(client.get("/v1/disputes", params={"min_position": case["position"]},
                           headers=MODERATOR))
    [row] = listed["data"]
    assert row["next_due"] == in_case


# ---- times: one style -------------------------------------------------------------------------


def test_every_instant_is_utc_with_z_and_local_times_are_only_companions(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    url = ruled_case(client, case, manual_clock)
    view = ok(client.get(url, headers=MODERATOR))
    assert view["ship_by"] == "2026-11-25T07:59:59Z"
    assert view["ship_by_local"] == "2026-11-24T23:59:59-08:00"
    assert view["auto_cancel_at_local"] == "2026-12-02T23:59:59-08:00"
    payloads = [
        case,
        view,
        ok(client.get(f"{url}/history", headers=MODERATOR)),
        ok(client.get(url, params={"as_of": "2026-11-20T10:30:00-08:00"}, headers=MODERATOR)),
        ok(client.get("/v1/disputes", headers=MODERATOR)),
        ok(client.get("/v1/moderation/queue", headers=MODERATOR)),
        ok(client.post("/v1/deadlines/sweep", json={"now": "2026-11-25T09:00:00-08:00"},
                       headers=PLATFORM)),
        ok(client.get("/v1/events", headers=PLATFORM)),
    ]
    assert sum(assert_one_time_style(payload) for payload in payloads) > 40


def test_a_shipment_sent_with_an_offset_comes_back_in_utc(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    shipped = ok(client.post("/v1/orders/o-1/shipments", headers=SELLER, json={
        "carrier": "UPS", "tracking_number": "1Z", "shipped_at": "2026-11-20T10:30:00-08:00"}))
    assert shipped["shipment"]["shipped_at"] == "2026-11-20T18:30:00Z"
    assert_one_time_style(shipped)
