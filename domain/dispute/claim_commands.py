"""A moderator claims a case (or renews their claim, or takes over another's) and
releases it (their events: ``claim_events``). A claim expires after the policy's
``claim_expiry_minutes``; what it blocks meanwhile is the access table's
(``access.check_claim``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.dispute import guards
from domain.dispute.case import DisputeState
from domain.dispute.claim_events import CaseClaimed, ClaimReleased
from domain.dispute.vocabulary import Actor
from domain.errors import ClaimHeld, ClaimNotHeld, InvalidInput
from domain.policy import Policy


def claim_held(holder: str, expires_at: datetime) -> ClaimHeld:
    """The refusal while ``holder``'s claim is live: who holds it, and until when."""
    return ClaimHeld(
        f"moderator {holder} has claimed this case until {expires_at.isoformat()}; "
        "claim it with take_over to act on it, or wait until then"
    )


class ClaimCommands(DisputeState):
    def claim(self, actor: Actor, now: datetime, policy: Policy, take_over: bool = False) -> None:
        """Claim the case until ``claim_expiry_minutes`` from now: a first claim, a renewal
        of one's own live claim, or (``take_over``) another moderator's live claim."""
        if not isinstance(take_over, bool):
            raise InvalidInput("take_over must be true or false", field="take_over")
        guards.can_claim(self)
        holder = self.claim_holder(now)
        taken_from = holder if holder is not None and holder != actor.id else None
        if taken_from is not None and not take_over:
            assert self.moderator_claim is not None
            raise claim_held(taken_from, self.moderator_claim.expires_at)
        minutes = policy.rules_for(self.region, self.category).claim_expiry_minutes
        self._record(CaseClaimed, actor, now, now, moderator_id=actor.id,
                     expires_at=now + timedelta(minutes=minutes), taken_from=taken_from)

    def release_claim(self, actor: Actor, now: datetime) -> None:
        """Let go of one's own live claim."""
        claim = self.moderator_claim
        if claim is None:
            raise ClaimNotHeld("nobody has claimed this case; there is no claim to release")
        if not claim.live_at(now):
            raise ClaimNotHeld(
                f"the claim of moderator {claim.moderator_id} expired at "
                f"{claim.expires_at.isoformat()}; there is no claim to release"
            )
        if claim.moderator_id != actor.id:
            raise ClaimNotHeld(
                f"moderator {claim.moderator_id} holds the claim on this case, not you; "
                "only its holder may release it"
            )
        self._record(ClaimReleased, actor, now, now, moderator_id=actor.id)
