"""Every probability and behaviour parameter of the demo marketplace, in one place.

The scenario engine (``interface.demo.scenario``) reads nothing else: to make sellers
sloppier, buyers more litigious or moderators stricter, change a value here
(or pass ``dataclasses.replace(DEFAULT_PROFILE, ...)``). Durations are hours
unless the name says otherwise; a ``Range`` is drawn uniformly. Probabilities
apply each time the situation arises, per order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

Range = tuple[float, float]
Weights = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class SellerTier:
    """How one kind of seller behaves."""

    name: str
    share: float  # fraction of sellers in this tier
    on_time: float  # P(ships before ship_by)
    late: float  # P(ships after ship_by, before the auto-cancel); the rest never ship
    responds: float  # P(answers a buyer's message at all)
    response_hours: Range  # how long an answer takes (it may come after the window)
    promises_date: float  # P(an answer names a ship date), when the seller still means to ship
    answers_refund: float  # P(decides a refund request inside the window; else auto-approved)
    approves_refund: float  # P(approve | decides)
    complies: float  # P(ships after a seller_must_ship ruling)
    adds_evidence: float  # P(adds evidence of its own to an intervention)


@dataclass(frozen=True)
class DemoProfile:
    # ---- scale, time and batching ---------------------------------------------
    days: int = 30  # order times spread over this many days before the end instant
    sweep_interval: timedelta = timedelta(minutes=15)  # derived events land on the next tick
    batch_orders: int = 500  # orders per batch() (one transaction)
    orders_per_seller: int = 40
    orders_per_buyer: int = 3
    moderators: int = 6
    seller_popularity: float = 1.16  # Pareto shape of seller popularity (about 80/20)

    # ---- what is ordered, where and when ----------------------------------------
    regions: Weights = (("US", 0.5), ("GB", 0.3), ("TH", 0.2))
    currencies: tuple[tuple[str, str], ...] = (("US", "USD"), ("GB", "GBP"), ("TH", "THB"))
    median_amount: tuple[tuple[str, float], ...] = (("USD", 28.0), ("GBP", 22.0), ("THB", 690.0))
    amount_spread: float = 0.8  # sigma of the log-normal order amount
    whole_units: tuple[str, ...] = ("THB",)  # currencies priced in whole units
    # Categories of the policy in force; one the policy has but this list lacks
    # gets other_category_weight, one this list names but the policy lacks is skipped.
    categories: Weights = (
        ("general", 0.30),
        ("electronics", 0.20),
        ("fashion", 0.20),
        ("home", 0.13),
        ("beauty", 0.10),
        ("made_to_order", 0.07),
    )
    other_category_weight: float = 0.05
    # Relative weight of a local weekend or public holiday against a business day.
    non_business_day_weight: float = 1.2
    # Orders per local hour of the day (0..23): quiet nights, an evening peak.
    local_hour_weights: tuple[float, ...] = (
        2, 1, 1, 0.5, 0.5, 1, 2, 4, 6, 7, 7, 8, 9, 8, 7, 7, 8, 9, 11, 12, 12, 10, 7, 4,
    )  # fmt: skip
    feed_lag_seconds: Range = (2.0, 120.0)  # the platform feeds an order this late

    # ---- sellers, shipping and delivery ---------------------------------------
    tiers: tuple[SellerTier, ...] = (
        SellerTier(
            name="reliable",
            share=0.62,
            on_time=0.955,
            late=0.04,
            responds=0.92,
            response_hours=(1.0, 30.0),
            promises_date=0.7,
            answers_refund=0.9,
            approves_refund=0.75,
            complies=0.9,
            adds_evidence=0.3,
        ),
        SellerTier(
            name="slow",
            share=0.26,
            on_time=0.55,
            late=0.4,
            responds=0.65,
            response_hours=(6.0, 70.0),
            promises_date=0.6,
            answers_refund=0.6,
            approves_refund=0.55,
            complies=0.6,
            adds_evidence=0.2,
        ),
        SellerTier(
            name="unreliable",
            share=0.12,
            on_time=0.2,
            late=0.25,
            responds=0.25,
            response_hours=(20.0, 100.0),
            promises_date=0.5,
            answers_refund=0.3,
            approves_refund=0.3,
            complies=0.25,
            adds_evidence=0.1,
        ),
    )
    on_time_fraction: Range = (0.05, 0.9)  # shipped this far into the time to ship_by
    late_fraction: Range = (0.02, 0.8)  # shipped this far from ship_by to the auto-cancel
    min_ship_hours: float = 0.5  # never ships sooner than this after the order
    platform_reports_shipment: float = 0.35  # the carrier feed, not the seller, records it
    late_feed: float = 0.02  # the feed reports a parcel that left in time only after ship_by
    late_feed_hours: Range = (4.0, 48.0)  # that report comes this long after ship_by
    promise_slips: float = 0.5  # a promised ship date is the day before it really ships
    transit_days: tuple[tuple[str, float, float], ...] = (
        ("US", 1.5, 6.0),
        ("GB", 1.0, 4.0),
        ("TH", 1.0, 5.0),
    )
    lost_in_transit: float = 0.01  # never delivered

    # ---- buyers ---------------------------------------------------------------
    early_contact: float = 0.15  # asks "where is my order?" before the deadline
    early_contact_hours: Range = (10.0, 40.0)  # after the order
    notices_late: float = 0.8  # reacts once the deadline passed without a shipment
    patience_hours: Range = (2.0, 36.0)  # after ship_by
    contacts_first: float = 0.8  # contacts the seller (else asks for a refund at once)
    follow_up_hours: Range = (20.0, 80.0)  # waits this long for the seller, then escalates
    follow_ups: int = 3  # looks again at most this many times before giving up
    escalates: float = 0.55  # asks the platform to step in (once the policy allows it)
    asks_refund: float = 0.3  # else asks the seller for a refund; the rest just wait
    evidence: Weights = (("chat_log", 0.7), ("photo", 0.15), ("order_record", 0.35))
    escalates_denial: float = 0.6  # asks the platform to step in after a refund denial
    escalate_denial_hours: Range = (2.0, 48.0)
    returns: float = 0.05  # asks for a refund (with a return) of goods that arrived
    return_request_days: Range = (1.0, 12.0)  # after delivery
    ships_return: float = 0.95
    return_ship_hours: Range = (6.0, 72.0)  # after the refund was approved
    return_transit_days: Range = (2.0, 6.0)
    asks_after_delivery: float = 0.1  # a question to the seller about goods that arrived
    question_days: Range = (0.2, 5.0)  # after delivery
    thanks_after_delivery: float = 0.15  # a thank-you that expects no reply
    thanks_days: Range = (0.2, 4.0)  # after delivery
    reviews_delivered: float = 0.6
    reviews_unhappy: float = 0.35  # reviews an order that was cancelled or refunded
    review_days: Range = (1.0, 12.0)  # after delivery, refund or cancellation
    # Star ratings 1..5 by experience: on time, late but delivered, refunded or cancelled.
    ratings_happy: tuple[float, ...] = (0.02, 0.03, 0.08, 0.27, 0.60)
    ratings_late: tuple[float, ...] = (0.10, 0.20, 0.30, 0.25, 0.15)
    ratings_unhappy: tuple[float, ...] = (0.45, 0.30, 0.15, 0.07, 0.03)

    # ---- sellers answering refunds and returns ----------------------------------
    refund_answer_fraction: Range = (0.05, 0.9)  # of the refund window
    receives_return: float = 0.97
    receipt_hours: Range = (2.0, 48.0)  # after the return arrived

    # ---- moderators -------------------------------------------------------------
    ruling_hours: Range = (2.0, 60.0)  # after the intervention request
    outcomes: Weights = (
        ("refund_full", 0.45),
        ("refund_partial", 0.10),
        ("seller_must_ship", 0.25),  # only while unshipped and time is left
        ("claim_rejected", 0.20),
    )
    partial_share: Range = (0.3, 0.7)  # of the order amount
    new_ship_by_hours: Range = (24.0, 72.0)  # after the ruling (before the auto-cancel)
    notes: float = 0.35  # an internal note before ruling
    moderator_evidence: float = 0.1  # the moderator adds evidence (a carrier check)
    asks_for_evidence: float = 0.3  # the moderator asks the seller for evidence
    attaches_files: float = 0.8  # a photo or a tracking page comes as a file
    closes_rejected: float = 0.5  # closes the case after claim_rejected (goods on the way)
    closes_after_refund: float = 0.25  # closes a case once the refund was paid (an order
    # that never shipped is cancelled by that close, the rest of its amount falling due)
    extensions: float = 0.15  # gives a seller that will ship late more time, before ship_by
    extension_notice_hours: Range = (2.0, 30.0)  # before ship_by
    extension_slack_hours: Range = (2.0, 24.0)  # the new ship_by, after the planned shipment
    close_hours: Range = (1.0, 48.0)
    # Appeals: the party a ruling went against appeals it; another moderator decides.
    appeals: float = 0.3
    appeal_hours: Range = (2.0, 72.0)  # after the ruling
    appeal_decision_hours: Range = (6.0, 96.0)  # after the appeal
    overturns: float = 0.5  # the ruling is overturned (else upheld)
    pays_seller_hours: Range = (1.0, 48.0)  # the platform makes up an overturned refund

    # ---- platform ----------------------------------------------------------------
    pays_refund: float = 0.99  # pays an approved refund
    pay_hours: Range = (1.0, 24.0)
    platform_closes: float = 0.3  # a refund-paid case is closed by the platform, not a moderator

    # ---- shop names, review texts, hidden reviews, return labels --------------------
    # (drawn from streams of their own: every other draw stays what it was without them)
    rebrands: float = 0.08  # a seller trades under a new name from an instant in the window
    abusive_reviews: float = 0.01  # a review is an insult (rated 1)
    hides_abusive: float = 0.9  # a moderator hides an abusive review from buyers
    hide_hours: Range = (1.0, 36.0)  # after the review
    seller_paid_labels: float = 0.7  # a return ships on a label the seller paid, where the
    # order's policy has the seller pay the return postage
    label_costs: tuple[tuple[str, float, float], ...] = (
        ("USD", 4.5, 14.0),
        ("GBP", 3.2, 9.5),
        ("THB", 45.0, 160.0),
    )


DEFAULT_PROFILE = DemoProfile()
