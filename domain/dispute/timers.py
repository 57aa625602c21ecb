"""The policy's timers: the derived events a dispute records when a deadline passes.

A command first records what fell due by its recorded time, exactly as a
punctual sweeper would have (docs/decisions.md, Time and derived events).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from domain import deadlines
from domain.calendar import BusinessCalendar
from domain.dispute import dues, events
from domain.dispute.case import DisputeState
from domain.dispute.derived_events import PromiseBroken
from domain.dispute.vocabulary import POLICY
from domain.policy import Policy, Rules

#: The event each kind of deadline records.
DERIVED: Mapping[str, type[events.DisputeEvent]] = {
    deadlines.DEADLINE_MISSED: events.DeadlineMissed,
    deadlines.SELLER_RESPONSE_OVERDUE: events.SellerResponseOverdue,
    deadlines.REFUND_AUTO_APPROVED: events.RefundAutoApproved,
    deadlines.ORDER_AUTO_CANCELLED: events.OrderAutoCancelled,
    deadlines.DEADLINE_APPROACHING: events.DeadlineApproaching,
    deadlines.PROMISE_BROKEN: PromiseBroken,
}


class DisputeTimers(DisputeState):
    def record_due(self, policy: Policy, until: datetime, now: datetime | None = None) -> list[str]:
        """Record every derived event due at or before ``until``, in time order.

        Each derived event's ``occurred_at`` is the instant its rule fired, so
        the record does not depend on when this runs. ``policy`` must be the
        one that governs this order. Returns the types recorded.
        """
        return self.record_due_under(
            policy.rules_for(self.region, self.category),
            policy.calendar(self.region),
            policy.version,
            until,
            now,
        )

    def record_due_under(
        self,
        rules: Rules,
        calendar: BusinessCalendar,
        policy_version: str,
        until: datetime,
        now: datetime | None = None,
        due: deadlines.Due | None = None,
    ) -> list[str]:
        """:meth:`record_due` with the order's rules and calendar already looked up.

        ``due``: the first pending deadline, when the caller has just asked
        :func:`deadlines.next_due` (a replay asks before every fact).
        """
        recorded: list[str] = []
        if due is None:
            due = deadlines.next_due(self, rules, calendar)
        while due is not None and due.at <= until:
            extra: dict[str, Any]
            if due.kind == deadlines.DEADLINE_MISSED:
                extra = {"ship_by": self.ship_by}
            elif due.kind == deadlines.SELLER_RESPONSE_OVERDUE:
                extra = {"contacted_at": self.contact_pending_since}
            elif due.kind == deadlines.REFUND_AUTO_APPROVED:
                assert self.refund is not None
                extra = {"amount": self.refund.amount}
            elif due.kind == deadlines.DEADLINE_APPROACHING:
                extra = {"deadline": due.deadline, "due_at": due.deadline_at}
            elif due.kind == deadlines.PROMISE_BROKEN:
                assert self.promised_ship_date is not None
                extra = {"promised_ship_date": self.promised_ship_date.isoformat()}
            else:
                extra = {"refund_amount": self.remaining_refundable, "records_payment": False}
            self._record(
                DERIVED[due.kind],
                POLICY,
                due.at,
                now or until,
                policy_version=policy_version,
                **extra,
            )
            # An approval by the policy: its money falls due now (or on the return).
            if due.kind == deadlines.ORDER_AUTO_CANCELLED:
                refund_amount = extra["refund_amount"]
                dues.owe(self, refund_amount, dues.AUTO_CANCELLED, POLICY, due.at, now or until)
            elif due.kind == deadlines.REFUND_AUTO_APPROVED:
                dues.owe_approved_refund(self, POLICY, due.at, now or until)
            recorded.append(due.kind)
            due = deadlines.next_due(self, rules, calendar)
        return recorded

    def next_deadline(self, policy: Policy) -> deadlines.Due | None:
        """The first of :meth:`pending_deadlines`."""
        return deadlines.next_due(
            self, policy.rules_for(self.region, self.category), policy.calendar(self.region)
        )

    def pending_deadlines(self, policy: Policy) -> list[deadlines.Due]:
        return deadlines.pending(
            self, policy.rules_for(self.region, self.category), policy.calendar(self.region)
        )
