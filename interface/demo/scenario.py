"""The demo marketplace: a synthetic history driven through the real commands.

Nothing writes to the store directly. ``market`` generates the sellers
(three reliability tiers), buyers and order headers from one seed;
``life`` lives each order's whole life in time order on a clock it sets
(commands run only when the acting role's ``next_actions`` allow them; derived
events are recorded the way the sweeper records them); this module runs the
orders in batches (``app.batch()``) and sums up. Every behaviour parameter
lives in ``profile``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from application.disputes import DisputeDesk
from domain.errors import DisputeNotFound
from interface.demo.life import PLATFORM, SettableClock, Stage
from interface.demo.market import DemoError, Marketplace, order_id
from interface.demo.profile import DEFAULT_PROFILE, DemoProfile

__all__ = [
    "PLATFORM",
    "DemoError",
    "DemoSummary",
    "SellerFigures",
    "SettableClock",
    "loaded_orders",
    "order_id",
    "run_demo",
]

PROGRESS_EVERY = 50  # orders between progress reports

Progress = Callable[[int, int], None]  # (orders done, events recorded so far)


# ---- the summary (plain values) --------------------------------------------------


@dataclass(frozen=True)
class SellerFigures:
    seller_id: str
    tier: str
    region: str
    orders: int
    eligible: int  # shipped, or ship_by passed by the end instant
    late: int  # got DeadlineMissed
    late_dispatch_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seller_id": self.seller_id,
            "tier": self.tier,
            "region": self.region,
            "orders": self.orders,
            "eligible": self.eligible,
            "late": self.late,
            "late_dispatch_rate": self.late_dispatch_rate,
        }


@dataclass(frozen=True)
class DemoSummary:
    seed: int
    orders: int
    created: int
    already_loaded: int
    start: datetime
    end: datetime
    days: int
    events: int
    events_by_type: dict[str, int]
    disputes_by_status: dict[str, int]
    orders_by_region: dict[str, int]
    orders_by_category: dict[str, int]
    non_business_day_orders: int
    sellers: int
    buyers: int
    tiers: dict[str, dict[str, Any]]
    worst_sellers: list[SellerFigures]
    best_sellers: list[SellerFigures]
    refused: dict[str, int]
    skipped: dict[str, int]
    elapsed_seconds: float

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "orders": self.orders,
            "created": self.created,
            "already_loaded": self.already_loaded,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "events": self.events,
            "events_by_type": dict(self.events_by_type),
            "disputes_by_status": dict(self.disputes_by_status),
            "orders_by_region": dict(self.orders_by_region),
            "orders_by_category": dict(self.orders_by_category),
            "non_business_day_orders": self.non_business_day_orders,
            "sellers": self.sellers,
            "buyers": self.buyers,
            "tiers": {name: dict(figures) for name, figures in self.tiers.items()},
            "worst_sellers": [s.to_dict() for s in self.worst_sellers],
            "best_sellers": [s.to_dict() for s in self.best_sellers],
            "refused": dict(self.refused),
            "skipped": dict(self.skipped),
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "orders_per_second": round(self.orders_per_second, 1),
            "events_per_second": round(self.events_per_second, 1),
        }


def _tier_figures(market: Marketplace, sellers: dict[str, list[int]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for seller in market.sellers:
        row = out.setdefault(
            seller.tier.name, {"sellers": 0, "orders": 0, "eligible": 0, "late": 0}
        )
        row["sellers"] += 1
        orders, eligible, late = sellers.get(seller.id, (0, 0, 0))
        row["orders"] += orders
        row["eligible"] += eligible
        row["late"] += late
    for row in out.values():
        row["late_dispatch_rate"] = (
            round(row["late"] / row["eligible"], 4) if row["eligible"] else None
        )
    return out


def _ranked_sellers(
    market: Marketplace, sellers: dict[str, list[int]], few: int
) -> tuple[list[SellerFigures], list[SellerFigures]]:
    figures = []
    for seller in market.sellers:
        orders, eligible, late = sellers.get(seller.id, (0, 0, 0))
        if eligible == 0:
            continue
        rate = round(late / eligible, 4)
        figures.append(
            SellerFigures(seller.id, seller.tier.name, seller.region, orders, eligible, late, rate)
        )
    # Rank sellers with enough orders to mean something, if there are any.
    floor = min(5, max((f.eligible for f in figures), default=0))
    ranked = [f for f in figures if f.eligible >= floor]
    worst = sorted(ranked, key=lambda f: (-(f.late_dispatch_rate or 0), -f.eligible, f.seller_id))
    best = sorted(ranked, key=lambda f: ((f.late_dispatch_rate or 0), -f.eligible, f.seller_id))
    return worst[:few], best[:few]


def run_demo(
    app: DisputeDesk,
    clock: SettableClock,
    *,
    orders: int,
    seed: int,
    end: datetime,
    days: int | None = None,
    profile: DemoProfile = DEFAULT_PROFILE,
    progress: Progress | None = None,
    ranked: int = 5,
) -> DemoSummary:
    """Generate ``orders`` orders over ``days`` days ending at ``end`` and drive their lives.

    ``app`` must have been built with ``clock``. Orders the store already holds
    are counted as already loaded and left alone.
    """
    if app.clock is not clock:
        raise DemoError("build the application with the demo's clock")
    if orders < 1:
        raise DemoError(f"orders must be at least 1, got {orders}")
    if end.tzinfo is None or end.utcoffset() is None:
        raise DemoError(f"the end instant must carry a UTC offset, got {end.isoformat()}")
    end = end.astimezone(UTC)
    days = profile.days if days is None else days
    if days < 1:
        raise DemoError(f"days must be at least 1, got {days}")
    start = end - timedelta(days=days)
    clock.set(end)
    policy = app.current_policy()
    if app.policies.in_force(start) is None:
        raise DemoError(
            f"no policy was in force at {start.isoformat()} (the start of the demo's "
            f"{days} days); pass fewer days or a later end"
        )
    began = time.perf_counter()
    market = Marketplace(profile, policy, seed=seed, orders=orders, start=start, end=end)
    zones = {code: policy.calendar(code).tz for code in policy.regions}
    run = Stage(app, clock, profile, seed=seed, end=end, zones=zones)
    done = 0
    for first in range(0, len(market.orders), profile.batch_orders):
        with app.batch() as batch:
            run.app = batch  # the orders of this batch are saved together
            for spec in market.orders[first : first + profile.batch_orders]:
                run.order(spec)
                done += 1
                if progress is not None and done % PROGRESS_EVERY == 0:
                    progress(done, run.tally.events)
        run.app = app
        if progress is not None:
            progress(done, run.tally.events)
    clock.set(end)
    elapsed = time.perf_counter() - began
    tally = run.tally
    worst, best = _ranked_sellers(market, tally.sellers, ranked)
    return DemoSummary(
        seed=seed,
        orders=orders,
        created=tally.created,
        already_loaded=tally.already_loaded,
        start=start,
        end=end,
        days=days,
        events=tally.events,
        events_by_type=dict(sorted(tally.by_type.items())),
        disputes_by_status=dict(sorted(tally.by_status.items())),
        orders_by_region=dict(sorted(tally.by_region.items())),
        orders_by_category=dict(sorted(tally.by_category.items())),
        non_business_day_orders=tally.non_business_day,
        sellers=len(market.sellers),
        buyers=market.buyers,
        tiers=_tier_figures(market, tally.sellers),
        worst_sellers=worst,
        best_sellers=best,
        refused=dict(sorted(tally.refused.items())),
        skipped=dict(sorted(tally.skipped.items())),
        elapsed_seconds=elapsed,
    )


def loaded_orders(app: DisputeDesk, *, seed: int, orders: int, sample: int = 20) -> list[str]:
    """Which of a sample of this run's order ids (first, last, evenly between) the store holds."""
    picks = sorted({1, orders, *(1 + (orders - 1) * k // sample for k in range(sample))})
    found = []
    for n in picks:
        try:
            app.case_for_order(order_id(seed, n), PLATFORM)
        except DisputeNotFound:
            continue
        found.append(order_id(seed, n))
    return found
