"""The request and response bodies of the HTTP API (msgspec Structs).

Requests refuse unknown fields, so a misspelt optional field is a 400 rather
than silently ignored. Responses are built from the application's plain
dicts with ``msgspec.convert``: a field the contract does not name never
leaves the server.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from domain.dispute import (
    CONTACT_CHANNELS,
    EVIDENCE_KINDS,
    INTERVENTION_REASONS,
    OUTCOMES,
    ROLES,
    SYSTEM_ROLE,
)
from domain.dispute.evidence_commands import PARTIES
from domain.dispute.ruling_events import DECISIONS
from domain.policy.checks import RETURN_SHIPPING_PAYERS


def one_of(values: Iterable[str], description: str) -> Meta:
    """A closed vocabulary: the schema lists its words as ``enum``, while any text still
    decodes, so that the domain refuses another word with its own 422 sentence."""
    return Meta(description=description, extra_json_schema={"enum": list(values)})


#: Whoever records an event: a role, or the policy's own timers (``system``).
ACTOR_ROLES = (*ROLES, SYSTEM_ROLE)

Instant = Annotated[
    datetime,
    Meta(
        description="RFC 3339 with a UTC offset, e.g. 2026-11-20T10:00:00-08:00",
        examples=["2026-11-20T10:00:00-08:00"],
    ),
]
#: An instant the API answers with: always RFC 3339 in UTC with ``Z``.
UtcInstant = Annotated[
    datetime,
    Meta(
        description="An instant, RFC 3339 in UTC with Z, e.g. 2026-11-25T07:59:59Z",
        examples=["2026-11-25T07:59:59Z"],
    ),
]
#: A deadline's local time in the order's region (the companion ``<field>_local``).
LocalInstant = Annotated[
    datetime,
    Meta(
        description="The same instant as local time in the order's region, with its offset, "
        "e.g. 2026-11-24T23:59:59-08:00",
        examples=["2026-11-24T23:59:59-08:00"],
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
    seller_name: (
        Annotated[str, Meta(description="The name the seller trades under (the latest order's "
                                        "names the seller in the seller search)")]
        | None
    ) = None


class Ship(_Request):
    carrier: str
    tracking_number: str
    shipped_at: Instant


class Deliver(_Request):
    delivered_at: Instant


class ContactSeller(_Request):
    message: str
    channel: Annotated[str, one_of(CONTACT_CHANNELS, "How the buyer reached the seller")]
    expects_reply: Annotated[
        bool,
        Meta(description="Whether the buyer asks for an answer: only then the seller's "
             "response window opens (false for a thank-you)"),
    ] = True


class Respond(_Request):
    message: str
    promised_ship_date: date | None = None


class AddEvidence(_Request):
    kind: Annotated[str, one_of(EVIDENCE_KINDS, "What the evidence is")]
    description: str
    reference: str | None = None


class RequestIntervention(_Request):
    reason: Annotated[
        str, one_of(INTERVENTION_REASONS, "Why the buyer asks the platform to step in")
    ]
    statement: str
    evidence_ids: list[str] | None = None


class Rule(_Request):
    outcome: Annotated[str, one_of(OUTCOMES, "What the ruling decides")]
    reason_code: Annotated[
        str,
        Meta(description="A code of the policy's catalogue (GET /v1/reason-codes) that "
             "justifies the outcome; its text is shown to the parties"),
    ]
    refund_amount: Money | None = None
    new_ship_by: Instant | None = None
    note: Annotated[
        str | None, Meta(description="Shown to the buyer and the seller with the ruling")
    ] = None


class FileAppeal(_Request):
    statement: str
    evidence_ids: Annotated[
        list[str] | None, Meta(description="Evidence of the case the appeal cites")
    ] = None


class DecideAppeal(_Request):
    decision: Annotated[str, one_of(DECISIONS, "Keep the ruling, or replace its outcome")]
    reason_code: Annotated[
        str,
        Meta(description="A code of the policy's catalogue that justifies the outcome that "
             "stands"),
    ]
    outcome: Annotated[
        str | None,
        one_of(OUTCOMES, "overturn: the outcome that replaces the ruling's (refund_full, "
               "refund_partial or claim_rejected); uphold: omitted, or the ruling's"),
    ] = None
    refund_amount: Annotated[
        Money | None,
        Meta(description="refund_partial: the buyer's refund from the ruling, in all"),
    ] = None
    note: Annotated[
        str | None, Meta(description="Shown to the buyer and the seller with the decision")
    ] = None


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
    label_cost: (
        Annotated[Money, Meta(description="What the return label cost, when the order's policy "
                                          "has the seller pay the return (the order's currency)")]
        | None
    ) = None


class Review(_Request):
    rating: Annotated[int, Meta(description="A whole number from 1 to 5")]
    comment: str = ""


class AddNote(_Request):
    text: Annotated[str, Meta(description="Internal: never shown to the buyer or the seller")]


class Close(_Request):
    reason: str
    cancel_order: Annotated[
        bool,
        Meta(description="Cancel an order that neither shipped nor was cancelled: the rest of "
             "its amount falls due to the buyer (refund.dues, reason order_cancelled). Such an "
             "order closes only with it; any other refuses it (409)"),
    ] = False


class ClaimCase(_Request):
    take_over: Annotated[
        bool,
        Meta(description="true: take the case even while another moderator's claim is live "
             "(the claim records whose it was); false (the default): that is 409 "
             "`claim-held`"),
    ] = False


class ExtendShipBy(_Request):
    new_ship_by: Annotated[
        Instant,
        Meta(description="Later than the current ship_by and in the future (at most 180 days "
             "later); it may pass the auto-cancel instant, which moves by as many business "
             "days"),
    ]
    reason: str


# ---- responses ----------------------------------------------------------------


class Shipment(Struct, omit_defaults=True):
    carrier: str
    tracking_number: str
    shipped_at: UtcInstant
    delivered_at: UtcInstant | None
    reported_at: Annotated[
        UtcInstant | None,
        Meta(description="Staff only: when the shipment reached us (the feed's report)"),
    ] = None
    feed_lag_seconds: Annotated[
        int | None,
        Meta(description="Staff only: reported_at minus shipped_at, in seconds"),
    ] = None


class ReturnShipment(Struct):
    carrier: str
    tracking_number: str
    shipped_at: UtcInstant
    received_at: UtcInstant | None
    label_cost: Annotated[
        Money | None, Meta(description="The return label's cost when the seller pays it")
    ] = None


class RefundDue(Struct):
    due_id: str
    amount: Money
    payee: Annotated[
        Literal["buyer", "seller"],
        Meta(description="seller: the platform makes up a refund the buyer kept after an "
             "appeal overturned it (reason overturned_refund)"),
    ]
    reason: Literal[
        "auto_cancelled", "seller_approved", "policy_auto_approved", "ruling", "order_cancelled",
        "appeal", "overturned_refund",
    ]
    due_at: UtcInstant
    paid_amount: Money
    status: Literal["open", "paid", "cancelled"]


class Refund(Struct):
    status: Literal["requested", "approved", "denied", "paid", "cancelled"]
    amount: Money
    reason: str | None
    return_required: bool
    requested_at: UtcInstant | None
    decided_at: UtcInstant | None
    decided_by: str | None
    paid_amount: Money | None
    return_: ReturnShipment | None = msgspec.field(name="return")
    return_shipping_payer: Annotated[
        str, one_of(RETURN_SHIPPING_PAYERS, "Who pays the goods' way back (the policy says)")
    ] = "seller"
    dues: list[RefundDue] = msgspec.field(default_factory=list)


class ReviewView(Struct):
    rating: int
    comment: str
    at: UtcInstant
    hidden: Annotated[
        bool, Meta(description="A moderator hid it from buyers (it stays on the case)")
    ] = False
    hidden_reason: str | None = None


class Intervention(Struct, omit_defaults=True):
    status: Literal["open", "resolved"]
    requested_at: UtcInstant
    reason: Annotated[str, one_of(INTERVENTION_REASONS, "Why the buyer asked")]
    statement: str
    evidence_ids: list[str]
    outcome: Annotated[str | None, one_of(OUTCOMES, "The ruling's (null until ruled)")]
    reason_code: str | None
    resolved_at: UtcInstant | None
    reason_text: Annotated[
        str | None, Meta(description="The reason code's text, as the ruling recorded it")
    ]
    note: Annotated[
        str | None,
        Meta(description="The ruling's note (null to the parties for a ruling recorded before "
             "reason codes were a catalogue: its note is internal)"),
    ]
    ruled_by: Annotated[str | None, Meta(description="Staff only: who ruled")] = None


class AppealEntry(Struct):
    party: Literal["buyer", "seller"]
    statement: str
    evidence_ids: list[str]
    filed_at: UtcInstant
    status: Literal["pending", "upheld", "overturned"]
    decided_at: UtcInstant | None


class AppealDecisionView(Struct, omit_defaults=True):
    decision: Literal["uphold", "overturn"]
    outcome: Annotated[str, one_of(OUTCOMES, "The outcome that stands after it")]
    reason_code: str
    reason_text: str
    refund_amount: Annotated[
        Money | None, Meta(description="An overturn to a refund: the buyer's refund, in all")
    ]
    note: str | None
    appellants: list[str]
    favours: Annotated[
        str | None, one_of(PARTIES, "An overturn: the party it favours")
    ]
    decided_at: UtcInstant
    decided_by: Annotated[str | None, Meta(description="Staff only: who decided")] = None


class AppealView(Struct):
    """The ruling's appeals: each party once, within its window; an overturn is final."""

    outcome: Annotated[str | None, one_of(OUTCOMES, "The outcome that stands")]
    buyer_may_appeal_until: Annotated[
        UtcInstant | None,
        Meta(description="The end of the buyer's window (null: appealed, overturned or none)"),
    ]
    seller_may_appeal_until: UtcInstant | None
    appeals: list[AppealEntry]
    decisions: list[AppealDecisionView]


