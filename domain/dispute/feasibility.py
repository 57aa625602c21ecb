"""Whether a case, as it stands, would have let a recorded fact be recorded.

A replay under another policy (the analysts' simulation) applies the recorded
facts to a case whose derived events differ. A fact that case would have
refused (a shipment after an auto-cancel, the seller's refund decision after
the policy approved the refund) could not have happened as recorded, so what
follows in that replay is counterfactual. The check is the one the fact's
command makes on the case: the access table's guard of its action, and, for a
payment, that the due it pays is open.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from domain.dispute import dues, events
from domain.dispute.access import ACCESS
from domain.dispute.case import DisputeState
from domain.dispute.claim_events import CaseClaimed, ClaimReleased
from domain.dispute.evidence import EvidenceRequested
from domain.dispute.late_reports import DeadlineMissWithdrawn
from domain.dispute.order_events import OrderCancelled, ShipByExtended
from domain.dispute.review_events import ReviewVisibilityChanged
from domain.dispute.ruling_events import (
    AppealDecided,
    AppealFiled,
    RefundCancelled,
    SellerCompensated,
)
from domain.errors import DomainError
from domain.policy import Policy

#: The case action whose command records each fact.
RECORDED_BY: Mapping[type[events.DisputeEvent], str] = {
    events.OrderShipped: "ship",
    events.OrderDelivered: "deliver",
    events.SellerContacted: "contact_seller",
    events.SellerResponded: "respond",
    events.EvidenceAdded: "add_evidence",
    events.InterventionRequested: "request_intervention",
    events.InterventionResolved: "rule",
    events.RefundRequested: "request_refund",
    events.RefundApproved: "decide_refund",
    events.RefundDenied: "decide_refund",
    events.RefundIssued: "issue_refund",
    events.ReturnShipped: "return_goods",
    events.ReturnReceived: "confirm_return_receipt",
    events.Reviewed: "review",
    events.NoteAdded: "add_note",
    events.CaseClosed: "close",
    ShipByExtended: "extend_ship_by",
    OrderCancelled: "close",  # the close that cancels the order records it first
    AppealFiled: "appeal",
    AppealDecided: "decide_appeal",
    SellerCompensated: "issue_refund",
    EvidenceRequested: "request_evidence",
    ReviewVisibilityChanged: "set_review_visibility",
    CaseClaimed: "claim",
    ClaimReleased: "release_claim",
}
#: Facts no case action records on its own: the order creates the case, a
#: command's ``RefundDue`` follows the approval (or receipt) it records, and a
#: shipment's ``DeadlineMissWithdrawn`` is derived with it (a replay derives its own);
#: an appeal decision's ``RefundCancelled`` follows the decision it records.
NOT_A_STEP: frozenset[type[events.DisputeEvent]] = frozenset(
    {events.OrderPlaced, events.RefundDue, DeadlineMissWithdrawn, RefundCancelled}
)


def refusal(
    d: DisputeState, fact: events.DisputeEvent, policy: Policy, now: datetime
) -> DomainError | None:
    """Why ``d`` would have refused the command that recorded ``fact`` at ``now`` (the
    time it was recorded), under ``policy``; None when it would have allowed it, or
    when no case action records such a fact."""
    action = RECORDED_BY.get(type(fact))
    if action is None:
        return None
    access = ACCESS[action]
    try:
        if access.guard is not None:
            access.guard(d, policy, now)
        if access.party_guard is not None and isinstance(fact, AppealFiled):
            access.party_guard(d, policy, now, fact.party)
        if isinstance(fact, events.RefundIssued | SellerCompensated) and fact.due_id:
            dues.payable(d, fact.due_id)
    except DomainError as error:
        return error
    return None
