"""Idempotency-Key on POST: replay, refusal of reuse, durability, races."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from application.disputes import DisputeDesk
from application.idempotency import (
    LEASE,
    CaseOutcome,
    IdempotencyKeys,
    InProgress,
    Mismatch,
    Proceed,
    Replay,
    StoredResponse,
    fingerprint,
    is_kept,
)
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.idempotency_store import open_idempotency_store
from infrastructure.settings import Settings
from interface.http.app import create_app
from tests.api.conftest import BUYER, MODERATOR, ORDER, OTHER_BUYER, PLATFORM, assert_problem

CONTACT = {"message": "Where is it?", "channel": "chat"}


def _events(client: TestClient[Any], dispute_id: str) -> int:
    version: int = client.get(f"/v1/disputes/{dispute_id}/history", headers=MODERATOR).json()[
        "version"
    ]
    return version


def _contact(client: TestClient[Any], case: dict[str, Any], key: str | bytes, body: Any = CONTACT,
             headers: dict[str, str] = BUYER) -> Any:
    raw_key = key if isinstance(key, bytes) else key.encode()
    all_headers = [(name.encode(), value.encode()) for name, value in headers.items()]
    return client.post(
        f"/v1/disputes/{case['id']}/seller-contacts",
        json=body,
        headers=[*all_headers, (b"Idempotency-Key", raw_key)],
    )


def test_a_retry_returns_the_first_response_and_records_nothing(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    first = _contact(client, case, "key-1")
    assert first.status_code == 200
    retry = _contact(client, case, "key-1")
    assert retry.status_code == 200
    assert retry.content == first.content
    assert retry.headers["etag"] == first.headers["etag"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _events(client, case["id"]) == 2


def test_the_same_json_with_other_spacing_or_key_order_is_the_same_request(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    url = f"/v1/disputes/{case['id']}/seller-contacts"
    headers = {**BUYER, "Idempotency-Key": "k", "Content-Type": "application/json"}
    first = client.post(url, content=b'{"message": "Where is it?", "channel": "chat"}',
                        headers=headers)
    second = client.post(url, content=b'{"channel":"chat","message":"Where is it?"}',
                         headers=headers)
    assert second.content == first.content
    assert _events(client, case["id"]) == 2


def test_the_same_key_with_another_body_is_422(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    assert _contact(client, case, "key-2").status_code == 200
    other = _contact(client, case, "key-2", {"message": "Hello?", "channel": "email"})
    problem = assert_problem(other, 422, field="Idempotency-Key")
    assert "different request" in problem["detail"]
    assert _events(client, case["id"]) == 2


def test_the_same_key_on_another_path_is_422(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    assert _contact(client, case, "key-3").status_code == 200
    response = client.post(
        f"/v1/disputes/{case['id']}/evidence",
        json={"kind": "other", "description": "x"},
        headers={**BUYER, "Idempotency-Key": "key-3"},
    )
    assert_problem(response, 422, field="Idempotency-Key")


def test_keys_belong_to_their_principal(client: TestClient[Any], case: dict[str, Any]) -> None:
    assert _contact(client, case, "shared").status_code == 200
    # Another buyer's identical key is theirs: it runs (and finds no such case).
    assert_problem(_contact(client, case, "shared", headers=OTHER_BUYER), 404)


def test_place_order_replays_its_201(client: TestClient[Any]) -> None:
    headers = {**PLATFORM, "Idempotency-Key": "order-o-1"}
    first = client.post("/v1/orders", json=ORDER, headers=headers)
    retry = client.post("/v1/orders", json=ORDER, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.headers["location"] == first.headers["location"]
    assert retry.content == first.content


def test_a_conflict_is_replayed_but_a_malformed_request_is_not_stored(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    review = {"rating": 4, "comment": "fine"}
    url = f"/v1/disputes/{case['id']}/reviews"
    assert client.post(url, json=review, headers=BUYER).status_code == 200
    first = client.post(url, json=review, headers={**BUYER, "Idempotency-Key": "r"})
    assert_problem(first, 409)
    replay = client.post(url, json=review, headers={**BUYER, "Idempotency-Key": "r"})
    assert replay.status_code == 409 and replay.headers["idempotent-replayed"] == "true"

    bad = _contact(client, case, "fix-me", {"message": "hi"})
    assert_problem(bad, 400)
    fixed = _contact(client, case, "fix-me")
    assert fixed.status_code == 200
    assert "idempotent-replayed" not in fixed.headers


def test_a_forbidden_request_does_not_use_up_the_key(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    url = f"/v1/disputes/{case['id']}/notes"
    refused = client.post(url, json={"text": "x"}, headers={**BUYER, "Idempotency-Key": "n"})
    assert_problem(refused, 403)
    assert "idempotent-replayed" not in _contact(client, case, "n").headers


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve".encode(), "tab\there"])
def test_malformed_keys_are_400(
    client: TestClient[Any], case: dict[str, Any], key: str | bytes
) -> None:
    assert_problem(_contact(client, case, key), 400, field="Idempotency-Key")


def test_keys_survive_a_restart(
    settings: Settings, manual_clock: ManualClock
) -> None:
    desk = build_application(settings, clock=manual_clock)
    try:
        with TestClient(create_app(desk, settings)) as client:
            first = client.post("/v1/orders", json=ORDER,
                                headers={**PLATFORM, "Idempotency-Key": "durable"})
            dispute_id = first.json()["id"]
            assert _contact(client, {"id": dispute_id}, "durable-contact").status_code == 200
    finally:
        desk.close()
    desk = build_application(settings, clock=manual_clock)
    try:
        with TestClient(create_app(desk, settings)) as client:
            retry = client.post("/v1/orders", json=ORDER,
                                headers={**PLATFORM, "Idempotency-Key": "durable"})
            assert retry.status_code == 201
            assert retry.content == first.content
            again = _contact(client, {"id": dispute_id}, "durable-contact")
            assert again.headers["idempotent-replayed"] == "true"
            assert _events(client, dispute_id) == 2
    finally:
        desk.close()


def test_identical_requests_at_once_record_one_event(
    client: TestClient[Any], case: dict[str, Any], desk: DisputeDesk,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = desk.contact_seller
    gate = threading.Event()

    def slow_contact(*args: Any, **kwargs: Any) -> Any:
        gate.wait(2)
        return original(*args, **kwargs)

    monkeypatch.setattr(desk, "contact_seller", slow_contact)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(_contact, client, case, "race") for _ in range(4)]
        threading.Timer(0.3, gate.set).start()
        responses = [future.result(timeout=30) for future in futures]
    statuses = sorted(response.status_code for response in responses)
    # The others wait for the first, then replay it or hear "in progress" (503).
    assert all(status in (200, 503) for status in statuses), statuses
    for response in responses:
        if response.status_code == 503:
            assert response.headers["retry-after"]
            assert response.json()["type"].endswith("/idempotency-key-in-progress")
    successes = [response for response in responses if response.status_code == 200]
    assert successes and len({response.content for response in successes}) == 1
    assert _events(client, case["id"]) == 2


# ---- the rules and the stores, without HTTP ---------------------------------------------


def _response(status: int = 200) -> StoredResponse:
    return StoredResponse(status, (("content-type", "application/json"),), b'{"ok": true}')


def test_rules_over_the_store(settings: Settings) -> None:
    clock = ManualClock(datetime(2026, 11, 20, 18, 0, tzinfo=UTC))
    store = open_idempotency_store(settings.database)
    keys = IdempotencyKeys(store, clock)
    try:
        first = keys.begin("buyer:b-1", "k", "print-a")
        assert isinstance(first, Proceed)
        assert keys.begin("buyer:b-1", "k", "print-a") == InProgress()
        assert keys.begin("buyer:b-1", "k", "print-b") == Mismatch()
        keys.finish("buyer:b-1", "k", first.claim, _response())
        assert keys.begin("buyer:b-1", "k", "print-a") == Replay(_response())
        # A failed request releases its key.
        failed = keys.begin("buyer:b-1", "k2", "p")
        assert isinstance(failed, Proceed)
        keys.finish("buyer:b-1", "k2", failed.claim, _response(412))
        again = keys.begin("buyer:b-1", "k2", "p")
        assert isinstance(again, Proceed)
        keys.abandon("buyer:b-1", "k2", again.claim)
        assert isinstance(keys.begin("buyer:b-1", "k2", "q"), Proceed)
        # A claim left behind by a request that died is taken over after the lease...
        clock.advance(LEASE + timedelta(seconds=1))
        taken = keys.begin("buyer:b-1", "k2", "q")
        assert isinstance(taken, Proceed)
        # (a decided key is not: it is answered as before)
        assert keys.begin("buyer:b-1", "k", "print-a") == Replay(_response())
        # ...and the attempt that died can no longer release or complete it.
        keys.abandon("buyer:b-1", "k2", "someone-else")
        assert keys.begin("buyer:b-1", "k2", "q") == InProgress()
        keys.finish("buyer:b-1", "k2", taken.claim, CaseOutcome(200, (), "d-1", 3, 17))
        assert keys.begin("buyer:b-1", "k2", "q") == Replay(CaseOutcome(200, (), "d-1", 3, 17))
        assert store.count() == 2
        # Keys are forgotten after the retention period.
        clock.advance(timedelta(hours=25))
        assert keys.purge_expired() == 2
        assert isinstance(keys.begin("buyer:b-1", "k", "print-b"), Proceed)
    finally:
        store.close()


def test_only_one_of_many_concurrent_claims_wins(settings: Settings) -> None:
    stores = [open_idempotency_store(settings.database) for _ in range(2)]
    clock = ManualClock(datetime(2026, 11, 20, 18, 0, tzinfo=UTC))
    try:
        barrier = threading.Barrier(8)

        def claim(index: int) -> Any:
            keys = IdempotencyKeys(stores[index % 2], clock)
            barrier.wait()
            return keys.begin("platform:p", "same", "print")

        with ThreadPoolExecutor(max_workers=8) as pool:
            decisions = list(pool.map(claim, range(8)))
        assert sum(isinstance(decision, Proceed) for decision in decisions) == 1
        assert decisions.count(InProgress()) == 7
    finally:
        for store in stores:
            store.close()


def test_fingerprints_and_which_outcomes_are_kept() -> None:
    assert fingerprint("POST", "/a", b'{"x": 1, "y": 2}') == fingerprint(
        "post", "/a", b'{"y":2,"x":1}'
    )
    assert fingerprint("POST", "/a", b"{}") != fingerprint("POST", "/b", b"{}")
    assert fingerprint("POST", "/a", b"not json") != fingerprint("POST", "/a", b"not json!")
    assert [status for status in (200, 201, 400, 401, 403, 404, 409, 412, 422, 500)
            if is_kept(status)] == [200, 201, 404, 409, 422]


# ---- a command that committed while its key did not (a crash, an outage) -----------------


def _lose_the_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies after the command committed, before its key was completed:
    the key stays "in progress" and the client never hears the answer."""
    monkeypatch.setattr(IdempotencyKeys, "finish", lambda *args, **kwargs: None)


