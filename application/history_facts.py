"""The lines of a history file: one fact each, read and checked, then applied to its case.

A line is a JSON object ``{"type", "order_id", "at", ...fields}``; the fields are
named as the HTTP bodies name them (README, "Bringing your history"). ``at`` is
the fact's business time (RFC 3339 with an offset); an ``order``, ``shipment``
or ``delivery`` may leave it out: it is then ``placed_at``, ``shipped_at`` or
``delivered_at``. A field this type does not take is refused (a misspelt field
never passes silently), as is a missing or mistyped one.

Each fact is named for good by a digest of its order id and its canonical
content (the line's JSON with its keys sorted, no spaces: :attr:`Fact.fact_id`),
so an import run twice recognises it however the line was spaced or its keys
ordered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec

from domain.dispute import Actor, Dispute
from domain.money import Money
from domain.policy import Policy
from domain.requests import RequestStamp

__all__ = [
    "FACT_TYPES", "IMPORT_ACTOR", "Fact", "LineRejected", "apply_fact", "order_id_of",
    "parse_fact", "place",
]

#: Who the platform's facts are recorded as (the buyer's and the seller's are theirs).
IMPORT_ACTOR = Actor("platform", "history-import")

_JSON = msgspec.json.Decoder()


class LineRejected(Exception):
    """A line that cannot be applied; the message says why."""


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise LineRejected(f"{name} must be a string")
    return value


def _instant(name: str, value: object) -> datetime:
    try:
        parsed = datetime.fromisoformat(_text(name, value))
    except ValueError:
        raise LineRejected(f"{name} must be an RFC 3339 instant, got {value!r}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise LineRejected(f"{name} must carry a UTC offset (RFC 3339), got {value!r}")
    return parsed


def _money(name: str, value: object) -> Money:
    if not isinstance(value, dict) or set(value) != {"amount", "currency"}:
        raise LineRejected(f'{name} must be {{"amount": "12.50", "currency": "USD"}}')
    currency = _text(f"{name}.currency", value["currency"])
    return Money.of(value["amount"], currency, field=f"{name}.amount")


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise LineRejected(f"{name} must be true or false")
    return value


def _whole(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LineRejected(f"{name} must be a whole number")
    return value


def _day(name: str, value: object) -> date:
    try:
        return date.fromisoformat(_text(name, value))
    except ValueError:
        raise LineRejected(f"{name} must be a date (YYYY-MM-DD), got {value!r}") from None


Reader = Callable[[str, object], Any]


@dataclass(frozen=True)
class _Kind:
    required: Mapping[str, Reader]
    optional: Mapping[str, Reader] = field(default_factory=dict)
    #: The field ``at`` defaults to (None: ``at`` is required).
    at: str | None = None


#: Each type of fact, its fields and how each is read.
_KINDS: Mapping[str, _Kind] = {
    "order": _Kind(
        {"buyer_id": _text, "seller_id": _text, "region": _text, "category": _text,
         "amount": _money, "placed_at": _instant},
        {"seller_name": _text}, at="placed_at",
    ),
    "shipment": _Kind(
        {"carrier": _text, "tracking_number": _text, "shipped_at": _instant}, at="shipped_at"
    ),
    "delivery": _Kind({"delivered_at": _instant}, at="delivered_at"),
    "seller_contact": _Kind({"message": _text, "channel": _text}, {"expects_reply": _flag}),
    "seller_response": _Kind({"message": _text}, {"promised_ship_date": _day}),
    "refund_request": _Kind({"reason": _text}, {"amount": _money}),
    "refund_decision": _Kind({"approve": _flag}, {"reason": _text}),
    "refund_paid": _Kind({"amount": _money}, {"due_id": _text}),
    "return_shipped": _Kind(
        {"carrier": _text, "tracking_number": _text}, {"label_cost": _money}
    ),
    "return_received": _Kind({}),
    "review": _Kind({"rating": _whole}, {"comment": _text}),
    "close": _Kind({"reason": _text}, {"cancel_order": _flag}),
}
FACT_TYPES: tuple[str, ...] = tuple(_KINDS)
_COMMON = frozenset({"type", "order_id", "at"})


@dataclass(frozen=True)
class Fact:
    """One line, read: its type, order, business time and fields (read into values)."""

    line: int
    kind: str
    order_id: str
    at: datetime
    values: Mapping[str, Any]
    #: A digest of the order id and the line's canonical content: the fact's name for good.
    fact_id: str

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


def order_id_of(raw: bytes) -> str:
    """The ``order_id`` of a line (the first pass reads only this); LineRejected if none."""
    return _order_id(_decode(raw))


def _order_id(document: Mapping[str, Any]) -> str:
    order_id = document.get("order_id")
    if not isinstance(order_id, str) or not order_id.strip():
        raise LineRejected("order_id is missing (a non-empty string)")
    return order_id.strip()


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        document = _JSON.decode(raw)
    except msgspec.DecodeError as error:
        raise LineRejected(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise LineRejected("not a JSON object")
    return document


def parse_fact(line: int, raw: bytes) -> Fact:
    """The fact a line holds; :class:`LineRejected` saying why it cannot be one."""
    document = _decode(raw)
    kind = document.get("type")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise LineRejected(f"type must be one of {', '.join(FACT_TYPES)}; got {kind!r}")
    spec = _KINDS[kind]
    order_id = _order_id(document)
    unknown = sorted(set(document) - _COMMON - set(spec.required) - set(spec.optional))
    if unknown:
        raise LineRejected(f"a {kind} takes no field {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, read in spec.required.items():
        if document.get(name) is None:
            raise LineRejected(f"a {kind} needs {name}")
        values[name] = read(name, document[name])
    for name, read in spec.optional.items():
        if document.get(name) is not None:
            values[name] = read(name, document[name])
    if document.get("at") is not None:
        at = _instant("at", document["at"])
    elif spec.at is not None:
        at = values[spec.at]
    else:
        raise LineRejected(f"a {kind} needs at (when it happened, RFC 3339)")
    canonical = msgspec.json.encode(document, order="sorted")  # keys sorted, no spaces
    digest = hashlib.sha256(order_id.encode() + b"\n" + canonical).hexdigest()[:32]
    return Fact(line, kind, order_id, at, values, digest)


def place(fact: Fact, policy: Policy, now: datetime, stamp: RequestStamp) -> Dispute:
    """The case an ``order`` line opens, under ``policy`` (the one in force at placed_at)."""
    return Dispute.place(
        order_id=fact.order_id,
        buyer_id=fact.values["buyer_id"],
        seller_id=fact.values["seller_id"],
        region=fact.values["region"],
        category=fact.values["category"],
        amount=fact.values["amount"],
        placed_at=fact.values["placed_at"],
        policy=policy,
        actor=IMPORT_ACTOR,
        now=now,
        request=stamp,
        seller_name=fact.get("seller_name"),
    )


def apply_fact(d: Dispute, fact: Fact, policy: Policy) -> None:
    """Run the fact's command on its case as of the fact's business time."""
    t, v = fact.at, fact.values
    buyer, seller = Actor("buyer", d.buyer_id), Actor("seller", d.seller_id)
    kind = fact.kind
    if kind == "shipment":
        d.ship(v["carrier"], v["tracking_number"], v["shipped_at"], IMPORT_ACTOR, t)
    elif kind == "delivery":
        d.deliver(v["delivered_at"], IMPORT_ACTOR, t)
    elif kind == "seller_contact":
        d.contact_seller(v["message"], v["channel"], buyer, t, fact.get("expects_reply", True),
                         policy=policy)
    elif kind == "seller_response":
        d.respond(v["message"], fact.get("promised_ship_date"), policy, seller, t)
    elif kind == "refund_request":
        d.request_refund(fact.get("amount"), v["reason"], buyer, t)
    elif kind == "refund_decision":
        d.decide_refund(v["approve"], fact.get("reason"), seller, t)
    elif kind == "refund_paid":
        d.issue_refund(v["amount"], IMPORT_ACTOR, t, fact.get("due_id"))
    elif kind == "return_shipped":
        d.return_goods(v["carrier"], v["tracking_number"], buyer, t,
                       label_cost=fact.get("label_cost"), policy=policy)
    elif kind == "return_received":
        d.confirm_return_receipt(seller, t)
    elif kind == "review":
        d.review(v["rating"], fact.get("comment", ""), policy, buyer, t)
    elif kind == "close":
        d.close(v["reason"], IMPORT_ACTOR, t, fact.get("cancel_order", False))
    else:  # pragma: no cover - parse_fact admits only the kinds above
        raise LineRejected(f"no command for a {kind}")
