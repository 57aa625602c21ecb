"""Errors of the read-model side."""

from __future__ import annotations

from domain.errors import DomainError, NotFound


class ReadModelError(Exception):
    """Base class of the read-model store's own failures (not a client's fault)."""


class PositionConflict(ReadModelError):
    """Another writer moved the lane since this batch started; nothing was written."""


class StoreUnavailable(ReadModelError):
    """The read-model store could not be reached (connection lost, database down)."""


class StateMissing(ReadModelError):
    """An event arrived for a dispute whose state the lane does not hold."""


class ReadModelBehind(DomainError):
    """The read model did not reach the position the client asked for in time.

    HTTP: 503 with ``Retry-After``; the write is recorded, the view will show it.
    """

    code = "read-model-behind"

    def __init__(self, detail: str, *, position: int, wanted: int) -> None:
        super().__init__(detail, field="min_position")
        self.position = position
        self.wanted = wanted


class ReadModelUnavailable(DomainError):
    """No built version of the read model exists yet (HTTP 503)."""

    code = "read-model-unavailable"


class SellerNotFound(NotFound):
    """No order names this seller (HTTP 404)."""

    code = "seller-not-found"