class Evidence(Struct):
    id: str
    kind: Annotated[str, one_of(EVIDENCE_KINDS, "What the evidence is")]
    description: str
    reference: str | None
    added_by: str
    added_at: UtcInstant
    sha256: Annotated[
        str | None, Meta(description="The SHA-256 (hex) of the file filed, recorded in its event")
    ] = None
    content_type: Annotated[
        str | None, Meta(description="The file's type, read from its content")
    ] = None
    size: Annotated[int | None, Meta(description="The file's size in bytes")] = None
    filename: Annotated[str | None, Meta(description="The name it was uploaded with")] = None
    file_url: Annotated[
        str | None, Meta(description="Where those who may read the case fetch the bytes")
    ] = None


class EvidenceRequestView(Struct):
    """A moderator's request to a party for more evidence; the party's next evidence
    answers it."""

    request_id: str
    party: Annotated[str, one_of(PARTIES, "Who is asked")]
    description: str
    requested_at: UtcInstant
    requested_by: str
    due_at: UtcInstant
    due_at_local: LocalInstant
    open: bool
    answered_at: UtcInstant | None
    evidence_id: str | None


class PromiseView(Struct):
    """The seller's promised ship date: it breaks at the end of that day (local time in the
    order's region) if the order has not shipped (PromiseBroken)."""

    promised_ship_date: date
    made_at: UtcInstant
    due_at: UtcInstant
    due_at_local: LocalInstant
    broken: bool
    promises_broken: Annotated[
        int, Meta(description="How many promised dates on this case passed unshipped")
    ]


