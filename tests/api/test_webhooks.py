"""/v1/webhook-endpoints: the platform registers endpoints and reads their delivery log.

Through the HTTP API on both stores. Plain http to 127.0.0.1 is allowed here
(``DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK=1``), so nothing needs DNS. The
deliveries are made by a worker built on the app's own webhook store
(``app.state.webhooks``) with a scripted receiver in place of the network.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from application.disputes import DisputeDesk
from application.event_feed import EventFeed
from application.webhook_delivery import WebhookDelivery
from application.webhooks import Attempt, WebhookSettings
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from infrastructure.webhook_runtime import Webhooks
from infrastructure.webhook_sender import resolve_host, sign
from tests.api.conftest import (
    ORDER,
    PLATFORM,
    ROLE_HEADERS,
    SECRET,
    assert_problem,
)

BASE = "/v1/webhook-endpoints"
HOOK = "http://127.0.0.1:9/hook"
TYPES = ["dispute.created", "dispute.shipped"]
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The API tests' settings, and plain http to loopback allowed."""
    return Settings.from_env(
        {"DISPUTEDESK_DATABASE_URL": database_url, "DISPUTEDESK_SECRET": SECRET,
         "DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK": "1"}, cwd=tmp_path)


def _register(client: TestClient[Any], url: str = HOOK, types: list[str] | None = None,
              **extra: Any) -> dict[str, Any]:
    response = client.post(BASE, json={"url": url, "event_types": types or TYPES, **extra},
                           headers=PLATFORM)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _place(client: TestClient[Any], order_id: str) -> None:
    response = client.post("/v1/orders", json={**ORDER, "order_id": order_id}, headers=PLATFORM)
    assert response.status_code == 201, response.text


Answer = Callable[[Mapping[str, str], bytes], int]


def _worker(client: TestClient[Any], desk: DisputeDesk, answer: Answer) -> WebhookDelivery:
    """A delivery worker on the app's webhook store; a failed attempt is given up at once."""
    parts: Webhooks = client.app.state.webhooks

    def send(url: str, headers: Mapping[str, str], body: bytes, _c: float, _t: float
             ) -> Attempt:
        return Attempt(at=desk.clock.now(), latency_ms=7, status_code=answer(headers, body))

    return WebhookDelivery(EventFeed(desk), parts.store, send, sign, desk.clock,
                           WebhookSettings(retry_horizon=timedelta(0), allow_http_loopback=True),
                           resolve_host, rng=random.Random(1))


def _run(worker: WebhookDelivery) -> None:
    while not worker.fan_out()[1]:
        pass
    while worker.send_due():
        pass


# ---- registering, reading, deleting ----------------------------------------------------


def test_registering_answers_201_with_the_secret_which_is_never_shown_again(
    client: TestClient[Any], manual_clock: ManualClock
) -> None:
    response = client.post(BASE, json={"url": HOOK, "event_types": TYPES,
                                       "description": "orders feed"}, headers=PLATFORM)
    assert response.status_code == 201, response.text
    made = response.json()
    assert response.headers["location"] == f"{BASE}/{made['id']}"
    secret = made.pop("secret")
    assert secret.startswith("whsec_") and len(secret) > 40
    assert made == {
        "id": made["id"], "url": HOOK, "event_types": TYPES, "description": "orders feed",
        "enabled": True, "disabled_reason": None, "created_at": "2026-11-20T18:00:00Z",
        "failing_since": None,
    }
    listed = client.get(BASE, headers=PLATFORM)
    one = client.get(f"{BASE}/{made['id']}", headers=PLATFORM)
    assert listed.status_code == one.status_code == 200
    assert listed.json() == [made] and one.json() == made
    for text in (listed.text, one.text):
        assert secret not in text and "secret" not in text


def test_the_list_is_oldest_first(client: TestClient[Any], manual_clock: ManualClock) -> None:
    first = _register(client)
    manual_clock.advance(timedelta(minutes=1))
    second = _register(client, "http://127.0.0.1:10/other", ["dispute.ruled"])
    listed = client.get(BASE, headers=PLATFORM).json()
    assert [e["id"] for e in listed] == [first["id"], second["id"]]
    assert listed[1]["event_types"] == ["dispute.ruled"]


