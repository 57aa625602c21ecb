"""Idempotent requests: the store port and the record/replay rules.

A client names a request with an idempotency key. The first request with a key
(per principal) runs and its response is stored; a retry with the same key and
the same request replays the stored response without running anything again.
The same key with a different request is refused. While the first request is
still running, a retry waits for it a little, then hears "in progress".

Only outcomes the application decided are stored (2xx, 404, 409, 422): a
request refused before it ran (malformed body, stale precondition, server
error) releases its key so that the client can fix it and retry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from application.ports import Clock

#: How long a key is remembered; a retry after that runs again.
RETENTION = timedelta(hours=24)
#: A claim still "in progress" after this long belongs to a request that died.
LEASE = timedelta(seconds=60)
#: How long a retry waits for the first request before hearing "in progress".
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05
MAX_KEY_LENGTH = 255

_STORED_STATUSES = frozenset({404, 409, 422})


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    created_at: datetime
    response: StoredResponse | None  # None while the first request still runs


class IdempotencyStore(Protocol):
    """Durable keys, scoped by principal. Implementations must be thread-safe."""

    def reserve(
        self, principal: str, key: str, fingerprint: str, now: datetime, *, stale_before: datetime
    ) -> IdempotencyRecord | None:
        """Claim the key: ``None`` when this call claimed it, else the record already there.

        A claim still in progress that was made before ``stale_before`` is dropped
        and claimed anew.
        """
        ...

    def complete(self, principal: str, key: str, response: StoredResponse) -> None: ...

    def release(self, principal: str, key: str) -> None: ...

    def purge(self, older_than: datetime) -> int:
        """Forget keys claimed before ``older_than``; returns how many."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Proceed:
    """The key is ours: run the request, then ``finish`` or ``abandon``."""


@dataclass(frozen=True)
class Replay:
    response: StoredResponse


@dataclass(frozen=True)
class Mismatch:
    """The key was used for a different request."""


@dataclass(frozen=True)
class InProgress:
    """The first request with this key has not finished yet."""


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
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def is_stored(status: int) -> bool:
    return 200 <= status < 300 or status in _STORED_STATUSES


class IdempotencyKeys:
    """The rules, over any store."""

    def __init__(self, store: IdempotencyStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def begin(self, principal: str, key: str, request_fingerprint: str) -> Decision:
        now = self.clock.now()
        record = self.store.reserve(
            principal, key, request_fingerprint, now, stale_before=now - LEASE
        )
        if record is None:
            return Proceed()
        if record.fingerprint != request_fingerprint:
            return Mismatch()
        if record.response is None:
            return InProgress()
        return Replay(record.response)

    def finish(self, principal: str, key: str, response: StoredResponse) -> None:
        if is_stored(response.status):
            self.store.complete(principal, key, response)
        else:
            self.store.release(principal, key)

    def abandon(self, principal: str, key: str) -> None:
        self.store.release(principal, key)

    def purge_expired(self) -> int:
        return self.store.purge(self.clock.now() - RETENTION)
