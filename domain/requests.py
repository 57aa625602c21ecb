"""Requests an aggregate has already carried out, so a retry is recognised, not run again.

A command that arrives with an idempotency key is stamped into the events it
records. The events and the stamp are saved in one transaction, so whatever
fails afterwards, a retry of the same request finds its stamp in the aggregate
and gets the recorded outcome instead of a second run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import InvalidInput

#: How long a key is remembered (by the aggregate and by the key store alike).
REQUESTS_KEPT_FOR = timedelta(hours=24)
_SEPARATOR = "."
#: The key prefix of a fact loaded by an import of history (``RequestStamp.for_import``):
#: never a caller's key, which is a digest.
IMPORT_KEY_PREFIX = "import-"


class KeyReused(InvalidInput):
    """The same idempotency key arrived with a different request."""

    code = "idempotency-key-reused"


@dataclass(frozen=True)
class RequestStamp:
    """A request as the events remember it: digests of its key and of its content.

    ``key`` names the caller's key (scoped by the caller); ``fingerprint`` the
    request itself, so that the same key sent with another body is told apart.
    """

    key: str
    fingerprint: str

    def encode(self) -> str:
        return f"{self.key}{_SEPARATOR}{self.fingerprint}"

    @classmethod
    def for_import(cls, fact_id: str) -> RequestStamp:
        """The stamp of an imported fact: it marks the events the fact recorded as
        history loaded from elsewhere (not news), and names the fact for good, so a
        second run of the import recognises it however much later it comes."""
        return cls(f"{IMPORT_KEY_PREFIX}{fact_id}", "import")

    @classmethod
    def decode(cls, text: str) -> RequestStamp:
        key, _, fingerprint = text.partition(_SEPARATOR)
        return cls(key, fingerprint)


def imported_fact(stamp: str | None) -> str | None:
    """The import fact id an encoded stamp names, if the stamp is an import's."""
    if stamp is None or not stamp.startswith(IMPORT_KEY_PREFIX):
        return None
    return RequestStamp.decode(stamp).key[len(IMPORT_KEY_PREFIX):]


@dataclass(frozen=True)
class Carried:
    """What a remembered request did: the aggregate's version once it was done."""

    fingerprint: str
    version: int
    recorded_at: datetime


class RequestMemory:
    """The requests an aggregate carried out within :data:`REQUESTS_KEPT_FOR`.

    Changed only by applying events (:meth:`remember`); commands ask :meth:`outcome`.
    """

    __slots__ = ("_carried",)

    def __init__(self) -> None:
        self._carried: dict[str, Carried] = {}

    def remember(self, stamp: str, version: int, recorded_at: datetime) -> None:
        request = RequestStamp.decode(stamp)
        self._carried[request.key] = Carried(request.fingerprint, version, recorded_at)
        horizon = recorded_at - REQUESTS_KEPT_FOR
        if next(iter(self._carried.values())).recorded_at < horizon:
            self._carried = {
                key: done for key, done in self._carried.items() if done.recorded_at >= horizon
            }

    def outcome(self, request: RequestStamp) -> int | None:
        """The version the request left the aggregate at, or None if it was not carried out.

        Raises :class:`KeyReused` when the key was carried out for another request.
        """
        done = self._carried.get(request.key)
        if done is None:
            return None
        if done.fingerprint != request.fingerprint:
            raise KeyReused(
                "this Idempotency-Key was used for a different request; use a new key",
                field="Idempotency-Key",
            )
        return done.version

    def __len__(self) -> int:
        return len(self._carried)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RequestMemory) and other._carried == self._carried

    __hash__ = None  # type: ignore[assignment]
