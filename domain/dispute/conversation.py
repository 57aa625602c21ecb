"""The conversation on a case: what the buyer and the seller said to each other.

A message is a buyer's contact (``SellerContacted``) or a seller's answer
(``SellerResponded``); an internal note is never one. Only a contact that
expects a reply opens the seller's response window (a thank-you does not).

A response that names a date makes it the seller's promise (``state.Promise``).
When that date ends (23:59:59 local time in the order's region) with the order
unshipped, the policy records ``PromiseBroken`` (``timers``), and the buyer may
ask the platform to step in (``guards.can_request_intervention``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.dispute.event_base import DisputeEvent
from domain.dispute.events import SellerContacted, SellerResponded


@dataclass(frozen=True, slots=True)
class Message:
    """One message of the conversation, as the parties see it."""

    #: The case version that recorded it (its place in the case's history).
    sequence: int
    author_role: str
    author_id: str
    text: str
    sent_at: datetime
    #: The buyer asked for an answer: the seller's response window opened.
    expects_reply: bool
    #: The date the seller promised to ship by (YYYY-MM-DD), if it named one.
    promised_ship_date: str | None


def message_of(event: DisputeEvent) -> Message | None:
    """The message ``event`` is, if it is one (a contact or a response)."""
    if isinstance(event, SellerContacted):
        expects_reply, promised = event.expects_reply, None
    elif isinstance(event, SellerResponded):
        expects_reply, promised = False, event.promised_ship_date
    else:
        return None
    return Message(
        sequence=event.originator_version,
        author_role=event.actor_role,
        author_id=event.actor_id,
        text=event.message,
        sent_at=event.occurred_at,
        expects_reply=expects_reply,
        promised_ship_date=promised,
    )


def messages_of(events: list[DisputeEvent]) -> list[Message]:
    """The messages among a case's events, oldest first (internal notes never)."""
    return [message for message in map(message_of, events) if message is not None]
