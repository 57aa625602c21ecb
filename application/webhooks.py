"""Webhooks: the values the platform's endpoints and their deliveries are made of.

An endpoint subscribes a URL to public event types (:mod:`application.public_events`).
Each public event it subscribes to becomes one *delivery*: a row that lives until
the receiver answers 2xx (``delivered``) or the retry horizon passes (``failed``).
A delivery's id is the Standard Webhooks ``webhook-id``: the event's id, the same
on every attempt. The store behind :class:`WebhookStore` keeps endpoints,
deliveries, their attempts and the worker's position in the log in one database,
so a position and the deliveries it created commit together.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

__all__ = [
    "Attempt",
    "AttemptRecord",
    "Claim",
    "Delivery",
    "DeliveryStatus",
    "Endpoint",
    "NewDelivery",
    "WebhookSettings",
    "WebhookStore",
    "backoff",
]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # not yet answered 2xx: waiting for its next attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the retry horizon; may be retried by hand


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """How deliveries are tried (``DISPUTEDESK_WEBHOOK_*``; see the settings module)."""

    #: A delivery is retried until this long after its first attempt, then ``failed``.
    retry_horizon: timedelta = timedelta(days=3)
    #: An endpoint that has answered nothing but failures for this long is disabled.
    disable_after: timedelta = timedelta(days=3)
    #: The first retry waits about this long; each next one twice as long ...
    first_retry: timedelta = timedelta(seconds=5)
    #: ... up to this.
    longest_wait: timedelta = timedelta(hours=2)
    #: Connect and whole-request timeouts of one attempt (seconds).
    connect_timeout: float = 3.0
    request_timeout: float = 10.0
    #: Attempts in flight at once, in all, and to any one endpoint.
    concurrency: int = 64
    per_endpoint: int = 32
    #: Plain ``http://`` to a loopback address (development only).
    allow_http_loopback: bool = False
    #: Endpoints that resolve to private, loopback or link-local addresses.
    allow_private: bool = False
    #: Old and new secret both sign for this long after a rotation.
    rotation_overlap: timedelta = timedelta(hours=24)


def backoff(attempts: int, settings: WebhookSettings, rng: random.Random) -> timedelta:
    """The wait before the next attempt after ``attempts`` failed ones.

    Exponential, capped, with "full jitter" in its upper half (so a receiver back
    from an outage is not hit by every retry at the same instant).
    """
    # The exponent is bounded: a huge int power would not convert to float.
    base = settings.first_retry.total_seconds() * 2 ** min(max(0, attempts - 1), 64)
    capped = min(base, settings.longest_wait.total_seconds())
    return timedelta(seconds=capped * (0.5 + rng.random() / 2))


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    url: str
    event_types: tuple[str, ...]
    description: str
    enabled: bool
    created_at: datetime
    disabled_reason: str | None = None
    #: Deliveries are made for events after this position in the log.
    created_position: int = 0
    #: The secrets that sign now: the current one first (never shown after creation).
    secrets: tuple[str, ...] = field(default=(), repr=False)
    #: Since when every attempt has failed (None: the last one succeeded).
    failing_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A public event for one endpoint, as the fan-out records it."""

    endpoint_id: str
    event_id: int
    event_type: str
    dispute_id: str
    body: str  # the JSON body sent, fixed once: the same bytes on every attempt


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    endpoint_id: str
    event_id: int
    event_type: str
    dispute_id: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_status_code: int | None = None
    last_error: str | None = None
    last_latency_ms: int | None = None
    first_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery leased to one worker for one attempt."""

    delivery: Delivery
    body: str
    url: str
    #: The endpoint's secrets, current first; the second signs until ``previous_until``.
    secrets: tuple[str, ...]
    previous_until: datetime | None
    #: Since when the endpoint has been failing (None: it is not).
    failing_since: datetime | None
    token: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt met: an HTTP status, or an error before any answer."""

    at: datetime
    latency_ms: int
    status_code: int | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """An attempt and what follows from it, as the store records it."""

    claim: Claim
    attempt: Attempt
    next_attempt_at: datetime | None  # None: delivered, failed, or the endpoint disabled
    give_up: bool = False
    disable_reason: str | None = None


class WebhookStore(Protocol):
    """Endpoints, deliveries and the fan-out position, in one database."""

    # ---- endpoints -----------------------------------------------------------------
    def add_endpoint(self, endpoint: Endpoint) -> Endpoint:
        """Store it, starting after its ``created_position`` or the fan-out's position,
        whichever is later (filled in)."""
        ...
    def endpoints(self) -> list[Endpoint]: ...
    def endpoint(self, endpoint_id: str) -> Endpoint | None: ...
    def delete_endpoint(self, endpoint_id: str) -> bool: ...
    def set_enabled(self, endpoint_id: str, enabled: bool, reason: str | None,
                    now: datetime) -> bool: ...
    def set_secrets(self, endpoint_id: str, secrets: tuple[str, ...],
                    previous_until: datetime | None) -> bool: ...
    def previous_secret_until(self, endpoint_id: str) -> datetime | None: ...

    # ---- the fan-out ---------------------------------------------------------------
    def position(self) -> int: ...
    def fan_out(self, after: int, position: int, deliveries: Sequence[NewDelivery],
                now: datetime, endpoints_seen: frozenset[str]) -> bool:
        """Record ``deliveries`` and move the position from ``after`` to ``position``
        in one transaction; False (nothing written) when the position was not
        ``after`` any more (another worker got there first) or an endpoint not in
        ``endpoints_seen`` exists (the caller reads again)."""
        ...

    # ---- deliveries ----------------------------------------------------------------
    def claim_due(self, now: datetime, lease: timedelta, limit: int,
                  per_endpoint: int) -> list[Claim]: ...
    def record_attempts(self, records: Sequence[AttemptRecord]) -> int:
        """Record the attempts in one transaction; how many were given. A delivery whose
        lease ran out is left to the worker that holds it now (its attempt is logged)."""
        ...
    def deliveries(self, endpoint_id: str, after: str | None, limit: int,
                   status: DeliveryStatus | None = None) -> list[Delivery]: ...
    def delivery(self, endpoint_id: str, delivery_id: str) -> Delivery | None: ...
    def attempts_of(self, endpoint_id: str, delivery_id: str, limit: int = 20
                    ) -> list[Attempt]: ...
    def retry_now(self, endpoint_id: str, delivery_id: str, now: datetime) -> bool: ...
    def close(self) -> None: ...
