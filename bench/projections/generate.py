"""A synthetic, realistic marketplace history written fast into an event store.

Disputes follow the whole lifecycle (on-time and late shipments, deliveries,
reviews, contacts and responses, interventions and rulings, refunds and
returns, auto-cancellations) through the Dispute aggregate's own commands, in
time order, so a dispute's events are spread through the log the way real
traffic spreads them. Many aggregates are saved per ``save()`` call (one
transaction), which is what makes generating a million events quick.
"""

from __future__ import annotations

import contextlib
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from application.disputes import DisputeDesk
from domain.dispute import Actor, Dispute
from domain.errors import DomainError
from domain.money import Money
from domain.policy import Policy

REGIONS = ("US", "US", "US", "GB", "TH")
CATEGORIES = ("general", "electronics", "fashion", "home", "beauty", "made_to_order")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PLATFORM = Actor("platform", "feed")
MODERATOR = Actor("moderator", "mod-1")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

Step = Callable[[Dispute, Policy, datetime], object]


@dataclass
class Generated:
    events: int
    disputes: int
    last_time: datetime


def _script(rng: random.Random, buyer: Actor, seller: Actor, lateness: float) -> list[
    tuple[timedelta, Step]
]:
    """The actions of one order, as (offset from placement, action)."""
    steps: list[tuple[timedelta, Step]] = []

    def at(offset: timedelta, action: Step) -> None:
        steps.append((offset, action))

    def ship(offset: timedelta) -> None:
        at(offset, lambda d, p, now: d.ship("ups", f"1Z{rng.randrange(10**9)}", now, seller, now))

    def deliver(offset: timedelta) -> None:
        at(offset, lambda d, p, now: d.deliver(now, PLATFORM, now))

    def review(offset: timedelta) -> None:
        rating = rng.choice((1, 2, 3, 4, 5, 5, 5, 4))
        at(offset, lambda d, p, now: d.review(rating, "ok", p, buyer, now))

    roll = rng.random()
    if roll < 0.55 - lateness:  # on time
        ship(timedelta(hours=rng.uniform(2, 40)))
        deliver(timedelta(days=rng.uniform(3, 6)))
        if rng.random() < 0.6:
            review(timedelta(days=rng.uniform(6, 12)))
    elif roll < 0.68:  # late, after a contact
        at(3 * DAY, lambda d, p, now: d.contact_seller("where is it?", "chat", buyer, now))
        if rng.random() < 0.7:
            at(3.5 * DAY, lambda d, p, now: d.respond("shipping soon", None, p, seller, now))
        ship(timedelta(days=rng.uniform(4, 6)))
        deliver(timedelta(days=rng.uniform(7, 9)))
        if rng.random() < 0.5:
            review(timedelta(days=rng.uniform(9, 12)))
    elif roll < 0.80:  # not shipped: intervention and ruling
        at(3 * DAY, lambda d, p, now: d.contact_seller("where is it?", "chat", buyer, now))
        if rng.random() < 0.5:
            at(3 * DAY + 5 * HOUR, lambda d, p, now: d.respond("sorry", None, p, seller, now))
        at(
            6 * DAY,
            lambda d, p, now: d.request_intervention(
                "not_shipped", "it never shipped", [], buyer, now
            ),
        )
        outcome = rng.choice(("refund_full", "refund_full", "claim_rejected", "refund_partial"))
        if rng.random() < 0.8:

            def rule(d: Dispute, p: Policy, now: datetime, outcome: str = outcome) -> None:
                amount = (
                    Money.of(f"{d.amount.amount / 2:.2f}", d.amount.currency)
                    if outcome == "refund_partial"
                    else None
                )
                code = "claim_not_supported" if outcome == "claim_rejected" else "not_received"
                d.rule(outcome, code, amount, None, None, MODERATOR, now, reasons=p.reason_codes)

            at(6 * DAY + 20 * HOUR, rule)
            at(
                7 * DAY + 2 * HOUR,
                lambda d, p, now: d.issue_refund(
                    Money(d.refund.amount, d.amount.currency), PLATFORM, now
                )
                if d.refund
                else None,
            )
    elif roll < 0.90:  # delivered, then a refund with a return
        ship(timedelta(hours=rng.uniform(2, 30)))
        deliver(timedelta(days=rng.uniform(3, 5)))
        at(6 * DAY, lambda d, p, now: d.request_refund(None, "damaged", buyer, now))
        if rng.random() < 0.7:
            at(6.5 * DAY, lambda d, p, now: d.decide_refund(True, None, seller, now))
            at(8 * DAY, lambda d, p, now: d.return_goods("usps", "RT1", buyer, now))
            at(11 * DAY, lambda d, p, now: d.confirm_return_receipt(seller, now))
            at(
                11.5 * DAY,
                lambda d, p, now: d.issue_refund(
                    Money(d.refund.amount, d.amount.currency), PLATFORM, now
                )
                if d.refund
                else None,
            )
        # else: no answer, the refund is auto-approved by the policy
    else:  # never shipped: auto-cancelled by the policy
        if rng.random() < 0.3:
            at(4 * DAY, lambda d, p, now: d.add_note("seller unreachable", MODERATOR, now))
    return steps


