"""A moderator claims a case, so that two moderators do not rule the same one, and
releases it. A claim lapses by itself at ``expires_at`` (the policy's
``claim_expiry_minutes`` after it was taken); a claim taken from another
moderator's live one names them (``taken_from``).

Claims are the moderators' own bookkeeping: never public (no feed, webhook or
party stream), never on a buyer's or seller's timeline; the case history shows
them. What a live claim blocks: ``access.check_claim``. The commands:
``claim_commands``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from domain.dispute.event_base import DisputeEvent
from domain.dispute.state import Claim

if TYPE_CHECKING:
    from domain.dispute.aggregate import Dispute


class CaseClaimed(DisputeEvent):
    """``moderator_id`` holds the case until ``expires_at``. Claiming one's own live claim
    again renews it: a new expiry, the same ``claimed_at``."""

    TOPIC = "disputedesk:CaseClaimed"
    moderator_id: str
    expires_at: datetime
    #: The moderator whose live claim this one took over (None: nobody's).
    taken_from: str | None

    def apply(self, d: Dispute) -> None:
        held = d.moderator_claim
        renewed = (
            held is not None
            and held.moderator_id == self.moderator_id
            and held.live_at(self.occurred_at)
        )
        claimed_at = held.claimed_at if renewed and held is not None else self.occurred_at
        d.moderator_claim = Claim(self.moderator_id, claimed_at, self.expires_at)
        d._note(self)


class ClaimReleased(DisputeEvent):
    """``moderator_id`` let go of their live claim: the case is nobody's."""

    TOPIC = "disputedesk:ClaimReleased"
    moderator_id: str

    def apply(self, d: Dispute) -> None:
        d.moderator_claim = None
        d._note(self)


#: This module's events, in the order the aggregate lists them.
CLAIM_EVENTS: tuple[type[DisputeEvent], ...] = (CaseClaimed, ClaimReleased)
