"""GET /v1/disputes/{id} (and ?as_of), /history, and every command on a dispute."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from application.disputes import COMMAND_ROLES
from domain.dispute import Actor
from infrastructure.clock import ManualClock
from tests.api.conftest import (
    ANALYST,
    BUYER,
    MODERATOR,
    OTHER_BUYER,
    OTHER_SELLER,
    PLATFORM,
    ROLE_HEADERS,
    SELLER,
    assert_problem,
)

ROLES = ("buyer", "seller", "moderator", "analyst", "platform")
USD = {"amount": "25.00", "currency": "USD"}
AFTER_SHIP_BY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

#: (path suffix, application command, a valid body)
COMMANDS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("seller-contacts", "contact_seller", {"message": "Where is it?", "channel": "chat"}),
    ("seller-responses", "respond", {"message": "Soon", "promised_ship_date": "2026-11-23"}),
    ("evidence", "add_evidence", {"kind": "chat_log", "description": "the chat"}),
    ("interventions", "request_intervention", {"reason": "not_shipped", "statement": "late"}),
    ("rulings", "rule", {"outcome": "refund_full", "reason_code": "not_shipped_in_time"}),
    ("refund-requests", "request_refund", {"reason": "late"}),
    ("refund-decisions", "decide_refund", {"approve": True}),
    ("refunds", "issue_refund", {"amount": USD}),
    ("returns", "return_goods", {"carrier": "USPS", "tracking_number": "9400"}),
    ("return-receipts", "confirm_return_receipt", None),
    ("reviews", "review", {"rating": 4, "comment": "ok"}),
    ("notes", "add_note", {"text": "internal"}),
    ("close", "close", {"reason": "done"}),
]


def post(
    client: TestClient[Any], case: dict[str, Any], suffix: str, body: Any, headers: dict[str, str]
) -> Any:
    return client.post(f"/v1/disputes/{case['id']}/{suffix}", json=body, headers=headers)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{response.json()["version"]}"'
    body: dict[str, Any] = response.json()
    return body


# ---- reading the case ----------------------------------------------------------


def test_buyer_seller_and_moderator_read_the_case(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    for headers in (BUYER, SELLER, MODERATOR):
        response = client.get(f"/v1/disputes/{case['id']}", headers=headers)
        view = ok(response)
        assert view["id"] == case["id"]
        assert response.headers["vary"] == "Authorization"
    assert ok(client.get(f"/v1/disputes/{case['id']}", headers=BUYER))["next_actions"] == [
        "contact_seller",
        "request_refund",
        "add_evidence",
        "review",
    ]


def test_analysts_and_the_platform_may_not_read_cases(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    for headers in (ANALYST, PLATFORM):
        assert_problem(client.get(f"/v1/disputes/{case['id']}", headers=headers), 403)
    # The platform's own commands still answer with the case.
    shipped = client.post("/v1/orders/o-1/shipments", headers=PLATFORM, json={
        "carrier": "UPS", "tracking_number": "1Z", "shipped_at": "2026-11-20T11:00:00-08:00"})
    assert shipped.status_code == 200 and shipped.json()["id"] == case["id"]


def test_someone_elses_case_is_404_exactly_like_a_missing_one(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    missing_id = uuid.uuid4()
    for headers in (OTHER_BUYER, OTHER_SELLER):
        other = assert_problem(client.get(f"/v1/disputes/{case['id']}", headers=headers), 404)
        missing = assert_problem(client.get(f"/v1/disputes/{missing_id}", headers=headers), 404)
        assert other.keys() == missing.keys()
        for key in ("type", "title", "status"):
            assert other[key] == missing[key]
        assert other["detail"].replace(case["id"], "ID") == missing["detail"].replace(
            str(missing_id), "ID"
        )


def test_a_malformed_id_is_not_found(client: TestClient[Any]) -> None:
    assert_problem(client.get("/v1/disputes/not-a-uuid", headers=BUYER), 404)


def test_if_none_match_gives_304_until_the_case_changes(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    url = f"/v1/disputes/{case['id']}"
    first = client.get(url, headers=BUYER)
    assert first.headers["etag"] == '"1"'
    for tag in ('"1"', 'W/"1"', '"7", "1"', "*"):
        response = client.get(url, headers={**BUYER, "If-None-Match": tag})
        assert response.status_code == 304, tag
        assert response.content == b""
        assert response.headers["etag"] == '"1"'
    assert client.get(url, headers={**BUYER, "If-None-Match": '"2"'}).status_code == 200
    ok(post(client, case, "seller-contacts", COMMANDS[0][2], BUYER))
    changed = client.get(url, headers={**BUYER, "If-None-Match": '"1"'})
    assert changed.status_code == 200
    assert changed.headers["etag"] == '"2"'


# ---- as_of ----------------------------------------------------------------------


def test_moderators_see_the_case_as_it_was(client: TestClient[Any], case: dict[str, Any]) -> None:
    ok(post(client, case, "seller-contacts", COMMANDS[0][2], BUYER))
    url = f"/v1/disputes/{case['id']}"
    by_version = ok(client.get(url, params={"as_of": "1"}, headers=MODERATOR))
    assert by_version["version"] == 1
    assert by_version["as_of"] == {"version": 1, "at": None}
    assert by_version["status"] == "awaiting_shipment"
    by_time = ok(client.get(url, params={"as_of": "2026-11-20T18:30:00+00:00"}, headers=MODERATOR))
    assert by_time["version"] == 1
    assert by_time["as_of"]["at"] == "2026-11-20T18:30:00Z"
    # A '+' left unencoded in the query arrives as a space; it still means the offset.
    raw = client.get(f"{url}?as_of=2026-11-20T19:30:00+00:00", headers=MODERATOR)
    assert ok(raw)["version"] == 2


@pytest.mark.parametrize("role", ["buyer", "seller", "platform"])
def test_only_moderators_use_as_of(
    client: TestClient[Any], case: dict[str, Any], role: str
) -> None:
    response = client.get(
        f"/v1/disputes/{case['id']}", params={"as_of": "1"}, headers=ROLE_HEADERS[role]
    )
    assert_problem(response, 403)


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        ("yesterday", 400),
        ("2026-11-20T18:30:00", 422),
        ("0", 422),
        ("99", 422),
        ("2026-11-19T00:00:00Z", 404),
    ],
)
def test_bad_as_of(client: TestClient[Any], case: dict[str, Any], as_of: str, status: int) -> None:
    response = client.get(f"/v1/disputes/{case['id']}", params={"as_of": as_of}, headers=MODERATOR)
    problem = assert_problem(response, status)
    if status != 404:
        assert [error["field"] for error in problem["errors"]] == ["as_of"]


# ---- history --------------------------------------------------------------------


def test_history_lists_every_event_for_moderators(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    ok(post(client, case, "seller-contacts", COMMANDS[0][2], BUYER))
    ok(post(client, case, "notes", {"text": "buyer sounds upset"}, MODERATOR))
    response = client.get(f"/v1/disputes/{case['id']}/history", headers=MODERATOR)
    assert response.status_code == 200
    assert response.headers["etag"] == '"3"'
    body = response.json()
    assert body["dispute_id"] == case["id"] and body["version"] == 3
    assert body["next_cursor"] is None
    rows = body["data"]
    assert [row["type"] for row in rows] == ["OrderPlaced", "SellerContacted", "NoteAdded"]
    assert [row["sequence"] for row in rows] == [1, 2, 3]
    first = rows[0]
    assert set(first) == {
        "sequence", "type", "occurred_at", "recorded_at", "actor_role", "actor_id",
        "policy_version", "data",
    }
    assert first["actor_role"] == "platform" and first["actor_id"] == "p-1"
    assert first["policy_version"] == "2027-01-default"
    assert first["recorded_at"] == "2026-11-20T18:00:00Z"
    assert rows[1]["data"]["message"] == "Where is it?"
    assert rows[2]["data"] == {"text": "buyer sounds upset"}


@pytest.mark.parametrize("role", ["buyer", "seller", "platform", "analyst"])
def test_history_is_for_moderators_only(
    client: TestClient[Any], case: dict[str, Any], role: str
) -> None:
    response = client.get(f"/v1/disputes/{case['id']}/history", headers=ROLE_HEADERS[role])
    assert_problem(response, 403)


def test_history_pages_with_a_cursor(client: TestClient[Any], case: dict[str, Any]) -> None:
    for text in ("one", "two", "three"):
        ok(post(client, case, "notes", {"text": text}, MODERATOR))
    url = f"/v1/disputes/{case['id']}/history"
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"limit": "1"} | ({"cursor": cursor} if cursor else {})
        page = client.get(url, params=params, headers=MODERATOR).json()
        seen += [row["sequence"] for row in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4]
    two = client.get(url, params={"limit": "2"}, headers=MODERATOR).json()
    assert [row["sequence"] for row in two["data"]] == [1, 2]
    rest = client.get(url, params={"cursor": two["next_cursor"]}, headers=MODERATOR).json()
    assert [row["sequence"] for row in rest["data"]] == [3, 4]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "%%%not-a-cursor"}, "cursor"),
        ({"cursor": "eyJ4Ijox"}, "cursor"),
    ],
)
def test_bad_paging_parameters_are_400(
    client: TestClient[Any], case: dict[str, Any], params: dict[str, str], field: str
) -> None:
    response = client.get(f"/v1/disputes/{case['id']}/history", params=params, headers=MODERATOR)
    assert_problem(response, 400, field=field)


# ---- who may run which command ----------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "command", "body", "role"),
    [
        (suffix, command, body, role)
        for suffix, command, body in COMMANDS
        for role in ROLES
        if role not in COMMAND_ROLES[command]
    ],
)
def test_roles_that_may_not_run_a_command_get_403(
    client: TestClient[Any],
    case: dict[str, Any],
    suffix: str,
    command: str,
    body: dict[str, Any] | None,
    role: str,
) -> None:
    before = client.get(f"/v1/disputes/{case['id']}/history", headers=MODERATOR).json()
    problem = assert_problem(post(client, case, suffix, body, ROLE_HEADERS[role]), 403)
    assert role in problem["detail"]
    after = client.get(f"/v1/disputes/{case['id']}/history", headers=MODERATOR).json()
    assert after["version"] == before["version"]


@pytest.mark.parametrize(
    ("suffix", "body", "headers"),
    [
        ("seller-contacts", COMMANDS[0][2], OTHER_BUYER),
        ("seller-responses", COMMANDS[1][2], OTHER_SELLER),
        ("evidence", COMMANDS[2][2], OTHER_BUYER),
        ("refund-requests", COMMANDS[5][2], OTHER_BUYER),
        ("reviews", COMMANDS[10][2], OTHER_BUYER),
    ],
)
def test_commands_on_someone_elses_case_are_404(
    client: TestClient[Any],
    case: dict[str, Any],
    suffix: str,
    body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    problem = assert_problem(post(client, case, suffix, body, headers), 404)
    assert problem["detail"] == f"no dispute {case['id']}"


def test_a_command_on_a_missing_case_is_404(client: TestClient[Any]) -> None:
    response = client.post(
        f"/v1/disputes/{uuid.uuid4()}/notes", json={"text": "hello"}, headers=MODERATOR
    )
    assert_problem(response, 404)


# ---- lifecycles --------------------------------------------------------------------


def test_late_order_intervention_refund_review_close(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    assert ok(post(client, case, "seller-contacts", COMMANDS[0][2], BUYER))["status"] == (
        "awaiting_seller"
    )
    responded = ok(post(client, case, "seller-responses", COMMANDS[1][2], SELLER))
    assert responded["status"] == "seller_responded"
    evidence = ok(post(client, case, "evidence", {"kind": "chat_log", "description": "chat",
                                                   "reference": "chat-1"}, BUYER))
    evidence_id = evidence["evidence"][0]["id"]
    early = post(client, case, "interventions", {"reason": "not_shipped", "statement": "late"},
                 BUYER)
    assert "missed" in assert_problem(early, 409)["detail"]
    manual_clock.set(AFTER_SHIP_BY)
    requested = ok(post(client, case, "interventions", {
        "reason": "not_shipped", "statement": "It never shipped", "evidence_ids": [evidence_id],
    }, BUYER))
    assert requested["status"] == "under_review"
    assert "DeadlineMissed" in [entry["type"] for entry in requested["timeline"]]
    assert requested["intervention"]["evidence_ids"] == [evidence_id]
    ruled = ok(post(client, case, "rulings", {"outcome": "refund_full",
                                               "reason_code": "not_shipped_in_time",
                                               "note": "clear case"}, MODERATOR))
    assert ruled["refund"]["status"] == "approved"
    assert ruled["status"] == "refund_approved"  # approved by the ruling, not yet paid
    assert ruled["refund"]["amount"] == USD
    twice = post(client, case, "rulings", {"outcome": "claim_rejected",
                                          "reason_code": "claim_not_supported"},
                 MODERATOR)
    assert_problem(twice, 409)
    paid = ok(post(client, case, "refunds", {"amount": USD}, PLATFORM))
    assert paid["status"] == "refunded"
    assert paid["refund"]["paid_amount"] == USD
    again = post(client, case, "refund-requests", {"reason": "more"}, BUYER)
    assert "refunded in full" in assert_problem(again, 409)["detail"]
    reviewed = ok(post(client, case, "reviews", {"rating": 2, "comment": "late"}, BUYER))
    assert reviewed["review"]["rating"] == 2
    review_twice = post(client, case, "reviews", {"rating": 5, "comment": "changed my mind"}, BUYER)
    assert "already reviewed" in assert_problem(review_twice, 409)["detail"]
    # Refunded in full, never shipped: the order is still open until the close cancels it.
    running = assert_problem(post(client, case, "close", {"reason": "resolved"}, MODERATOR), 409)
    assert "cancel_order" in running["detail"]
    closed = ok(post(client, case, "close", {"reason": "resolved", "cancel_order": True},
                     MODERATOR))
    assert closed["status"] == "closed" and len(closed["refund"]["dues"]) == 1  # nothing more
    after_close = post(client, case, "notes", {"text": "still possible"}, MODERATOR)
    assert ok(after_close)["status"] == "closed"
    assert_problem(post(client, case, "close", {"reason": "again"}, PLATFORM), 409)


def test_delivered_refund_with_return(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    shipment = {"carrier": "UPS", "tracking_number": "1Z", "shipped_at": "2026-11-20T18:30:00Z"}
    ok(client.post("/v1/orders/o-1/shipments", json=shipment, headers=SELLER))
    ok(client.post("/v1/orders/o-1/deliveries", json={"delivered_at": "2026-11-20T18:50:00Z"},
                   headers=PLATFORM))
    too_much = post(client, case, "refund-requests",
                    {"reason": "broken", "amount": {"amount": "30.00", "currency": "USD"}}, BUYER)
    assert_problem(too_much, 422, field="amount")
    requested = ok(post(client, case, "refund-requests", {
        "reason": "broken", "amount": {"amount": "20.00", "currency": "USD"},
    }, BUYER))
    assert requested["status"] == "refund_requested"
    assert requested["refund"]["return_required"] is True
    deny_without_reason = post(client, case, "refund-decisions", {"approve": False}, SELLER)
    assert_problem(deny_without_reason, 422, field="reason")
    approved = ok(post(client, case, "refund-decisions", {"approve": True}, SELLER))
    assert approved["refund"]["status"] == "approved"
    early_refund = post(client, case, "refunds",
                        {"amount": {"amount": "20.00", "currency": "USD"}}, PLATFORM)
    assert "returned" in assert_problem(early_refund, 409)["detail"]
    sent = ok(post(client, case, "returns", {"carrier": "USPS", "tracking_number": "94"}, BUYER))
    assert sent["status"] == "return_in_transit"
    received = ok(post(client, case, "return-receipts", None, SELLER))
    assert received["refund"]["return"]["received_at"] is not None
    [owed] = received["refund"]["dues"]
    assert (owed["amount"]["amount"], owed["reason"], owed["status"]) == (
        "20.00", "seller_approved", "open"
    )
    # More than the due owes is 409 (the order's 25.00 included); less is 422.
    more_than_owed = post(client, case, "refunds", {"amount": USD}, PLATFORM)
    assert "more than is owed" in assert_problem(more_than_owed, 409)["detail"]
    less = post(client, case, "refunds", {"amount": {"amount": "19.00", "currency": "USD"}},
                PLATFORM)
    assert_problem(less, 422, field="amount")
    twenty = {"amount": {"amount": "20.00", "currency": "USD"}, "due_id": owed["due_id"]}
    paid = ok(post(client, case, "refunds", twenty, PLATFORM))
    assert paid["status"] == "partially_refunded"  # 20.00 of 25.00: the rest may be asked for
    assert paid["refund"]["dues"][0]["status"] == "paid"
    assert_problem(post(client, case, "refunds", twenty, PLATFORM), 409)


def test_shipping_a_cancelled_order_is_409(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    manual_clock.set(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    shipment = {"carrier": "UPS", "tracking_number": "1Z", "shipped_at": "2026-12-04T11:00:00Z"}
    problem = assert_problem(
        client.post("/v1/orders/o-1/shipments", json=shipment, headers=SELLER), 409
    )
    assert problem["type"].endswith("/order-cancelled")
    assert "cancelled" in problem["detail"]
    view = ok(client.get(f"/v1/disputes/{case['id']}", headers=BUYER))
    assert view["status"] in ("awaiting_shipment", "cancelled", "overdue")


@pytest.mark.parametrize(
    ("suffix", "body", "headers", "field"),
    [
        ("seller-contacts", {"message": "hi", "channel": "pigeon"}, BUYER, "channel"),
        ("seller-contacts", {"message": "  ", "channel": "chat"}, BUYER, "message"),
        ("evidence", {"kind": "rumour", "description": "x"}, BUYER, "kind"),
        ("interventions", {"reason": "bored", "statement": "x"}, BUYER, "reason"),
        ("interventions", {"reason": "other", "statement": "x", "evidence_ids": ["ev-9"]},
         BUYER, "evidence_ids"),
        ("rulings", {"outcome": "banish", "reason_code": "x"}, MODERATOR, "outcome"),
        ("reviews", {"rating": 7, "comment": "x"}, BUYER, "rating"),
        ("refund-requests", {"reason": "x", "amount": {"amount": "5.00", "currency": "EUR"}},
         BUYER, "amount"),
        ("refund-requests", {"reason": "x", "amount": {"amount": "5.001", "currency": "USD"}},
         BUYER, "amount.amount"),
        ("seller-responses", {"message": "ok", "promised_ship_date": "2026-11-01"}, SELLER,
         "promised_ship_date"),
    ],
)
def test_invalid_values_are_422_naming_the_field(
    client: TestClient[Any],
    case: dict[str, Any],
    suffix: str,
    body: dict[str, Any],
    headers: dict[str, str],
    field: str,
) -> None:
    assert_problem(post(client, case, suffix, body, headers), 422, field=field)


@pytest.mark.parametrize(
    ("suffix", "body", "headers", "field"),
    [
        ("reviews", {"rating": "five", "comment": "x"}, BUYER, "rating"),
        ("reviews", {"rating": 4.5, "comment": "x"}, BUYER, "rating"),
        ("refund-decisions", {"approve": "yes"}, SELLER, "approve"),
        ("refunds", {"amount": {"amount": 25, "currency": "USD"}}, PLATFORM, "amount.amount"),
        ("seller-contacts", {"message": "hi"}, BUYER, "channel"),
        ("seller-contacts", {"message": "hi", "channel": "chat", "extra": 1}, BUYER, "extra"),
        ("seller-responses", {"message": "ok", "promised_ship_date": "soon"}, SELLER,
         "promised_ship_date"),
        ("notes", ["not", "an", "object"], MODERATOR, "body"),
    ],
)
def test_wrong_types_are_400_naming_the_field(
    client: TestClient[Any],
    case: dict[str, Any],
    suffix: str,
    body: Any,
    headers: dict[str, str],
    field: str,
) -> None:
    assert_problem(post(client, case, suffix, body, headers), 400, field=field)


# ---- If-Match -----------------------------------------------------------------------


def test_if_match_guards_commands(client: TestClient[Any], case: dict[str, Any]) -> None:
    contact = COMMANDS[0][2]
    stale_tag = {**BUYER, "If-Match": '"0"'}
    assert_problem(post(client, case, "seller-contacts", contact, stale_tag), 412)
    assert ok(post(client, case, "seller-contacts", contact, {**BUYER, "If-Match": '"1"'}))[
        "version"
    ] == 2
    stale = assert_problem(
        post(client, case, "seller-contacts", contact, {**BUYER, "If-Match": '"1"'}), 412
    )
    assert "version 2" in stale["detail"]
    for tag in ('W/"2"', '"two"'):
        assert_problem(post(client, case, "seller-contacts", contact, {**BUYER, "If-Match": tag}),
                       412)
    for tag in ("2", "abc"):
        assert_problem(post(client, case, "seller-contacts", contact, {**BUYER, "If-Match": tag}),
                       400, field="If-Match")
    assert ok(post(client, case, "seller-contacts", contact, {**BUYER, "If-Match": "*"}))
    assert_problem(
        post(client, case, "seller-contacts", contact, {**BUYER, "If-Match": '"3", "4"'}), 400
    )


# ---- internal notes -------------------------------------------------------------------


def test_internal_notes_never_reach_buyers_or_sellers(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    secret = "seller-is-on-a-watchlist"
    moderator_view = ok(post(client, case, "notes", {"text": secret}, MODERATOR))
    assert "NoteAdded" in [entry["type"] for entry in moderator_view["timeline"]]
    responses = [
        client.get(f"/v1/disputes/{case['id']}", headers=BUYER),
        client.get(f"/v1/disputes/{case['id']}", headers=SELLER),
        post(client, case, "seller-contacts", COMMANDS[0][2], BUYER),
        post(client, case, "seller-responses", COMMANDS[1][2], SELLER),
        post(client, case, "evidence", COMMANDS[2][2], SELLER),
    ]
    for response in responses:
        view = ok(response)
        assert "NoteAdded" not in [entry["type"] for entry in view["timeline"]]
        assert secret not in response.text
    for headers in (BUYER, SELLER):
        history = client.get(f"/v1/disputes/{case['id']}/history", headers=headers)
        assert_problem(history, 403)
        assert secret not in history.text


def test_a_case_read_asks_the_application_in_a_thread_only_when_memory_cannot_answer(
    client: TestClient[Any], desk: Any, case: dict[str, Any], database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = f"/v1/disputes/{case['id']}"
    dispute_id, buyer = uuid.UUID(case["id"]), Actor("buyer", "b-1")
    from_store: list[str] = []
    read = desk.case

    def counting_case(dispute_id: uuid.UUID, actor: Any, **options: Any) -> dict[str, Any]:
        from_store.append(actor.role)
        view: dict[str, Any] = read(dispute_id, actor, **options)
        return view

    def commits_seen() -> Any:
        """What the process knows of commits (PostgreSQL: the listener's count, which
        may move a little after a commit returned, when its notification arrives)."""
        return desk._commits.peek()

    for _attempt in range(5):
        deadline = time.monotonic() + 10  # PostgreSQL: once the server listens to the commits
        while desk.case_in_memory(dispute_id, buyer) is None:
            assert time.monotonic() < deadline, "the case is never known current from memory"
            read(dispute_id, buyer)
            time.sleep(0.01)
        seen = commits_seen()
        if desk.case_in_memory(dispute_id, buyer) is None:
            continue  # a commit was heard of just now
        from_store.clear()
        with monkeypatch.context() as patched:
            patched.setattr(desk, "case", counting_case)
            first = client.get(path, headers=BUYER)
            second = client.get(path, headers=BUYER)
            assert first.status_code == second.status_code == 200
            assert first.json() == second.json() and first.headers["ETag"] == second.headers["ETag"]
            assert_problem(client.get(path, headers=OTHER_BUYER), 404)
            assert_problem(client.get(path, headers=ANALYST), 403)
        if from_store == [] or commits_seen() == seen:
            break  # memory answered; or it could have and did not (the assertion fails)
        # A commit moved the stamp meanwhile (a late notification of our own): again.
    # While nothing was committed, memory answers every read, the 404 too (the guard, the 403).
    assert from_store == [], "the store was asked though nothing was committed"
    monkeypatch.setattr(desk, "case", counting_case)

    contacted = client.post(f"{path}/seller-contacts", headers=BUYER,
                            json={"message": "Where is it?", "channel": "chat"})
    assert contacted.status_code == 200
    from_store.clear()
    after = client.get(path, headers=BUYER)
    assert after.json()["version"] == contacted.json()["version"]
    assert from_store == ["buyer"]  # a commit: the store is asked again
