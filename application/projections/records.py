"""Plain values that flow between the projections and their store.

Instants are stored as whole microseconds since the Unix epoch (UTC): they sort
and compare the same way in SQLite and PostgreSQL and convert without rounding.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, NamedTuple, TypeVar

from eventsourcing.persistence import Tracking

T = TypeVar("T")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
MICROS_PER_HOUR = 3_600_000_000


def to_micros(value: datetime) -> int:
    """An aware instant as whole microseconds since the epoch (exact).

    Hot loops spell it out: ``(value - EPOCH) // MICROSECOND``.
    """
    return (value - EPOCH) // MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


# ---- rows of the views -------------------------------------------------------


class DisputeRow(NamedTuple):
    """One row of the disputes view (also what the list and the queue read)."""

    dispute_id: str
    order_id: str
    buyer_id: str
    seller_id: str
    region: str
    category: str
    amount: str
    currency: str
    status: str
    placed_at: int
    ship_by: int
    auto_cancel_at: int
    updated_at: int
    version: int
    policy_version: str
    shipped_at: int | None
    refund_status: str | None
    intervention_reason: str | None
    intervention_requested_at: int | None
    awaiting_ruling_since: int | None
    next_due_at: int | None
    next_due_kind: str | None
    #: The moderator's claim as recorded, live or lapsed (``claim_expires_at`` says which).
    claimed_by: str | None
    claim_expires_at: int | None
    position: int


class SellerCounts(NamedTuple):
    """A seller's additive figures; a dispute contributes one of these."""

    orders: int = 0
    shipped: int = 0
    late: int = 0
    dispatch_settled: int = 0
    auto_cancelled: int = 0
    disputes: int = 0
    interventions: int = 0
    interventions_lost: int = 0
    refunded: int = 0
    rating_sum: int = 0
    reviews: int = 0
    appeals_won: int = 0
    appeals_lost: int = 0
    #: Reviews buyers see, by rating (``rating_sum`` and ``reviews`` count the same
    #: ones); a review a moderator hid counts only in ``hidden_reviews``.
    rating_1: int = 0
    rating_2: int = 0
    rating_3: int = 0
    rating_4: int = 0
    rating_5: int = 0
    hidden_reviews: int = 0

    def plus(self, other: SellerCounts) -> SellerCounts:
        return SellerCounts(*map(operator.add, self, other))

    def minus(self, other: SellerCounts) -> SellerCounts:
        return SellerCounts(*map(operator.sub, self, other))

    def is_zero(self) -> bool:
        return not any(self)


class PendingDispatch(NamedTuple):
    """An order neither shipped nor late yet: its ``ship_by`` decides, at query time,
    whether it counts in the late-dispatch denominator. ``ship_by=None`` removes it."""

    dispute_id: str
    seller_id: str
    ship_by: int | None


class SellerName(NamedTuple):
    """The name on a seller's latest order that named one (latest by ``placed_at``,
    then by the order's place in the log: ``named_position``)."""

    seller_id: str
    seller_name: str
    name_key: str  # casefolded, what a name prefix is matched against
    named_at: int
    named_position: int


class ReviewRow(NamedTuple):
    """A buyer's review of one order, as the seller's page lists it."""

    dispute_id: str
    seller_id: str
    order_id: str
    rating: int
    comment: str
    reviewed_at: int
    hidden: int  # 1: a moderator hid it from buyers
    hidden_reason: str | None


class ReturnCost(NamedTuple):
    """What a seller paid for return labels in one currency (whole minor units)."""

    currency: str
    minor: int
    labels: int


class ResponseSample(NamedTuple):
    """Seller contacted -> seller responded, in microseconds."""

    dispute_id: str
    version: int
    seller_id: str
    micros: int


class Resolution(NamedTuple):
    """Placed -> first closed/refunded/cancelled, in microseconds."""

    dispute_id: str
    micros: int


class StateRow(NamedTuple):
    """Events of one dispute, as a lane keeps them to rebuild its aggregate.

    Written: the events one batch applied. Read: all of them, concatenated;
    ``version`` and ``position`` are then those of the last one.
    """

    dispute_id: str
    version: int
    position: int
    events: bytes


# ---- what one batch changes, per read model ----------------------------------


@dataclass(slots=True)
class DisputesChanges:
    version: int
    rows: list[DisputeRow] = field(default_factory=list)


@dataclass(slots=True)
class ScorecardChanges:
    version: int
    sellers: dict[str, SellerCounts] = field(default_factory=dict)
    pending: list[PendingDispatch] = field(default_factory=list)
    samples: list[ResponseSample] = field(default_factory=list)
    #: The sellers' pages: names (the latest kept), orders per (seller, region,
    #: category), reviews (``unreviewed``: dispute ids whose review is gone) and
    #: return labels paid per (seller, currency) as (minor units, labels).
    names: dict[str, SellerName] = field(default_factory=dict)
    markets: dict[tuple[str, str, str], int] = field(default_factory=dict)
    reviews: list[ReviewRow] = field(default_factory=list)
    unreviewed: list[str] = field(default_factory=list)
    return_costs: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)


