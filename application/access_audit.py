"""The access audit: who read which case's history and evidence files, when, and how.

A dispute holds personal data, so a moderator's read of a case's history or of an
evidence file is recorded (:class:`AccessAudit`, through the :class:`AccessLog`
port) before it is served; if it cannot be recorded, the read is refused
(:class:`AuditUnavailable`, HTTP 503): an unaudited read of personal data is worse
than a failed one. A buyer's or seller's reads of their own case are not recorded.
Supervising moderators read the audit (the access table's ``audit_access``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

import structlog

from application.access import require
from application.ports import Clock
from domain.dispute import Actor
from domain.dispute.access import COMMAND_ROLES
from domain.errors import Contention

__all__ = [
    "API", "AUDITED_ROLES", "CONSOLE", "AccessAudit", "AccessEntry", "AccessLog",
    "AccessQuery", "AccessRecord", "AuditUnavailable", "Channel", "Read", "Via",
]

log = structlog.get_logger("disputedesk.application")

#: Whose reads are recorded: staff reading other people's cases.
AUDITED_ROLES = frozenset({"moderator"})


class Read(StrEnum):
    """What was read."""

    HISTORY = "history"
    EVIDENCE_FILE = "evidence_file"


class Channel(StrEnum):
    """How it was read: the HTTP API, or the moderator console."""

    API = "api"
    CONSOLE = "console"


@dataclass(frozen=True)
class Via:
    """The channel a read came through, and the request's id when there is one (else the
    id bound to the request's log lines is taken, so that the two can be matched)."""

    channel: Channel = Channel.API
    request_id: str | None = None


#: A read through the HTTP API, and one through the moderator console.
API = Via()
CONSOLE = Via(Channel.CONSOLE)


@dataclass(frozen=True)
class AccessRecord:
    """One read: who (role, id), when, which case, what (and which evidence), how."""

    at: datetime
    actor_role: str
    actor_id: str
    dispute_id: UUID
    read: Read
    channel: Channel
    evidence_id: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class AccessEntry:
    """A record as kept, with its place in the audit (``seq``: larger is later)."""

    seq: int
    record: AccessRecord


@dataclass(frozen=True)
class AccessQuery:
    """A page of the audit, newest first: at most ``limit`` entries before ``before_seq``,
    of one moderator and/or one case, recorded in ``[since, until)``."""

    limit: int
    before_seq: int | None = None
    actor_id: str | None = None
    dispute_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


class AccessLog(Protocol):
    """Where the access audit is kept. Implementations must be thread-safe."""

    def record(self, record: AccessRecord) -> None:
        """Keep ``record`` durably before returning; raise if it cannot be kept."""
        ...

    def entries(self, query: AccessQuery) -> list[AccessEntry]:
        """The entries ``query`` names, newest (largest ``seq``) first."""
        ...

    def close(self) -> None: ...


class AuditUnavailable(Contention):
    """The read could not be recorded, so it is not served: retry shortly (HTTP 503)."""

    code = "audit-unavailable"


class AccessAudit:
    """Records moderators' reads in ``access_log`` (None: a desk built by hand, for tools
    and tests: nothing is recorded) and answers supervisors' questions about them."""

    def __init__(self, access_log: AccessLog | None, clock: Clock) -> None:
        self.log = access_log
        self._clock = clock

    def read(self, actor: Actor, dispute_id: UUID, what: Read, via: Via | None = None,
             evidence_id: str | None = None) -> None:
        """Record that ``actor`` read ``what`` of the case (only a moderator's read); raise
        :class:`AuditUnavailable` if it cannot be recorded: then do not serve it."""
        if self.log is None or actor.role not in AUDITED_ROLES:
            return
        via = via or API
        record = AccessRecord(
            at=self._clock.now(), actor_role=actor.role, actor_id=actor.id,
            dispute_id=dispute_id, read=what, channel=via.channel, evidence_id=evidence_id,
            request_id=via.request_id or _logged_request_id(),
        )
        try:
            self.log.record(record)
        except Exception as error:
            log.error("access_audit.unavailable", dispute_id=str(dispute_id), read=str(what),
                      error_type=type(error).__name__, error=str(error))
            raise AuditUnavailable(
                "the read could not be recorded in the access audit, so it is not served; "
                "retry shortly") from error

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

    def entries(self, actor: Actor, query: AccessQuery) -> list[AccessEntry]:
        """The audit for a supervising moderator (Forbidden for anyone else)."""
        require(COMMAND_ROLES, "audit_access", actor)
        return [] if self.log is None else self.log.entries(query)


def _logged_request_id() -> str | None:
    bound: Mapping[str, object] = structlog.contextvars.get_contextvars()
    request_id = bound.get("request_id")
    return request_id if isinstance(request_id, str) else None
