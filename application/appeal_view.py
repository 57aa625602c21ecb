"""The ruling and its appeals as the case view shows them.

The parties see the ruling's outcome, its reason code's text and its note (a
ruling recorded before reason codes were a catalogue keeps its note internal),
each appeal, and each decision with its text and note. Staff also see which
moderator ruled and decided.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from application.times import rfc3339, rfc3339_or_none
from domain.dispute import Dispute, Intervention
from domain.dispute.guards import appeal_closes
from domain.money import Money
from domain.policy import Policy

PARTIES = ("buyer", "seller")


def _money(amount: Decimal | None, currency: str) -> dict[str, str] | None:
    return Money(amount, currency).to_dict() if amount is not None else None


def ruling_view(intervention: Intervention | None, sees_internal: bool) -> Any:
    """The intervention and its ruling."""
    if intervention is None:
        return None
    view: dict[str, Any] = {
        "status": intervention.status.value,
        "requested_at": rfc3339(intervention.requested_at),
        "reason": intervention.reason,
        "statement": intervention.statement,
        "evidence_ids": list(intervention.evidence_ids),
        "outcome": intervention.outcome,
        "reason_code": intervention.reason_code,
        "reason_text": intervention.reason_text,
        "note": intervention.note if sees_internal or intervention.note_is_public else None,
        "resolved_at": rfc3339_or_none(intervention.resolved_at),
    }
    if sees_internal:
        view["ruled_by"] = intervention.ruled_by
    return view


def appeal_view(d: Dispute, policy: Policy, sees_internal: bool) -> Any:
    """The appeals of the ruling: who may still appeal until when, what was filed and
    decided, and the outcome that stands. None before a ruling."""
    intervention = d.intervention
    if intervention is None or intervention.resolved_at is None:
        return None
    appeals = d.appeals
    final = appeals.overturned is not None
    until = {
        party: None if final or appeals.by(party) is not None else appeal_closes(d, policy, party)
        for party in PARTIES
    }
    currency = d.amount.currency
    return {
        "outcome": d.final_outcome,
        "buyer_may_appeal_until": rfc3339_or_none(until["buyer"]),
        "seller_may_appeal_until": rfc3339_or_none(until["seller"]),
        "appeals": [
            {
                "party": appeal.party,
                "statement": appeal.statement,
                "evidence_ids": list(appeal.evidence_ids),
                "filed_at": rfc3339(appeal.filed_at),
                "status": appeal.status.value,
                "decided_at": rfc3339_or_none(appeal.decided_at),
            }
            for appeal in appeals.filed
        ],
        "decisions": [
            {
                "decision": decision.decision,
                "outcome": decision.outcome,
                "reason_code": decision.reason_code,
                "reason_text": decision.reason_text,
                "refund_amount": _money(decision.refund_amount, currency),
                "note": decision.note,
                "appellants": list(decision.appellants),
                "favours": decision.favours,
                "decided_at": rfc3339(decision.decided_at),
                **({"decided_by": decision.decided_by} if sees_internal else {}),
            }
            for decision in appeals.decisions
        ],
    }
