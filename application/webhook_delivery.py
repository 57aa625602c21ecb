"""Deliver the public events to the platform's webhook endpoints, at least once.

Two steps, each safe to run in several processes at once:

1. **Fan-out** (:meth:`WebhookDelivery.fan_out`): read the public events after
   the recorded position and record one delivery per subscribed endpoint, the
   new position in the same transaction. A crash before the commit repeats the
   step; after it, nothing is repeated. Two workers racing commit once (the
   store compares the position it started from).
2. **Attempts** (:meth:`WebhookDelivery.send_due`): lease the deliveries that are
   due, send each, record what happened. A delivery is due only when no earlier
   delivery of the same dispute to the same endpoint is still pending, so each
   endpoint sees a dispute's events in order. A worker killed mid-attempt leaves
   a lease that expires; the delivery is then sent again with the same
   ``webhook-id`` (at least once).

Failures back off exponentially with jitter. A delivery that keeps failing past
the retry horizon is ``failed``; an endpoint that has failed for
``disable_after`` without a single success is disabled with the reason, its
deliveries kept pending until it is enabled again.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from application.event_feed import EventFeed
from application.ports import Clock
from application.webhook_urls import Resolve, UrlRefused, check_url
from application.webhooks import (
    Attempt,
    AttemptRecord,
    Claim,
    NewDelivery,
    WebhookSettings,
    WebhookStore,
    backoff,
)

__all__ = ["FANOUT_PAGE", "Send", "Sign", "WebhookDelivery", "webhook_body"]

#: Public events read per fan-out transaction.
FANOUT_PAGE = 500

#: Sends one request: (url, headers, body, connect timeout, total timeout) -> what it met.
Send = Callable[[str, Mapping[str, str], bytes, float, float], Attempt]
#: Signs a body: (secret, webhook-id, timestamp, body) -> ``v1,<base64>``.
Sign = Callable[[str, str, datetime, str], str]


def webhook_body(event: Mapping[str, object]) -> str:
    """The body Standard Webhooks expects: ``{"type", "timestamp", "data"}``."""
    return json.dumps(
        {"type": event["type"], "timestamp": event["created_at"], "data": event},
        separators=(",", ":"),
        sort_keys=False,
    )


class WebhookDelivery:
    def __init__(
        self,
        feed: EventFeed,
        store: WebhookStore,
        send: Send,
        sign: Sign,
        clock: Clock,
        settings: WebhookSettings,
        resolve: Resolve,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._feed = feed
        self._store = store
        self._send = send
        self._sign = sign
        self._clock = clock
        self._settings = settings
        self._resolve = resolve
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()

    @property
    def lease(self) -> timedelta:
        """How long an attempt holds its delivery: past any attempt's own timeouts."""
        s = self._settings
        return timedelta(seconds=s.connect_timeout + s.request_timeout + 10)

    # ---- 1. fan-out -----------------------------------------------------------------

    def fan_out(self, limit: int = FANOUT_PAGE) -> tuple[int, bool]:
        """One page: (events read, whether the log's head was reached)."""
        after = self._store.position()
        endpoints = self._store.endpoints()
        seen = frozenset(endpoint.id for endpoint in endpoints)
        now = self._clock.now()
        if not endpoints:  # nobody listens: nothing to read, nothing to write
            return 0, True
        start = min(endpoint.created_position for endpoint in endpoints)
        if start > after:  # every endpoint starts later: skip to there without reading
            if not self._store.fan_out(after, start, [], now, seen):
                return 0, False
            after = start
        page = self._feed.log_events(after, limit)
        if page.position == after:
            return 0, True
        deliveries = [
            NewDelivery(
                endpoint_id=endpoint.id,
                event_id=int(event["id"]),
                event_type=str(event["type"]),
                dispute_id=str(event["dispute_id"]),
                body=webhook_body(event),
            )
            for event in page.events
            for endpoint in endpoints
            if event["type"] in endpoint.event_types
            and int(event["id"]) > endpoint.created_position
        ]
        if not self._store.fan_out(after, page.position, deliveries, now, seen):
            return 0, False  # raced: read again
        return len(page.events), page.at_head

    # ---- 2. attempts ----------------------------------------------------------------

    def claim(self, limit: int) -> list[Claim]:
        s = self._settings
        return self._store.claim_due(self._clock.now(), self.lease, limit, s.per_endpoint)

    def send_due(self, pool: ThreadPoolExecutor | None = None, limit: int = 100) -> int:
        """Claim what is due and attempt it (in ``pool``, or here); the number claimed."""
        claims = self.claim(limit)
        for claim in claims:
            if pool is None:
                self.attempt(claim)
            else:
                pool.submit(self.attempt, claim)
        return len(claims)

    def headers(self, claim: Claim, at: datetime) -> dict[str, str]:
        """Standard Webhooks headers: every secret that signs now, space-separated."""
        msg_id = str(claim.delivery.event_id)
        secrets = claim.secrets[:1]
        if claim.previous_until is not None and at < claim.previous_until:
            secrets = claim.secrets[:2]
        return {
            "content-type": "application/json",
            "user-agent": "disputedesk-webhooks/1",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": " ".join(
                self._sign(secret, msg_id, at, claim.body) for secret in secrets
            ),
        }

    def send(self, claim: Claim) -> Attempt:
        """Send one claimed delivery (never raises on the wire); nothing recorded."""
        s = self._settings
        at = self._clock.now()
        try:
            check_url(claim.url, s, self._resolve)
        except UrlRefused as refused:
            return Attempt(at=at, latency_ms=0, error=refused.detail)
        return self._send(claim.url, self.headers(claim, at), claim.body.encode(),
                          s.connect_timeout, s.request_timeout)

    def decide(self, claim: Claim, outcome: Attempt) -> AttemptRecord:
        """What follows from an attempt: delivered, retried later, given up, or disabled."""
        if outcome.succeeded:
            return AttemptRecord(claim, outcome, None)
        s = self._settings
        now = outcome.at
        failing_since = claim.failing_since or now
        disable_reason = None
        if now - failing_since >= s.disable_after:
            disable_reason = (
                f"every attempt failed since {failing_since.isoformat()}; "
                f"last: {_what(outcome)}"
            )
        first = claim.delivery.first_attempt_at or now
        give_up = disable_reason is None and now - first >= s.retry_horizon
        with self._rng_lock:
            wait = backoff(claim.delivery.attempts + 1, s, self._rng)
        return AttemptRecord(claim, outcome, None if give_up else now + wait,
                             give_up=give_up, disable_reason=disable_reason)

    def record(self, done: Sequence[tuple[Claim, Attempt]]) -> int:
        """Record finished attempts in one transaction (those whose lease still holds)."""
        return self._store.record_attempts([self.decide(c, a) for c, a in done])

    def attempt(self, claim: Claim) -> Attempt:
        """Send one claimed delivery and record the outcome."""
        outcome = self.send(claim)
        self.record([(claim, outcome)])
        return outcome


def _what(outcome: Attempt) -> str:
    if outcome.status_code is not None:
        return f"HTTP {outcome.status_code}"
    return outcome.error or "no answer"