@dataclass(slots=True)
class MetricsChanges:
    version: int
    statuses: dict[str, int] = field(default_factory=dict)
    resolutions: list[Resolution] = field(default_factory=list)


ModelChanges = DisputesChanges | ScorecardChanges | MetricsChanges


@dataclass(slots=True)
class BatchWrite:
    """Everything one batch writes, in one transaction, with the lane's new position.

    ``tracking`` is the eventsourcing tracking value of the last notification
    (the application's name and its notification id). ``expected_position`` is
    the position the batch started from: the store refuses the write
    (``PositionConflict``) if the lane is no longer there, so two writers can
    never both apply a batch.
    """

    lane: str
    expected_position: int
    tracking: Tracking
    states: list[StateRow]
    changes: list[ModelChanges]

    @property
    def position(self) -> int:
        return self.tracking.notification_id


# ---- versions and lanes -------------------------------------------------------

LIVE_LANE = "live"
BUILDING = "building"
READY = "ready"
CURRENT = "current"
RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version of a read model's tables and the lane that maintains it."""

    name: str
    version: int
    schema: int
    lane: str
    status: str


# ---- what the query side reads -------------------------------------------------


@dataclass(frozen=True, slots=True)
class DisputeQuery:
    status: str | None = None
    region: str | None = None
    seller_id: str | None = None
    buyer_id: str | None = None
    order_id: str | None = None
    after: tuple[int, str] | None = None  # (placed_at, dispute_id) of the last row seen
    limit: int = 50


#: The queue's claim filter: the asker's live claims, cases with none live, others' live ones.
CLAIM_FILTERS = ("mine", "unclaimed", "others")


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """``claim`` (one of :data:`CLAIM_FILTERS`) judges claims live at ``now``
    (microseconds) and ``mine`` as ``moderator_id``'s; the counts of the answer ignore
    it and the paging."""

    region: str | None = None
    seller_id: str | None = None
    reason: str | None = None
    requested_before: int | None = None  # min_age_hours, as an instant
    after: tuple[int, str] | None = None  # (awaiting_ruling_since, dispute_id)
    limit: int = 50
    claim: str | None = None
    moderator_id: str = ""
    now: int = 0


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """The queue under its filters but ``claim`` (and paging): every case, those with no
    live claim, those the asker holds, and every case by its intervention reason."""

    total: int = 0
    unclaimed: int = 0
    mine: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QueuePage:
    """A page of the queue and its counts, read from one snapshot."""

    rows: list[DisputeRow]
    counts: QueueCounts


@dataclass(frozen=True, slots=True)
class SellerFigures:
    counts: SellerCounts
    pending_due: int  # unshipped, not late, ship_by already passed
    responses: int
    median_response_micros: float | None


#: How the seller search may order its list, and by how many figures (numbers) each
#: orders it before the seller id breaks ties (a page key: those, then the id).
SELLER_SORTS: dict[str, int] = {"rating": 2, "late_dispatch_rate": 2, "orders": 1}


@dataclass(frozen=True, slots=True)
class SellerQuery:
    """A page of the seller search, its figures as of ``now`` (microseconds).

    ``seller_id`` or ``name_prefix`` (casefolded): the seller with that id or
    whose name starts so (either matches). ``after``: the sort keys and seller id
    of the last row seen (``SellerSummary.key``)."""

    now: int
    sort: str = "rating"
    seller_id: str | None = None
    name_prefix: str | None = None
    region: str | None = None
    category: str | None = None
    after: tuple[float | int | str, ...] | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class SellerSummary:
    """One seller of the search: its name, counts, where and what it sold."""

    seller_id: str
    seller_name: str | None
    counts: SellerCounts
    pending_due: int
    regions: tuple[str, ...]
    categories: tuple[str, ...]
    key: tuple[float | int | str, ...] = ()  # its place in the list's order


@dataclass(frozen=True, slots=True)
class SellerProfile:
    """One seller's page: its summary, response times, newest reviews, return costs."""

    summary: SellerSummary
    figures: SellerFigures
    reviews: list[ReviewRow]
    return_costs: list[ReturnCost]


@dataclass(frozen=True, slots=True)
class MetricsFigures:
    statuses: dict[str, int]
    resolved: int
    median_resolution_micros: float | None
    p90_resolution_micros: int | None


@dataclass(frozen=True, slots=True)
class DueCase:
    """A dispute whose next derived event falls due at ``next_due_at`` (microseconds)."""

    dispute_id: str
    next_due_at: int
    next_due_kind: str

    @property
    def at(self) -> datetime:
        return from_micros(self.next_due_at)


@dataclass(frozen=True, slots=True)
class Reading(Generic[T]):
    """A query result and the read-model position it reflects."""

    position: int
    value: T
