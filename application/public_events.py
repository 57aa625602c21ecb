"""The public event catalogue: which recorded facts the outside world hears of, and how.

This module is the one place that says which stored events are public, under
which type (the contract's public event types; the README, "Events out") and
with which payload. The pull feed (``GET /v1/events``), the server-sent event
streams and the webhooks all go through :func:`public_event`. A stored event
whose topic is not in :data:`PUBLIC_TYPES` is never shown: internal notes
(``NoteAdded``) never are, and a fact without a public type yet (evidence added,
returns, reviews, an overdue seller response, a moderator's extension of
ship-by, an order cancelled by the close of its case, money an appeal decision
withdrew (``RefundCancelled``; the ``dispute.appeal_decided`` says so): the contract
names none) is skipped. The facts added since that list are public: a moderator's
request for evidence (``dispute.evidence_requested``) and a review hidden from
buyers or shown again (``dispute.review_visibility_changed``, which extends the list).

A public event is a plain dict::

    {"id": "42", "type": "dispute.shipped", "created_at": "2026-11-20T18:00:00Z",
     "dispute_id": "...", "order_id": "...", "buyer_id": "...", "seller_id": "...",
     "data": {"occurred_at": "...", ...}}

``id`` is the event's notification id in the log (its place in log order), so a
feed cursor and SSE's ``Last-Event-ID`` resume from it; the same event always
has the same id. ``created_at`` is when it was recorded.

Imported history is not news: an event recorded by an import of history
(``DisputeEvent.imported``: a fact loaded from the platform's past, or what fell
due while the import replayed it) is never public, whatever its type. The
feed, the streams and the webhooks all pass through :func:`public_event`, so
this is the one place that says so; every read model and the case history
still include it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from application.times import rfc3339
from domain.dispute import Dispute
from domain.money import Money

__all__ = [
    "CONTRACT_TYPES",
    "PUBLIC_TYPES",
    "Parties",
    "public_event",
    "public_type_of",
    "rfc3339",
]

#: Every public type the contract names, emitted yet or not. A client may
#: ask for any of them; it simply gets none of those this version does not emit.
CONTRACT_TYPES: frozenset[str] = frozenset({
    "dispute.created",
    "dispute.deadline_missed",
    "dispute.deadline_miss_withdrawn",
    "dispute.seller_contacted",
    "dispute.seller_responded",
    "dispute.promise_broken",
    "dispute.refund_requested",
    "dispute.refund_approved",
    "dispute.refund_denied",
    "dispute.refund_due",
    "dispute.refund_paid",
    "dispute.intervention_requested",
    "dispute.evidence_requested",
    "dispute.ruled",
    "dispute.appealed",
    "dispute.appeal_decided",
    "dispute.auto_cancelled",
    "dispute.shipped",
    "dispute.delivered",
    "dispute.deadline_approaching",
    "dispute.closed",
    # Beyond the contract's list: the seller hears that a review of theirs was hidden.
    "dispute.review_visibility_changed",
})

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Parties:
    """Who a dispute is between, from its own ``OrderPlaced`` (never changes)."""

    dispute_id: str
    order_id: str
    buyer_id: str
    seller_id: str
    currency: str


def _money(amount: Decimal | None, parties: Parties) -> JSON | None:
    if amount is None:
        return None
    return Money(amount, parties.currency).to_dict()


# ---- payloads, one per public fact ----------------------------------------------
# Each returns the ``data`` of the public event besides ``occurred_at``. Only what
# a party of the case may see: never an internal note or a statement; a ruling's
# note and reason text only since rulings name a code of the policy's catalogue.

Payload = Callable[[Any, Parties], JSON]


def _created(e: Dispute.OrderPlaced, p: Parties) -> JSON:
    return {
        "region": e.region,
        "category": e.category,
        "amount": _money(e.amount, p),
        "placed_at": rfc3339(e.placed_at),
        "ship_by": rfc3339(e.ship_by),
        "auto_cancel_at": rfc3339(e.auto_cancel_at),
        "policy_version": e.policy_version,
        "status": "awaiting_shipment",
    }


def _shipped(e: Dispute.OrderShipped, _p: Parties) -> JSON:
    return {
        "carrier": e.carrier,
        "tracking_number": e.tracking_number,
        "shipped_at": rfc3339(e.shipped_at),
    }


def _delivered(e: Dispute.OrderDelivered, _p: Parties) -> JSON:
    return {"delivered_at": rfc3339(e.delivered_at)}


def _deadline_missed(e: Dispute.DeadlineMissed, _p: Parties) -> JSON:
    return {"ship_by": rfc3339(e.ship_by), "policy_version": e.policy_version}


def _deadline_miss_withdrawn(e: Dispute.DeadlineMissWithdrawn, _p: Parties) -> JSON:
    return {
        "ship_by": rfc3339(e.ship_by),
        "shipped_at": rfc3339(e.shipped_at),
        "reported_at": rfc3339(e.reported_at),
        "feed_lag_seconds": e.feed_lag_seconds,
        "policy_version": e.policy_version,
    }


def _deadline_approaching(e: Dispute.DeadlineApproaching, _p: Parties) -> JSON:
    return {
        "deadline": e.deadline,
        "due_at": rfc3339(e.due_at),
        "policy_version": e.policy_version,
    }


def _seller_contacted(e: Dispute.SellerContacted, _p: Parties) -> JSON:
    # Whether the seller's response window opened (never the message itself).
    return {"channel": e.channel, "expects_reply": e.expects_reply}


def _seller_responded(e: Dispute.SellerResponded, _p: Parties) -> JSON:
    return {"promised_ship_date": e.promised_ship_date}


def _promise_broken(e: Dispute.PromiseBroken, _p: Parties) -> JSON:
    return {"promised_ship_date": e.promised_ship_date, "policy_version": e.policy_version}


def _refund_requested(e: Dispute.RefundRequested, p: Parties) -> JSON:
    return {
        "amount": _money(e.amount, p),
        "return_required": e.return_required,
        "refund_status": "requested",
    }


def _refund_approved(e: Dispute.RefundApproved, _p: Parties) -> JSON:
    return {"approved_by": "seller", "amount": None, "refund_status": "approved"}


def _refund_auto_approved(e: Dispute.RefundAutoApproved, p: Parties) -> JSON:
    return {
        "approved_by": "policy",
        "amount": _money(e.amount, p),
        "policy_version": e.policy_version,
        "refund_status": "approved",
    }


def _refund_denied(e: Dispute.RefundDenied, _p: Parties) -> JSON:
    return {"reason": e.reason, "refund_status": "denied"}


def _refund_due(e: Dispute.RefundDue, p: Parties) -> JSON:
    return {
        "amount": _money(e.amount, p),
        "payee": e.payee,
        "reason": e.reason,
        "due_id": e.due_id,
    }


def _refund_paid(e: Dispute.RefundIssued, p: Parties) -> JSON:
    # ``due_id`` is null for a payment recorded before dues were.
    return {"amount": _money(e.amount, p), "due_id": e.due_id}


def _intervention_requested(e: Dispute.InterventionRequested, _p: Parties) -> JSON:
    return {"reason": e.reason, "status": "under_review"}


def _ruled(e: Dispute.InterventionResolved, p: Parties) -> JSON:
    # A ruling that names a code of the catalogue records its text, and its note is
    # public; a ruling recorded before keeps its note internal (null here).
    public = e.reason_text is not None
    return {
        "outcome": e.outcome,
        "reason_code": e.reason_code,
        "reason_text": e.reason_text,
        "refund_amount": _money(e.refund_amount, p),
        "note": e.note if public else None,
    }


def _appealed(e: Dispute.AppealFiled, _p: Parties) -> JSON:
    # Never the statement (the case view shows it to the parties).
    return {"party": e.party, "evidence_ids": list(e.evidence_ids), "status": "under_appeal"}


def _appeal_decided(e: Dispute.AppealDecided, p: Parties) -> JSON:
    return {
        "decision": e.decision,
        "outcome": e.outcome,
        "previous_outcome": e.previous_outcome,
        "reason_code": e.reason_code,
        "reason_text": e.reason_text,
        "refund_amount": _money(e.refund_amount, p),
        "note": e.note,
        "appellants": list(e.appellants),
    }


def _seller_compensated(e: Dispute.SellerCompensated, p: Parties) -> JSON:
    # The platform paid the seller's due (an overturned refund the buyer kept).
    return {"amount": _money(e.amount, p), "due_id": e.due_id, "payee": "seller"}


def _auto_cancelled(e: Dispute.OrderAutoCancelled, p: Parties) -> JSON:
    return {
        "refund_amount": _money(e.refund_amount, p),
        "policy_version": e.policy_version,
        "status": "cancelled",
    }


def _closed(e: Dispute.CaseClosed, _p: Parties) -> JSON:
    return {"reason": e.reason, "status": "closed"}


def _evidence_requested(e: Dispute.EvidenceRequested, _p: Parties) -> JSON:
    # Which party must send more, what, and by when (``request_id``: what it answers).
    return {
        "request_id": e.request_id,
        "party": e.party,
        "description": e.description,
        "due_at": rfc3339(e.due_at),
    }


def _review_visibility(e: Dispute.ReviewVisibilityChanged, _p: Parties) -> JSON:
    return {"hidden": e.hidden, "reason": e.reason}


@dataclass(frozen=True, slots=True)
class _Entry:
    type: str
    payload: Payload


#: Stored event topic -> its public type and payload. The one list of public facts.
_CATALOGUE: Mapping[str, _Entry] = MappingProxyType({
    Dispute.OrderPlaced.TOPIC: _Entry("dispute.created", _created),
    Dispute.OrderShipped.TOPIC: _Entry("dispute.shipped", _shipped),
    Dispute.OrderDelivered.TOPIC: _Entry("dispute.delivered", _delivered),
    Dispute.DeadlineMissed.TOPIC: _Entry("dispute.deadline_missed", _deadline_missed),
    Dispute.DeadlineMissWithdrawn.TOPIC: _Entry(
        "dispute.deadline_miss_withdrawn", _deadline_miss_withdrawn
    ),
    Dispute.DeadlineApproaching.TOPIC: _Entry(
        "dispute.deadline_approaching", _deadline_approaching
    ),
    Dispute.SellerContacted.TOPIC: _Entry("dispute.seller_contacted", _seller_contacted),
    Dispute.SellerResponded.TOPIC: _Entry("dispute.seller_responded", _seller_responded),
    Dispute.PromiseBroken.TOPIC: _Entry("dispute.promise_broken", _promise_broken),
    Dispute.RefundRequested.TOPIC: _Entry("dispute.refund_requested", _refund_requested),
    Dispute.RefundApproved.TOPIC: _Entry("dispute.refund_approved", _refund_approved),
    Dispute.RefundAutoApproved.TOPIC: _Entry("dispute.refund_approved", _refund_auto_approved),
    Dispute.RefundDenied.TOPIC: _Entry("dispute.refund_denied", _refund_denied),
    Dispute.RefundDue.TOPIC: _Entry("dispute.refund_due", _refund_due),
    Dispute.RefundIssued.TOPIC: _Entry("dispute.refund_paid", _refund_paid),
    Dispute.InterventionRequested.TOPIC: _Entry(
        "dispute.intervention_requested", _intervention_requested
    ),
    Dispute.EvidenceRequested.TOPIC: _Entry("dispute.evidence_requested", _evidence_requested),
    Dispute.InterventionResolved.TOPIC: _Entry("dispute.ruled", _ruled),
    Dispute.AppealFiled.TOPIC: _Entry("dispute.appealed", _appealed),
    Dispute.AppealDecided.TOPIC: _Entry("dispute.appeal_decided", _appeal_decided),
    Dispute.SellerCompensated.TOPIC: _Entry("dispute.refund_paid", _seller_compensated),
    Dispute.OrderAutoCancelled.TOPIC: _Entry("dispute.auto_cancelled", _auto_cancelled),
    Dispute.CaseClosed.TOPIC: _Entry("dispute.closed", _closed),
    Dispute.ReviewVisibilityChanged.TOPIC: _Entry(
        "dispute.review_visibility_changed", _review_visibility
    ),
})

#: Stored event topic -> public type, for every public fact.
PUBLIC_TYPES: Mapping[str, str] = MappingProxyType(
    {topic: entry.type for topic, entry in _CATALOGUE.items()}
)
#: The public types this version emits.
EMITTED_TYPES: frozenset[str] = frozenset(PUBLIC_TYPES.values())


def public_type_of(topic: str) -> str | None:
    """The public type of a stored event's topic; None when it is not public."""
    return PUBLIC_TYPES.get(topic)