class Deadlines(Struct):
    ship_by: UtcInstant | None
    seller_response_due: UtcInstant | None
    refund_response_due: UtcInstant | None
    auto_cancel_at: UtcInstant | None
    ship_by_local: LocalInstant | None = None
    seller_response_due_local: LocalInstant | None = None
    refund_response_due_local: LocalInstant | None = None
    auto_cancel_at_local: LocalInstant | None = None


class TimelineEntry(Struct):
    type: str
    occurred_at: UtcInstant


class AsOf(Struct):
    version: int
    at: UtcInstant | None


class AsHappened(Struct):
    """A case as it was in the world at ``at`` (``?as_happened=``)."""

    at: UtcInstant
    events: Annotated[int, Meta(description="Events that had happened by then")]
    recorded_later: Annotated[
        int, Meta(description="Of those, the events recorded after that instant")
    ]


class NextDue(Struct):
    """The next derived event the policy will record unless something happens first
    (the same shape in lists)."""

    type: Annotated[str, Meta(description="The derived event due then, e.g. DeadlineMissed")]
    at: UtcInstant


class ClaimView(Struct):
    """A moderator's live claim on the case: only moderators see it."""

    moderator_id: Annotated[str, Meta(description="The moderator who holds the case")]
    claimed_at: Annotated[UtcInstant, Meta(description="When they claimed it (a renewal "
                                           "keeps the first time)")]
    expires_at: Annotated[UtcInstant, Meta(description="When the claim lapses by itself "
                                           "unless renewed or released first")]


