"""The dispute: one per order, every fact and derived event.

Read it a module at a time (``aggregate`` lists them): ``vocabulary`` and
``state`` for its words and values, ``events`` for what happened, ``guards`` for
the rules, ``commands`` for the steps, ``timers`` for the policy's deadlines and
``access`` for who may do what.
"""

from domain.dispute.access import ACCESS, COMMAND_ROLES, Access, may
from domain.dispute.aggregate import EVENT_TYPES, Dispute, new_dispute
from domain.dispute.inputs import FUTURE_TOLERANCE, check_instant, identifier, one_of, text
from domain.dispute.state import (
    Evidence,
    Intervention,
    InterventionStatus,
    Refund,
    RefundStatus,
    Return,
    Review,
    SellerResponse,
    Shipment,
)
from domain.dispute.vocabulary import (
    CONTACT_CHANNELS,
    DISPUTE_NAMESPACE,
    EVIDENCE_KINDS,
    INTERNAL_EVENTS,
    INTERVENTION_REASONS,
    OUTCOMES,
    POLICY,
    POLICY_ACTOR,
    ROLES,
    STATUSES,
    SYSTEM_ROLE,
    Actor,
    Status,
    dispute_id_for,
)

__all__ = [
    "ACCESS",
    "COMMAND_ROLES",
    "CONTACT_CHANNELS",
    "DISPUTE_NAMESPACE",
    "EVENT_TYPES",
    "EVIDENCE_KINDS",
    "FUTURE_TOLERANCE",
    "INTERNAL_EVENTS",
    "INTERVENTION_REASONS",
    "OUTCOMES",
    "POLICY",
    "POLICY_ACTOR",
    "ROLES",
    "STATUSES",
    "SYSTEM_ROLE",
    "Access",
    "Actor",
    "Dispute",
    "Evidence",
    "Intervention",
    "InterventionStatus",
    "Refund",
    "RefundStatus",
    "Return",
    "Review",
    "SellerResponse",
    "Shipment",
    "Status",
    "check_instant",
    "dispute_id_for",
    "identifier",
    "may",
    "new_dispute",
    "one_of",
    "text",
]
