"""The words of a dispute: who acts, the statuses a case goes through, and the
closed lists a command's input must come from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.outcomes import OUTCOMES as RULING_OUTCOMES

DISPUTE_NAMESPACE = uuid5(NAMESPACE_URL, "https://disputedesk.invalid/orders")

ROLES = ("buyer", "seller", "moderator", "analyst", "platform")
SYSTEM_ROLE = "system"
POLICY_ACTOR = "policy"


class Status(StrEnum):
    """Where a case stands, derived from its facts in one place
    (``DisputeState.status``, first match wins; the README's status table gives
    the precedence). The values are the API's words."""

    AWAITING_SHIPMENT = "awaiting_shipment"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    OVERDUE = "overdue"
    AWAITING_SELLER = "awaiting_seller"
    SELLER_RESPONDED = "seller_responded"
    UNDER_REVIEW = "under_review"
    REFUND_REQUESTED = "refund_requested"
    REFUND_APPROVED = "refund_approved"
    RETURN_IN_TRANSIT = "return_in_transit"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    UNDER_APPEAL = "under_appeal"
    CANCELLED = "cancelled"
    CLOSED = "closed"


STATUSES: tuple[str, ...] = tuple(status.value for status in Status)
CONTACT_CHANNELS = ("chat", "email", "phone", "in_app", "other")
EVIDENCE_KINDS = (
    "chat_log", "order_record", "tracking", "photo", "screenshot", "receipt", "other"
)
INTERVENTION_REASONS = ("not_shipped", "seller_unresponsive", "refund_denied", "other")
OUTCOMES = RULING_OUTCOMES  # the one list: domain.outcomes
#: Events only staff see on a case's timeline: notes, and moderators' claims.
INTERNAL_EVENTS = frozenset({"NoteAdded", "CaseClaimed", "ClaimReleased"})


def dispute_id_for(order_id: str) -> UUID:
    """The same order always maps to the same dispute."""
    return uuid5(DISPUTE_NAMESPACE, order_id)


@dataclass(frozen=True)
class Actor:
    """Who acts: a role and an id. ``supervisor``: a moderator whose token says
    ``supervisor: true`` (reads the access audit); a privilege of the token, not part of
    who the actor is, so it plays no part in equality or hashing."""

    role: str
    id: str
    supervisor: bool = field(default=False, compare=False)


#: The actor of the events the policy derives (deadlines, auto-approvals, cancels).
POLICY = Actor(SYSTEM_ROLE, POLICY_ACTOR)
