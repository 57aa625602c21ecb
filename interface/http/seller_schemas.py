"""The bodies of the seller search, the seller's page and review visibility (msgspec)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from interface.http.controllers.read_models import Scorecard
from interface.http.schemas import CurrencyCode, DecimalString

Rfc3339 = Annotated[str, Meta(description="RFC 3339 instant (UTC)")]


# ---- requests -----------------------------------------------------------------


class SetReviewVisibility(Struct, forbid_unknown_fields=True, kw_only=True):
    hidden: Annotated[
        bool,
        Meta(description="true: hide the buyer's review from the seller search and the "
             "seller's page; false: show it again"),
    ]
    reason: Annotated[
        str,
        Meta(description="Why (at most 500 characters; kept on the case, shown to "
             "moderators)", examples=["abusive language"]),
    ]


# ---- responses -----------------------------------------------------------------


class SellerSummary(Struct):
    """One seller of the search: a compact scorecard, where and what it sold."""

    seller_id: str
    seller_name: Annotated[
        str | None,
        Meta(description="The name on the seller's latest order that named one (null: none "
             "did)"),
    ]
    orders: int
    shipped: int
    late_dispatch_rate: Annotated[
        float | None,
        Meta(description="As the scorecard's: late dispatches / orders that shipped, got "
             "DeadlineMissed or whose ship_by has passed (null when none)"),
    ]
    auto_cancel_rate: float | None
    disputes: int
    interventions: int
    interventions_lost: int
    appeals_won: int
    appeals_lost: int
    refund_rate: float | None
    average_rating: Annotated[
        float | None,
        Meta(description="Mean rating of the reviews buyers see (a review a moderator hid "
             "counts nowhere); null without one"),
    ]
    reviews: Annotated[int, Meta(description="Reviews buyers see")]
    regions: Annotated[list[str], Meta(description="Regions the seller sold in")]
    categories: Annotated[list[str], Meta(description="Categories the seller sold in")]


class SellerPage(Struct):
    data: list[SellerSummary]
    next_cursor: str | None
    position: int


class SellerReview(Struct, omit_defaults=True):
    """A buyer's review. Moderators also get the case it is on and whether it is hidden."""

    rating: Annotated[int, Meta(ge=1, le=5)]
    comment: str
    reviewed_at: Rfc3339
    dispute_id: Annotated[str | None, Meta(description="Moderators only")] = None
    order_id: Annotated[str | None, Meta(description="Moderators only")] = None
    hidden: Annotated[
        bool | None,
        Meta(description="Moderators only: a moderator hid it from everyone else"),
    ] = None
    hidden_reason: Annotated[str | None, Meta(description="Moderators only: why")] = None


class ReturnCost(Struct):
    """What the seller paid for return labels in one currency."""

    amount: DecimalString
    currency: CurrencyCode
    labels: Annotated[int, Meta(description="Return labels paid")]


class RatingDistribution(Struct, rename={
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
}):
    """How many of the reviews buyers see gave each rating."""

    one: int
    two: int
    three: int
    four: int
    five: int


class SellerDetail(Scorecard, omit_defaults=True):
    """The scorecard plus the seller's name, markets, ratings by star, newest reviews and
    return costs."""

    seller_name: str | None
    regions: list[str]
    categories: list[str]
    rating_distribution: RatingDistribution
    recent_reviews: Annotated[
        list[SellerReview],
        Meta(description="The 10 newest reviews, newest first: those buyers see (moderators: "
             "hidden ones too, marked)"),
    ]
    return_costs: Annotated[
        list[ReturnCost],
        Meta(description="Return labels the seller paid (`label_cost` of a return), one "
             "entry per currency"),
    ]
    hidden_reviews: Annotated[
        int | None, Meta(description="Moderators only: reviews hidden from buyers")
    ] = None
