"""GET /v1/events: the public event feed, through the HTTP API, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from application.event_feed import EventFeed
from application.public_events import CONTRACT_TYPES, PUBLIC_TYPES, public_type_of
from domain.dispute import Dispute
from domain.dispute.events import EVENT_CLASSES
from infrastructure.clock import ManualClock
from tests.api.conftest import (
    ANALYST,
    BUYER,
    MODERATOR,
    ORDER,
    OTHER_BUYER,
    PLATFORM,
    SELLER,
    assert_problem,
)

SECRET_NOTE = "internal: the seller's account is under review"


def _events(client: TestClient[Any], headers: dict[str, str], **query: Any) -> dict[str, Any]:
    response = client.get("/v1/events", params=query, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _all(client: TestClient[Any], headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    """Every page, following next_cursor."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        body = _events(client, headers, **query, **({"after": after} if after else {}))
        found.extend(body["data"])
        if body["next_cursor"] is None:
            return found
        after = body["next_cursor"]


def _place(client: TestClient[Any], order_id: str, buyer: str) -> str:
    response = client.post(
        "/v1/orders", json={**ORDER, "order_id": order_id, "buyer_id": buyer}, headers=PLATFORM
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _story(client: TestClient[Any], case: dict[str, Any]) -> None:
    """On case o-1: a note, a contact, a shipment, another note."""
    dispute = case["id"]
    note = client.post(f"/v1/disputes/{dispute}/notes", json={"text": SECRET_NOTE},
                       headers=MODERATOR)
    assert note.status_code == 200, note.text
    contact = client.post(f"/v1/disputes/{dispute}/seller-contacts",
                          json={"message": "where is it?", "channel": "email"}, headers=BUYER)
    assert contact.status_code == 200, contact.text
    shipped = client.post(
        f"/v1/orders/{ORDER['order_id']}/shipments",
        json={"carrier": "UPS", "tracking_number": "1Z", "shipped_at": "2026-11-20T18:30:00Z"},
        headers=PLATFORM,
    )
    assert shipped.status_code == 200, shipped.text
    note = client.post(f"/v1/disputes/{dispute}/notes", json={"text": SECRET_NOTE + " 2"},
                       headers=MODERATOR)
    assert note.status_code == 200, note.text


def test_the_catalogue_names_only_contract_types_and_never_a_note() -> None:
    assert public_type_of(Dispute.NoteAdded.TOPIC) is None
    assert set(PUBLIC_TYPES.values()) <= CONTRACT_TYPES
    topics = {cls.TOPIC for cls in EVENT_CLASSES}
    assert set(PUBLIC_TYPES) <= topics
    assert public_type_of(Dispute.RefundAutoApproved.TOPIC) == "dispute.refund_approved"
    assert public_type_of(Dispute.InterventionResolved.TOPIC) == "dispute.ruled"


def test_the_feed_gives_public_events_in_log_order(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    _story(client, case)
    events = _all(client, PLATFORM)
    assert [e["type"] for e in events] == [
        "dispute.created", "dispute.seller_contacted", "dispute.shipped",
    ]
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    created, contacted, shipped = events
    for event in events:
        assert event["dispute_id"] == case["id"]
        assert (event["order_id"], event["buyer_id"], event["seller_id"]) == ("o-1", "b-1", "s-1")
        assert event["created_at"].endswith("Z")
        assert "occurred_at" in event["data"]
    assert created["data"]["amount"] == {"amount": "25.00", "currency": "USD"}
    assert contacted["data"]["channel"] == "email"
    assert shipped["data"]["carrier"] == "UPS"
    assert shipped["data"]["shipped_at"] == "2026-11-20T18:30:00Z"
    assert SECRET_NOTE not in str(events)
    # The ids are stable: asking again gives the same events.
    assert _all(client, PLATFORM) == events


def test_cursor_resumes_without_gap_or_repeat(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    _story(client, case)
    for n in range(4):
        _place(client, f"o-extra-{n}", "b-1")
    everything = _all(client, PLATFORM, limit=500)
    assert len(everything) == 7
    paged: list[dict[str, Any]] = []
    body = _events(client, PLATFORM, limit=2)
    paged.extend(body["data"])
    while body["next_cursor"] is not None:
        assert len(body["data"]) == 2
        body = _events(client, PLATFORM, limit=2, after=body["next_cursor"])
        paged.extend(body["data"])
    assert paged == everything
    # At the head: null next_cursor; polling with resume_cursor gives only newer events.
    resume = body["resume_cursor"]
    assert _events(client, PLATFORM, after=resume)["data"] == []
    _place(client, "o-late", "b-1")
    newer = _events(client, PLATFORM, after=resume)
    assert [e["order_id"] for e in newer["data"]] == ["o-late"]
    assert newer["next_cursor"] is None
    # An event's id works as a position too.
    after_second = _events(client, PLATFORM, after=everything[1]["id"])["data"]
    assert after_second[: len(everything) - 2] == everything[2:]


def test_a_bounded_scan_continues_where_it_stopped(desk: Any, client: TestClient[Any],
                                                   case: dict[str, Any]) -> None:
    _story(client, case)
    for n in range(3):
        _place(client, f"o-other-{n}", "b-2")
    feed = EventFeed(desk)
    from domain.dispute import Actor

    buyer = Actor("buyer", "b-1")
    seen: list[str] = []
    position, at_head, pages = 0, False, 0
    while not at_head:
        page = feed.feed(buyer, position, limit=50, max_scan=1)
        seen.extend(e["type"] for e in page.events)
        assert page.position >= position
        position, at_head, pages = page.position, page.at_head, pages + 1
    assert seen == ["dispute.created", "dispute.seller_contacted", "dispute.shipped"]
    assert pages > 3


def test_types_filter(client: TestClient[Any], case: dict[str, Any]) -> None:
    _story(client, case)
    only = _all(client, PLATFORM, types="dispute.shipped,dispute.ruled")
    assert [e["type"] for e in only] == ["dispute.shipped"]


def test_unknown_types_are_400_naming_them(client: TestClient[Any]) -> None:
    response = client.get("/v1/events", params={"types": "dispute.shipped,dispute.exploded"},
                          headers=PLATFORM)
    body = assert_problem(response, 400, field="types")
    assert "dispute.exploded" in body["detail"]
    assert "dispute.shipped" not in body["detail"]


def test_a_bad_cursor_is_400(client: TestClient[Any]) -> None:
    assert_problem(client.get("/v1/events", params={"after": "bm90LWEtY3Vyc29y"},
                              headers=PLATFORM), 400)
    assert_problem(client.get("/v1/events", params={"limit": 501}, headers=PLATFORM), 400)


def test_buyers_and_sellers_see_only_their_own_disputes(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    _story(client, case)
    other = _place(client, "o-2", "b-2")
    mine = _all(client, BUYER)
    assert {e["dispute_id"] for e in mine} == {case["id"]}
    assert [e["type"] for e in mine] == [
        "dispute.created", "dispute.seller_contacted", "dispute.shipped",
    ]
    theirs = _all(client, OTHER_BUYER)
    assert [(e["dispute_id"], e["type"]) for e in theirs] == [(other, "dispute.created")]
    assert len(_all(client, SELLER)) == 4  # s-1 sells both orders
    assert SECRET_NOTE not in str(mine) + str(theirs)


@pytest.mark.parametrize("headers", [MODERATOR, ANALYST], ids=["moderator", "analyst"])
def test_staff_other_than_the_platform_may_not_read_the_feed(
    client: TestClient[Any], headers: dict[str, str]
) -> None:
    assert_problem(client.get("/v1/events", headers=headers), 403)


def test_no_token_is_401(client: TestClient[Any]) -> None:
    assert_problem(client.get("/v1/events"), 401)


def test_streams_refuse_before_streaming(client: TestClient[Any], case: dict[str, Any]) -> None:
    path = f"/v1/disputes/{case['id']}/events/stream"
    assert_problem(client.get(path, headers=OTHER_BUYER), 404)
    assert_problem(client.get(path, headers=PLATFORM), 403)
    missing = "/v1/disputes/00000000-0000-4000-8000-000000000000/events/stream"
    assert_problem(client.get(missing, headers=MODERATOR), 404)
    assert_problem(client.get("/v1/moderation/queue/stream", headers=BUYER), 403)
    assert_problem(client.get(path, headers={**BUYER, "Last-Event-ID": "x"}), 400)


def test_an_auto_cancel_publishes_the_refund_due_and_its_payment(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    manual_clock.set(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    paid = client.post(f"/v1/disputes/{case['id']}/refunds",
                       json={"amount": {"amount": "25.00", "currency": "USD"}}, headers=PLATFORM)
    assert paid.status_code == 200, paid.text
    assert paid.json()["refund"]["dues"][0]["status"] == "paid"
    events = _all(client, PLATFORM, types="dispute.auto_cancelled,dispute.refund_due,"
                  "dispute.refund_paid")
    assert [e["type"] for e in events] == [
        "dispute.auto_cancelled", "dispute.refund_due", "dispute.refund_paid",
    ]
    _, due, payment = events
    due_id = f"{case['id']}:1"
    assert {k: v for k, v in due["data"].items() if k != "occurred_at"} == {
        "amount": {"amount": "25.00", "currency": "USD"},
        "payee": "buyer",
        "reason": "auto_cancelled",
        "due_id": due_id,
    }
    assert payment["data"]["due_id"] == due_id
    assert payment["data"]["amount"] == {"amount": "25.00", "currency": "USD"}
    again = client.post(f"/v1/disputes/{case['id']}/refunds",
                        json={"amount": {"amount": "25.00", "currency": "USD"},
                              "due_id": due_id}, headers=PLATFORM)
    assert_problem(again, 409)
