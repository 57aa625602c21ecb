"""The request and response bodies of the HTTP API (msgspec Structs).

Requests refuse unknown fields, so a misspelt optional field is a 400 rather
than silently ignored. Responses are built from the application's plain
dicts with ``msgspec.convert``: a field the contract does not name never
leaves the server.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

Instant = Annotated[
    datetime,
    Meta(
        description="RFC 3339 with a UTC offset, e.g. 2026-11-20T10:00:00-08:00",
        examples=["2026-11-20T10:00:00-08:00"],
    ),
]
DecimalString = Annotated[
    str,
    Meta(
        description='A plain decimal string, e.g. "12.50" (never a JSON number): digits and '
        "an optional decimal point, without sign, exponent, spaces or leading zeros, in whole "
        "minor units of the currency (USD: at most 2 decimal places; JPY: none). Anything "
        "else is 422.",
        examples=["12.50"],
    ),
]
CurrencyCode = Annotated[
    str,
    Meta(
        description="An ISO 4217 currency code in capitals; an order's must be its region's "
        "(the policy's `regions.<code>.currency`)",
        examples=["USD"],
    ),
]


class _Request(Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Money(Struct, forbid_unknown_fields=True):
    amount: DecimalString
    currency: CurrencyCode


# ---- requests -----------------------------------------------------------------


class PlaceOrder(_Request):
    order_id: str
    buyer_id: str
    seller_id: str
    region: Annotated[str, Meta(description="A region of the policy, e.g. US, GB, TH")]
    category: Annotated[str, Meta(description="A category of the policy, e.g. general")]
    amount: Money
    placed_at: Instant


class Ship(_Request):
    carrier: str
    tracking_number: str
    shipped_at: Instant


class Deliver(_Request):
    delivered_at: Instant


class ContactSeller(_Request):
    message: str
    channel: Annotated[str, Meta(description="chat, email, phone, in_app or other")]


class Respond(_Request):
    message: str
    promised_ship_date: date | None = None


class AddEvidence(_Request):
    kind: Annotated[str, Meta(description="chat_log, order_record, tracking, photo or other")]
    description: str
    reference: str | None = None


class RequestIntervention(_Request):
    reason: Annotated[
        str, Meta(description="not_shipped, seller_unresponsive, refund_denied or other")
    ]
    statement: str
    evidence_ids: list[str] | None = None


class Rule(_Request):
    outcome: Annotated[
        str, Meta(description="refund_full, refund_partial, seller_must_ship or claim_rejected")
    ]
    reason_code: str
    refund_amount: Money | None = None
    new_ship_by: Instant | None = None
    note: str | None = None


class RequestRefund(_Request):
    reason: str
    amount: Money | None = None


class DecideRefund(_Request):
    approve: bool
    reason: str | None = None


class IssueRefund(_Request):
    amount: Money
    due_id: Annotated[
        str | None,
        Meta(description="The refund due paid (refund.dues); omitted: the oldest open due"),
    ] = None


class ShipReturn(_Request):
    carrier: str
    tracking_number: str


class Review(_Request):
    rating: Annotated[int, Meta(description="A whole number from 1 to 5")]
    comment: str = ""


class AddNote(_Request):
    text: Annotated[str, Meta(description="Internal: never shown to the buyer or the seller")]


class Close(_Request):
    reason: str


# ---- responses ----------------------------------------------------------------


class Shipment(Struct):
    carrier: str
    tracking_number: str
    shipped_at: datetime
    delivered_at: datetime | None


class ReturnShipment(Struct):
    carrier: str
    tracking_number: str
    shipped_at: datetime
    received_at: datetime | None


class RefundDue(Struct):
    due_id: str
    amount: Money
    payee: Literal["buyer"]
    reason: Literal["auto_cancelled", "seller_approved", "policy_auto_approved", "ruling"]
    due_at: datetime
    paid_amount: Money
    status: Literal["open", "paid"]


class Refund(Struct):
    status: Literal["requested", "approved", "denied", "paid"]
    amount: Money
    reason: str | None
    return_required: bool
    requested_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    paid_amount: Money | None
    return_: ReturnShipment | None = msgspec.field(name="return")
    return_shipping_payer: str = "seller"
    dues: list[RefundDue] = msgspec.field(default_factory=list)


class ReviewView(Struct):
    rating: int
    comment: str
    at: datetime


class Intervention(Struct):
    status: Literal["open", "resolved"]
    requested_at: datetime
    reason: str
    statement: str
    evidence_ids: list[str]
    outcome: str | None
    reason_code: str | None
    resolved_at: datetime | None


class Evidence(Struct):
    id: str
    kind: str
    description: str
    reference: str | None
    added_by: str
    added_at: datetime


class Deadlines(Struct):
    ship_by: datetime | None
    seller_response_due: datetime | None
    refund_response_due: datetime | None
    auto_cancel_at: datetime | None


class TimelineEntry(Struct):
    type: str
    occurred_at: datetime


class AsOf(Struct):
    version: int
    at: datetime | None


class NextDue(Struct):
    """The next derived event the policy will record unless something happens first."""

    type: str
    at: datetime


Status = Literal[
    "awaiting_shipment",
    "shipped",
    "delivered",
    "overdue",
    "awaiting_seller",
    "seller_responded",
    "under_review",
    "refund_requested",
    "return_in_transit",
    "refunded",
    "cancelled",
    "closed",
]


class CaseView(Struct, omit_defaults=True):
    """A dispute as the caller may see it (buyers and sellers never see internal notes)."""

    id: Annotated[str, Meta(description="The dispute id (a UUID derived from the order id)")]
    order_id: str
    buyer_id: str
    seller_id: str
    region: str
    category: str
    amount: Money
    status: Status
    placed_at: datetime
    ship_by: datetime
    auto_cancel_at: datetime
    shipment: Shipment | None
    refund: Refund | None
    review: ReviewView | None
    intervention: Intervention | None
    evidence: list[Evidence]
    deadlines: Deadlines
    next_due: NextDue | None
    next_actions: Annotated[list[str], Meta(description="What the caller may do now")]
    timeline: list[TimelineEntry]
    version: Annotated[int, Meta(description="The dispute's version; also its ETag")]
    policy_version: str
    as_of: AsOf | None = None
    position: (
        Annotated[
            int,
            Meta(
                description="After a command: the notification-log position of its last "
                "event; pass it as ?min_position= to read lists that include this write"
            ),
        ]
        | None
    ) = None


class HistoryEntry(Struct):
    sequence: int
    type: str
    occurred_at: datetime
    recorded_at: datetime
    actor_role: str
    actor_id: str
    policy_version: str | None
    data: dict[str, Any]


class History(Struct):
    """One page of a dispute's events, oldest first."""

    dispute_id: str
    version: int
    data: list[HistoryEntry]
    next_cursor: str | None


