"""The commands that change the order itself after it was placed: a moderator's
extension of its ship-by, and its cancellation by the close of its case
(``DisputeCommands.close`` with ``cancel_order``). Their events: ``order_events``."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import deadlines
from domain.dispute import dues, guards
from domain.dispute.case import DisputeState
from domain.dispute.inputs import text
from domain.dispute.order_events import OrderCancelled, ShipByExtended
from domain.dispute.vocabulary import Actor
from domain.errors import InvalidInput, NaiveDatetime
from domain.policy import Policy

#: How far one extension may move ``ship_by``.
MAX_EXTENSION = timedelta(days=180)


class OrderCommands(DisputeState):
    def extend_ship_by(
        self, new_ship_by: datetime, reason: str, policy: Policy, actor: Actor, now: datetime
    ) -> None:
        """Give the seller until ``new_ship_by``, which may pass the auto-cancel instant:
        that moves by as many business days as ``ship_by`` does (``deadlines.extended``)."""
        reason = text(reason, "reason", max_length=500)
        if new_ship_by.tzinfo is None or new_ship_by.utcoffset() is None:
            raise NaiveDatetime("new_ship_by must carry a UTC offset", field="new_ship_by")
        guards.can_extend_ship_by(self)
        if new_ship_by <= self.ship_by:
            raise InvalidInput(
                f"new_ship_by must be later than the current ship_by {self.ship_by.isoformat()}",
                field="new_ship_by",
            )
        if new_ship_by <= now:
            raise InvalidInput("new_ship_by must be in the future", field="new_ship_by")
        if new_ship_by - self.ship_by > MAX_EXTENSION:
            raise InvalidInput(
                f"new_ship_by may be at most {MAX_EXTENSION.days} days after the current "
                f"ship_by {self.ship_by.isoformat()}",
                field="new_ship_by",
            )
        auto_cancel_at, days = deadlines.extended(
            policy.calendar(self.region), self.ship_by, self.auto_cancel_at, new_ship_by
        )
        self._record(
            ShipByExtended,
            actor,
            now,
            now,
            reason=reason,
            ship_by=new_ship_by,
            auto_cancel_at=auto_cancel_at,
            previous_ship_by=self.ship_by,
            previous_auto_cancel_at=self.auto_cancel_at,
            business_days=days,
        )

    def _cancel_order(self, reason: str, actor: Actor, now: datetime) -> None:
        """Cancel the order (its close asked ``cancel_order``): the rest of its amount is
        approved and falls due to the buyer at once."""
        rest = self.remaining_refundable
        self._record(OrderCancelled, actor, now, now, reason=reason, refund_amount=rest)
        dues.owe(self, rest, dues.ORDER_CANCELLED, actor, now, now)
