"""A moderator hides a buyer's review from buyers, or shows it again (its event:
``review_events``)."""

from __future__ import annotations

from datetime import datetime

from domain.dispute import guards
from domain.dispute.case import DisputeState
from domain.dispute.inputs import text
from domain.dispute.review_events import ReviewVisibilityChanged
from domain.dispute.vocabulary import Actor
from domain.errors import InvalidInput


class ReviewCommands(DisputeState):
    def set_review_visibility(self, hidden: bool, reason: str, actor: Actor, now: datetime) -> None:
        if not isinstance(hidden, bool):
            raise InvalidInput("hidden must be true or false", field="hidden")
        reason = text(reason, "reason", max_length=500)
        guards.can_change_review_visibility(self, hidden)
        self._record(ReviewVisibilityChanged, actor, now, now, hidden=hidden, reason=reason)
