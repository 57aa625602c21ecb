"""GET /v1/policies/current, GET /v1/policies/{version}, POST /v1/policies."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import ANALYST, PLATFORM, ROLE_HEADERS, assert_problem


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


def test_effective_from_in_the_past_is_422(client: TestClient[Any]) -> None:
    document = candidate(client, effective_from="2026-01-02T00:00:00Z")
    problem = assert_problem(client.post("/v1/policies", json=document, headers=ANALYST), 422)
    assert [error["field"] for error in problem["errors"]] == ["effective_from"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_400(client: TestClient[Any], body: bytes) -> None:
    response = client.post(
        "/v1/policies", content=body, headers={**ANALYST, "Content-Type": "application/json"}
    )
    assert_problem(response, 400)


def test_an_empty_object_is_422(client: TestClient[Any]) -> None:
    problem = assert_problem(client.post("/v1/policies", json={}, headers=ANALYST), 422)
    assert {"version", "effective_from"} <= {error["field"] for error in problem["errors"]}