Status = Literal[
    "awaiting_shipment",
    "shipped",
    "delivered",
    "overdue",
    "awaiting_seller",
    "seller_responded",
    "under_review",
    "refund_requested",
    "refund_approved",
    "return_in_transit",
    "partially_refunded",
    "refunded",
    "under_appeal",
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
    status: Annotated[Status, Meta(description="Where the case stands (the README's table)")]
    placed_at: UtcInstant
    ship_by: UtcInstant
    ship_by_local: LocalInstant
    auto_cancel_at: UtcInstant
    auto_cancel_at_local: LocalInstant
    shipment: Shipment | None
    refund: Refund | None
    review: ReviewView | None
    intervention: Intervention | None
    evidence: list[Evidence]
    promise: PromiseView | None
    deadlines: Deadlines
    next_due: NextDue | None
    next_actions: Annotated[list[str], Meta(description="What the caller may do now")]
    timeline: list[TimelineEntry]
    version: Annotated[int, Meta(description="The dispute's version; also its ETag")]
    policy_version: str
    appeal: Annotated[
        AppealView | None, Meta(description="After a ruling: its appeals and decisions")
    ] = None
    as_of: AsOf | None = None
    as_happened: AsHappened | None = None
    seller_name: str | None = None
    evidence_requests: Annotated[
        list[EvidenceRequestView], Meta(description="A moderator's requests for more evidence")
    ] = msgspec.field(default_factory=list)
    claim: Annotated[
        ClaimView | msgspec.UnsetType | None,
        Meta(description="Moderators only (absent for anyone else): the moderator who claimed "
             "the case, while that claim is live; null when nobody holds a live claim (it "
             "lapses at `expires_at` without a new version: compare it with the time)"),
    ] = msgspec.UNSET
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
    occurred_at: UtcInstant
    recorded_at: UtcInstant
    actor_role: Annotated[str, one_of(ACTOR_ROLES, "Who recorded it (system: the policy)")]
    actor_id: str
    policy_version: str | None
    data: dict[str, Any]


class History(Struct):
    """One page of a dispute's events, oldest first."""

    dispute_id: str
    version: int
    data: list[HistoryEntry]
    next_cursor: str | None


class Message(Struct):
    """A message between the buyer and the seller (never an internal note)."""

    sequence: Annotated[int, Meta(description="The case version that recorded it")]
    author_role: Literal["buyer", "seller"]
    author_id: str
    text: str
    sent_at: UtcInstant
    expects_reply: Annotated[
        bool, Meta(description="The buyer asked for an answer (the seller's window opened)")
    ]
    promised_ship_date: Annotated[
        date | None, Meta(description="The date the seller promised to ship by, if any")
    ]


class Messages(Struct):
    """One page of a case's conversation, oldest first."""

    dispute_id: str
    data: list[Message]
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
    reason_codes: Annotated[
        dict[str, dict[str, Any]],
        Meta(description="code -> {text, outcomes}: the catalogue rulings name"),
    ] = msgspec.field(default_factory=dict)


class ReasonCode(Struct):
    code: str
    text: Annotated[str, Meta(description="What the buyer and the seller are shown")]
    outcomes: Annotated[
        list[Annotated[str, one_of(OUTCOMES, "An outcome")]],
        Meta(description="The rulings it may justify"),
    ]


class ReasonCodes(Struct):
    """The reason-code catalogue of the policy in force."""

    policy_version: str
    data: list[ReasonCode]


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


def messages_of(rows: list[dict[str, Any]]) -> list[Message]:
    return msgspec.convert(rows, list[Message])


def history_entries(rows: list[dict[str, Any]]) -> list[HistoryEntry]:
    return msgspec.convert(rows, list[HistoryEntry])


def policy_document(document: dict[str, Any]) -> PolicyDocument:
    return msgspec.convert(document, PolicyDocument)
