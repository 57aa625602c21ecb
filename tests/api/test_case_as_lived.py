"""The case as each party lives it, over HTTP: GET .../messages, a contact that expects
no reply, a broken promise, POST .../extensions, and a close that waits for the money."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from infrastructure.clock import ManualClock
from tests.api.conftest import (
    ANALYST,
    BUYER,
    MODERATOR,
    OTHER_BUYER,
    OTHER_SELLER,
    PLATFORM,
    SELLER,
    assert_problem,
)

USD = {"amount": "25.00", "currency": "USD"}


def post(client: TestClient[Any], case: dict[str, Any], suffix: str, body: Any,
         headers: dict[str, str]) -> Any:
    return client.post(f"/v1/disputes/{case['id']}/{suffix}", json=body, headers=headers)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def messages(client: TestClient[Any], case: dict[str, Any], headers: dict[str, str],
             query: str = "") -> Any:
    return client.get(f"/v1/disputes/{case['id']}/messages{query}", headers=headers)


def talk(client: TestClient[Any], case: dict[str, Any]) -> None:
    ok(post(client, case, "seller-contacts", {"message": "Where is it?", "channel": "chat"},
            BUYER))
    ok(post(client, case, "notes", {"text": "seller warned by phone"}, MODERATOR))
    ok(post(client, case, "seller-responses",
            {"message": "Monday", "promised_ship_date": "2026-11-23"}, SELLER))
    ok(post(client, case, "seller-contacts",
            {"message": "Thanks!", "channel": "chat", "expects_reply": False}, BUYER))


# ---- GET /v1/disputes/{id}/messages ----------------------------------------------------


def test_the_buyer_seller_and_moderators_read_the_conversation_oldest_first(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    talk(client, case)
    for headers in (BUYER, SELLER, MODERATOR):
        page = ok(messages(client, case, headers))
        assert page["dispute_id"] == case["id"] and page["next_cursor"] is None
        assert page["data"] == [
            {"sequence": 2, "author_role": "buyer", "author_id": "b-1", "text": "Where is it?",
             "sent_at": "2026-11-20T19:00:00Z", "expects_reply": True,
             "promised_ship_date": None},
            {"sequence": 4, "author_role": "seller", "author_id": "s-1", "text": "Monday",
             "sent_at": "2026-11-20T19:00:00Z", "expects_reply": False,
             "promised_ship_date": "2026-11-23"},
            {"sequence": 5, "author_role": "buyer", "author_id": "b-1", "text": "Thanks!",
             "sent_at": "2026-11-20T19:00:00Z", "expects_reply": False,
             "promised_ship_date": None},
        ]
        assert "seller warned" not in str(page)


def test_another_partys_conversation_is_404_and_other_roles_403(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    talk(client, case)
    for headers in (OTHER_BUYER, OTHER_SELLER):
        problem = assert_problem(messages(client, case, headers), 404)
        assert problem["detail"] == f"no dispute {case['id']}"
    for headers in (ANALYST, PLATFORM):
        assert_problem(messages(client, case, headers), 403)
    assert_problem(client.get(f"/v1/disputes/{case['id']}/messages"), 401)
    missing = "00000000-0000-0000-0000-000000000007"
    assert_problem(client.get(f"/v1/disputes/{missing}/messages", headers=MODERATOR), 404)


def test_the_conversation_pages_and_answers_304_until_a_new_message(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    talk(client, case)
    first = ok(messages(client, case, BUYER, "?limit=2"))
    assert [m["sequence"] for m in first["data"]] == [2, 4]
    rest = ok(messages(client, case, BUYER, f"?limit=2&cursor={first['next_cursor']}"))
    assert [m["sequence"] for m in rest["data"]] == [5] and rest["next_cursor"] is None
    assert_problem(messages(client, case, BUYER, "?cursor=%00"), 400)
    tag = messages(client, case, BUYER).headers["etag"]
    assert tag == '"5"'
    unchanged = client.get(f"/v1/disputes/{case['id']}/messages",
                           headers={**BUYER, "If-None-Match": tag})
    assert unchanged.status_code == 304
    ok(post(client, case, "notes", {"text": "no message"}, MODERATOR))
    assert client.get(f"/v1/disputes/{case['id']}/messages",
                      headers={**BUYER, "If-None-Match": tag}).status_code == 304
    ok(post(client, case, "seller-contacts", {"message": "Any news?", "channel": "chat"}, BUYER))
    assert client.get(f"/v1/disputes/{case['id']}/messages",
                      headers={**BUYER, "If-None-Match": tag}).status_code == 200


# ---- a contact that expects no reply ------------------------------------------------------


def test_a_thank_you_opens_no_response_window(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    thanked = ok(post(client, case, "seller-contacts",
                      {"message": "Thanks!", "channel": "chat", "expects_reply": False}, BUYER))
    assert thanked["status"] == "awaiting_shipment"
    assert thanked["deadlines"]["seller_response_due"] is None
    asked = ok(post(client, case, "seller-contacts", {"message": "When?", "channel": "chat"},
                    BUYER))
    assert asked["status"] == "awaiting_seller"
    assert asked["deadlines"]["seller_response_due"] == "2026-11-25T07:59:59Z"
    wrong = post(client, case, "seller-contacts",
                 {"message": "x", "channel": "chat", "expects_reply": "false"}, BUYER)
    assert_problem(wrong, 400)


def test_a_promise_that_passes_unshipped_is_broken_and_opens_the_way_to_the_platform(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    ok(post(client, case, "seller-contacts", {"message": "When?", "channel": "chat"}, BUYER))
    past = post(client, case, "seller-responses",
                {"message": "x", "promised_ship_date": "2026-11-19"}, SELLER)
    assert_problem(past, 422, field="promised_ship_date")
    view = ok(post(client, case, "seller-responses",
                   {"message": "Today", "promised_ship_date": "2026-11-20"}, SELLER))
    assert view["promise"]["due_at"] == "2026-11-21T07:59:59Z"
    assert view["promise"]["due_at_local"] == "2026-11-20T23:59:59-08:00"
    early = post(client, case, "interventions", {"reason": "not_shipped", "statement": "x"},
                 BUYER)
    assert_problem(early, 409)
    client.get(f"/v1/disputes?min_position={view['position']}", headers=MODERATOR)
    manual_clock.set(datetime.fromisoformat("2026-11-21T08:10:00+00:00"))
    swept = ok(client.post("/v1/deadlines/sweep", json={}, headers=PLATFORM))
    assert [(r["type"], r["occurred_at"]) for r in swept["recorded"]] == [
        ("PromiseBroken", "2026-11-21T07:59:59Z")
    ]
    seen = ok(client.get(f"/v1/disputes/{case['id']}", headers=BUYER))
    assert seen["promise"]["broken"] is True and seen["promise"]["promises_broken"] == 1
    assert seen["timeline"][-1]["type"] == "PromiseBroken"
    assert "request_intervention" in seen["next_actions"]
    feed = ok(client.get("/v1/events?types=dispute.promise_broken", headers=BUYER))
    [event] = feed["data"]
    assert event["data"] == {"occurred_at": "2026-11-21T07:59:59Z",
                             "promised_ship_date": "2026-11-20",
                             "policy_version": seen["policy_version"]}
    asked = ok(post(client, case, "interventions",
                    {"reason": "not_shipped", "statement": "it promised Friday"}, BUYER))
    assert asked["status"] == "under_review"


# ---- POST /v1/disputes/{id}/extensions -------------------------------------------------


def test_a_moderator_extends_ship_by_and_both_parties_see_the_new_dates(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    body = {"new_ship_by": "2026-12-04T17:00:00-08:00", "reason": "carrier strike"}
    extended = ok(post(client, case, "extensions", body, MODERATOR))
    assert extended["ship_by"] == "2026-12-05T01:00:00Z"
    assert extended["auto_cancel_at"] == "2026-12-12T07:59:59Z"  # 7 business days on
    assert extended["timeline"][-1]["type"] == "ShipByExtended"
    for headers in (BUYER, SELLER):
        view = ok(client.get(f"/v1/disputes/{case['id']}", headers=headers))
        assert (view["ship_by"], view["auto_cancel_at"]) == (
            "2026-12-05T01:00:00Z", "2026-12-12T07:59:59Z"
        )
        assert view["deadlines"]["auto_cancel_at"] == "2026-12-12T07:59:59Z"
    history = ok(client.get(f"/v1/disputes/{case['id']}/history", headers=MODERATOR))
    row = history["data"][-1]
    assert row["type"] == "ShipByExtended" and row["data"]["business_days"] == 7
    assert row["data"]["previous_ship_by"] == "2026-11-25T07:59:59Z"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"new_ship_by": "2026-11-24T23:59:59-08:00", "reason": "x"}, 422, "new_ship_by"),
        ({"new_ship_by": "2026-11-22T12:00:00-08:00", "reason": "x"}, 422, "new_ship_by"),
        ({"new_ship_by": "2027-11-22T12:00:00-08:00", "reason": "x"}, 422, "new_ship_by"),
        ({"new_ship_by": "2026-12-04T12:00:00", "reason": "x"}, 422, "new_ship_by"),
        ({"new_ship_by": "2026-12-04T12:00:00-08:00", "reason": " "}, 422, "reason"),
        ({"new_ship_by": "2026-12-04T12:00:00-08:00"}, 400, None),
        ({"new_ship_by": "soon", "reason": "x"}, 400, None),
        ({"new_ship_by": "2026-12-04T12:00:00-08:00", "reason": "x", "extra": 1}, 400, None),
    ],
    ids=["not-later", "earlier", "too-far", "naive", "no-reason", "missing", "not-a-time",
         "unknown-field"],
)
def test_a_bad_extension_is_refused_with_a_reason(
    client: TestClient[Any], case: dict[str, Any], body: dict[str, Any], status: int,
    field: str | None,
) -> None:
    problem = assert_problem(post(client, case, "extensions", body, MODERATOR), status,
                             field=field)
    if status == 422 and field == "new_ship_by" and "later" in problem["detail"]:
        assert "2026-11-25T07:59:59" in problem["detail"] or "2026-11-24T23:59:59" in (
            problem["detail"]
        )


def test_only_moderators_extend_and_only_an_unshipped_order(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    body = {"new_ship_by": "2026-12-04T12:00:00-08:00", "reason": "x"}
    for headers in (BUYER, SELLER, PLATFORM, ANALYST):
        assert_problem(post(client, case, "extensions", body, headers), 403)
    ok(client.post("/v1/orders/o-1/shipments", headers=SELLER, json={
        "carrier": "UPS", "tracking_number": "1Z", "shipped_at": "2026-11-20T11:00:00-08:00"}))
    shipped = assert_problem(post(client, case, "extensions", body, MODERATOR), 409)
    assert "already shipped" in shipped["detail"]


# ---- POST /v1/disputes/{id}/close ----------------------------------------------------------


def test_a_partial_refund_ruled_then_close_is_refused_until_it_is_paid(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    ok(post(client, case, "seller-contacts", {"message": "Where?", "channel": "chat"}, BUYER))
    ok(post(client, case, "seller-responses", {"message": "Soon"}, SELLER))
    manual_clock.set(datetime.fromisoformat("2026-11-25T17:00:00+00:00"))  # ship_by missed
    ok(post(client, case, "interventions", {"reason": "not_shipped", "statement": "late"},
            BUYER))
    ruled = ok(post(client, case, "rulings", {
        "outcome": "refund_partial", "reason_code": "not_shipped_in_time",
        "refund_amount": {"amount": "10.00", "currency": "USD"}}, MODERATOR))
    [due] = ruled["refund"]["dues"]
    for body in ({"reason": "done"}, {"reason": "done", "cancel_order": True}):
        refused = assert_problem(post(client, case, "close", body, MODERATOR), 409)
        assert f"refund due {due['due_id']} still owes 10.00 USD" in refused["detail"]
    assert "close" not in ok(client.get(f"/v1/disputes/{case['id']}",
                                        headers=MODERATOR))["next_actions"]
    ok(post(client, case, "refunds", {"amount": {"amount": "10.00", "currency": "USD"},
                                      "due_id": due["due_id"]}, PLATFORM))
    running = assert_problem(post(client, case, "close", {"reason": "done"}, MODERATOR), 409)
    assert "neither shipped nor was cancelled" in running["detail"]
    assert running["type"].endswith("/order-still-open")
    closed = ok(post(client, case, "close", {"reason": "done", "cancel_order": True}, PLATFORM))
    assert closed["status"] == "closed"
    rest = closed["refund"]["dues"][-1]
    assert (rest["amount"], rest["reason"], rest["status"]) == (
        {"amount": "15.00", "currency": "USD"}, "order_cancelled", "open"
    )
    assert closed["next_actions"] == ["issue_refund"]  # the platform still pays it
    paid = ok(post(client, case, "refunds", {"amount": {"amount": "15.00", "currency": "USD"}},
                   PLATFORM))
    assert paid["status"] == "closed" and paid["refund"]["status"] == "paid"
    feed = [e["type"] for e in ok(client.get("/v1/events", headers=PLATFORM))["data"]]
    assert feed[-3:] == ["dispute.refund_due", "dispute.closed", "dispute.refund_paid"]


def test_close_names_goods_on_their_way_and_cancel_order_only_fits_a_running_order(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    ok(client.post("/v1/orders/o-1/shipments", headers=PLATFORM, json={
        "carrier": "UPS", "tracking_number": "1Z42", "shipped_at": "2026-11-20T10:30:00-08:00"}))
    in_transit = assert_problem(post(client, case, "close", {"reason": "x"}, PLATFORM), 409)
    assert "(UPS 1Z42) has not been delivered" in in_transit["detail"]
    assert in_transit["type"].endswith("/case-not-settled")
    ok(client.post("/v1/orders/o-1/deliveries", headers=PLATFORM,
                   json={"delivered_at": "2026-11-20T10:50:00-08:00"}))
    shipped = post(client, case, "close", {"reason": "x", "cancel_order": True}, MODERATOR)
    assert "can no longer be cancelled" in assert_problem(shipped, 409)["detail"]
    assert_problem(post(client, case, "close", {"reason": "x", "cancel_order": "yes"},
                        MODERATOR), 400)
    closed = ok(post(client, case, "close", {"reason": "x"}, MODERATOR))
    assert closed["status"] == "closed" and closed["refund"] is None


def test_the_new_operations_are_documented(client: TestClient[Any]) -> None:
    paths = ok(client.get("/schema/openapi.json"))["paths"]
    assert paths["/v1/disputes/{dispute_id}/messages"]["get"]["operationId"] == "getMessages"
    extend = paths["/v1/disputes/{dispute_id}/extensions"]["post"]
    assert extend["operationId"] == "extendShipBy"
    assert {"409", "412", "422"} <= set(extend["responses"])
