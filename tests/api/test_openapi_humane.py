"""The OpenAPI document reads as written by a person, and its page works offline.

Every operation has an explicit camelCase ``operationId`` (none generated, none
shared), every tag is declared with a description, each documented error shows
a real problem document, the closed vocabularies are ``enum``s, and ``/schema``
loads nothing from outside the app.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

import interface.http.app as app_module
from application.disputes import DisputeDesk
from application.projections.records import CLAIM_FILTERS
from domain.dispute import (
    CONTACT_CHANNELS,
    EVIDENCE_KINDS,
    INTERVENTION_REASONS,
    OUTCOMES,
    STATUSES,
)
from domain.dispute.ruling_events import DECISIONS
from infrastructure.settings import Settings
from interface.http.errors import PROBLEM_BASE
from interface.http.openapi import openapi_config
from tests.api.conftest import BUYER, ORDER, PLATFORM, SELLER

PROBLEM = "application/problem+json"
CAMEL_CASE = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")
#: What polyfactory makes up for a string: 20 random letters, several of them capitals.
FILLER = re.compile(r"^(?=(?:.*[A-Z]){4})[A-Za-z]{20}$")


def _documented_config(**given: Any) -> OpenAPIConfig:
    """app.py's OpenAPIConfig(...) call, answered by ``openapi.openapi_config``."""
    return openapi_config(given["components"], given["security"], version=given["version"])


