"""GET /v1/reason-codes, rulings that name a code, POST .../appeals and
POST .../appeal-decisions: per role and per view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    ROLE_HEADERS,
    SELLER,
    assert_problem,
    auth,
)

REVIEWER = auth("moderator", "m-2")
AFTER_SHIP_BY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def post(client: TestClient[Any], case: dict[str, Any], suffix: str, body: Any,
         headers: dict[str, str]) -> Any:
    return client.post(f"/v1/disputes/{case['id']}/{suffix}", json=body, headers=headers)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def view(client: TestClient[Any], case: dict[str, Any], headers: dict[str, str]) -> Any:
    return ok(client.get(f"/v1/disputes/{case['id']}", headers=headers))


def under_review(client: TestClient[Any], case: dict[str, Any], clock: ManualClock) -> None:
    ok(post(client, case, "seller-contacts", {"message": "Where?", "channel": "chat"}, BUYER))
    ok(post(client, case, "seller-responses", {"message": "Soon"}, SELLER))
    clock.set(AFTER_SHIP_BY)
    ok(post(client, case, "interventions", {"reason": "not_shipped", "statement": "late"}, BUYER))
    clock.advance(timedelta(hours=1))


RULING = {"outcome": "refund_full", "reason_code": "not_shipped_in_time", "note": "Sorry."}
OVERTURN = {"decision": "overturn", "outcome": "claim_rejected",
            "reason_code": "claim_not_supported", "note": "The seller proved dispatch."}


@pytest.fixture
def ruled(client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
          ) -> dict[str, Any]:
    """The case of o-1, ruled refund_full by m-1 (the refund due, not paid)."""
    under_review(client, case, manual_clock)
    ruling = ok(post(client, case, "rulings", RULING, MODERATOR))
    manual_clock.advance(timedelta(hours=1))
    return ruling


# ---- reason codes --------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(ROLE_HEADERS))
def test_every_role_reads_the_reason_codes_in_force(client: TestClient[Any], role: str) -> None:
    body = ok(client.get("/v1/reason-codes", headers=ROLE_HEADERS[role]))
    assert body["policy_version"] == "2027-01-default"
    codes = {entry["code"]: entry for entry in body["data"]}
    assert codes["shipped_on_time"] == {
        "code": "shipped_on_time",
        "text": "The seller showed that the order was shipped by its shipping deadline.",
        "outcomes": ["claim_rejected"],
    }


def test_reason_codes_need_a_token(client: TestClient[Any]) -> None:
    assert_problem(client.get("/v1/reason-codes"), 401)


def test_the_policy_document_carries_the_catalogue_and_the_windows(
    client: TestClient[Any],
) -> None:
    document = ok(client.get("/v1/policies/current", headers=BUYER))
    assert document["defaults"]["appeal_window_days_buyer"] == 30
    assert document["defaults"]["appeal_window_days_seller"] == 21
    assert document["reason_codes"]["not_shipped_in_time"]["outcomes"] == [
        "refund_full", "refund_partial",
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "refund_full", "reason_code": "late"},
        {"outcome": "refund_full", "reason_code": "shipped_on_time"},
    ],
    ids=["unknown", "does-not-justify"],
)
def test_a_ruling_with_a_code_outside_the_catalogue_is_422(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock, body: Any
) -> None:
    under_review(client, case, manual_clock)
    problem = assert_problem(post(client, case, "rulings", body, MODERATOR), 422,
                             field="reason_code")
    assert "reason code" in problem["detail"]


def test_the_parties_see_the_outcome_the_text_and_the_note(
    client: TestClient[Any], case: dict[str, Any], ruled: dict[str, Any]
) -> None:
    for headers in (BUYER, SELLER):
        ruling = view(client, case, headers)["intervention"]
        assert (ruling["outcome"], ruling["note"]) == ("refund_full", "Sorry.")
        assert ruling["reason_text"] == (
            "The seller did not ship the order by its shipping deadline."
        )
        assert "ruled_by" not in ruling
    assert view(client, case, MODERATOR)["intervention"]["ruled_by"] == "m-1"


# ---- appeals ------------------------------------------------------------------------


def test_the_seller_appeals_and_the_case_is_under_appeal(
    client: TestClient[Any], case: dict[str, Any], ruled: dict[str, Any]
) -> None:
    assert "appeal" in view(client, case, SELLER)["next_actions"]
    appealed = ok(post(client, case, "appeals", {"statement": "I shipped it"}, SELLER))
    assert appealed["status"] == "under_appeal"
    [appeal] = appealed["appeal"]["appeals"]
    assert (appeal["party"], appeal["status"], appeal["statement"]) == (
        "seller", "pending", "I shipped it",
    )
    assert appealed["appeal"]["buyer_may_appeal_until"] == "2026-12-25T10:00:00Z"
    assert "decide_appeal" in view(client, case, MODERATOR)["next_actions"]
    assert view(client, case, BUYER)["status"] == "under_appeal"
    again = post(client, case, "appeals", {"statement": "twice"}, SELLER)
    assert "one appeal each" in assert_problem(again, 409)["detail"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [(OTHER_BUYER, 404), (OTHER_SELLER, 404), (MODERATOR, 403), (PLATFORM, 403),
     (ANALYST, 403)],
)
def test_only_the_case_s_parties_appeal(
    client: TestClient[Any], case: dict[str, Any], ruled: dict[str, Any],
    headers: dict[str, str], status: int,
) -> None:
    assert_problem(post(client, case, "appeals", {"statement": "me"}, headers), status)


def test_there_is_no_appeal_before_a_ruling_or_after_the_window(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    assert "no ruling" in assert_problem(
        post(client, case, "appeals", {"statement": "?"}, BUYER), 409
    )["detail"]
    under_review(client, case, manual_clock)
    ok(post(client, case, "rulings", {"outcome": "seller_must_ship",
                                      "reason_code": "seller_given_time_to_ship",
                                      "new_ship_by": "2026-11-27T12:00:00Z"}, MODERATOR))
    shipped = client.post("/v1/orders/o-1/shipments", json={
        "carrier": "UPS", "tracking_number": "1Z", "shipped_at": "2026-11-25T09:30:00Z",
    }, headers=PLATFORM)
    assert shipped.status_code == 200, shipped.text  # no auto-cancel ends the case
    manual_clock.set(datetime(2026, 12, 26, tzinfo=UTC))  # 30 days after the ruling
    late = post(client, case, "appeals", {"statement": "late"}, BUYER)
    assert "30 days after the ruling" in assert_problem(late, 409)["detail"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"statement": ""}, 422, "statement"),
        ({"statement": "see", "evidence_ids": ["ev-404"]}, 422, "evidence_ids"),
        ({"statement": 5}, 400, None),
        ({"statement": "x", "extra": 1}, 400, None),
    ],
)
def test_a_bad_appeal_is_a_clear_4xx(
    client: TestClient[Any], case: dict[str, Any], ruled: dict[str, Any],
    body: Any, status: int, field: str | None,
) -> None:
    assert_problem(post(client, case, "appeals", body, BUYER), status, field=field)


# ---- decisions ---------------------------------------------------------------------


def test_another_moderator_overturns_and_the_unpaid_refund_is_cancelled(
    client: TestClient[Any], case: dict[str, Any], ruled: dict[str, Any]
) -> None:
    ok(post(client, case, "appeals", {"statement": "I shipped it"}, SELLER))
    by_the_ruler = post(client, case, "appeal-decisions", OVERTURN, MODERATOR)
    assert "another moderator" in assert_problem(by_the_ruler, 403)["detail"]
    decided = ok(post(client, case, "appeal-decisions", OVERTURN, REVIEWER))
    assert decided["status"] != "under_appeal"
    assert decided["refund"]["status"] == "cancelled"
    assert [d["status"] for d in decided["refund"]["dues"]] == ["cancelled"]
    [decision] = view(client, case, BUYER)["appeal"]["decisions"]
    assert (decision["decision"], decision["outcome"], decision["note"]) == (
        "overturn", "claim_rejected", "The seller proved dispatch.",
    )
    assert decision["reason_text"] == "The evidence given does not support the claim."
    assert "decided_by" not in decision
    assert view(client, case, MODERATOR)["appeal"]["decisions"][0]["decided_by"] == "m-2"
    card = client.get("/v1/sellers/s-1/scorecard", params={"min_position": decided["position"]},
                      headers=BUYER)
    assert card.status_code == 200, card.text
    assert (card.json()["appeals_won"], card.json()["appeals_lost"]) == (1, 0)
    due_id = ruled["refund"]["dues"][0]["due_id"]
    paying = post(client, case, "refunds", {"amount": {"amount": "25.00", "currency": "USD"},
                                            "due_id": due_id}, PLATFORM)
    assert "cancelled" in assert_problem(paying, 409)["detail"]


def test_an_overturn_of_a_paid_refund_owes_the_seller(
    client: TestClient[Any], case: dict[str, Any], ruled: dict[str, Any]
) -> None:
    ok(post(client, case, "refunds", {"amount": {"amount": "25.00", "currency": "USD"}},
            PLATFORM))
    ok(post(client, case, "appeals", {"statement": "I shipped it"}, SELLER))
    decided = ok(post(client, case, "appeal-decisions", OVERTURN, REVIEWER))
    owed = decided["refund"]["dues"][-1]
    assert (owed["payee"], owed["reason"], owed["status"]) == (
        "seller", "overturned_refund", "open",
    )
    paid = ok(post(client, case, "refunds", {"amount": {"amount": "25.00", "currency": "USD"}},
                   PLATFORM))
    assert paid["refund"]["dues"][-1]["status"] == "paid"
    assert paid["refund"]["status"] == "paid"  # the buyer keeps the refund


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"decision": "maybe", "reason_code": "claim_not_supported"}, 422, "decision"),
        ({"decision": "overturn", "reason_code": "claim_not_supported"}, 422, "outcome"),
        ({**OVERTURN, "reason_code": "nope"}, 422, "reason_code"),
        ({**OVERTURN, "reason_code": "not_shipped_in_time"}, 422, "reason_code"),
        ({"decision": "uphold", "reason_code": "not_shipped_in_time",
          "refund_amount": {"amount": "1.00", "currency": "USD"}}, 422, "refund_amount"),
        ({"decision": "uphold"}, 400, None),
    ],
)
def test_a_bad_decision_is_a_clear_4xx(
    client: TestClient[Any], case: dict[str, Any], ruled: dict[str, Any],
    body: Any, status: int, field: str | None,
) -> None:
    ok(post(client, case, "appeals", {"statement": "I shipped it"}, SELLER))
    assert_problem(post(client, case, "appeal-decisions", body, REVIEWER), status, field=field)


@pytest.mark.parametrize("headers", [BUYER, SELLER, PLATFORM, ANALYST])
def test_only_moderators_decide_appeals(
    client: TestClient[Any], case: dict[str, Any], ruled: dict[str, Any],
    headers: dict[str, str],
) -> None:
    ok(post(client, case, "appeals", {"statement": "I shipped it"}, SELLER))
    assert_problem(post(client, case, "appeal-decisions", OVERTURN, headers), 403)


def test_no_decision_without_a_pending_appeal(
    client: TestClient[Any], case: dict[str, Any], ruled: dict[str, Any]
) -> None:
    assert_problem(post(client, case, "appeal-decisions", OVERTURN, REVIEWER), 409)


def test_appeals_are_in_the_feed(
    client: TestClient[Any], case: dict[str, Any], ruled: dict[str, Any]
) -> None:
    ok(post(client, case, "appeals", {"statement": "I shipped it"}, SELLER))
    ok(post(client, case, "appeal-decisions",
            {"decision": "uphold", "reason_code": "not_shipped_in_time"}, REVIEWER))
    events = ok(client.get("/v1/events", params={"types": "dispute.ruled,dispute.appealed,"
                                                 "dispute.appeal_decided"}, headers=BUYER))
    assert [e["type"] for e in events["data"]] == [
        "dispute.ruled", "dispute.appealed", "dispute.appeal_decided",
    ]
    ruled_event, appealed, decided = events["data"]
    assert ruled_event["data"]["note"] == "Sorry."
    assert appealed["data"] == {**appealed["data"], "party": "seller", "status": "under_appeal"}
    assert (decided["data"]["decision"], decided["data"]["outcome"]) == ("uphold", "refund_full")
    assert "I shipped it" not in str(events)


def test_the_routes_are_documented(client: TestClient[Any]) -> None:
    paths = ok(client.get("/schema/openapi.json"))["paths"]
    assert paths["/v1/disputes/{dispute_id}/appeals"]["post"]["operationId"] == "appeal"
    decide = paths["/v1/disputes/{dispute_id}/appeal-decisions"]["post"]
    assert decide["operationId"] == "decideAppeal" and "403" in decide["responses"]
    assert paths["/v1/reason-codes"]["get"]["operationId"] == "listReasonCodes"
