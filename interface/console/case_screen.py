"""What the case screen shows, gathered from the application's own reads.

The moderator's case view (status, deadlines with local times, parties,
evidence, next actions), the conversation, and the full history as a timeline:
every recorded event with when it happened and when it was recorded, who did
it, and the policy version a derived event was judged under. Internal notes
are the history's ``NoteAdded`` events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from application.access_audit import CONSOLE
from application.disputes import DisputeDesk
from domain.dispute import Actor
from domain.outcomes import OUTCOMES

#: Derived events carry the policy version that decided them; facts carry none.
_HIDDEN_DATA = frozenset({"request", "evidence_ids"})


@dataclass(frozen=True, slots=True)
class Moment:
    """An instant as the console writes it: local to the case's region, and UTC."""

    utc: str
    local: str
    iso: str


@dataclass(frozen=True, slots=True)
class TimelineRow:
    sequence: int
    type: str
    label: str
    happened: Moment | None
    recorded: Moment | None
    by: str
    policy_version: str | None
    details: tuple[tuple[str, str], ...]


def moment(value: str | None, timezone: str) -> Moment | None:
    if not value:
        return None
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    local = instant.astimezone(ZoneInfo(timezone))
    return Moment(
        utc=instant.strftime("%Y-%m-%d %H:%M UTC"),
        local=local.strftime("%a %d %b %Y %H:%M %Z"),
        iso=value,
    )


def label(event_type: str) -> str:
    """``InterventionRequested`` as ``Intervention requested``."""
    words: list[str] = []
    for char in event_type:
        if char.isupper() and words:
            words.append(" ")
        words.append(char.lower() if words else char)
    return "".join(words)


def _detail(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return f"{value['amount']} {value['currency']}"
    if isinstance(value, list):
        return ", ".join(_detail(item) for item in value)
    return str(value)


def timeline(history: list[dict[str, Any]], timezone: str) -> list[TimelineRow]:
    rows = []
    for entry in history:
        data = entry.get("data") or {}
        rows.append(TimelineRow(
            sequence=entry["sequence"],
            type=entry["type"],
            label=label(entry["type"]),
            happened=moment(entry.get("occurred_at"), timezone),
            recorded=moment(entry.get("recorded_at"), timezone),
            by=f"{entry.get('actor_role') or 'policy'} {entry.get('actor_id') or ''}".strip(),
            policy_version=entry.get("policy_version"),
            details=tuple(
                (key.replace("_", " "), _detail(value))
                for key, value in data.items()
                if value not in (None, "", [], {}) and key not in _HIDDEN_DATA
            ),
        ))
    return rows


def deadlines(view: dict[str, Any], timezone: str) -> list[tuple[str, Moment]]:
    """The case's running deadlines, and what it was ordered under (ship-by, auto-cancel)."""
    named = [
        ("Ship by", view["deadlines"].get("ship_by") or view.get("ship_by")),
        ("Seller response due", view["deadlines"].get("seller_response_due")),
        ("Refund response due", view["deadlines"].get("refund_response_due")),
        ("Auto-cancel at", view["deadlines"].get("auto_cancel_at") or view.get("auto_cancel_at")),
    ]
    due = view.get("next_due")
    if due:
        named.append((f"Next due: {label(due['type'])}", due["at"]))
    return [(name, m) for name, value in named if (m := moment(value, timezone)) is not None]


def case_screen(desk: DisputeDesk, dispute_id: UUID, actor: Actor) -> dict[str, Any]:
    """Everything the case page renders (raises the application's errors: NotFound...).
    Its history read is recorded in the access audit as the console's."""
    view = desk.case(dispute_id, actor)
    history = desk.history(dispute_id, actor, CONSOLE)
    policy = desk.policy_for(desk.dispute(dispute_id))
    timezone = policy.regions[view["region"]].timezone
    reasons = desk.reason_codes(actor)["data"]
    rows = timeline(history, timezone)
    return {
        "case": view,
        "timezone": timezone,
        "deadlines": deadlines(view, timezone),
        "timeline": rows,
        "notes": [row for row in rows if row.type == "NoteAdded"],
        "messages": [
            {**message, "sent": moment(message["sent_at"], timezone)}
            for message in desk.messages(dispute_id, actor)
        ],
        "evidence": [
            {**item, "added": moment(item["added_at"], timezone)} for item in view["evidence"]
        ],
        "requests": [
            {**item, "due": moment(item["due_at"], timezone)}
            for item in view["evidence_requests"]
        ],
        "actions": frozenset(view["next_actions"]),
        "reason_codes": reasons,
        "outcomes": OUTCOMES,
        "claim": view.get("claim"),
        "moment": lambda value: moment(value, timezone),
    }
