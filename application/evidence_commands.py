"""Evidence and reviews, as commands of :class:`~application.disputes.DisputeDesk`:
evidence (described, or with a file already kept in the blob store), a moderator's
request for more, and a moderator hiding a review from buyers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.dispute import Actor
from domain.dispute.state import EvidenceFile
from domain.requests import RequestStamp

if TYPE_CHECKING:
    from application.dispute_commands import Act

View = dict[str, Any]


class EvidenceCommands:
    """Mixed into ``DisputeDesk``, which gives it ``_carry_out``."""

    if TYPE_CHECKING:

        def _carry_out(self, command: str, dispute_id: UUID, actor: Actor, act: Act,
                       expected_version: int | None, request: RequestStamp | None) -> View: ...

    def add_evidence(self, dispute_id: UUID, *, kind: str, description: str,
                     reference: str | None = None, actor: Actor,
                     file: EvidenceFile | None = None,
                     expected_version: int | None = None,
                     request: RequestStamp | None = None) -> View:
        """``file``: an uploaded file's facts, its bytes already in the blob store."""
        return self._carry_out("add_evidence", dispute_id, actor, lambda d, p, now: (
            d.add_evidence(kind, description, reference, actor, now, file=file, policy=p)),
            expected_version, request)

    def request_evidence(self, dispute_id: UUID, *, party: str, description: str, actor: Actor,
                         expected_version: int | None = None,
                         request: RequestStamp | None = None) -> View:
        return self._carry_out("request_evidence", dispute_id, actor, lambda d, p, now: (
            d.request_evidence(party, description, p, actor, now)), expected_version, request)

    def set_review_visibility(self, dispute_id: UUID, *, hidden: bool, reason: str,
                              actor: Actor, expected_version: int | None = None,
                              request: RequestStamp | None = None) -> View:
        return self._carry_out("set_review_visibility", dispute_id, actor, lambda d, p, now: (
            d.set_review_visibility(hidden, reason, actor, now)), expected_version, request)
