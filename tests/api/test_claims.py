"""POST and DELETE /v1/disputes/{id}/claim, and claims in GET /v1/moderation/queue:
per role, with take_over, refusals as problems, idempotent retries and the OpenAPI text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from application.disputes import DisputeDesk
from infrastructure.clock import ManualClock
from tests.api.conftest import (
    BUYER,
    MODERATOR,
    PLATFORM,
    SELLER,
    assert_problem,
    auth,
)
from tests.api.test_appeals import RULING, ok, post, under_review, view
from tests.api.test_read_models import settle

OTHER = auth("moderator", "m-2")


def claim_url(case: dict[str, Any]) -> str:
    return f"/v1/disputes/{case['id']}/claim"


@pytest.fixture
def reviewed(client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
             ) -> dict[str, Any]:
    """The case of o-1, its intervention open (in the queue)."""
    under_review(client, case, manual_clock)
    return case


def test_a_moderator_claims_with_no_body_and_the_case_shows_it(
    client: TestClient[Any], reviewed: dict[str, Any], manual_clock: ManualClock
) -> None:
    response = client.post(claim_url(reviewed), headers=MODERATOR)
    body = ok(response)
    assert response.headers["ETag"] == f'"{body["version"]}"'
    claim = body["claim"]
    assert claim["moderator_id"] == "m-1"
    assert claim["claimed_at"] == manual_clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert claim["expires_at"] == (manual_clock.now() + timedelta(hours=2)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert "claim" in body["next_actions"]
    assert view(client, reviewed, OTHER)["claim"]["moderator_id"] == "m-1"
    for party in (BUYER, SELLER):
        assert "claim" not in view(client, reviewed, party)
    history = ok(client.get(f"/v1/disputes/{reviewed['id']}/history", headers=OTHER))
    assert history["data"][-1]["type"] == "CaseClaimed"
    assert history["data"][-1]["data"]["taken_from"] is None
    # Expired: null for moderators, without a new version.
    manual_clock.advance(timedelta(hours=2))
    later = view(client, reviewed, MODERATOR)
    assert later["claim"] is None and later["version"] == body["version"]


def test_another_moderators_claim_is_409_naming_the_holder_until_taken_over(
    client: TestClient[Any], reviewed: dict[str, Any]
) -> None:
    first = ok(client.post(claim_url(reviewed), headers=MODERATOR))
    refused = assert_problem(client.post(claim_url(reviewed), headers=OTHER), 409)
    assert refused["type"].endswith("/claim-held")
    assert "m-1" in refused["detail"] and "take_over" in refused["detail"]
    ruling = assert_problem(post(client, reviewed, "rulings", RULING, OTHER), 409)
    assert ruling["type"].endswith("/claim-held") and "m-1" in ruling["detail"]
    ok(post(client, reviewed, "notes", {"text": "seen"}, OTHER))  # notes stay open

    taken = ok(client.post(claim_url(reviewed), json={"take_over": True}, headers=OTHER))
    assert taken["claim"]["moderator_id"] == "m-2"
    history = ok(client.get(f"/v1/disputes/{reviewed['id']}/history", headers=OTHER))
    assert history["data"][-1]["data"]["taken_from"] == "m-1"
    assert_problem(post(client, reviewed, "rulings", RULING, MODERATOR), 409)
    ok(post(client, reviewed, "rulings", RULING, OTHER))
    assert taken["version"] > first["version"]


def test_release_and_its_refusals(client: TestClient[Any], reviewed: dict[str, Any]) -> None:
    ok(client.post(claim_url(reviewed), json={"take_over": False}, headers=MODERATOR))
    not_yours = assert_problem(client.delete(claim_url(reviewed), headers=OTHER), 409)
    assert not_yours["type"].endswith("/claim-not-held") and "m-1" in not_yours["detail"]
    released = ok(client.delete(claim_url(reviewed), headers=MODERATOR))
    assert released["claim"] is None
    again = assert_problem(client.delete(claim_url(reviewed), headers=MODERATOR), 409)
    assert "nobody" in again["detail"]
    ok(post(client, reviewed, "rulings", RULING, OTHER))


def test_only_moderators_claim_and_bodies_are_checked(
    client: TestClient[Any], reviewed: dict[str, Any]
) -> None:
    for headers in (BUYER, SELLER, PLATFORM, auth("analyst", "a-1")):
        assert_problem(client.post(claim_url(reviewed), headers=headers), 403)
        assert_problem(client.delete(claim_url(reviewed), headers=headers), 403)
    assert_problem(client.post(claim_url(reviewed), headers={}), 401)
    assert_problem(client.post(claim_url(reviewed), json={"take_over": "yes"},
                               headers=MODERATOR), 400)
    assert_problem(client.post(claim_url(reviewed), json={"steal": True}, headers=MODERATOR),
                   400)
    missing = "/v1/disputes/00000000-0000-4000-8000-000000000000/claim"
    assert_problem(client.post(missing, headers=MODERATOR), 404)
    stale = assert_problem(client.post(claim_url(reviewed), headers={**MODERATOR,
                                                                     "If-Match": '"1"'}), 412)
    assert stale["type"].endswith("/precondition-failed")


def test_a_closed_case_cannot_be_claimed(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    ok(post(client, case, "close", {"reason": "duplicate", "cancel_order": True}, MODERATOR))
    refused = assert_problem(client.post(claim_url(case), headers=MODERATOR), 409)
    assert refused["type"].endswith("/case-closed")


@pytest.mark.parametrize("method", ["post", "delete"])
def test_a_retry_with_the_same_key_replays_the_first_answer(
    client: TestClient[Any], reviewed: dict[str, Any], method: str
) -> None:
    if method == "delete":
        ok(client.post(claim_url(reviewed), headers=MODERATOR))
    headers = {**MODERATOR, "Idempotency-Key": f"claim-{method}-1"}
    send = getattr(client, method)
    first = send(claim_url(reviewed), headers=headers)
    again = send(claim_url(reviewed), headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["version"] == first.json()["version"]
    assert again.json()["claim"] == first.json()["claim"]
    kind = "CaseClaimed" if method == "post" else "ClaimReleased"
    history = ok(client.get(f"/v1/disputes/{reviewed['id']}/history", headers=MODERATOR))
    assert [row["type"] for row in history["data"]].count(kind) == 1
    # The same key for the other method is another request.
    other = client.delete if method == "post" else client.post
    assert_problem(other(claim_url(reviewed), headers=headers), 422)


def test_the_queue_shows_claims_filters_them_and_counts(
    client: TestClient[Any], desk: DisputeDesk, reviewed: dict[str, Any],
    manual_clock: ManualClock,
) -> None:
    claimed = ok(client.post(claim_url(reviewed), headers=MODERATOR))
    settle(client, desk)
    queue = ok(client.get("/v1/moderation/queue", headers=OTHER))
    [entry] = queue["data"]
    assert (entry["claimed_by"], entry["claim_expires_at"]) == (
        "m-1", claimed["claim"]["expires_at"])
    assert queue["counts"] == {"total": 1, "unclaimed": 0, "mine": 0,
                               "by_reason": {"not_shipped": 1}}
    assert ok(client.get("/v1/moderation/queue?claim=mine", headers=MODERATOR))["data"]
    assert ok(client.get("/v1/moderation/queue?claim=others", headers=OTHER))["data"]
    unclaimed = ok(client.get("/v1/moderation/queue?claim=unclaimed", headers=OTHER))
    assert unclaimed["data"] == [] and unclaimed["counts"]["total"] == 1
    refused = assert_problem(client.get("/v1/moderation/queue?claim=all", headers=OTHER), 400,
                             field="claim")
    assert "mine, unclaimed, others" in refused["detail"]
    manual_clock.advance(timedelta(hours=2))
    [expired] = ok(client.get("/v1/moderation/queue", headers=OTHER))["data"]
    assert (expired["claimed_by"], expired["claim_expires_at"]) == (None, None)


def test_the_openapi_document_describes_claims(client: TestClient[Any]) -> None:
    document = ok(client.get("/schema/openapi.json"))
    item = document["paths"]["/v1/disputes/{dispute_id}/claim"]
    assert (item["post"]["operationId"], item["delete"]["operationId"]) == ("claim",
                                                                          "releaseClaim")
    for operation in item.values():
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert {"Idempotency-Key", "If-Match"} <= headers
        assert {"200", "403", "409", "412"} <= set(operation["responses"])
        assert "claim-held" in item["post"]["description"]
    assert item["post"]["requestBody"]["required"] is False  # no body: take_over false
    queue = document["paths"]["/v1/moderation/queue"]["get"]
    claim = next(p for p in queue["parameters"] if p["name"] == "claim")
    assert all(word in claim["description"] for word in ("mine", "unclaimed", "others"))
    assert "counts" in queue["description"] and "claimed_by" in queue["description"]
    schemas = document["components"]["schemas"]
    assert {"claimed_by", "claim_expires_at"} <= set(schemas["QueueEntry"]["properties"])
    assert set(schemas["QueueCounts"]["properties"]) == {"total", "unclaimed", "mine",
                                                         "by_reason"}
    assert "claim" in schemas["CaseView"]["properties"]