def generate(
    app: DisputeDesk,
    events: int,
    *,
    seed: int = 7,
    orders_per_hour: float = 40.0,
    sellers: int = 400,
    buyers: int = 20_000,
    chunk: int = 2_000,
    start: datetime = START,
) -> Generated:
    """Record about ``events`` events (a little more: whole actions) and return counts."""
    rng = random.Random(seed)
    policy = app.current_policy()
    seller_lateness = [rng.choice((0.0, 0.0, 0.05, 0.15, 0.35)) for _ in range(sellers)]
    queue: list[tuple[datetime, int, str, Any]] = []
    live: dict[str, Dispute] = {}
    touched: dict[str, Dispute] = {}
    written = 0
    placed = 0
    seq = 0
    clock = start
    gap = timedelta(hours=1 / orders_per_hour)

    to_stored = app.mapper.to_stored_event

    def flush() -> int:
        # Straight through the application's mapper and recorder: one transaction.
        stored = [to_stored(e) for d in touched.values() for e in d.collect_events()]
        touched.clear()
        if stored:
            app.recorder.insert_events(stored)
        return len(stored)

    recorded = 0  # events made so far, saved or not
    while queue or recorded < events:
        # Stop placing orders once the events made plus those still scheduled reach the goal.
        if recorded + len(queue) < events and (not queue or clock <= queue[0][0]):
            placed += 1
            seller_no = rng.randrange(sellers)
            seller = Actor("seller", f"seller-{seller_no:04d}")
            buyer = Actor("buyer", f"buyer-{rng.randrange(buyers):05d}")
            region = rng.choice(REGIONS)
            d = Dispute.place(
                order_id=f"order-{seed}-{placed:08d}",
                buyer_id=buyer.id,
                seller_id=seller.id,
                region=region,
                category=rng.choice(CATEGORIES),
                amount=Money.of(f"{rng.randrange(500, 30000) / 100:.2f}",
                                policy.regions[region].currency or "USD"),
                placed_at=clock,
                policy=policy,
                actor=PLATFORM,
                now=clock,
            )
            key = str(d.id)
            live[key] = d
            touched[key] = d
            recorded += 1
            last = d.auto_cancel_at
            for offset, action in _script(rng, buyer, seller, seller_lateness[seller_no]):
                seq += 1
                heapq.heappush(queue, (clock + offset, seq, key, action))
                last = max(last, clock + offset)
            # A final sweep after everything else, then the case is forgotten.
            seq += 1
            heapq.heappush(queue, (last + HOUR, seq, key, None))
            clock += gap
        else:
            when, _, key, action = heapq.heappop(queue)
            d = live[key]
            before = d.version
            d.record_due(policy, when, when)
            if action is not None:
                # The state may not allow it (an earlier step took another path).
                with contextlib.suppress(DomainError):
                    action(d, policy, when)
            else:
                del live[key]
            recorded += d.version - before
            touched[key] = d
        if len(touched) >= chunk:
            written += flush()
    written += flush()
    return Generated(written, placed, clock)
