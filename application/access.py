"""Who may do what, and who may see which case."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from domain.dispute import Actor, Dispute
from domain.dispute.access import ACCESS, admits
from domain.errors import DisputeNotFound, DomainError


class Forbidden(DomainError):
    code = "forbidden"


#: Each role as the subject of a sentence, and in the plural.
_ROLE_WORDS: Mapping[str, tuple[str, str]] = {
    "buyer": ("a buyer", "buyers"),
    "seller": ("a seller", "sellers"),
    "moderator": ("a moderator", "moderators"),
    "analyst": ("an analyst", "analysts"),
    "platform": ("the platform", "the platform"),
}
#: What each action of the access table does, as the end of "a buyer may not ...".
#: An action missing here reads as its name with spaces.
_ACTION_WORDS: Mapping[str, str] = {
    "place_order": "place orders",
    "ship": "record a shipment",
    "deliver": "record a delivery",
    "contact_seller": "contact the seller",
    "respond": "respond to the buyer",
    "request_refund": "request a refund",
    "decide_refund": "decide a refund request",
    "request_intervention": "ask the platform to step in",
    "claim": "claim a case",
    "release_claim": "release a claim on a case",
    "rule": "rule on an intervention",
    "issue_refund": "record a refund payment",
    "confirm_return_receipt": "confirm that returned goods arrived",
    "add_evidence": "add evidence",
    "request_evidence": "ask a party for evidence",
    "evidence_file": "read evidence files",
    "set_review_visibility": "hide or show a review",
    "list_policies": "list the policy versions",
    "import_history": "import history",
    "sellers": "search sellers",
    "return_goods": "send goods back",
    "review": "review the order",
    "add_note": "add an internal note",
    "close": "close a case",
    "view": "read a case",
    "view_outcome": "read a command's outcome",
    "history": "read the case history",
    "as_of": "read a case as it was",
    "as_happened": "read a case as it happened",
    "publish_policy": "publish a policy",
    "sweep": "sweep the deadlines",
    "simulate": "run a simulation",
    "events_feed": "read the event feed",
    "stream_case": "follow a case's events",
    "stream_queue": "follow the moderation queue",
    "manage_webhooks": "manage webhook endpoints",
    "list_disputes": "list disputes",
    "moderation_queue": "read the moderation queue",
    "scorecard": "read seller scorecards",
    "metrics": "read the marketplace metrics",
    "audit_access": "read the access audit",
}


def refusal(role: str, action: str, allowed: Collection[str]) -> str:
    """The one wording of a refusal, a sentence: "a buyer may not read the case history;
    only moderators may"."""
    who = _ROLE_WORDS.get(role, (f"the role {role}", ""))[0]
    what = _ACTION_WORDS.get(action, action.replace("_", " "))
    plural = [_ROLE_WORDS.get(r, (r, r))[1] for r in sorted(allowed)]
    if not plural:
        return f"{who} may not {what}; no role may"
    named = plural[0] if len(plural) == 1 else f"{', '.join(plural[:-1])} and {plural[-1]}"
    return f"{who} may not {what}; only {named} may"


def refusal_of(actor: Actor, command: str) -> str | None:
    """Why ``actor`` may not run ``command`` of the access table (None: it may)."""
    if admits(actor, command):
        return None
    roles = ACCESS[command].roles
    if actor.role in roles:  # the role may, but only as a supervisor
        who, plural = _ROLE_WORDS.get(actor.role, (actor.role, actor.role))
        what = _ACTION_WORDS.get(command, command.replace("_", " "))
        return (f"{who} may not {what} without supervision rights; only supervising "
                f"{plural} may (a token with supervisor: true)")
    return refusal(actor.role, command, roles)


def require(roles: Mapping[str, frozenset[str]], command: str, actor: Actor) -> None:
    """Refuse unless ``actor``'s role may run ``command`` (``roles``: the access table),
    as a supervisor where the table's row asks for one."""
    if actor.role not in roles[command]:
        raise Forbidden(refusal(actor.role, command, roles[command]))
    reason = refusal_of(actor, command) if command in ACCESS else None
    if reason is not None:
        raise Forbidden(reason)


def check_visible(d: Dispute, actor: Actor) -> None:
    """Buyers and sellers see only their own cases; another's is 'not found'."""
    if (actor.role == "buyer" and d.buyer_id != actor.id) or (
        actor.role == "seller" and d.seller_id != actor.id
    ):
        raise DisputeNotFound(f"no dispute {d.id}")
