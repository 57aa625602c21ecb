"""Who may do what: one table, keyed by the API's action names.

Each row gives the roles that may run the action and, for an action on an
existing case, the guard that says whether the case allows it now. From it:

- :data:`COMMAND_ROLES`, the roles per action (the application's checks and the
  HTTP guards);
- :func:`next_actions`, what a role may do next on a case: the rows it may run
  whose guard passes, in the order of the table;
- :func:`check_claim`, what a moderator's live claim on a case keeps other
  moderators from doing: the rows marked ``claim_bound``;
- :func:`admits`, whether a caller may run an action at all: its role, and for a row
  marked ``supervisors_only`` a supervising moderator (a flag of the token, not a role).

A row without a guard is not offered among a case's next actions (the order is
placed before the case exists; reading a case is not a step in it), nor is one
marked ``offered=False`` (whether it applies depends on who asks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from domain.dispute import guards
from domain.dispute.case import DisputeState
from domain.dispute.claim_commands import claim_held
from domain.dispute.vocabulary import Actor
from domain.errors import DomainError
from domain.policy import Policy

#: Raises a domain error when the case does not allow the action now.
Guard = Callable[[DisputeState, Policy, datetime], None]
#: The same, for a step each party takes for itself: asked as that party (its role).
PartyGuard = Callable[[DisputeState, Policy, datetime, str], None]

BUYER = frozenset({"buyer"})
SELLER = frozenset({"seller"})
MODERATOR = frozenset({"moderator"})
ANALYST = frozenset({"analyst"})
PLATFORM = frozenset({"platform"})


@dataclass(frozen=True, slots=True)
class Access:
    roles: frozenset[str]
    guard: Guard | None = None
    party_guard: PartyGuard | None = None
    #: A moderator's deciding step: refused while another moderator holds a live
    #: claim on the case (:func:`check_claim`).
    claim_bound: bool = False
    #: Among a case's next actions when its guard passes (False: never listed).
    offered: bool = True
    #: Only callers among ``roles`` whose token makes them supervisors (``supervisor``).
    supervisors_only: bool = False

    def guard_for(self, role: str) -> Guard | None:
        """The guard ``role`` is asked (a party guard, as that party)."""
        party_guard = self.party_guard
        if party_guard is None:
            return self.guard

        def guard(d: DisputeState, policy: Policy, now: datetime) -> None:
            party_guard(d, policy, now, role)

        return guard


def _on_the_case(check: Callable[[DisputeState], None]) -> Guard:
    """A guard that reads only the case (not the policy, not the time)."""

    def guard(d: DisputeState, _policy: Policy, _now: datetime) -> None:
        check(d)

    return guard


def _always(_d: DisputeState, _policy: Policy, _now: datetime) -> None:
    """Allowed at any point, even on a closed case."""


#: The order of the case actions is the order ``next_actions`` lists them in.
ACCESS: Mapping[str, Access] = {
    "place_order": Access(PLATFORM),
    "ship": Access(SELLER | PLATFORM, _on_the_case(guards.can_ship)),
    "deliver": Access(PLATFORM, _on_the_case(guards.can_deliver)),
    "contact_seller": Access(BUYER, _on_the_case(guards.can_contact_seller)),
    "respond": Access(SELLER, _on_the_case(guards.can_respond)),
    "request_refund": Access(BUYER, _on_the_case(guards.can_request_refund)),
    "decide_refund": Access(SELLER, _on_the_case(guards.can_decide_refund)),
    "request_intervention": Access(BUYER, _on_the_case(guards.can_request_intervention)),
    # A moderator claims an open case before working it; only the holder releases a
    # claim (the command checks who, so it is never offered).
    "claim": Access(MODERATOR, _on_the_case(guards.can_claim)),
    "release_claim": Access(MODERATOR, _always, offered=False),
    "rule": Access(MODERATOR, _on_the_case(guards.can_rule), claim_bound=True),
    "appeal": Access(BUYER | SELLER, party_guard=guards.can_appeal),
    # Not by the moderator who ruled (the command checks who).
    "decide_appeal": Access(MODERATOR, _on_the_case(guards.can_decide_appeal), claim_bound=True),
    "extend_ship_by": Access(MODERATOR, _on_the_case(guards.can_extend_ship_by),
                             claim_bound=True),
    "issue_refund": Access(PLATFORM, _on_the_case(guards.can_issue_refund)),
    "confirm_return_receipt": Access(SELLER, _on_the_case(guards.can_confirm_return_receipt)),
    "add_evidence": Access(BUYER | SELLER | MODERATOR, _on_the_case(guards.can_add_evidence)),
    "request_evidence": Access(MODERATOR, _on_the_case(guards.can_request_evidence),
                               claim_bound=True),
    "return_goods": Access(BUYER, _on_the_case(guards.can_return_goods)),
    "review": Access(BUYER, guards.can_review),
    # Notes stay open to every moderator, whoever holds the case.
    "add_note": Access(MODERATOR, _always),
    "set_review_visibility": Access(
        MODERATOR, _on_the_case(guards.can_change_review_visibility), claim_bound=True
    ),
    # Offered once the case is settled; a running order closes with cancel_order.
    "close": Access(MODERATOR | PLATFORM, _on_the_case(guards.may_close), claim_bound=True),
    # Reads and platform operations: no case step.
    "view": Access(BUYER | SELLER | MODERATOR),
    "messages": Access(BUYER | SELLER | MODERATOR),
    # An evidence file: whoever may read the case.
    "evidence_file": Access(BUYER | SELLER | MODERATOR),
    # A replayed command answers with the case again, whoever sent it.
    "view_outcome": Access(BUYER | SELLER | MODERATOR | PLATFORM),
    "history": Access(MODERATOR),
    "as_of": Access(MODERATOR),
    "as_happened": Access(MODERATOR),
    "publish_policy": Access(ANALYST),
    "list_policies": Access(BUYER | SELLER | MODERATOR | ANALYST | PLATFORM),
    # Loading history from before day one (``disputedesk import``).
    "import_history": Access(PLATFORM),
    "reason_codes": Access(BUYER | SELLER | MODERATOR | ANALYST | PLATFORM),
    "sweep": Access(PLATFORM),
    "simulate": Access(ANALYST),
    # Events out: the pull feed (parties see their own disputes) and the live streams.
    "events_feed": Access(PLATFORM | BUYER | SELLER),
    "stream_case": Access(BUYER | SELLER | MODERATOR),
    "stream_queue": Access(MODERATOR),
    "manage_webhooks": Access(PLATFORM),
    # The read models: lists and figures.
    "list_disputes": Access(BUYER | SELLER | MODERATOR),
    "moderation_queue": Access(MODERATOR),
    "scorecard": Access(BUYER | SELLER | MODERATOR | ANALYST | PLATFORM),
    "sellers": Access(BUYER | SELLER | MODERATOR | ANALYST | PLATFORM),
    "metrics": Access(MODERATOR | ANALYST),
    # Who read which case's history and evidence files: supervising moderators only.
    "audit_access": Access(MODERATOR, supervisors_only=True),
}

#: Which roles may run each action (the shape the application and HTTP guards read).
COMMAND_ROLES: Mapping[str, frozenset[str]] = {
    name: access.roles for name, access in ACCESS.items()
}

#: Per role, its case actions with their guards, in table order.
_CASE_ACTIONS: Mapping[str, tuple[tuple[str, Guard], ...]] = {
    role: tuple(
        (name, guard)
        for name, access in ACCESS.items()
        if role in access.roles
        and access.offered
        and (guard := access.guard_for(role)) is not None
    )
    for role in sorted({role for access in ACCESS.values() for role in access.roles})
}


def may(role: str, action: str) -> bool:
    """Whether ``role`` may run ``action`` at all (whatever the case's state)."""
    return role in ACCESS[action].roles


def admits(actor: Actor, action: str) -> bool:
    """Whether ``actor`` may run ``action`` at all: its role, and a supervisor where the
    row asks for one."""
    access = ACCESS[action]
    return actor.role in access.roles and (actor.supervisor or not access.supervisors_only)


def check_claim(d: DisputeState, action: str, moderator_id: str, now: datetime) -> None:
    """Refuse (``ClaimHeld``) a claim-bound ``action`` of moderator ``moderator_id`` while
    another moderator holds a live claim on ``d``. The one rule of what a claim blocks:
    the application asks it of every moderator's command."""
    holder = d.claim_holder(now)
    if holder is None or holder == moderator_id or not ACCESS[action].claim_bound:
        return
    assert d.moderator_claim is not None
    raise claim_held(holder, d.moderator_claim.expires_at)


def next_actions(d: DisputeState, role: str, policy: Policy, now: datetime) -> list[str]:
    """The actions ``role`` may take on ``d`` at ``now``."""
    allowed = []
    for name, guard in _CASE_ACTIONS.get(role, ()):
        try:
            guard(d, policy, now)
        except DomainError:
            continue
        allowed.append(name)
    return allowed
