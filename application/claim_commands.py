"""Moderators' claims on cases, as commands of :class:`~application.disputes.DisputeDesk`:
claim a case (renew one's own claim, or take over another's live one) and release it.

What a live claim keeps other moderators from doing is checked for every command in
one place (``DisputeCommands.run``, by ``domain.dispute.access.check_claim``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.dispute import Actor
from domain.requests import RequestStamp

if TYPE_CHECKING:
    from application.dispute_commands import Act

View = dict[str, Any]


class ClaimCommands:
    """Mixed into ``DisputeDesk``, which gives it ``_carry_out``."""

    if TYPE_CHECKING:

        def _carry_out(self, command: str, dispute_id: UUID, actor: Actor, act: Act,
                       expected_version: int | None, request: RequestStamp | None) -> View: ...

    def claim(self, dispute_id: UUID, *, take_over: bool = False, actor: Actor,
              expected_version: int | None = None, request: RequestStamp | None = None) -> View:
        """Claim the case for the policy's ``claim_expiry_minutes`` (``take_over``: even
        while another moderator's claim is live)."""
        return self._carry_out("claim", dispute_id, actor, lambda d, p, now: (
            d.claim(actor, now, p, take_over)), expected_version, request)

    def release_claim(self, dispute_id: UUID, *, actor: Actor,
                      expected_version: int | None = None,
                      request: RequestStamp | None = None) -> View:
        """Let go of the acting moderator's own live claim."""
        return self._carry_out("release_claim", dispute_id, actor, lambda d, p, now: (
            d.release_claim(actor, now)), expected_version, request)
