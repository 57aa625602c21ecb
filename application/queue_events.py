"""What the moderators' queue stream tells besides the public events: claims.

A claim changes the moderation queue (``claimed_by``), so the queue stream
(``GET /v1/moderation/queue/stream``, ``EventFeed.queue_events``) carries each
claim taken (``dispute.claimed``) and released (``dispute.claim_released``), in
the shape of a public event. They are not public events: they are not in the
catalogue (:mod:`application.public_events`), so the feed, the webhooks and the
party streams never carry them; only this stream, which only moderators read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from application.public_events import JSON, Parties, envelope
from application.times import rfc3339
from domain.dispute import Dispute


def _claimed(e: Dispute.CaseClaimed) -> JSON:
    return {
        "moderator_id": e.moderator_id,
        "expires_at": rfc3339(e.expires_at),
        "taken_from": e.taken_from,
    }


def _released(e: Dispute.ClaimReleased) -> JSON:
    return {"moderator_id": e.moderator_id}


#: Stored event topic -> (type on the queue stream, its data besides ``occurred_at``).
_QUEUE_ONLY: Mapping[str, tuple[str, Callable[[Any], JSON]]] = MappingProxyType({
    Dispute.CaseClaimed.TOPIC: ("dispute.claimed", _claimed),
    Dispute.ClaimReleased.TOPIC: ("dispute.claim_released", _released),
})
#: The stored topics only the queue stream tells, and their types there.
QUEUE_TYPES: Mapping[str, str] = MappingProxyType(
    {topic: kind for topic, (kind, _) in _QUEUE_ONLY.items()}
)


def queue_event(notification_id: int, topic: str, event: Any, parties: Parties) -> JSON | None:
    """The queue stream's form of a claim event (a public event's shape), or None for any
    other topic, or for imported history."""
    entry = _QUEUE_ONLY.get(topic)
    if entry is None or event.imported:
        return None
    kind, payload = entry
    return envelope(notification_id, kind, event, parties, payload(event))
