"""Validate a simulation's plain inputs (from HTTP or the CLI) into a request."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from application.simulation_types import Filters, SimulationInputError, SimulationRequest
from domain.errors import NaiveDatetime
from domain.policy import Policy, PolicyError

__all__ = ["build_request", "candidate_policy"]


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(f"{name} must carry a UTC offset (RFC 3339)", field=name)
    return value


def _optional_text(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if not cleaned:
        raise SimulationInputError(f"{name} must not be empty when given", field=name)
    return cleaned


def candidate_policy(
    current: Policy,
    *,
    policy: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
) -> Policy:
    """The candidate: a whole document, or dotted changes over ``current``.

    Validated like a published policy: a :class:`PolicyError` lists every problem.
    """
    if (policy is None) == (changes is None):
        raise SimulationInputError(
            'give the candidate either as "policy" (a whole document) or as "changes" '
            "(dotted keys over the current policy), not both or neither",
            field="policy",
        )
    if policy is not None:
        return Policy.from_document(policy)
    assert changes is not None
    if not changes:
        raise PolicyError(["changes: name at least one dotted key to change"])
    return current.with_changes(changes)


def build_request(
    *,
    current: Policy,
    now: datetime,
    policy: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
    as_of: datetime | None = None,
    region: str | None = None,
    seller_id: str | None = None,
    category: str | None = None,
    placed_from: datetime | None = None,
    placed_to: datetime | None = None,
) -> SimulationRequest:
    """Validate plain inputs (from HTTP or the CLI) into a request.

    ``as_of`` defaults to ``now`` (the application's clock) and may not lie
    after it. Raises InvalidInput or PolicyError (both a 422 at the API).
    """
    candidate = candidate_policy(current, policy=policy, changes=changes)
    moment = _aware(as_of, "as_of") or now
    if moment > now:
        raise SimulationInputError(
            f"as_of {moment.isoformat()} is in the future (now is {now.isoformat()}); "
            "a simulation replays what happened",
            field="as_of",
        )
    start = _aware(placed_from, "placed_from")
    end = _aware(placed_to, "placed_to")
    if start is not None and end is not None and start > end:
        raise SimulationInputError("placed_from is after placed_to", field="placed_from")
    filters = Filters(
        region=_optional_text(region, "region"),
        seller_id=_optional_text(seller_id, "seller_id"),
        category=_optional_text(category, "category"),
        placed_from=start,
        placed_to=end,
    )
    return SimulationRequest(
        candidate=candidate,
        as_of=moment,
        filters=filters,
        changes=dict(changes) if changes is not None else None,
    )