def public_event(notification_id: int, topic: str, event: Any, parties: Parties) -> JSON | None:
    """The public form of a stored dispute event, or None when it is not public
    (its type is not, or it is imported history).

    ``event`` is the decoded domain event; ``parties`` come from the dispute's
    own ``OrderPlaced``.
    """
    entry = _CATALOGUE.get(topic)
    if entry is None or event.imported:
        return None
    return envelope(notification_id, entry.type, event, parties, entry.payload(event, parties))


def envelope(notification_id: int, kind: str, event: Any, parties: Parties, payload: JSON
             ) -> JSON:
    """An event as the feed, the streams and webhooks carry it: its id, type, time and
    parties around ``payload`` (after the instant it happened)."""
    return {
        "id": str(notification_id),
        "type": kind,
        "created_at": rfc3339(event.timestamp),
        "dispute_id": parties.dispute_id,
        "order_id": parties.order_id,
        "buyer_id": parties.buyer_id,
        "seller_id": parties.seller_id,
        "data": {"occurred_at": rfc3339(event.occurred_at), **payload},
    }


def parties_of(placed: Dispute.OrderPlaced) -> Parties:
    return Parties(
        dispute_id=str(placed.originator_id),
        order_id=placed.order_id,
        buyer_id=placed.buyer_id,
        seller_id=placed.seller_id,
        currency=placed.currency,
    )