@pytest.mark.parametrize("role", ["buyer", "seller", "moderator", "analyst"])
def test_only_the_platform_manages_webhooks(client: TestClient[Any], role: str) -> None:
    made = _register(client)
    path = f"{BASE}/{made['id']}"
    headers = ROLE_HEADERS[role]
    calls = [
        client.post(BASE, json={"url": HOOK, "event_types": TYPES}, headers=headers),
        client.get(BASE, headers=headers),
        client.get(path, headers=headers),
        client.delete(path, headers=headers),
        client.post(f"{path}/enable", headers=headers),
        client.post(f"{path}/rotate-secret", headers=headers),
        client.get(f"{path}/deliveries", headers=headers),
        client.get(f"{path}/deliveries/1", headers=headers),
        client.post(f"{path}/deliveries/1/retry", headers=headers),
    ]
    for response in calls:
        assert_problem(response, 403)
    assert len(client.get(BASE, headers=PLATFORM).json()) == 1


def test_no_token_is_401(client: TestClient[Any]) -> None:
    assert_problem(client.get(BASE), 401)
    assert_problem(client.post(BASE, json={"url": HOOK, "event_types": TYPES}), 401)


def test_an_unknown_event_type_is_422_naming_it(client: TestClient[Any]) -> None:
    response = client.post(BASE, json={"url": HOOK, "event_types": ["dispute.created",
                                                                    "dispute.exploded"]},
                           headers=PLATFORM)
    body = assert_problem(response, 422)
    assert "dispute.exploded" in body["detail"] and "dispute.created" not in body["detail"]
    assert client.get(BASE, headers=PLATFORM).json() == []


@pytest.mark.parametrize("url", [
    "http://203.0.113.9/hook",
    "ftp://127.0.0.1/hook",
    "127.0.0.1/hook",
])
def test_a_url_that_is_not_https_is_422_saying_so(client: TestClient[Any], url: str) -> None:
    body = assert_problem(client.post(BASE, json={"url": url, "event_types": TYPES},
                                      headers=PLATFORM), 422)
    assert "https" in body["detail"]
    assert body["type"].endswith("/webhook-url-refused")


@pytest.mark.parametrize(("url", "address"), [
    ("https://10.0.0.1/hook", "10.0.0.1"),
    ("https://192.168.1.1:8443/hook", "192.168.1.1"),
    ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
    ("https://[fd00::1]/hook", "fd00::1"),
])
def test_a_private_address_is_422(client: TestClient[Any], url: str, address: str) -> None:
    body = assert_problem(client.post(BASE, json={"url": url, "event_types": TYPES},
                                      headers=PLATFORM), 422)
    assert "private or local address" in body["detail"] and address in body["detail"]


def test_credentials_in_the_url_are_422(client: TestClient[Any]) -> None:
    body = assert_problem(client.post(BASE, json={"url": "http://u:p@127.0.0.1/hook",
                                                  "event_types": TYPES}, headers=PLATFORM), 422)
    assert "credentials" in body["detail"]


def test_an_unknown_endpoint_is_404(client: TestClient[Any]) -> None:
    path = f"{BASE}/{MISSING}"
    assert_problem(client.get(path, headers=PLATFORM), 404)
    assert_problem(client.delete(path, headers=PLATFORM), 404)
    assert_problem(client.post(f"{path}/enable", headers=PLATFORM), 404)
    assert_problem(client.post(f"{path}/rotate-secret", headers=PLATFORM), 404)
    assert_problem(client.get(f"{path}/deliveries", headers=PLATFORM), 404)
    assert_problem(client.get(f"{path}/deliveries/1", headers=PLATFORM), 404)
    assert_problem(client.post(f"{path}/deliveries/1/retry", headers=PLATFORM), 404)


def test_delete_is_204_then_404(client: TestClient[Any]) -> None:
    kept, gone = _register(client), _register(client)
    response = client.delete(f"{BASE}/{gone['id']}", headers=PLATFORM)
    assert response.status_code == 204 and response.content == b""
    assert_problem(client.get(f"{BASE}/{gone['id']}", headers=PLATFORM), 404)
    assert_problem(client.delete(f"{BASE}/{gone['id']}", headers=PLATFORM), 404)
    assert [e["id"] for e in client.get(BASE, headers=PLATFORM).json()] == [kept["id"]]


