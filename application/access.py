"""Who may do what, and who may see which case."""

from __future__ import annotations

from collections.abc import Mapping

from domain.dispute import Actor, Dispute
from domain.errors import DisputeNotFound, DomainError


class Forbidden(DomainError):
    code = "forbidden"


def require(roles: Mapping[str, frozenset[str]], command: str, actor: Actor) -> None:
    """Refuse unless ``actor``'s role may run ``command`` (``roles``: the access table)."""
    if actor.role not in roles[command]:
        raise Forbidden(f"the {actor.role} role may not {command.replace('_', ' ')}")


def check_visible(d: Dispute, actor: Actor) -> None:
    """Buyers and sellers see only their own cases; another's is 'not found'."""
    if (actor.role == "buyer" and d.buyer_id != actor.id) or (
        actor.role == "seller" and d.seller_id != actor.id
    ):
        raise DisputeNotFound(f"no dispute {d.id}")
