"""Moderators' reads of a case's past, as queries of :class:`~application.disputes.DisputeDesk`:
the full history (recorded in the access audit before it is served), and the case as it
was recorded or as it happened at an earlier point."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.access_audit import AccessAudit, Read, Via
from domain.dispute import Actor

if TYPE_CHECKING:
    from application.case_reads import CaseReads

View = dict[str, Any]


class StaffReads:
    """Mixed into ``DisputeDesk``, which gives it ``_require``, ``_reads`` and
    ``access_audit``."""

    if TYPE_CHECKING:
        _reads: CaseReads
        access_audit: AccessAudit

        def _require(self, command: str, actor: Actor) -> None: ...

    def history(self, dispute_id: UUID, actor: Actor, via: Via | None = None) -> list[View]:
        """Every event of the case. A moderator's read is recorded first, ``via`` the
        channel it came through (default: the API); unrecorded, it is not served."""
        self._require("history", actor)
        rows = self._reads.history(dispute_id, actor)
        self.access_audit.read(actor, dispute_id, Read.HISTORY, via)
        return rows

    def as_of(self, dispute_id: UUID, actor: Actor, *, version: int | None = None,
              at: datetime | None = None) -> View:
        """The case as it was at a version, or at an instant (what was recorded by then)."""
        self._require("as_of", actor)
        return self._reads.as_of(dispute_id, actor, version, at)

    def as_happened(self, dispute_id: UUID, actor: Actor, at: datetime) -> View:
        """The case as it was in the world at ``at`` (business time), whenever recorded."""
        self._require("as_happened", actor)
        return self._reads.as_happened(dispute_id, actor, at)
