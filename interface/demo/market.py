"""The demo's population, generated from one seed: sellers, buyers and order headers.

Sellers get a region, a reliability tier and a popularity (Pareto), and a shop
name (a word of their region and one of the trade; a few trade under a new name
from an instant in the window on); buyers a region; each order a region,
seller (and the name it then trades under), buyer, category of the policy,
amount in the region's currency, and a placement instant on a local day
(weekends and public holidays weighted) at a local hour of the profile's daily
curve. Orders are numbered in time order: ``o-<seed>-<n>``.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.calendar import BusinessCalendar
from domain.money import Money
from domain.policy import Policy
from interface.demo.profile import DemoProfile, SellerTier


class DemoError(ValueError):
    """The demo cannot run with these arguments or this policy."""


def order_id(seed: int, n: int) -> str:
    return f"o-{seed}-{n}"


#: Shop names: a word of the seller's region, then one of the trade.
_PLACES: dict[str, tuple[str, ...]] = {
    "US": ("Maple", "Liberty", "Prairie", "Hudson", "Redwood", "Bayou", "Sunset", "Canyon",
           "Lakeside", "Golden Gate"),
    "GB": ("Thames", "Highland", "Kentish", "Cotswold", "Pennine", "Harbour", "Bramble",
           "Oakwood", "Regent", "Tudor"),
    "TH": ("Siam", "Lanna", "Andaman", "Lotus", "Orchid", "Mekong", "Sukhothai", "Jasmine",
           "Krungthep", "Chao Phraya"),
}
_OTHER_PLACES = ("Harbor", "Cedar", "Silver", "Coral", "North", "Willow", "Copper", "Amber")
_TRADES = ("Goods", "Trading Co.", "Emporium", "Supply", "Outlet", "Market", "Studio", "Works",
           "Corner Shop", "Collective", "Bazaar", "Depot")


class ShopNames:
    """Unique shop names from a stream of their own."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"{seed}-names")
        self.taken: set[str] = set()

    def draw(self, region: str) -> str:
        name = f"{self.rng.choice(_PLACES.get(region, _OTHER_PLACES))} {self.rng.choice(_TRADES)}"
        unique, n = name, 1
        while unique in self.taken:
            n += 1
            unique = f"{name} {n}"
        self.taken.add(unique)
        return unique


@dataclass(frozen=True, slots=True)
class Seller:
    id: str
    region: str
    tier: SellerTier
    name: str = ""
    #: A rebrand: orders placed from this instant on carry ``new_name``.
    renamed_at: datetime | None = None
    new_name: str | None = None

    def name_at(self, at: datetime) -> str:
        """The name the seller trades under at ``at``."""
        if self.renamed_at is not None and self.new_name is not None and at >= self.renamed_at:
            return self.new_name
        return self.name


@dataclass(frozen=True, slots=True)
class OrderSpec:
    n: int
    order_id: str
    region: str
    seller: Seller
    buyer_id: str
    category: str
    amount: Money
    placed_at: datetime
    non_business_day: bool
    seed: int

    @property
    def seller_name(self) -> str:
        """The name the seller trades under when the order is placed."""
        return self.seller.name_at(self.placed_at)


def cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def pick(rng: random.Random, items: Sequence[Any], cumulative: Sequence[float]) -> Any:
    return items[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def pick_weighted(rng: random.Random, weights: Sequence[tuple[str, float]]) -> str:
    return str(pick(rng, [k for k, _ in weights], cumulative([w for _, w in weights])))


class Marketplace:
    """Sellers, buyers and the orders' headers, all from one seed."""

    def __init__(
        self,
        profile: DemoProfile,
        policy: Policy,
        *,
        seed: int,
        orders: int,
        start: datetime,
        end: datetime,
    ) -> None:
        self.profile = profile
        rng = random.Random(seed)
        currencies = dict(profile.currencies)
        regions = [(c, w) for c, w in profile.regions if c in policy.regions and c in currencies]
        if not regions:
            raise DemoError(
                "the policy in force has none of the demo's regions "
                f"({', '.join(c for c, _ in profile.regions)})"
            )
        codes = [c for c, _ in regions]
        region_cum = cumulative([w for _, w in regions])
        named = dict(profile.categories)
        categories = [
            (name, named.get(name, profile.other_category_weight)) for name in policy.categories
        ]
        category_names = [c for c, _ in categories]
        category_cum = cumulative([w for _, w in categories])
        tier_cum = cumulative([t.share for t in profile.tiers])

        def region_of(k: int) -> str:
            # The first ones cover every region, so each has somebody.
            return codes[k] if k < len(codes) else str(pick(rng, codes, region_cum))

        seller_count = max(len(codes), math.ceil(orders / profile.orders_per_seller))
        self.sellers: list[Seller] = []
        by_region: dict[str, list[Seller]] = {c: [] for c in codes}
        popularity: dict[str, list[float]] = {c: [] for c in codes}
        names = ShopNames(seed)
        for k in range(seller_count):
            region = region_of(k)
            tier: SellerTier = pick(rng, profile.tiers, tier_cum)
            name, renamed_at, new_name = names.draw(region), None, None
            if names.rng.random() < profile.rebrands:
                renamed_at = start + (end - start) * names.rng.random()
                new_name = names.draw(region)
            seller = Seller(f"s-{seed}-{k + 1}", region, tier, name, renamed_at, new_name)
            self.sellers.append(seller)
            by_region[region].append(seller)
            popularity[region].append(rng.paretovariate(profile.seller_popularity))
        seller_cum = {c: cumulative(popularity[c]) for c in codes}

        buyer_count = max(len(codes), math.ceil(orders / profile.orders_per_buyer))
        buyers: dict[str, list[str]] = {c: [] for c in codes}
        for k in range(buyer_count):
            buyers[region_of(k)].append(f"b-{seed}-{k + 1}")
        self.buyers = buyer_count

        calendars = {c: policy.calendar(c) for c in codes}
        hour_cum = cumulative(profile.local_hour_weights)
        medians = dict(profile.median_amount)
        drafts: list[tuple[datetime, int, tuple[Any, ...]]] = []
        for i in range(orders):
            region = str(pick(rng, codes, region_cum))
            seller = pick(rng, by_region[region], seller_cum[region])
            buyer = rng.choice(buyers[region])
            category = str(pick(rng, category_names, category_cum))
            currency = currencies[region]
            amount = self._amount(rng, currency, medians.get(currency, 25.0))
            placed_at, off_day = self._instant(rng, calendars[region], hour_cum, start, end)
            header = (region, seller, buyer, category, amount, off_day, rng.getrandbits(64))
            drafts.append((placed_at, i, header))
        drafts.sort(key=lambda d: (d[0], d[1]))
        self.orders = [
            OrderSpec(n, order_id(seed, n), r, s, b, c, a, placed_at, off, order_seed)
            for n, (placed_at, _, (r, s, b, c, a, off, order_seed)) in enumerate(drafts, 1)
        ]

    def _amount(self, rng: random.Random, currency: str, median: float) -> Money:
        value = max(rng.lognormvariate(math.log(median), self.profile.amount_spread), 1.0)
        if currency in self.profile.whole_units:
            return Money(Decimal(round(value)).quantize(Decimal("0.01")), currency)
        return Money(Decimal(f"{value:.2f}"), currency)

    def _instant(
        self,
        rng: random.Random,
        calendar: BusinessCalendar,
        hour_cum: Sequence[float],
        start: datetime,
        end: datetime,
    ) -> tuple[datetime, bool]:
        """A local day (weekends and holidays weighted), a local hour, then UTC."""
        tz: ZoneInfo = calendar.tz
        first = start.astimezone(tz).date()
        span = (end.astimezone(tz).date() - first).days
        off_weight = self.profile.non_business_day_weight
        top = max(1.0, off_weight)
        for _ in range(1000):
            day = first + timedelta(days=rng.randrange(span + 1))
            business = calendar.is_business_day(day)
            if rng.random() * top > (1.0 if business else off_weight):
                continue
            hour = bisect.bisect_right(hour_cum, rng.random() * hour_cum[-1])
            local = datetime(
                day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=tz
            )
            at = local.astimezone(UTC)
            if start <= at <= end:
                return at, not business
        at = start + (end - start) * rng.random()  # pragma: no cover - a window of minutes
        return at, not calendar.is_business_day(calendar.local_date(at))
