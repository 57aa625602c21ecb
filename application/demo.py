"""The demo marketplace: a synthetic history driven through the real commands.

Nothing here writes to the store directly. Orders are generated from one seed
(sellers of three reliability tiers, buyers, the policy's regions and
categories, order times over local business and non-business days); then each
order lives its whole life in time order: a ``ManualClock`` is set to each
action's instant and the actor's command is called only when the case view's
``next_actions`` for that role allows it. Derived events are recorded the way
the sweeper records them: before acting at ``t``, every deadline ``D <= t``
is recorded at the sweep tick after ``D`` (or at ``t`` if that tick is later)
with ``app.record_due``. Orders are saved ``batch_orders`` at a time through
``app.batch()``. All behaviour parameters live in ``application.demo_profile``.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from application.demo_profile import DEFAULT_PROFILE, DemoProfile, SellerTier
from application.disputes import DisputeDesk
from application.ports import Clock
from domain.calendar import BusinessCalendar
from domain.dispute import Actor
from domain.errors import DisputeNotFound, DomainError
from domain.money import Money
from domain.policy import Policy

PLATFORM = Actor("platform", "marketplace")
PROGRESS_EVERY = 50  # orders between progress reports

Step = Callable[[datetime], None]
Progress = Callable[[int, int], None]  # (orders done, events recorded so far)

# What each command records (decide_refund is resolved by its answer).
_CARRIERS: dict[str, tuple[tuple[str, str], ...]] = {
    "US": (("UPS", "1Z"), ("USPS", "94"), ("FedEx", "77")),
    "GB": (("Royal Mail", "RM"), ("DPD", "15"), ("Evri", "H0")),
    "TH": (("Thailand Post", "EF"), ("Kerry Express", "KE"), ("Flash Express", "TH")),
}
_DEFAULT_CARRIERS = (("DHL", "JD"),)
_CHANNELS = ("chat", "in_app", "email", "chat", "in_app", "phone")
_EVIDENCE_TEXT = {
    "chat_log": "Chat with the seller about the missing shipment",
    "photo": "Screenshot of the order page showing no tracking",
    "order_record": "Order confirmation and payment receipt",
    "tracking": "Carrier tracking record",
    "other": "Carrier confirms the parcel status",
}
_COMMENTS = {
    1: "Never arrived on time, very disappointed.",
    2: "Slow and hard to reach.",
    3: "OK in the end.",
    4: "Good, arrived as described.",
    5: "Great seller, fast shipping!",
}


class SettableClock(Clock, Protocol):
    """The demo moves time itself (``infrastructure.clock.ManualClock`` fits)."""

    def set(self, t: datetime) -> None: ...


class DemoError(ValueError):
    """The demo cannot run with these arguments or this policy."""


def order_id(seed: int, n: int) -> str:
    return f"o-{seed}-{n}"


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


# ---- the generated population -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Seller:
    id: str
    region: str
    tier: SellerTier


@dataclass(frozen=True, slots=True)
class _OrderSpec:
    n: int
    order_id: str
    region: str
    seller: _Seller
    buyer_id: str
    category: str
    amount: Money
    placed_at: datetime
    non_business_day: bool
    seed: int


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _pick(rng: random.Random, items: Sequence[Any], cumulative: Sequence[float]) -> Any:
    return items[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def _pick_weighted(rng: random.Random, weights: Sequence[tuple[str, float]]) -> str:
    return str(_pick(rng, [k for k, _ in weights], _cumulative([w for _, w in weights])))


class _Marketplace:
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
        region_cum = _cumulative([w for _, w in regions])
        named = dict(profile.categories)
        categories = [
            (name, named.get(name, profile.other_category_weight)) for name in policy.categories
        ]
        category_names = [c for c, _ in categories]
        category_cum = _cumulative([w for _, w in categories])
        tier_cum = _cumulative([t.share for t in profile.tiers])

        def region_of(k: int) -> str:
            # The first ones cover every region, so each has somebody.
            return codes[k] if k < len(codes) else str(_pick(rng, codes, region_cum))

        seller_count = max(len(codes), math.ceil(orders / profile.orders_per_seller))
        self.sellers: list[_Seller] = []
        by_region: dict[str, list[_Seller]] = {c: [] for c in codes}
        popularity: dict[str, list[float]] = {c: [] for c in codes}
        for k in range(seller_count):
            region = region_of(k)
            tier: SellerTier = _pick(rng, profile.tiers, tier_cum)
            seller = _Seller(f"s-{seed}-{k + 1}", region, tier)
            self.sellers.append(seller)
            by_region[region].append(seller)
            popularity[region].append(rng.paretovariate(profile.seller_popularity))
        seller_cum = {c: _cumulative(popularity[c]) for c in codes}

        buyer_count = max(len(codes), math.ceil(orders / profile.orders_per_buyer))
        buyers: dict[str, list[str]] = {c: [] for c in codes}
        for k in range(buyer_count):
            buyers[region_of(k)].append(f"b-{seed}-{k + 1}")
        self.buyers = buyer_count

        calendars = {c: policy.calendar(c) for c in codes}
        hour_cum = _cumulative(profile.local_hour_weights)
        medians = dict(profile.median_amount)
        drafts: list[tuple[datetime, int, tuple[Any, ...]]] = []
        for i in range(orders):
            region = str(_pick(rng, codes, region_cum))
            seller = _pick(rng, by_region[region], seller_cum[region])
            buyer = rng.choice(buyers[region])
            category = str(_pick(rng, category_names, category_cum))
            currency = currencies[region]
            amount = self._amount(rng, currency, medians.get(currency, 25.0))
            placed_at, off_day = self._instant(rng, calendars[region], hour_cum, start, end)
            header = (region, seller, buyer, category, amount, off_day, rng.getrandbits(64))
            drafts.append((placed_at, i, header))
        drafts.sort(key=lambda d: (d[0], d[1]))
        self.orders = [
            _OrderSpec(n, order_id(seed, n), r, s, b, c, a, placed_at, off, order_seed)
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


# ---- tallies ------------------------------------------------------------------------


@dataclass
class _Tally:
    created: int = 0
    already_loaded: int = 0
    events: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_region: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    non_business_day: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    # seller id -> [orders, eligible, late]
    sellers: dict[str, list[int]] = field(default_factory=dict)


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _next_due(view: dict[str, Any]) -> datetime | None:
    due = view["next_due"]
    return datetime.fromisoformat(due["at"]) if due is not None else None


# ---- one order's life -------------------------------------------------------------------


class _Life:
    """One order from placement to the end instant; steps run in time order."""

    def __init__(
        self, run: _Run, spec: _OrderSpec, rng: random.Random, view: dict[str, Any], at: datetime
    ) -> None:
        self.run = run
        self.app = run.app
        self.p = run.profile
        self.spec = spec
        self.tier = spec.seller.tier
        self.rng = rng
        self.id = UUID(view["id"])
        moderator = f"mod-{run.seed}-{rng.randrange(self.p.moderators) + 1}"
        self.actors = {
            "buyer": Actor("buyer", spec.buyer_id),
            "seller": Actor("seller", spec.seller.id),
            "moderator": Actor("moderator", moderator),
            "platform": PLATFORM,
        }
        self.agenda: list[tuple[datetime, int, Step]] = []
        self.seq = itertools.count()
        self.version = 0
        self.view = view
        self.view_role = "platform"
        self.view_at = at
        self.next_due: datetime | None = None
        self._recorded(view, "platform", at, "OrderPlaced")
        self.ship_by = datetime.fromisoformat(view["ship_by"])
        self.cancel_at = datetime.fromisoformat(view["auto_cancel_at"])
        self.ship_at: datetime | None = None
        self.missed = False
        self.contact_pending = False
        self.answer_planned = False
        self.review_planned = False
        self.intent: str | None = None
        self.follow_ups = 0
        self.evidence_ids: list[str] = []

    # ---- plumbing ------------------------------------------------------------------------

    def schedule(self, t: datetime, step: Step) -> None:
        """Plan ``step`` at ``t`` (kept in UTC, whole seconds)."""
        t = t.astimezone(UTC).replace(microsecond=0)
        heapq.heappush(self.agenda, (t, next(self.seq), step))

    def hours(self, bounds: tuple[float, float]) -> timedelta:
        return timedelta(hours=self.rng.uniform(*bounds))

    def days(self, bounds: tuple[float, float]) -> timedelta:
        return timedelta(days=self.rng.uniform(*bounds))

    def live(self) -> None:
        end = self.run.end
        while self.agenda:
            t, _, step = heapq.heappop(self.agenda)
            if t > end:
                break
            step(t)
        self.sweep(end, "platform")

    def sweep(self, t: datetime, role: str) -> None:
        """Record what fell due by ``t`` as the sweeper would, then stand at ``t``."""
        while self.next_due is not None and self.next_due <= t:
            at = min(self.run.tick(self.next_due), t)
            self.run.clock.set(at)
            # In a batch, record_due returns every pending row of the case: keep the new.
            rows = [r for r in self.app.record_due(self.id) if r["sequence"] > self.version]
            if not rows:
                raise RuntimeError(
                    f"{self.spec.order_id}: {self.next_due.isoformat()} was due, nothing recorded"
                )
            for row in rows:
                self.run.tally.by_type[row["type"]] += 1
                if row["type"] == "DeadlineMissed":
                    self.missed = True
            self.version = rows[-1]["sequence"]
            self.see(self.app.case(self.id, self.actors[role]), role, at)
        self.run.clock.set(t)

    def see(self, view: dict[str, Any], role: str, at: datetime) -> None:
        self.view = view
        self.view_role = role
        self.view_at = at
        self.next_due = _next_due(view)

    def _recorded(self, view: dict[str, Any], role: str, at: datetime, event_type: str) -> None:
        added = view["version"] - self.version
        self.run.tally.by_type[event_type] += 1
        if added != 1:  # a command recorded derived events: the sweep missed something
            self.run.tally.by_type["(unexpected)"] += added - 1
        self.version = view["version"]
        self.see(view, role, at)

    def allowed(self, t: datetime, role: str, action: str) -> list[str]:
        """next_actions for ``role`` at ``t``.

        The last view is reused when it was the same role's: every change since
        (a command, a sweep) replaced it, and only ``review`` depends on the time.
        """
        if self.view_role != role or (action == "review" and self.view_at != t):
            self.see(self.app.case(self.id, self.actors[role]), role, t)
        actions: list[str] = self.view["next_actions"]
        return actions

    def act(
        self,
        t: datetime,
        role: str,
        action: str,
        event_type: str,
        command: Callable[[Actor], dict[str, Any]],
    ) -> dict[str, Any] | None:
        """Run ``command`` as ``role`` if the case allows ``action`` now."""
        if action not in self.allowed(t, role, action):
            self.run.tally.skipped[f"{role}.{action}"] += 1
            return None
        try:
            view = command(self.actors[role])
        except DomainError as exc:
            self.run.tally.refused[f"{role}.{action}: {exc.code}"] += 1
            self.see(self.app.case(self.id, self.actors[role]), role, t)
            return None
        self._recorded(view, role, t, event_type)
        return view

    # ---- the state, as the last view shows it --------------------------------------------

    @property
    def shipped(self) -> bool:
        return self.view["shipment"] is not None

    @property
    def delivered(self) -> bool:
        shipment = self.view["shipment"]
        return shipment is not None and shipment["delivered_at"] is not None

    @property
    def finished(self) -> bool:
        return self.view["status"] in ("cancelled", "closed")

    @property
    def refund_status(self) -> str | None:
        refund = self.view["refund"]
        return None if refund is None else str(refund["status"])

    @property
    def refunded_in_full(self) -> bool:
        """A full refund was approved or paid: the seller no longer ships."""
        refund = self.view["refund"]
        return (
            refund is not None
            and refund["status"] in ("approved", "paid")
            and refund["amount"]["amount"] == self.view["amount"]["amount"]
        )

    def carrier(self) -> tuple[str, str]:
        name, prefix = self.rng.choice(_CARRIERS.get(self.spec.region, _DEFAULT_CARRIERS))
        return name, f"{prefix}{self.rng.getrandbits(48):012X}"

    # ---- the story ------------------------------------------------------------------------

    def start(self) -> None:
        p, tier, rng = self.p, self.tier, self.rng
        placed = self.spec.placed_at
        plan = rng.random()
        if plan < tier.on_time:
            delay = (self.ship_by - placed) * rng.uniform(*p.on_time_fraction)
            ship_at = placed + max(delay, timedelta(hours=p.min_ship_hours))
            self.ship_at = min(ship_at, self.ship_by - timedelta(minutes=1))
        elif plan < tier.on_time + tier.late and self.cancel_at - self.ship_by > timedelta(hours=2):
            delay = (self.cancel_at - self.ship_by) * rng.uniform(*p.late_fraction)
            ship_at = self.ship_by + max(delay, timedelta(hours=1))
            self.ship_at = min(ship_at, self.cancel_at - timedelta(hours=1))
        if self.ship_at is not None:
            self.schedule(self.ship_at, self.ship)
        if rng.random() < p.early_contact:
            self.schedule(placed + self.hours(p.early_contact_hours), self.early_contact)
        if rng.random() < p.notices_late:
            self.schedule(self.ship_by + self.hours(p.patience_hours), self.notice_late)
        if rng.random() < p.reviews_unhappy:
            self.schedule(self.cancel_at + self.days(p.review_days), self.review_if_cancelled)

    def ship(self, t: datetime) -> None:
        role = "platform" if self.rng.random() < self.p.platform_reports_shipment else "seller"
        self.sweep(t, role)
        if self.shipped or self.finished or self.refunded_in_full:
            return
        carrier, tracking = self.carrier()
        done = self.act(
            t,
            role,
            "ship",
            "OrderShipped",
            lambda a: self.app.ship(
                self.id, carrier=carrier, tracking_number=tracking, shipped_at=t, actor=a
            ),
        )
        if done is not None and self.rng.random() >= self.p.lost_in_transit:
            transit = self.run.transit.get(self.spec.region, (2.0, 5.0))
            self.schedule(t + self.days(transit), self.deliver)

    def deliver(self, t: datetime) -> None:
        self.sweep(t, "platform")
        if not self.shipped or self.delivered or self.finished:
            return
        done = self.act(
            t,
            "platform",
            "deliver",
            "OrderDelivered",
            lambda a: self.app.deliver(self.id, delivered_at=t, actor=a),
        )
        if done is None:
            return
        if self.rng.random() < self.p.asks_after_delivery:
            self.schedule(t + self.days(self.p.question_days), self.ask_question)
        if self.rng.random() < self.p.returns:
            self.schedule(t + self.days(self.p.return_request_days), self.request_return)
        if self.rng.random() < self.p.reviews_delivered:
            self.plan_review(t + self.days(self.p.review_days))

    def contact(self, t: datetime, message: str) -> bool:
        channel = self.rng.choice(_CHANNELS)
        done = self.act(
            t,
            "buyer",
            "contact_seller",
            "SellerContacted",
            lambda a: self.app.contact_seller(self.id, message=message, channel=channel, actor=a),
        )
        if done is None:
            return False
        self.contact_pending = True
        if not self.answer_planned and self.rng.random() < self.tier.responds:
            self.answer_planned = True
            self.schedule(t + self.hours(self.tier.response_hours), self.answer)
        return True

    def early_contact(self, t: datetime) -> None:
        self.sweep(t, "buyer")
        if self.shipped or self.finished or self.view["refund"] is not None:
            return
        self.contact(t, "Hi, when will my order ship?")

    def ask_question(self, t: datetime) -> None:
        self.sweep(t, "buyer")
        if not self.finished:
            self.contact(t, "Thanks, it arrived. How do I care for it?")

    def answer(self, t: datetime) -> None:
        self.answer_planned = False
        self.sweep(t, "seller")
        if not self.contact_pending or self.finished:
            return
        promised = None
        if (
            self.ship_at is not None
            and self.ship_at > t
            and not self.shipped
            and self.rng.random() < self.tier.promises_date
        ):
            promised = self.ship_at.astimezone(self.run.zones[self.spec.region]).date()
        message = (
            f"Sorry for the delay, it ships by {promised.isoformat()}."
            if promised
            else "We are looking into it."
        )
        done = self.act(
            t,
            "seller",
            "respond",
            "SellerResponded",
            lambda a: self.app.respond(
                self.id, message=message, promised_ship_date=promised, actor=a
            ),
        )
        if done is not None:
            self.contact_pending = False

    def notice_late(self, t: datetime) -> None:
        self.sweep(t, "buyer")
        if self.shipped or self.finished or self.view["refund"] is not None:
            return
        if self.view["intervention"] is not None:
            return
        if self.rng.random() < self.p.contacts_first:
            if self.contact(t, "My order has not shipped and the deadline has passed."):
                self.schedule(t + self.hours(self.p.follow_up_hours), self.follow_up)
        else:
            self.request_refund(t, "The order did not ship in time.")

    def follow_up(self, t: datetime) -> None:
        self.sweep(t, "buyer")
        if self.shipped or self.finished or self.view["refund"] is not None:
            return
        if self.view["intervention"] is not None:
            return
        if self.intent is None:
            roll = self.rng.random()
            escalate, refund = self.p.escalates, self.p.escalates + self.p.asks_refund
            self.intent = "escalate" if roll < escalate else "refund" if roll < refund else "wait"
        if self.intent == "refund":
            self.request_refund(t, "The seller did not ship; please refund me.")
            return
        if self.intent != "escalate":
            return
        if "request_intervention" not in self.allowed(t, "buyer", "request_intervention"):
            self.follow_ups += 1
            if self.follow_ups < self.p.follow_ups:
                self.schedule(t + self.hours(self.p.follow_up_hours), self.follow_up)
            return
        reason = (
            "not_shipped" if self.view["status"] != "awaiting_seller" else "seller_unresponsive"
        )
        self.escalate(t, reason, "The order never shipped and the seller did not fix it.")

    def add_evidence(
        self, t: datetime, role: str, kind: str, reference: str | None = None
    ) -> dict[str, Any] | None:
        description = _EVIDENCE_TEXT[kind]
        return self.act(
            t,
            role,
            "add_evidence",
            "EvidenceAdded",
            lambda a: self.app.add_evidence(
                self.id, kind=kind, description=description, reference=reference, actor=a
            ),
        )

    def gather_evidence(self, t: datetime) -> None:
        for kind, chance in self.p.evidence:
            if self.rng.random() >= chance:
                continue
            view = self.add_evidence(t, "buyer", kind, f"{kind}-{self.rng.getrandbits(32):08x}")
            if view is not None:
                self.evidence_ids.append(str(view["evidence"][-1]["id"]))

    def escalate(self, t: datetime, reason: str, statement: str) -> None:
        self.gather_evidence(t)
        evidence = list(self.evidence_ids)
        done = self.act(
            t,
            "buyer",
            "request_intervention",
            "InterventionRequested",
            lambda a: self.app.request_intervention(
                self.id, reason=reason, statement=statement, evidence_ids=evidence, actor=a
            ),
        )
        if done is None:
            return
        ruling_at = t + self.hours(self.p.ruling_hours)
        self.schedule(ruling_at, self.rule)
        if self.rng.random() < self.tier.adds_evidence:
            self.schedule(t + (ruling_at - t) * self.rng.random(), self.seller_evidence)

    def seller_evidence(self, t: datetime) -> None:
        self.sweep(t, "seller")
        if not self.finished:
            self.add_evidence(t, "seller", "tracking" if self.shipped else "chat_log")

    def rule(self, t: datetime) -> None:
        p, rng = self.p, self.rng
        self.sweep(t, "moderator")
        if self.finished or "rule" not in self.allowed(t, "moderator", "rule"):
            return
        if rng.random() < p.moderator_evidence:
            self.add_evidence(t, "moderator", "other")
        if rng.random() < p.notes:
            note = "Seller history checked; see the carrier record."
            self.act(
                t,
                "moderator",
                "add_note",
                "NoteAdded",
                lambda a: self.app.add_note(self.id, text=note, actor=a),
            )
        outcome, reason_code, refund, new_ship_by = self.choose_outcome(t)
        done = self.act(
            t,
            "moderator",
            "rule",
            "InterventionResolved",
            lambda a: self.app.rule(
                self.id,
                outcome=outcome,
                reason_code=reason_code,
                refund_amount=refund,
                new_ship_by=new_ship_by,
                actor=a,
            ),
        )
        if done is None:
            return
        if outcome in ("refund_full", "refund_partial"):
            self.after_approval(t, return_required=bool(done["refund"]["return_required"]))
        elif outcome == "seller_must_ship" and new_ship_by is not None:
            if rng.random() < self.tier.complies:
                self.ship_at = t + (new_ship_by - t) * rng.uniform(0.1, 0.9)
                self.schedule(self.ship_at, self.ship)
        elif self.shipped and rng.random() < p.closes_rejected:
            self.schedule(t + self.hours(p.close_hours), self.close_by_moderator)

    def choose_outcome(self, t: datetime) -> tuple[str, str, Money | None, datetime | None]:
        p, rng = self.p, self.rng
        outcome = _pick_weighted(rng, p.outcomes)
        amount = Money.of(self.view["amount"]["amount"], self.view["amount"]["currency"])
        refund = self.view["refund"]
        paid = Decimal(refund["paid_amount"]["amount"]) if refund and refund["paid_amount"] else 0
        remaining = amount.amount - paid
        new_ship_by: datetime | None = None
        if outcome == "seller_must_ship":
            new_ship_by = (t + self.hours(p.new_ship_by_hours)).replace(microsecond=0)
            if self.shipped or new_ship_by >= self.cancel_at - timedelta(hours=1):
                outcome, new_ship_by = "refund_full", None
        partial: Money | None = None
        if outcome == "refund_partial":
            unit = Decimal("1") if amount.currency in p.whole_units else Decimal("0.01")
            value = (amount.amount * Decimal(str(rng.uniform(*p.partial_share)))).quantize(unit)
            if 0 < value < remaining:
                partial = Money(value.quantize(Decimal("0.01")), amount.currency)
            else:
                outcome = "refund_full"
        if outcome in ("refund_full", "refund_partial") and remaining <= 0:
            outcome, partial = "claim_rejected", None
        reason = {
            "refund_full": "seller_did_not_ship" if not self.shipped else "item_not_received",
            "refund_partial": "delay_compensation",
            "seller_must_ship": "seller_given_last_chance",
            "claim_rejected": "shipment_in_transit" if self.shipped else "insufficient_evidence",
        }[outcome]
        return outcome, reason, partial, new_ship_by

    def request_refund(self, t: datetime, reason: str) -> None:
        view = self.act(
            t,
            "buyer",
            "request_refund",
            "RefundRequested",
            lambda a: self.app.request_refund(self.id, reason=reason, actor=a),
        )
        if view is None:
            return
        due = _at(view["deadlines"]["refund_response_due"])
        if due is None:
            return
        if self.rng.random() < self.tier.answers_refund:
            self.schedule(
                t + (due - t) * self.rng.uniform(*self.p.refund_answer_fraction), self.decide
            )
        else:  # the window closes and the policy approves it
            self.after_approval(due, return_required=bool(view["refund"]["return_required"]))

    def decide(self, t: datetime) -> None:
        self.sweep(t, "seller")
        if self.refund_status != "requested":
            return
        approve = self.rng.random() < self.tier.approves_refund
        reason = None if approve else "The order is on its way."
        view = self.act(
            t,
            "seller",
            "decide_refund",
            "RefundApproved" if approve else "RefundDenied",
            lambda a: self.app.decide_refund(self.id, approve=approve, reason=reason, actor=a),
        )
        if view is None:
            return
        if approve:
            self.after_approval(t, return_required=bool(view["refund"]["return_required"]))
        elif self.rng.random() < self.p.escalates_denial:
            self.schedule(t + self.hours(self.p.escalate_denial_hours), self.escalate_denial)

    def escalate_denial(self, t: datetime) -> None:
        self.sweep(t, "buyer")
        if self.finished or self.view["intervention"] is not None:
            return
        if "request_intervention" not in self.allowed(t, "buyer", "request_intervention"):
            return
        self.escalate(t, "refund_denied", "The seller refused my refund.")

    def after_approval(self, t: datetime, *, return_required: bool) -> None:
        if return_required:
            if self.rng.random() < self.p.ships_return:
                self.schedule(t + self.hours(self.p.return_ship_hours), self.ship_return)
        elif self.rng.random() < self.p.pays_refund:
            self.schedule(t + self.hours(self.p.pay_hours), self.pay)

    def request_return(self, t: datetime) -> None:
        self.sweep(t, "buyer")
        if self.finished or self.view["refund"] is not None:
            return
        self.request_refund(t, "The item is not as described; I will send it back.")

    def ship_return(self, t: datetime) -> None:
        self.sweep(t, "buyer")
        carrier, tracking = self.carrier()
        done = self.act(
            t,
            "buyer",
            "return_goods",
            "ReturnShipped",
            lambda a: self.app.ship_return(
                self.id, carrier=carrier, tracking_number=tracking, actor=a
            ),
        )
        if done is not None and self.rng.random() < self.p.receives_return:
            arrival = t + self.days(self.p.return_transit_days)
            self.schedule(arrival + self.hours(self.p.receipt_hours), self.receive_return)

    def receive_return(self, t: datetime) -> None:
        self.sweep(t, "seller")
        done = self.act(
            t,
            "seller",
            "confirm_return_receipt",
            "ReturnReceived",
            lambda a: self.app.receive_return(self.id, actor=a),
        )
        if done is not None and self.rng.random() < self.p.pays_refund:
            self.schedule(t + self.hours(self.p.pay_hours), self.pay)

    def pay(self, t: datetime) -> None:
        self.sweep(t, "platform")
        if self.refund_status != "approved":
            return
        money = self.view["refund"]["amount"]
        amount = Money.of(money["amount"], money["currency"])
        done = self.act(
            t,
            "platform",
            "issue_refund",
            "RefundIssued",
            lambda a: self.app.issue_refund(self.id, amount=amount, actor=a),
        )
        if done is None:
            return
        if self.rng.random() < self.p.closes_after_refund:
            by_platform = self.rng.random() < self.p.platform_closes
            step = self.close_by_platform if by_platform else self.close_by_moderator
            self.schedule(t + self.hours(self.p.close_hours), step)
        if self.rng.random() < self.p.reviews_unhappy:
            self.plan_review(t + self.days(self.p.review_days))

    def close(self, t: datetime, role: str, reason: str) -> None:
        self.sweep(t, role)
        if self.finished:
            return
        self.act(
            t,
            role,
            "close",
            "CaseClosed",
            lambda a: self.app.close_case(self.id, reason=reason, actor=a),
        )

    def close_by_moderator(self, t: datetime) -> None:
        self.close(t, "moderator", "resolved")

    def close_by_platform(self, t: datetime) -> None:
        self.close(t, "platform", "settled")

    def plan_review(self, t: datetime) -> None:
        if not self.review_planned:
            self.review_planned = True
            self.schedule(t, self.review)

    def review_if_cancelled(self, t: datetime) -> None:
        self.sweep(t, "buyer")
        if self.view["status"] == "cancelled" and not self.review_planned:
            self.review_planned = True
            self.review(t)

    def review(self, t: datetime) -> None:
        self.sweep(t, "buyer")
        if self.view["review"] is not None:
            return
        refund = self.refund_status
        if self.view["status"] == "cancelled" or refund in ("approved", "paid"):
            weights = self.p.ratings_unhappy
        elif self.missed:
            weights = self.p.ratings_late
        else:
            weights = self.p.ratings_happy
        rating = self.rng.choices(range(1, 6), weights=weights)[0]
        self.act(
            t,
            "buyer",
            "review",
            "Reviewed",
            lambda a: self.app.review(self.id, rating=rating, comment=_COMMENTS[rating], actor=a),
        )

    # ---- the end ---------------------------------------------------------------------------

    def settle(self) -> None:
        tally = self.run.tally
        tally.events += self.version
        tally.by_status[self.view["status"]] += 1
        figures = tally.sellers.setdefault(self.spec.seller.id, [0, 0, 0])
        figures[0] += 1
        ship_by = datetime.fromisoformat(self.view["ship_by"])
        if self.shipped or ship_by <= self.run.end:
            figures[1] += 1
            figures[2] += int(self.missed)


# ---- the run ------------------------------------------------------------------------------


class _Run:
    def __init__(
        self,
        app: DisputeDesk,
        clock: SettableClock,
        profile: DemoProfile,
        *,
        seed: int,
        end: datetime,
        zones: dict[str, ZoneInfo],
    ) -> None:
        self.app = app
        self.clock = clock
        self.profile = profile
        self.seed = seed
        self.end = end
        self.zones = zones
        self.tally = _Tally()
        self.transit = {code: (lo, hi) for code, lo, hi in profile.transit_days}
        self._interval = profile.sweep_interval.total_seconds()

    def tick(self, at: datetime) -> datetime:
        """The first sweep tick at or after ``at`` (every ``sweep_interval`` from the epoch)."""
        ticks = math.ceil(at.timestamp() / self._interval)
        return datetime.fromtimestamp(ticks * self._interval, UTC)

    def order(self, spec: _OrderSpec) -> None:
        rng = random.Random(spec.seed)
        lag = timedelta(seconds=rng.uniform(*self.profile.feed_lag_seconds))
        at = min(spec.placed_at + lag, self.end).replace(microsecond=0)
        self.clock.set(at)
        tally = self.tally
        try:
            view, created = self.app.place_order(
                order_id=spec.order_id,
                buyer_id=spec.buyer_id,
                seller_id=spec.seller.id,
                region=spec.region,
                category=spec.category,
                amount=spec.amount,
                placed_at=spec.placed_at,
                actor=PLATFORM,
            )
        except DomainError as exc:
            tally.refused[f"platform.place_order: {exc.code}"] += 1
            return
        if not created:
            tally.already_loaded += 1
            return
        tally.created += 1
        tally.by_region[spec.region] += 1
        tally.by_category[spec.category] += 1
        tally.non_business_day += spec.non_business_day
        life = _Life(self, spec, rng, view, at)
        life.start()
        life.live()
        life.settle()


def _tier_figures(market: _Marketplace, sellers: dict[str, list[int]]) -> dict[str, dict[str, Any]]:
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
    market: _Marketplace, sellers: dict[str, list[int]], few: int
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
    market = _Marketplace(profile, policy, seed=seed, orders=orders, start=start, end=end)
    zones = {code: policy.calendar(code).tz for code in policy.regions}
    run = _Run(app, clock, profile, seed=seed, end=end, zones=zones)
    done = 0
    for first in range(0, len(market.orders), profile.batch_orders):
        with app.batch():
            for spec in market.orders[first : first + profile.batch_orders]:
                run.order(spec)
                done += 1
                if progress is not None and done % PROGRESS_EVERY == 0:
                    progress(done, run.tally.events)
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
