"""A moderator hides a buyer's review from buyers (or shows it again), saying why.

The review stays on record: moderators and the seller it is about still see it;
the seller search and the seller's page leave a hidden review out. The command:
``review_commands``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from domain.dispute.event_base import DisputeEvent

if TYPE_CHECKING:
    from domain.dispute.aggregate import Dispute


class ReviewVisibilityChanged(DisputeEvent):
    TOPIC = "disputedesk:ReviewVisibilityChanged"
    hidden: bool
    reason: str

    def apply(self, d: Dispute) -> None:
        assert d.buyer_review is not None
        d.buyer_review = replace(
            d.buyer_review, hidden=self.hidden, hidden_reason=self.reason if self.hidden else None
        )
        d._note(self)


#: This module's events, in the order the aggregate lists them.
REVIEW_EVENTS: tuple[type[DisputeEvent], ...] = (ReviewVisibilityChanged,)
