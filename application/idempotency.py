"""Idempotent requests: the key store's port and the record/replay rules.

A client names a request with an idempotency key (scoped by the caller). Two
layers keep a command from running twice:

- the **events**: a command that records events records the request's stamp
  (:class:`~domain.requests.RequestStamp`) in them, in the same transaction, so
  a retry always finds out whether it was carried out, whatever crashed in
  between (:meth:`DisputeDesk._command` answers such a retry from the case);
- the **key store** (this module's port): a row per key that says "in progress"
  while the first attempt can still commit, refuses the same key with another
  request, and keeps each decided outcome for :data:`RETENTION`, so a retry is
  answered without running anything. A case answer is kept as what names it
  (status, dispute, version), never as a copy of the body: the replay renders
  the case at that version again. Other answers are kept whole up to
  :data:`MAX_STORED_BODY`.

Only outcomes the application decided are kept (2xx, 404, 409, 422). A request
refused before it ran (malformed, stale precondition) or one that failed
(5xx: the store unavailable, contention) releases its key so that the client
can retry or fix the request with the same key.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from application.ports import Clock
from domain.requests import REQUESTS_KEPT_FOR, RequestStamp

#: How long a key is remembered; a retry after that runs again.
RETENTION = REQUESTS_KEPT_FOR
#: How long a claim "in progress" holds off retries: longer than any request may
#: run (the HTTP deadline), so only an attempt that died is taken over. A takeover
#: never runs a command twice: the events' stamp answers it.
LEASE = timedelta(seconds=15)
#: How long a retry waits for the first attempt before hearing "in progress".
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05
MAX_KEY_LENGTH = 255
#: Answers that are not a case are kept whole up to this size; larger ones are
#: not kept (a retry runs again: a sweep or a simulation records nothing twice).
MAX_STORED_BODY = 1024 * 1024
#: Keys forgotten per statement of the purge job (it repeats until none is left).
PURGE_BATCH = 1000

_STORED_STATUSES = frozenset({404, 409, 422})


@dataclass(frozen=True)
class StoredResponse:
    """An answer kept whole."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class CaseOutcome:
    """An answer that was a case: what names it, not its body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    dispute_id: str
    version: int
    position: int | None = None


Outcome = StoredResponse | CaseOutcome


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    created_at: datetime
    outcome: Outcome | None  # None while the first request still runs


class IdempotencyStore(Protocol):
    """Durable keys, scoped by principal. Implementations must be thread-safe."""

    def reserve(
        self,
        principal: str,
        key: str,
        fingerprint: str,
        claim: str,
        now: datetime,
        *,
        stale_before: datetime,
    ) -> IdempotencyRecord | None:
        """Claim the key for ``claim``: ``None`` when this call claimed it, else the
        record already there. A claim still in progress made before ``stale_before``
        is dropped and claimed anew."""
        ...

    def complete(self, principal: str, key: str, claim: str, outcome: Outcome) -> None:
        """Keep the outcome, if the key is still held by ``claim``."""
        ...

    def release(self, principal: str, key: str, claim: str) -> None:
        """Forget the key, if it is still held by ``claim`` and has no outcome."""
        ...

    def purge(self, older_than: datetime, limit: int) -> int:
        """Forget at most ``limit`` keys claimed before ``older_than``; how many."""
        ...

    def count(self) -> int:
        """How many keys are held."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Proceed:
    """The key is ours: run the request (stamping its events), then finish or abandon."""

    claim: str
    stamp: RequestStamp


@dataclass(frozen=True)
class Replay:
    outcome: Outcome


@dataclass(frozen=True)
class Mismatch:
    """The key was used for a different request."""


@dataclass(frozen=True)
class InProgress:
    """The first request with this key may still commit."""


Decision = Proceed | Replay | Mismatch | InProgress


class InvalidKey(ValueError):
    pass


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise InvalidKey(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
        )
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests 'the same': method, path and body (JSON compared by value)."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return _digest(method.upper(), path, canonical)


def request_stamp(principal: str, key: str, request_fingerprint: str) -> RequestStamp:
    """The stamp a request's events carry: short digests, the caller's key never in clear."""
    return RequestStamp(_digest(principal, key)[:32], request_fingerprint[:32])


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        raw = part.encode() if isinstance(part, str) else part
        digest.update(len(raw).to_bytes(8, "big"))
        digest.update(raw)
    return digest.hexdigest()


def is_kept(status: int) -> bool:
    return 200 <= status < 300 or status in _STORED_STATUSES


class IdempotencyKeys:
    """The rules, over any store."""

    def __init__(self, store: IdempotencyStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def begin(self, principal: str, key: str, request_fingerprint: str) -> Decision:
        now = self.clock.now()
        claim = secrets.token_hex(8)
        record = self.store.reserve(
            principal, key, request_fingerprint, claim, now, stale_before=now - LEASE
        )
        if record is None:
            return Proceed(claim, request_stamp(principal, key, request_fingerprint))
        if record.fingerprint != request_fingerprint:
            return Mismatch()
        if record.outcome is None:
            return InProgress()
        return Replay(record.outcome)

    def finish(self, principal: str, key: str, claim: str, outcome: Outcome | None) -> None:
        """Keep a decided outcome; forget the key otherwise (``None``: not keepable)."""
        if outcome is not None and is_kept(outcome.status):
            self.store.complete(principal, key, claim, outcome)
        else:
            self.store.release(principal, key, claim)

    def abandon(self, principal: str, key: str, claim: str) -> None:
        self.store.release(principal, key, claim)

    def purge_expired(self) -> int:
        """Forget every key older than :data:`RETENTION`, a bounded batch at a time."""
        horizon = self.clock.now() - RETENTION
        total = 0
        while True:
            purged = self.store.purge(horizon, PURGE_BATCH)
            total += purged
            if purged < PURGE_BATCH:
                return total
