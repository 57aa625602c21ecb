"""Plain-value views of a dispute: the case view and the audit history rows."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from application.appeal_view import appeal_view, ruling_view
from application.times import local_or_none, rfc3339, rfc3339_or_none
from domain.dispute import (
    INTERNAL_EVENTS,
    Actor,
    Dispute,
    Evidence,
    Return,
    Review,
    Shipment,
)
from domain.dispute.conversation import Message
from domain.dispute.state import EvidenceRequest
from domain.money import Money
from domain.policy import Policy

STAFF_ROLES = frozenset({"moderator", "analyst", "platform"})
_BASE_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "occurred_at",
        "actor_role",
        "actor_id",
        "policy_version",
        "request",
    }
)


#: Every instant of a view in the one style of the API (``application.times``).
iso = rfc3339_or_none


def plain(value: Any, currency: str) -> Any:
    """Event payload values as JSON-ready values."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Decimal):
        return Money(value, currency).to_dict()
    if isinstance(value, list):
        return [plain(v, currency) for v in value]
    if isinstance(value, dict):
        return {k: plain(v, currency) for k, v in value.items()}
    return value


def case_view(d: Dispute, viewer: Actor, policy: Policy, now: datetime) -> dict[str, Any]:
    view = fixed_case_view(d, viewer.role in STAFF_ROLES, policy)
    return with_claim(with_next_actions(view, d.next_actions(viewer.role, policy, now)),
                      d, viewer.role, now)


def with_next_actions(fixed: dict[str, Any], actions: list[str]) -> dict[str, Any]:
    """A case view from its fixed part: a new top-level dict with ``next_actions``.

    The nested values are the fixed part's own: read them, do not change them.
    """
    view = dict(fixed)
    view["next_actions"] = actions
    return view


def with_claim(view: dict[str, Any], d: Dispute, role: str, now: datetime) -> dict[str, Any]:
    """``view`` (a top-level dict of its own) with the moderator's ``claim``: who holds
    the case, since when and until when; null once it expired at ``now`` (or with no
    claim). Only moderators see claims."""
    if role == "moderator":
        claim = d.moderator_claim
        view["claim"] = (
            {
                "moderator_id": claim.moderator_id,
                "claimed_at": rfc3339(claim.claimed_at),
                "expires_at": rfc3339(claim.expires_at),
            }
            if claim is not None and claim.live_at(now)
            else None
        )
    return view


#: What a current case view is a function of (:func:`view_identity`).
ViewIdentity = tuple[str, int, bool, tuple[str, ...], bool, bool]


def view_identity(view: dict[str, Any], role: str) -> ViewIdentity:
    """What a current case view (not an ``as_of`` one) is a function of: the dispute
    at its version, whether the viewer sees internal events, the next actions, and
    whether it shows a claim (a moderator's) and the claim is live.
    Two views with the same identity are equal, so an encoding of one serves both."""
    return (view["id"], view["version"], role in STAFF_ROLES, tuple(view["next_actions"]),
            "claim" in view, view.get("claim") is not None)


def fixed_case_view(d: Dispute, sees_internal: bool, policy: Policy) -> dict[str, Any]:
    """Everything of the case view but ``next_actions`` (an empty placeholder).

    It depends on the dispute's state, its policy and whether the viewer sees
    internal events, never on the time: a dispute read from the store at a
    version gives the same fixed part until its next event.
    """
    currency = d.amount.currency
    pending = d.pending_deadlines(policy)
    timers = {t.kind: t.at for t in pending}
    zone = policy.calendar(d.region).tz
    deadlines = {
        "ship_by": d.ship_by if not d.is_shipped and not d.is_finished else None,
        "seller_response_due": timers.get("SellerResponseOverdue"),
        "refund_response_due": timers.get("RefundAutoApproved"),
        "auto_cancel_at": timers.get("OrderAutoCancelled"),
    }
    refund = None
    if d.refund is not None:
        refund = {
            "status": d.refund.status.value,
            "amount": Money(d.refund.amount, currency).to_dict(),
            "reason": d.refund.reason,
            "return_required": d.refund.return_required,
            "requested_at": iso(d.refund.requested_at),
            "decided_at": iso(d.refund.decided_at),
            "decided_by": d.refund.decided_by,
            "paid_amount": (
                Money(d.refund.paid_amount, currency).to_dict()
                if d.refund.paid_amount is not None
                else None
            ),
            "return": _return_view(d.return_, currency),
            "return_shipping_payer": policy.rules_for(d.region, d.category).return_shipping_payer,
            "dues": [
                {
                    "due_id": due.due_id,
                    "amount": Money(due.amount, currency).to_dict(),
                    "payee": due.payee,
                    "reason": due.reason,
                    "due_at": iso(due.due_at),
                    "paid_amount": Money(due.paid_amount, currency).to_dict(),
                    "status": due.status.value,
                }
                for due in d.dues
            ],
        }
    return {
        "id": str(d.id),
        "order_id": d.order_id,
        "buyer_id": d.buyer_id,
        "seller_id": d.seller_id,
        "seller_name": d.seller_name,
        "region": d.region,
        "category": d.category,
        "amount": d.amount.to_dict(),
        "status": d.status.value,
        "placed_at": iso(d.placed_at),
        "ship_by": iso(d.ship_by),
        "ship_by_local": local_or_none(d.ship_by, zone),
        "auto_cancel_at": iso(d.auto_cancel_at),
        "auto_cancel_at_local": local_or_none(d.auto_cancel_at, zone),
        "shipment": _shipment_view(d.shipment, d.delivered_at, sees_internal),
        "refund": refund,
        "review": _review_view(d.buyer_review),
        "intervention": ruling_view(d.intervention, sees_internal),
        "appeal": appeal_view(d, policy, sees_internal),
        "evidence": [_evidence_view(d, e) for e in d.evidence.values()],
        "evidence_requests": [_evidence_request_view(r, zone) for r in d.evidence_requests],
        "promise": _promise_view(d, policy),
        "deadlines": {
            **{name: iso(at) for name, at in deadlines.items()},
            **{f"{name}_local": local_or_none(at, zone) for name, at in deadlines.items()},
        },
        "next_due": {"type": pending[0].kind, "at": rfc3339(pending[0].at)} if pending else None,
        "next_actions": [],
        "timeline": [
            {"type": kind, "occurred_at": rfc3339(at)}
            for kind, at in d.history
            if sees_internal or kind not in INTERNAL_EVENTS
        ],
        "version": d.version,
        "policy_version": d.policy_version,
    }


