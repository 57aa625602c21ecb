"""GET /v1/policies, GET /v1/policies/current, GET /v1/policies/{version}, POST /v1/policies."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import (
    ANALYST,
    MODERATOR,
    ORDER,
    PLATFORM,
    ROLE_HEADERS,
    assert_problem,
)


def candidate(client: TestClient[Any], **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(
        client.get("/v1/policies/current", headers=ANALYST).json()
    )
    document.update({"version": "2027-01", "effective_from": "2027-01-01T00:00:00Z"})
    document.update(changes)
    return document


@pytest.mark.parametrize("role", ["buyer", "seller", "moderator", "analyst", "platform"])
def test_any_role_reads_the_current_policy(client: TestClient[Any], role: str) -> None:
    response = client.get("/v1/policies/current", headers=ROLE_HEADERS[role])
    assert response.status_code == 200
    document = response.json()
    assert document["version"] == "2027-01-default"
    assert document["effective_from"] == "2026-01-01T00:00:00Z"
    assert document["defaults"]["ship_within_business_days"] == 2
    assert document["regions"]["GB"]["ship_within_business_days"] == 3
    assert "made_to_order" in document["categories"]


def test_reading_policies_needs_a_token(client: TestClient[Any]) -> None:
    assert_problem(client.get("/v1/policies/current"), 401)
    assert_problem(client.get("/v1/policies/2027-01-default"), 401)


def test_a_version_by_name(client: TestClient[Any]) -> None:
    response = client.get("/v1/policies/2027-01-default", headers=PLATFORM)
    assert response.status_code == 200
    assert response.json()["version"] == "2027-01-default"
    assert_problem(client.get("/v1/policies/1999-nope", headers=PLATFORM), 404)


def test_analysts_publish_a_new_version(client: TestClient[Any]) -> None:
    document = candidate(client)
    document["defaults"]["ship_within_business_days"] = 3
    response = client.post("/v1/policies", json=document, headers=ANALYST)
    assert response.status_code == 201, response.text
    assert response.json() == document
    assert response.headers["location"] == "/v1/policies/2027-01"
    assert client.get("/v1/policies/2027-01", headers=PLATFORM).json() == document
    # Not in force yet: the current policy is still the default.
    current = client.get("/v1/policies/current", headers=PLATFORM).json()
    assert current["version"] == "2027-01-default"


def test_publishing_the_same_version_again_is_409(client: TestClient[Any]) -> None:
    document = candidate(client)
    assert client.post("/v1/policies", json=document, headers=ANALYST).status_code == 201
    problem = assert_problem(client.post("/v1/policies", json=document, headers=ANALYST), 409)
    assert "already published" in problem["detail"]
    bundled = candidate(client, version="2027-01-default")
    assert_problem(client.post("/v1/policies", json=bundled, headers=ANALYST), 409)


@pytest.mark.parametrize("role", ["buyer", "seller", "moderator", "platform"])
def test_only_analysts_publish(client: TestClient[Any], role: str) -> None:
    response = client.post("/v1/policies", json=candidate(client), headers=ROLE_HEADERS[role])
    assert_problem(response, 403)


def test_an_invalid_document_is_422_listing_every_problem(client: TestClient[Any]) -> None:
    document = candidate(client)
    document["defaults"]["ship_within_business_days"] = -1
    document["regions"]["US"]["timezone"] = "Mars/Olympus"
    document["surprise"] = 1
    problem = assert_problem(client.post("/v1/policies", json=document, headers=ANALYST), 422)
    fields = [error["field"] for error in problem["errors"]]
    assert len(fields) >= 3, problem
    assert any("ship_within_business_days" in field for field in fields)
    assert any("US" in field for field in fields)
    assert any("surprise" in field for field in fields)


def _publish(client: TestClient[Any], version: str, effective_from: str) -> Any:
    document = candidate(client, version=version, effective_from=effective_from)
    return client.post("/v1/policies", json=document, headers=ANALYST)


def _order(client: TestClient[Any], order_id: str, placed_at: str) -> dict[str, Any]:
    response = client.post(
        "/v1/orders", json={**ORDER, "order_id": order_id, "placed_at": placed_at},
        headers=PLATFORM,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_past_effective_from_is_published_when_no_recorded_order_falls_under_it(
    client: TestClient[Any],
) -> None:
    # Before the bundled version (2026-01-01): nothing was recorded then.
    assert _publish(client, "2025-history", "2025-01-01T00:00:00Z").status_code == 201
    # After it, in the past, with no order yet: allowed too.
    assert _publish(client, "2026-06", "2026-06-01T00:00:00Z").status_code == 201
    case = _order(client, "o-1", "2026-11-20T10:00:00-08:00")
    assert case["policy_version"] == "2026-06"
    # Governs 2026-03-01 up to 2026-06-01 only, where no order was placed.
    assert _publish(client, "2026-03", "2026-03-01T00:00:00Z").status_code == 201
    again = client.get(f"/v1/disputes/{case['id']}", headers=MODERATOR).json()
    assert again["policy_version"] == "2026-06"


def test_a_past_effective_from_that_would_rejudge_recorded_orders_is_409_naming_them(
    client: TestClient[Any],
) -> None:
    _order(client, "o-late", "2026-11-20T10:00:00-08:00")
    _order(client, "o-early", "2026-11-20T08:00:00-08:00")
    response = _publish(client, "2026-07", "2026-07-01T00:00:00Z")
    problem = assert_problem(response, 409, field="effective_from")
    assert problem["type"].endswith("/policy-would-rejudge-orders")
    assert problem["orders"] == ["o-early", "o-late"]  # earliest placed first
    assert problem["order_count"] == 2
    assert "o-early" in problem["detail"] and "2 recorded order" in problem["detail"]
    # The same effective_from as the version the orders follow: of equals the one
    # published last is in force, so it too would judge them.
    problem = assert_problem(_publish(client, "2026-01-again", "2026-01-01T00:00:00Z"), 409)
    assert problem["order_count"] == 2
    # Nothing was published.
    versions = client.get("/v1/policies", headers=PLATFORM).json()["data"]
    assert [v["version"] for v in versions] == ["2027-01-default"]


def test_every_published_version_is_listed_oldest_effective_first(
    client: TestClient[Any],
) -> None:
    assert _publish(client, "2027-02", "2027-02-01T00:00:00Z").status_code == 201
    assert _publish(client, "2025-history", "2025-01-01T00:00:00Z").status_code == 201
    for role, headers in ROLE_HEADERS.items():
        response = client.get("/v1/policies", headers=headers)
        assert response.status_code == 200, role
    body = client.get("/v1/policies", headers=PLATFORM).json()
    assert body["next_cursor"] is None
    assert [(v["version"], v["effective_from"]) for v in body["data"]] == [
        ("2025-history", "2025-01-01T00:00:00Z"),
        ("2027-01-default", "2026-01-01T00:00:00Z"),
        ("2027-02", "2027-02-01T00:00:00Z"),
    ]
    assert body["data"][0]["published_by"] == {"role": "analyst", "id": "a-1"}
    assert body["data"][1]["published_by"] == {"role": "platform", "id": "configuration"}
    assert body["data"][0]["published_at"].endswith("Z")
    first = client.get("/v1/policies?limit=2", headers=PLATFORM).json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = client.get(f"/v1/policies?limit=2&cursor={first['next_cursor']}", headers=PLATFORM)
    assert [v["version"] for v in rest.json()["data"]] == ["2027-02"]
    assert_problem(client.get("/v1/policies"), 401)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_400(client: TestClient[Any], body: bytes) -> None:
    response = client.post(
        "/v1/policies", content=body, headers={**ANALYST, "Content-Type": "application/json"}
    )
    assert_problem(response, 400)


def test_an_empty_object_is_422(client: TestClient[Any]) -> None:
    problem = assert_problem(client.post("/v1/policies", json={}, headers=ANALYST), 422)
    assert {"version", "effective_from"} <= {error["field"] for error in problem["errors"]}
