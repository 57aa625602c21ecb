"""The words of a dispute: who acts, the statuses a case goes through, and the
closed lists a command's input must come from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

DISPUTE_NAMESPACE = uuid5(NAMESPACE_URL, "https://disputedesk.invalid/orders")

ROLES = ("buyer", "seller", "moderator", "analyst", "platform")
SYSTEM_ROLE = "system"
POLICY_ACTOR = "policy"


class Status(StrEnum):
    """Where a case stands, derived from its facts (first match wins, see
    ``Dispute.status``). The values are the API's words."""

    AWAITING_SHIPMENT = "awaiting_shipment"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    OVERDUE = "overdue"
    AWAITING_SELLER = "awaiting_seller"
    SELLER_RESPONDED = "seller_responded"
    UNDER_REVIEW = "under_review"
    REFUND_REQUESTED = "refund_requested"
    RETURN_IN_TRANSIT = "return_in_transit"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    CLOSED = "closed"


STATUSES: tuple[str, ...] = tuple(status.value for status in Status)
CONTACT_CHANNELS = ("chat", "email", "phone", "in_app", "other")
EVIDENCE_KINDS = ("chat_log", "order_record", "tracking", "photo", "other")
INTERVENTION_REASONS = ("not_shipped", "seller_unresponsive", "refund_denied", "other")
OUTCOMES = ("refund_full", "refund_partial", "seller_must_ship", "claim_rejected")
#: Events only staff see on a case's timeline.
INTERNAL_EVENTS = frozenset({"NoteAdded"})


def dispute_id_for(order_id: str) -> UUID:
    """The same order always maps to the same dispute."""
    return uuid5(DISPUTE_NAMESPACE, order_id)


@dataclass(frozen=True)
class Actor:
    role: str
    id: str


#: The actor of the events the policy derives (deadlines, auto-approvals, cancels).
POLICY = Actor(SYSTEM_ROLE, POLICY_ACTOR)