def test_a_command_committed_before_a_crash_is_replayed_from_its_events(
    client: TestClient[Any], case: dict[str, Any], desk: DisputeDesk,
    manual_clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"/v1/disputes/{case['id']}/notes"
    headers = {**MODERATOR, "Idempotency-Key": "note-1"}
    with monkeypatch.context() as crash:
        _lose_the_outcome(crash)
        lost = client.post(url, json={"text": "seen once"}, headers=headers)
    assert lost.status_code == 200  # committed; the client never got this answer

    # While the first attempt might still commit, a retry waits, then hears 503.
    busy = client.post(url, json={"text": "seen once"}, headers=headers)
    problem = assert_problem(busy, 503)
    assert problem["type"].endswith("/idempotency-key-in-progress")
    assert int(busy.headers["retry-after"]) >= 1

    # After the lease the retry runs, finds its own stamp in the events, and replays.
    manual_clock.advance(LEASE + timedelta(seconds=1))
    retry = client.post(url, json={"text": "seen once"}, headers=headers)
    assert retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["etag"] == lost.headers["etag"]
    assert retry.json()["version"] == lost.json()["version"]
    history = client.get(f"/v1/disputes/{case['id']}/history", headers=MODERATOR).json()
    assert [row["data"].get("text") for row in history["data"]].count("seen once") == 1
    # ...and the answer is kept now: the next retry is a plain replay.
    again = client.post(url, json={"text": "seen once"}, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["version"] == lost.json()["version"]


def test_an_order_placed_before_a_crash_replays_its_201(
    client: TestClient[Any], manual_clock: ManualClock, desk: DisputeDesk,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = {**PLATFORM, "Idempotency-Key": "order-lost"}
    with monkeypatch.context() as crash:
        _lose_the_outcome(crash)
        lost = client.post("/v1/orders", json=ORDER, headers=headers)
    assert lost.status_code == 201
    manual_clock.advance(LEASE + timedelta(seconds=1))
    retry = client.post("/v1/orders", json=ORDER, headers=headers)
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == lost.json()["id"]
    # Without the key, the same order is the plain "already recorded" 200.
    assert client.post("/v1/orders", json=ORDER, headers=PLATFORM).status_code == 200


def test_a_replayed_case_is_rendered_at_its_version_not_stored(
    client: TestClient[Any], case: dict[str, Any], settings: Settings
) -> None:
    first = _contact(client, case, "small")
    later = client.post(f"/v1/disputes/{case['id']}/notes", json={"text": "after"},
                        headers=MODERATOR)
    assert later.json()["version"] == first.json()["version"] + 1
    retry = _contact(client, case, "small")
    assert retry.json()["version"] == first.json()["version"]
    assert retry.headers["etag"] == first.headers["etag"]
    store = open_idempotency_store(settings.database)
    try:
        record = store.reserve("buyer:b-1", "small", "?", "c", datetime.now(UTC),
                               stale_before=datetime(2000, 1, 1, tzinfo=UTC))
    finally:
        store.close()
    assert record is not None and isinstance(record.outcome, CaseOutcome)
    assert record.outcome.version == first.json()["version"]
