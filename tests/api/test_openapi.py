"""The OpenAPI document lists every path of the contract that this API serves, documented."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

#: The contract's endpoints served here (list, queue, scorecard, sweep and simulations elsewhere).
CONTRACT = {
    ("post", "/v1/orders"),
    ("post", "/v1/orders/{order_id}/shipments"),
    ("post", "/v1/orders/{order_id}/deliveries"),
    ("get", "/v1/disputes/{dispute_id}"),
    ("get", "/v1/disputes/{dispute_id}/history"),
    ("post", "/v1/disputes/{dispute_id}/seller-contacts"),
    ("post", "/v1/disputes/{dispute_id}/seller-responses"),
    ("post", "/v1/disputes/{dispute_id}/evidence"),
    ("post", "/v1/disputes/{dispute_id}/interventions"),
    ("post", "/v1/disputes/{dispute_id}/rulings"),
    ("post", "/v1/disputes/{dispute_id}/refund-requests"),
    ("post", "/v1/disputes/{dispute_id}/refund-decisions"),
    ("post", "/v1/disputes/{dispute_id}/refunds"),
    ("post", "/v1/disputes/{dispute_id}/returns"),
    ("post", "/v1/disputes/{dispute_id}/return-receipts"),
    ("post", "/v1/disputes/{dispute_id}/reviews"),
    ("post", "/v1/disputes/{dispute_id}/notes"),
    ("post", "/v1/disputes/{dispute_id}/close"),
    ("get", "/v1/policies/current"),
    ("get", "/v1/policies/{version}"),
    ("post", "/v1/policies"),
    ("get", "/health"),
}
PROBLEM = "application/problem+json"


def _document(client: TestClient[Any]) -> dict[str, Any]:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_every_contract_path_is_documented(client: TestClient[Any]) -> None:
    paths = _document(client)["paths"]
    served = {(method, path) for path, item in paths.items() for method in item}
    assert served >= CONTRACT, CONTRACT - served


def test_every_operation_has_summary_description_security_and_problems(
    client: TestClient[Any],
) -> None:
    document = _document(client)
    assert document["components"]["securitySchemes"]["BearerToken"]["scheme"].lower() == "bearer"
    assert document["security"] == [{"BearerToken": []}]
    for method, path in CONTRACT:
        operation = document["paths"][path][method]
        assert operation.get("summary"), (method, path)
        assert operation.get("description"), (method, path)
        if path == "/health":
            assert operation["security"] == [{}]
            continue
        assert "security" not in operation or operation["security"] == [{"BearerToken": []}]
        problem = operation["responses"]["401"]["content"]
        assert PROBLEM in problem, (method, path)


def test_every_route_that_counts_its_callers_documents_429_and_no_probe_does(
    client: TestClient[Any],
) -> None:
    paths = _document(client)["paths"]
    operations = [(method, path, operation) for path, item in paths.items()
                  for method, operation in item.items() if method in {"get", "post", "delete"}]
    limited = [(m, p, o) for m, p, o in operations if p.startswith("/v1/")]
    assert len(limited) > 40
    for method, path, operation in limited:
        refused = operation["responses"].get("429")
        assert refused is not None, (method, path)
        example = next(iter(refused["content"][PROBLEM]["examples"].values()))["value"]
        assert example["status"] == 429
        assert example["type"].rsplit("/", 1)[-1] in {"too-many-requests", "too-many-streams"}
        assert "Retry-After" in refused["description"], (method, path)
    for probe in ("/health", "/metrics"):
        for operation in paths.get(probe, {}).values():
            assert "429" not in operation["responses"], probe


def test_commands_document_their_headers_and_errors(client: TestClient[Any]) -> None:
    document = _document(client)
    for method, path in CONTRACT:
        if method != "post":
            continue
        operation = document["paths"][path][method]
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in headers, path
        if path.startswith("/v1/disputes/") or path.endswith(("shipments", "deliveries")):
            assert "If-Match" in headers, path
            for status in ("400", "403", "404", "409", "412", "422"):
                assert PROBLEM in operation["responses"][status]["content"], (path, status)
    case = document["paths"]["/v1/disputes/{dispute_id}"]["get"]
    assert {p["name"] for p in case["parameters"]} >= {"as_of", "as_happened", "If-None-Match"}
    described = {p["name"]: p.get("description", "") for p in case["parameters"]}
    assert "business time" in described["as_happened"] and "recorded" in described["as_of"]
    assert "304" in case["responses"]
    assert "ETag" in case["responses"]["200"]["headers"]


def test_the_interactive_page_is_served(client: TestClient[Any]) -> None:
    response = client.get("/schema")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


#: Each operation's ``operationId``: a command's is its action, a read's says what it gets.
OPERATION_IDS = {
    ("post", "/v1/orders"): "placeOrder",
    ("post", "/v1/orders/{order_id}/shipments"): "ship",
    ("post", "/v1/orders/{order_id}/deliveries"): "deliver",
    ("get", "/v1/disputes"): "listDisputes",
    ("get", "/v1/disputes/{dispute_id}"): "getDispute",
    ("get", "/v1/disputes/{dispute_id}/history"): "getHistory",
    ("post", "/v1/disputes/{dispute_id}/seller-contacts"): "contactSeller",
    ("post", "/v1/disputes/{dispute_id}/seller-responses"): "respond",
    ("post", "/v1/disputes/{dispute_id}/evidence"): "addEvidence",
    ("post", "/v1/disputes/{dispute_id}/interventions"): "requestIntervention",
    ("post", "/v1/disputes/{dispute_id}/rulings"): "rule",
    ("post", "/v1/disputes/{dispute_id}/refund-requests"): "requestRefund",
    ("post", "/v1/disputes/{dispute_id}/refund-decisions"): "decideRefund",
    ("post", "/v1/disputes/{dispute_id}/refunds"): "issueRefund",
    ("post", "/v1/disputes/{dispute_id}/returns"): "returnGoods",
    ("post", "/v1/disputes/{dispute_id}/return-receipts"): "confirmReturnReceipt",
    ("post", "/v1/disputes/{dispute_id}/reviews"): "review",
    ("post", "/v1/disputes/{dispute_id}/notes"): "addNote",
    ("post", "/v1/disputes/{dispute_id}/close"): "close",
    ("get", "/v1/moderation/queue"): "getModerationQueue",
    ("get", "/v1/sellers/{seller_id}/scorecard"): "getScorecard",
    ("get", "/v1/metrics"): "getMetrics",
    ("get", "/v1/policies/current"): "getCurrentPolicy",
    ("get", "/v1/policies/{version}"): "getPolicy",
    ("post", "/v1/policies"): "publishPolicy",
    ("post", "/v1/deadlines/sweep"): "sweep",
    ("post", "/v1/simulations"): "simulate",
    ("get", "/health"): "getHealth",
}


def test_each_operation_is_named_for_what_it_does(client: TestClient[Any]) -> None:
    paths = _document(client)["paths"]
    named = {
        (method, path): operation["operationId"]
        for path, item in paths.items()
        for method, operation in item.items()
        if (method, path) in OPERATION_IDS
    }
    assert named == OPERATION_IDS
    every = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(every) == len(set(every))  # unique, as OpenAPI requires