def _shipment_view(
    shipment: Shipment | None, delivered_at: datetime | None, sees_internal: bool
) -> Any:
    if shipment is None:
        return None
    view: dict[str, Any] = {
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "shipped_at": rfc3339(shipment.shipped_at),
        "delivered_at": iso(delivered_at),
    }
    if sees_internal and shipment.reported_at is not None:
        # Staff see how late the feed reported it (DeadlineMissWithdrawn says when it mattered).
        view["reported_at"] = rfc3339(shipment.reported_at)
        view["feed_lag_seconds"] = feed_lag_seconds(shipment)
    return view


def feed_lag_seconds(shipment: Shipment) -> int | None:
    """How long after it shipped the shipment reached us (whole seconds)."""
    if shipment.reported_at is None:
        return None
    return max(0, int((shipment.reported_at - shipment.shipped_at).total_seconds()))


def _return_view(sent_back: Return | None, currency: str) -> Any:
    if sent_back is None:
        return None
    return {
        "carrier": sent_back.carrier,
        "tracking_number": sent_back.tracking_number,
        "shipped_at": rfc3339(sent_back.shipped_at),
        "received_at": iso(sent_back.received_at),
        "label_cost": (
            Money(sent_back.label_cost, currency).to_dict()
            if sent_back.label_cost is not None
            else None
        ),
    }


def _review_view(review: Review | None) -> Any:
    if review is None:
        return None
    return {
        "rating": review.rating,
        "comment": review.comment,
        "at": rfc3339(review.at),
        "hidden": review.hidden,
        "hidden_reason": review.hidden_reason,
    }


def _promise_view(d: Dispute, policy: Policy) -> Any:
    """The seller's promised ship date, when it breaks, and whether it (or an earlier) did."""
    promise = d.promise
    if promise is None:
        return None
    calendar = policy.calendar(d.region)
    due_at = calendar.end_of_day(promise.ship_date)
    return {
        "promised_ship_date": promise.ship_date.isoformat(),
        "made_at": rfc3339(promise.made_at),
        "due_at": rfc3339(due_at),
        "due_at_local": local_or_none(due_at, calendar.tz),
        "broken": promise.broken,
        "promises_broken": d.promises_broken,
    }


def message_view(message: Message) -> dict[str, Any]:
    """A message of the conversation (``GET /v1/disputes/{id}/messages``)."""
    return {
        "sequence": message.sequence,
        "author_role": message.author_role,
        "author_id": message.author_id,
        "text": message.text,
        "sent_at": rfc3339(message.sent_at),
        "expects_reply": message.expects_reply,
        "promised_ship_date": message.promised_ship_date,
    }


def _evidence_view(d: Dispute, evidence: Evidence) -> dict[str, Any]:
    """An evidence item; one with a file names its SHA-256, type and size, and where
    to fetch the bytes."""
    file = evidence.file
    return {
        "id": evidence.id,
        "kind": evidence.kind,
        "description": evidence.description,
        "reference": evidence.reference,
        "added_by": evidence.added_by,
        "added_at": rfc3339(evidence.added_at),
        "sha256": file.sha256 if file else None,
        "content_type": file.content_type if file else None,
        "size": file.size if file else None,
        "filename": file.filename if file else None,
        "file_url": f"/v1/disputes/{d.id}/evidence/{evidence.id}/file" if file else None,
    }


def _evidence_request_view(asked: EvidenceRequest, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "request_id": asked.request_id,
        "party": asked.party,
        "description": asked.description,
        "requested_at": rfc3339(asked.requested_at),
        "requested_by": asked.requested_by,
        "due_at": rfc3339(asked.due_at),
        "due_at_local": local_or_none(asked.due_at, zone),
        "open": asked.is_open,
        "answered_at": iso(asked.answered_at),
        "evidence_id": asked.evidence_id,
    }


def history_row(event: Dispute.Event, currency: str) -> dict[str, Any]:
    data = {
        f.name: plain(getattr(event, f.name), currency)
        for f in dataclasses.fields(event)
        if f.name not in _BASE_FIELDS
    }
    return {
        "sequence": event.originator_version,
        "type": type(event).__name__,
        "occurred_at": rfc3339(event.occurred_at),
        "recorded_at": rfc3339(event.timestamp),
        "actor_role": event.actor_role,
        "actor_id": event.actor_id,
        "policy_version": getattr(event, "policy_version", None),
        "data": data,
    }
