"""Webhook delivery, on SQLite and on PostgreSQL, with time moved only by the manual clock.

The receiver is scripted (:mod:`tests.integration.webhook_rig`): it records each
request and answers 200, a 5xx, or an error, as each story needs. A last story
runs ``disputedesk deliver --once`` against a real HTTP receiver
(:mod:`tests.integration.test_webhook_deliver_command`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from application.webhook_endpoints import EndpointNotFound
from application.webhooks import Attempt, DeliveryStatus, Endpoint, backoff
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from infrastructure.webhook_store import open_webhook_store
from tests.integration.webhook_rig import (
    PLATFORM,
    SEED,
    SETTINGS,
    Rig,
    Sent,
    make_delivery,
    real_now,
    rig,
)


@pytest.fixture
def hooks(database_url: str, manual_clock: ManualClock) -> Iterator[Rig]:
    with rig(database_url, manual_clock) as made:
        yield made


# ---- fan-out ----------------------------------------------------------------------


def test_each_event_goes_once_to_each_endpoint_that_subscribed_to_its_type(hooks: Rig) -> None:
    # Given three endpoints: one for every type, one for shipments, one for rulings,
    everything, _ = hooks.register("all")
    shipping, _ = hooks.register("shipping", ["dispute.shipped"])
    rulings, _ = hooks.register("rulings", ["dispute.ruled"])
    # when a case is opened, the seller contacted and the order shipped,
    dispute = hooks.place()
    hooks.contact(dispute)
    hooks.ship(dispute)
    sent = hooks.drain()
    # each event went once to each endpoint that asked for its type, and to no other.
    kinds = [(s.url.split("//")[1].split(".")[0], s.event["type"]) for s in sent]
    assert sorted(kinds) == sorted([
        ("all", "dispute.created"), ("all", "dispute.seller_contacted"),
        ("all", "dispute.shipped"), ("shipping", "dispute.shipped"),
    ])
    assert [d.event_type for d in hooks.deliveries(everything)] == [
        "dispute.created", "dispute.seller_contacted", "dispute.shipped"]
    assert [d.event_type for d in hooks.deliveries(shipping)] == ["dispute.shipped"]
    assert hooks.deliveries(rulings) == []
    # Fanning out again changes nothing.
    assert hooks.drain() == []
    assert len(hooks.deliveries(everything)) == 3


def test_an_endpoint_gets_only_the_events_recorded_after_it_was_registered(hooks: Rig) -> None:
    # Given a case opened before any endpoint, and before the fan-out has read it,
    before = hooks.place()
    endpoint, _ = hooks.register("late")
    # when another is opened after the endpoint was registered,
    after = hooks.place()
    hooks.contact(before)
    sent = hooks.drain()
    # only the events recorded since reach it.
    assert [(s.event["dispute_id"], s.event["type"]) for s in sent] == [
        (str(after), "dispute.created"), (str(before), "dispute.seller_contacted")]
    assert len(hooks.deliveries(endpoint)) == 2


def test_two_workers_fanning_out_the_same_page_commit_it_once(
    hooks: Rig, database_url: str
) -> None:
    # Given an endpoint and three cases, and a second worker on its own connection,
    endpoint, _ = hooks.register("race")
    for _ in range(3):
        hooks.place()
    other_store = open_webhook_store(Settings.from_env(
        {"DISPUTEDESK_DATABASE_URL": database_url}).database)
    other = make_delivery(hooks.desk, other_store, hooks.receiver, SETTINGS)
    commit = hooks.store.fan_out
    results: list[bool] = []

    def late_commit(*args: object, **kwargs: object) -> bool:
        # ... which fans out the same page while the first is about to commit.
        assert other.fan_out() == (3, True)
        results.append(commit(*args, **kwargs))  # type: ignore[arg-type]
        return results[-1]

    try:
        hooks.store.fan_out = late_commit  # type: ignore[method-assign]
        # When the first worker commits after the second, it commits nothing,
        assert hooks.delivery.fan_out() == (0, False)
        assert results == [False]
    finally:
        del hooks.store.fan_out
        other_store.close()
    # and each event has one delivery; the next round finds nothing new.
    assert [d.event_type for d in hooks.deliveries(endpoint)] == ["dispute.created"] * 3
    assert hooks.delivery.fan_out() == (0, True)
    assert len(hooks.drain()) == 3



def test_an_endpoint_registered_during_a_fan_out_still_gets_what_follows(hooks: Rig) -> None:
    first, _ = hooks.register("first")
    read_endpoints = hooks.store.endpoints
    late: list[str] = []

    def endpoints_then_a_registration() -> list[Endpoint]:
        # Given a fan-out that has read the endpoints, then an endpoint registered
        # and a case opened before it reads the log,
        found = read_endpoints()
        if not late:
            late.append(hooks.register("second")[0].id)
            hooks.place()
        return found

    hooks.store.endpoints = endpoints_then_a_registration  # type: ignore[method-assign]
    try:
        # that fan-out commits nothing and reads again;
        assert hooks.delivery.fan_out() == (0, False)
    finally:
        del hooks.store.endpoints
    # the case reaches both endpoints.
    assert {s.url for s in hooks.drain()} == {"https://first.example.com/hook",
                                              "https://second.example.com/hook"}
    assert len(hooks.store.deliveries(late[0], None, 10)) == len(hooks.deliveries(first)) == 1

# ---- what is sent ------------------------------------------------------------------


def test_the_body_is_the_standard_webhooks_envelope_of_the_public_event(hooks: Rig) -> None:
    hooks.register("body")
    dispute = hooks.place()
    hooks.ship(dispute)
    sent = hooks.drain()
    events = hooks.public_events()
    assert len(sent) == len(events) == 2
    for request, event in zip(sent, events, strict=True):
        body = json.loads(request.body)
        assert list(body) == ["type", "timestamp", "data"]
        assert body == {"type": event["type"], "timestamp": event["created_at"], "data": event}
        assert request.headers["webhook-id"] == event["id"]
        assert request.headers["content-type"] == "application/json"
        assert request.headers["webhook-timestamp"] == str(int(request.at.timestamp()))


def test_signatures_verify_with_the_endpoint_secret(hooks: Rig) -> None:
    # Standard Webhooks refuses a timestamp five minutes from the wall clock.
    hooks.clock.set(real_now())
    _, secret = hooks.register("signed")
    hooks.place()
    (request,) = hooks.drain()
    assert Webhook(secret).verify(request.body, request.headers)["data"] == request.event
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body.replace("25.00", "2500.00"), request.headers)
    with pytest.raises(WebhookVerificationError):
        other = "whsec_" + "A" * 43 + "="
        Webhook(other).verify(request.body, request.headers)


# ---- failures and retries -------------------------------------------------------------


def test_a_failing_receiver_gets_every_event_with_the_same_id_on_each_attempt(
    hooks: Rig,
) -> None:
    # Given a receiver that answers 500, then times out, then 503, then recovers,
    script: list[int | str] = [500, "timed out (ReadTimeout)", 503]
    hooks.receiver.answer = lambda _sent: script.pop(0) if script else 200
    endpoint, _ = hooks.register("flaky")
    dispute = hooks.place()
    hooks.contact(dispute)
    hooks.ship(dispute)
    twin = random.Random(SEED)  # draws the jitter as the worker does
    first_id = str(hooks.public_events()[0]["id"])
    start = hooks.clock.now()
    tries: list[Sent] = []
    for attempt in (1, 2, 3):
        # each round only the first event is tried (the others wait behind it),
        sent = hooks.drain()
        assert [s.id for s in sent] == [first_id]
        tries.extend(sent)
        # and its next attempt follows the backoff.
        failed = hooks.one(endpoint, first_id)
        assert failed.attempts == attempt and failed.status is DeliveryStatus.PENDING
        assert failed.next_attempt_at == sent[0].at + backoff(attempt, SETTINGS, twin)
        assert failed.first_attempt_at == start
        # Just before then, nothing is sent.
        assert failed.next_attempt_at is not None
        assert hooks.until(failed.next_attempt_at - timedelta(seconds=1)) == []
        hooks.clock.set(failed.next_attempt_at)
    # When it recovers, the first event and then the rest arrive, in order.
    sent = hooks.drain()
    tries.append(sent[0])
    assert [s.event["type"] for s in sent] == [
        "dispute.created", "dispute.seller_contacted", "dispute.shipped"]
    assert {s.id for s in tries} == {first_id}
    assert len({s.body for s in tries}) == 1
    done = hooks.one(endpoint, first_id)
    assert (done.status, done.attempts, done.last_status_code) == (DeliveryStatus.DELIVERED, 4,
                                                                   200)
    assert done.delivered_at == hooks.clock.now() and done.next_attempt_at is None
    log = hooks.store.attempts_of(endpoint.id, first_id)
    assert [(a.status_code, a.error) for a in log] == [
        (200, None), (503, None), (None, "timed out (ReadTimeout)"), (500, None)]


def test_a_dispute_whose_first_delivery_fails_does_not_hold_up_another(hooks: Rig) -> None:
    # Given a receiver that refuses everything about dispute A,
    endpoint, _ = hooks.register("ordered")
    a, b = hooks.place("o-a"), hooks.place("o-b")
    refuse = {str(a)}
    hooks.receiver.answer = lambda sent: 500 if sent.event["dispute_id"] in refuse else 200
    for dispute in (a, b, a, b):
        hooks.contact(dispute)
    hooks.ship(a)
    hooks.ship(b)
    # when deliveries are tried for an hour,
    seen: list[Sent] = hooks.drain()
    for _ in range(8):
        seen += hooks.until(hooks.clock.now() + timedelta(minutes=8))
    # A's later events were never tried, B's all arrived in order;
    a_first = hooks.deliveries(endpoint)[0]
    assert a_first.dispute_id == str(a) and a_first.attempts >= 5
    assert {s.id for s in seen if s.event["dispute_id"] == str(a)} == {a_first.id}
    assert [s.event["type"] for s in seen if s.event["dispute_id"] == str(b)] == [
        "dispute.created", "dispute.seller_contacted", "dispute.seller_contacted",
        "dispute.shipped"]
    # and once A's receiver recovers, A's arrive in order too.
    refuse.clear()
    assert a_first.next_attempt_at is not None
    sent = hooks.until(a_first.next_attempt_at)
    assert [s.event["dispute_id"] for s in sent] == [str(a)] * 4
    ids = [int(s.id) for s in sent]
    assert ids == sorted(ids) and ids[0] == int(a_first.id)


def test_after_the_retry_horizon_a_delivery_fails_and_stops_blocking(
    database_url: str, manual_clock: ManualClock
) -> None:
    settings = replace(SETTINGS, retry_horizon=timedelta(hours=1))
    with rig(database_url, manual_clock, settings) as hooks:
        endpoint, _ = hooks.register("horizon")
        dispute = hooks.place()
        hooks.contact(dispute)
        first = str(hooks.public_events()[0]["id"])
        hooks.receiver.answer = lambda sent: 500 if sent.id == first else 200
        hooks.fan_out()
        # The horizon counts from the first attempt, not from when the event was read.
        start = manual_clock.advance(timedelta(minutes=30))
        sent = hooks.drain()
        while hooks.one(endpoint, first).status is DeliveryStatus.PENDING:
            # Nothing behind it goes while it is retried.
            assert {s.id for s in sent} == {first}
            assert manual_clock.now() - start < timedelta(hours=1) + settings.longest_wait
            due = hooks.one(endpoint, first).next_attempt_at
            assert due is not None
            sent = hooks.until(due)
        gave_up = hooks.one(endpoint, first)
        assert gave_up.status is DeliveryStatus.FAILED and gave_up.next_attempt_at is None
        assert manual_clock.now() - start >= timedelta(hours=1)
        assert manual_clock.now() - start < timedelta(hours=1) + settings.longest_wait
        # The moment it gave up, the next event of the dispute went.
        assert [s.event["type"] for s in sent] == ["dispute.created", "dispute.seller_contacted"]
        assert hooks.endpoints.get(PLATFORM, endpoint.id).enabled
        # A failed delivery may be sent again by hand: same id, retried for a new horizon;
        assert hooks.endpoints.retry(PLATFORM, endpoint.id, first).status == "pending"
        (again,) = hooks.drain()
        assert again.id == first and again.body == sent[0].body
        retried = hooks.one(endpoint, first)
        assert retried.status is DeliveryStatus.PENDING
        assert retried.first_attempt_at == manual_clock.now()
        assert retried.next_attempt_at is not None
        # once its receiver recovers, it is delivered.
        hooks.receiver.answer = lambda _sent: 200
        assert [s.id for s in hooks.until(retried.next_attempt_at)] == [first]
        done = hooks.one(endpoint, first)
        assert (done.status, done.attempts) == (DeliveryStatus.DELIVERED, gave_up.attempts + 2)
        with pytest.raises(EndpointNotFound):
            hooks.endpoints.retry(PLATFORM, endpoint.id, "999999")


def test_an_endpoint_failing_for_too_long_is_disabled_and_catches_up_when_enabled(
    database_url: str, manual_clock: ManualClock
) -> None:
    settings = replace(SETTINGS, disable_after=timedelta(hours=1))
    with rig(database_url, manual_clock, settings, answer=lambda _sent: 502) as hooks:
        endpoint, _ = hooks.register("down")
        a = hooks.place("o-a")
        start = manual_clock.now()
        hooks.drain()
        # Given an endpoint that answers nothing but 502,
        while hooks.endpoints.get(PLATFORM, endpoint.id).enabled:
            assert manual_clock.now() - start < timedelta(hours=1)
            due = hooks.deliveries(endpoint)[0].next_attempt_at
            assert due is not None
            hooks.until(due)
        # it is disabled once it has failed for an hour, saying why;
        assert manual_clock.now() - start >= timedelta(hours=1)
        down = hooks.endpoints.get(PLATFORM, endpoint.id)
        assert down.disabled_reason is not None
        assert "every attempt failed since" in down.disabled_reason
        assert "HTTP 502" in down.disabled_reason
        # while disabled, events accrue as pending and nothing is sent, however long;
        b = hooks.place("o-b")
        hooks.contact(a)
        hooks.contact(b)
        assert hooks.until(manual_clock.now() + timedelta(days=5)) == []
        waiting = hooks.deliveries(endpoint)
        assert [d.status for d in waiting] == [DeliveryStatus.PENDING] * 4
        assert [d.next_attempt_at for d in waiting] == [None] * 4
        # when it is enabled (its receiver fixed), everything arrives, in order.
        hooks.receiver.answer = lambda _sent: 200
        enabled = hooks.endpoints.enable(PLATFORM, endpoint.id)
        assert enabled.enabled and enabled.disabled_reason is None
        assert enabled.failing_since is None
        sent = hooks.drain()
        assert [(s.event["order_id"], s.event["type"]) for s in sent] == [
            ("o-a", "dispute.created"), ("o-b", "dispute.created"),
            ("o-a", "dispute.seller_contacted"), ("o-b", "dispute.seller_contacted")]
        assert {d.status for d in hooks.deliveries(endpoint)} == {DeliveryStatus.DELIVERED}


def test_a_claim_whose_worker_died_is_claimable_again_only_after_its_lease(hooks: Rig) -> None:
    endpoint, _ = hooks.register("lease")
    dispute = hooks.place()
    hooks.contact(dispute)
    hooks.fan_out()
    # Given a worker that claimed the first delivery and died before recording it,
    (dead,) = hooks.delivery.claim(10)
    claimed_at = hooks.clock.now()
    # nothing of that dispute is claimed until the lease runs out,
    assert hooks.drain() == []
    assert hooks.until(hooks.clock.now() + hooks.delivery.lease - timedelta(seconds=1)) == []
    # then the same delivery is sent again, with the same webhook-id.
    sent = hooks.until(claimed_at + hooks.delivery.lease)
    assert [s.id for s in sent] == [dead.delivery.id, str(int(dead.delivery.id) + 1)]
    assert sent[0].id == str(dead.delivery.event_id)
    # The dead worker's late answer does not undo the new one's.
    late = Attempt(at=hooks.clock.now(), latency_ms=23_000, status_code=500)
    hooks.delivery.record([(dead, late)])
    done = hooks.one(endpoint, dead.delivery.id)
    assert (done.status, done.attempts, done.last_status_code) == (
        DeliveryStatus.DELIVERED, 1, 200)
    assert done.next_attempt_at is None


def test_a_rotated_secret_signs_beside_the_old_one_for_the_overlap_only(hooks: Rig) -> None:
    endpoint, old = hooks.register("rotating")
    rotated = hooks.endpoints.rotate_secret(PLATFORM, endpoint.id)
    new = rotated.secret
    assert new != old and new.startswith("whsec_")
    assert hooks.endpoints.previous_secret_until(PLATFORM, endpoint.id) == (
        hooks.clock.now() + SETTINGS.rotation_overlap)

    def signatures(request: Sent) -> list[str]:
        at = request.at.replace(microsecond=0)
        return [Webhook(secret).sign(request.id, at, request.body) for secret in (new, old)]

    # During the overlap each request carries the new signature, then the old one;
    hooks.place()
    (during,) = hooks.drain()
    assert during.headers["webhook-signature"].split(" ") == signatures(during)
    # after it, only the new one.
    hooks.clock.advance(SETTINGS.rotation_overlap)
    hooks.place()
    (after,) = hooks.drain()
    assert after.headers["webhook-signature"].split(" ") == signatures(after)[:1]
    hooks.endpoints.retry(PLATFORM, endpoint.id, during.id)
    (resent,) = hooks.drain()
    assert resent.headers["webhook-signature"] == signatures(resent)[0]


def test_signatures_of_the_overlap_verify_with_either_secret(hooks: Rig) -> None:
    hooks.clock.set(real_now())
    endpoint, old = hooks.register("verify-both")
    new = hooks.endpoints.rotate_secret(PLATFORM, endpoint.id).secret
    hooks.place()
    (request,) = hooks.drain()
    for secret in (old, new):
        assert Webhook(secret).verify(request.body, request.headers)["type"] == "dispute.created"