class Health(Struct):
    status: Literal["ok", "unavailable"]
    store: Literal["ok", "unavailable"]


class PolicyDocument(Struct):
    """A whole policy version (the TOML document as JSON)."""

    version: str
    effective_from: str
    defaults: dict[str, Any]
    regions: dict[str, dict[str, Any]]
    categories: dict[str, dict[str, Any]]


def prepare_struct_types() -> int:
    """Build msgspec's type information of every Struct class now, in one thread.

    msgspec 0.22 builds it lazily, on a type's first ``convert``; two worker
    threads doing that at once for the same type crash the process (SIGSEGV),
    which a server's first concurrent requests can do. Returns how many types.
    """
    prepared = 0
    pending: list[type[Struct]] = [Struct]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        parameters: object = getattr(cls, "__parameters__", None)
        if cls is Struct or parameters:
            continue  # the base class; generic classes get theirs per parameter
        try:
            msgspec.json.Decoder(cls)
        except (TypeError, NameError):  # not a concrete, resolvable type: never converted
            continue
        prepared += 1
    return prepared


def case_view(view: dict[str, Any]) -> CaseView:
    return msgspec.convert(view, CaseView)


def history_entries(rows: list[dict[str, Any]]) -> list[HistoryEntry]:
    return msgspec.convert(rows, list[HistoryEntry])


def policy_document(document: dict[str, Any]) -> PolicyDocument:
    return msgspec.convert(document, PolicyDocument)