def test_rotating_gives_a_new_secret_and_how_long_the_old_one_still_signs(
    client: TestClient[Any], manual_clock: ManualClock
) -> None:
    made = _register(client)
    manual_clock.advance(timedelta(hours=2))
    response = client.post(f"{BASE}/{made['id']}/rotate-secret", headers=PLATFORM)
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["id"] == made["id"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    assert rotated["previous_valid_until"] == "2026-11-21T20:00:00Z"
    shown = client.get(f"{BASE}/{made['id']}", headers=PLATFORM).text
    assert rotated["secret"] not in shown and made["secret"] not in shown
    again = client.post(f"{BASE}/{made['id']}/rotate-secret", headers=PLATFORM).json()
    assert again["secret"] not in (made["secret"], rotated["secret"])


def test_a_disabled_endpoint_shows_why_and_enabling_clears_it(
    client: TestClient[Any], manual_clock: ManualClock
) -> None:
    made = _register(client)
    parts: Webhooks = client.app.state.webhooks
    # Given the worker disabled it after it kept failing,
    parts.store.set_enabled(made["id"], False, "every attempt failed since then; last: HTTP 500",
                            manual_clock.now())
    down = client.get(f"{BASE}/{made['id']}", headers=PLATFORM).json()
    assert down["enabled"] is False and "HTTP 500" in down["disabled_reason"]
    # enabling answers the endpoint enabled again.
    response = client.post(f"{BASE}/{made['id']}/enable", headers=PLATFORM)
    assert response.status_code == 200, response.text
    assert response.json() == {**down, "enabled": True, "disabled_reason": None}


# ---- the delivery log ---------------------------------------------------------------


def _log(client: TestClient[Any], endpoint: str, **query: Any) -> list[dict[str, Any]]:
    """Every page of the endpoint's delivery log, following next_cursor."""
    found: list[dict[str, Any]] = []
    while True:
        response = client.get(f"{BASE}/{endpoint}/deliveries", params=query, headers=PLATFORM)
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(page["data"])
        if page["next_cursor"] is None:
            return found
        assert len(page["data"]) == query.get("limit", 50)
        query = {**query, "after": page["next_cursor"]}


@pytest.fixture
def logged(client: TestClient[Any], desk: DisputeDesk) -> tuple[str, dict[str, Any]]:
    """An endpoint whose receiver took o-1, o-3, o-5, refused o-2 and o-4 (given up at
    once), and has not yet been sent o-6: (endpoint id, event ids by order)."""
    made = _register(client)
    refused = {"o-2", "o-4"}

    def answer(_headers: Mapping[str, str], body: bytes) -> int:
        return 500 if any(f'"{o}"' in body.decode() for o in refused) else 200

    worker = _worker(client, desk, answer)
    for n in range(1, 6):
        _place(client, f"o-{n}")
    _run(worker)
    _place(client, "o-6")
    while not worker.fan_out()[1]:
        pass
    events = EventFeed(desk).log_events(0).events
    return made["id"], {e["order_id"]: e["id"] for e in events}


def test_the_delivery_log_pages_in_event_order(
    client: TestClient[Any], logged: tuple[str, dict[str, Any]]
) -> None:
    endpoint, ids = logged
    everything = _log(client, endpoint)
    assert [d["id"] for d in everything] == [ids[f"o-{n}"] for n in range(1, 7)]
    assert [d["status"] for d in everything] == [
        "delivered", "failed", "delivered", "failed", "delivered", "pending"]
    assert _log(client, endpoint, limit=2) == everything
    assert _log(client, endpoint, limit=5) == everything
    first, second = everything[0], everything[1]
    assert first["event_id"] == first["id"] and first["event_type"] == "dispute.created"
    assert first["attempts"] == 1 and first["last_status_code"] == 200
    assert first["last_latency_ms"] == 7 and first["delivered_at"] == "2026-11-20T18:00:00Z"
    assert first["next_attempt_at"] is None and first["last_error"] is None
    assert second["last_status_code"] == 500 and second["delivered_at"] is None
    assert everything[-1]["attempts"] == 0
    assert everything[-1]["next_attempt_at"] == "2026-11-20T18:00:00Z"


def test_the_delivery_log_keeps_one_status(
    client: TestClient[Any], logged: tuple[str, dict[str, Any]]
) -> None:
    endpoint, ids = logged
    assert [d["id"] for d in _log(client, endpoint, status="failed")] == [ids["o-2"], ids["o-4"]]
    assert [d["id"] for d in _log(client, endpoint, status="delivered", limit=1)] == [
        ids["o-1"], ids["o-3"], ids["o-5"]]
    assert [d["id"] for d in _log(client, endpoint, status="pending")] == [ids["o-6"]]
    assert_problem(client.get(f"{BASE}/{endpoint}/deliveries", params={"status": "lost"},
                              headers=PLATFORM), 400)
    assert_problem(client.get(f"{BASE}/{endpoint}/deliveries", params={"after": "!"},
                              headers=PLATFORM), 400)


def test_one_delivery_with_its_attempt_log_and_a_retry_by_hand(
    client: TestClient[Any], desk: DisputeDesk, manual_clock: ManualClock,
    logged: tuple[str, dict[str, Any]],
) -> None:
    endpoint, ids = logged
    path = f"{BASE}/{endpoint}/deliveries/{ids['o-2']}"
    failed = client.get(path, headers=PLATFORM)
    assert failed.status_code == 200, failed.text
    assert failed.json()["status"] == "failed"
    assert failed.json()["attempt_log"] == [
        {"at": "2026-11-20T18:00:00Z", "latency_ms": 7, "status_code": 500, "error": None}]
    # When the platform retries it by hand, it is queued now, with the same id,
    manual_clock.advance(timedelta(minutes=30))
    retried = client.post(f"{path}/retry", headers=PLATFORM)
    assert retried.status_code == 202, retried.text
    assert retried.json()["id"] == ids["o-2"] and retried.json()["status"] == "pending"
    assert retried.json()["next_attempt_at"] == "2026-11-20T18:30:00Z"
    # and the next round delivers it; its log shows both attempts, newest first.
    seen: list[str] = []

    def answer(headers: Mapping[str, str], _body: bytes) -> int:
        seen.append(headers["webhook-id"])
        return 200

    _run(_worker(client, desk, answer))
    assert ids["o-2"] in seen
    detail = client.get(path, headers=PLATFORM).json()
    assert (detail["status"], detail["attempts"]) == ("delivered", 2)
    assert [a["status_code"] for a in detail["attempt_log"]] == [200, 500]
    assert detail["attempt_log"][0]["at"] == "2026-11-20T18:30:00Z"
    assert_problem(client.get(f"{BASE}/{endpoint}/deliveries/999999", headers=PLATFORM), 404)
    assert_problem(client.get(f"{BASE}/{endpoint}/deliveries/abc", headers=PLATFORM), 404)
    assert_problem(client.post(f"{BASE}/{endpoint}/deliveries/999999/retry",
                               headers=PLATFORM), 404)


def test_a_deleted_endpoint_takes_its_log_with_it(
    client: TestClient[Any], logged: tuple[str, dict[str, Any]]
) -> None:
    endpoint, ids = logged
    assert client.delete(f"{BASE}/{endpoint}", headers=PLATFORM).status_code == 204
    assert_problem(client.get(f"{BASE}/{endpoint}/deliveries/{ids['o-1']}",
                              headers=PLATFORM), 404)
    parts: Webhooks = client.app.state.webhooks
    assert parts.store.deliveries(endpoint, None, 10) == []
    again = _register(client)
    assert _log(client, again["id"]) == []


# ---- the schema --------------------------------------------------------------------


def test_the_openapi_schema_lists_every_webhook_path(client: TestClient[Any]) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    one = f"{BASE}/{{endpoint_id}}"
    delivery = f"{one}/deliveries/{{delivery_id}}"
    expected = {
        (BASE, "post"), (BASE, "get"), (one, "get"), (one, "delete"),
        (f"{one}/enable", "post"), (f"{one}/rotate-secret", "post"),
        (f"{one}/deliveries", "get"), (delivery, "get"), (f"{delivery}/retry", "post"),
    }
    served = {(path, method) for path, item in paths.items() for method in item
              if path.startswith(BASE)}
    assert served == expected
    for path, method in expected:
        operation = paths[path][method]
        assert operation["summary"] and operation["tags"] == ["webhooks"], (path, method)
        assert "403" in operation["responses"], (path, method)