@pytest.fixture
def app(desk: DisputeDesk, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Litestar:
    # Until app.py calls openapi_config() itself; harmless once it does.
    monkeypatch.setattr(app_module, "OpenAPIConfig", _documented_config, raising=False)
    return app_module.create_app(desk, settings)


@pytest.fixture
def docs(app: Litestar) -> Iterator[TestClient[Any]]:
    with TestClient(app) as test_client:
        yield test_client


def _document(client: TestClient[Any]) -> dict[str, Any]:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _documented_handlers(app: Litestar) -> Iterator[HTTPRouteHandler]:
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if handler.resolve_include_in_schema():
                    yield handler


def test_every_operation_names_itself_once(app: Litestar, docs: TestClient[Any]) -> None:
    handlers = list(_documented_handlers(app))
    assert handlers
    unnamed = [handler.handler_name for handler in handlers
               if not isinstance(handler.operation_id, str)]
    assert not unnamed, f"operations without an explicit operation_id: {unnamed}"
    document = _document(docs)
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(handlers)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(CAMEL_CASE.match(i) for i in ids), [i for i in ids if not CAMEL_CASE.match(i)]
    assert not [path for path in document["paths"] if path.startswith("/console")]


def test_every_tag_is_declared_with_a_description(docs: TestClient[Any]) -> None:
    document = _document(docs)
    declared = {tag["name"]: tag.get("description", "") for tag in document["tags"]}
    used = {tag for _, _, operation in _operations(document) for tag in operation["tags"]}
    assert used <= set(declared), used - set(declared)
    assert all(declared[tag] for tag in used)
    assert all(operation["tags"] for _, _, operation in _operations(document))


def test_each_documented_error_shows_a_real_problem(docs: TestClient[Any]) -> None:
    document = _document(docs)
    shown = 0
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get(PROBLEM)
            if content is None:
                continue
            examples = content.get("examples", {})
            assert examples, (method, path, status)
            for example in examples.values():
                problem = example["value"]
                assert problem["status"] == int(status), (method, path, status)
                assert problem["title"] == HTTPStatus(int(status)).phrase
                assert problem["type"].startswith(PROBLEM_BASE)
                assert " " in problem["detail"] and example["summary"]
                shown += 1
    assert shown > 100
    for name in ("Problem", "FieldError", "RejudgeProblem"):
        assert not _filler(document["components"]["schemas"][name]), name


def _filler(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [word for value in node.values() for word in _filler(value)]
    if isinstance(node, list):
        return [word for value in node for word in _filler(value)]
    return [node] if isinstance(node, str) and FILLER.match(node) else []


def test_the_examples_are_what_the_api_answers(docs: TestClient[Any]) -> None:
    document = _document(docs)
    contact = document["paths"]["/v1/disputes/{dispute_id}/seller-contacts"]["post"]
    decide = document["paths"]["/v1/disputes/{dispute_id}/refund-decisions"]["post"]
    invalid = next(iter(contact["responses"]["422"]["content"][PROBLEM]["examples"].values()))
    refused = next(iter(decide["responses"]["409"]["content"][PROBLEM]["examples"].values()))
    case = docs.post("/v1/orders", json=ORDER, headers=PLATFORM).json()
    answered = docs.post(f"/v1/disputes/{case['id']}/seller-contacts", headers=BUYER,
                         json={"message": "where is it?", "channel": "pigeon"})
    assert answered.status_code == 422
    body = answered.json()
    assert (body["type"], body["detail"], body["errors"]) == (
        invalid["value"]["type"], invalid["value"]["detail"], invalid["value"]["errors"]
    )
    answered = docs.post(f"/v1/disputes/{case['id']}/refund-decisions", headers=SELLER,
                         json={"approve": True})
    assert answered.status_code == 409
    assert (answered.json()["type"], answered.json()["detail"]) == (
        refused["value"]["type"], refused["value"]["detail"]
    )


def _enum(schema: dict[str, Any]) -> list[str]:
    for branch in (schema, *schema.get("oneOf", ()), *schema.get("anyOf", ())):
        if "enum" in branch:
            return list(branch["enum"])
    raise AssertionError(f"no enum in {schema}")


def test_closed_vocabularies_are_enums(docs: TestClient[Any]) -> None:
    document = _document(docs)
    schemas = document["components"]["schemas"]
    expected = {
        ("ContactSeller", "channel"): CONTACT_CHANNELS,
        ("Evidence", "kind"): EVIDENCE_KINDS,
        ("RequestIntervention", "reason"): INTERVENTION_REASONS,
        ("Intervention", "reason"): INTERVENTION_REASONS,
        ("QueueEntry", "reason"): INTERVENTION_REASONS,
        ("Rule", "outcome"): OUTCOMES,
        ("Intervention", "outcome"): OUTCOMES,
        ("DecideAppeal", "decision"): DECISIONS,
        ("DecideAppeal", "outcome"): OUTCOMES,
        ("CaseView", "status"): STATUSES,
        ("DisputeSummary", "status"): STATUSES,
    }
    for (name, field), values in expected.items():
        assert _enum(schemas[name]["properties"][field]) == list(values), (name, field)
    outcomes = schemas["ReasonCode"]["properties"]["outcomes"]["items"]
    assert _enum(outcomes) == list(OUTCOMES)
    queue = document["paths"]["/v1/moderation/queue"]["get"]
    parameters = {p["name"]: p["schema"] for p in queue["parameters"]}
    assert _enum(parameters["reason"]) == list(INTERVENTION_REASONS)
    assert _enum(parameters["claim"]) == list(CLAIM_FILTERS)
    listing = document["paths"]["/v1/disputes"]["get"]
    parameters = {p["name"]: p["schema"] for p in listing["parameters"]}
    assert _enum(parameters["status"]) == list(STATUSES)
    upload = document["paths"]["/v1/disputes/{dispute_id}/evidence"]["post"]["requestBody"]
    for media_type in ("application/json", "multipart/form-data"):
        kind = upload["content"][media_type]["schema"]["properties"]["kind"]
        assert _enum(kind) == list(EVIDENCE_KINDS), media_type


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls.extend(value for name, value in attrs if name in ("src", "href") and value)


def test_the_docs_page_loads_nothing_from_outside(docs: TestClient[Any]) -> None:
    page = docs.get("/schema")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    links = _Links()
    links.feed(page.text)
    assert len(links.urls) >= 3, links.urls  # the script, the preset and the stylesheet
    outside = [url for url in links.urls if not url.startswith("/") or url.startswith("//")]
    assert not outside, outside
    for url in links.urls:
        asset = docs.get(url)
        assert asset.status_code == 200 and asset.content, url
    css = [url for url in links.urls if url.endswith(".css")]
    assert css and "url(http" not in docs.get(css[0]).text
    assert "SwaggerUIBundle" in page.text
