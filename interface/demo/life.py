"""One demo order's life, in time order, through the application's commands.

A ``Stage`` holds what every order shares (the application, the clock, the
profile, the end instant, the tallies); an ``OrderLife`` keeps an agenda of
steps (buyer, seller, moderator, platform behaviour) and runs them in time
order. Before each step at ``t`` it records what fell due by ``t`` the way the
sweeper does (``app.record_due`` at the first sweep tick after each deadline,
or at ``t``), and a command runs only when the acting role's ``next_actions``
allow it.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from application.disputes import DisputeDesk
from application.evidence_files import EvidenceFiles
from application.ports import Clock
from domain.dispute import Actor
from domain.errors import DomainError
from domain.money import Money
from interface.demo.files import photo, tracking_page
from interface.demo.market import OrderSpec, pick_weighted
from interface.demo.profile import DemoProfile

PLATFORM = Actor("platform", "marketplace")

Step = Callable[[datetime], None]

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
#: What buyers write, by the rating they give.
_COMMENTS: dict[int, tuple[str, ...]] = {
    1: (
        "Never arrived on time, very disappointed.",
        "Waited weeks and had to ask for my money back.",
        "The seller stopped answering. Would not buy again.",
        "Item never shipped despite promises.",
    ),
    2: (
        "Slow and hard to reach.",
        "Arrived late and the box was damaged.",
        "Took several messages to get an answer.",
        "Not as described, and shipping took ages.",
    ),
    3: (
        "OK in the end.",
        "Does the job, but delivery was slower than promised.",
        "Average. The seller did reply eventually.",
        "Fine product, packaging could be better.",
    ),
    4: (
        "Good, arrived as described.",
        "Nice quality, a day later than expected.",
        "Friendly seller, would order again.",
        "Well packed and as pictured.",
    ),
    5: (
        "Great seller, fast shipping!",
        "Exactly as described and arrived early. Thank you!",
        "Excellent communication, highly recommended.",
        "Perfect, better than expected.",
    ),
}
#: What an abusive buyer writes (rated 1); a moderator hides it.
_ABUSIVE = (
    "These clowns are crooks, every one of them. Pathetic losers!",
    "Worst idiots on the platform, I hope your shop burns down.",
    "Total scammers. The owner is a liar and a thief!!!",
)
_HIDE_REASON = "abusive language"


class SettableClock(Clock, Protocol):
    """The demo moves time itself (``infrastructure.clock.ManualClock`` fits)."""

    def set(self, t: datetime) -> None: ...


# ---- tallies ------------------------------------------------------------------------


@dataclass
class Tally:
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


class Stage:
    """What every order of a run shares; ``order()`` places one and lives its life."""

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
        self.tally = Tally()
        self.transit = {code: (lo, hi) for code, lo, hi in profile.transit_days}
        self._interval = profile.sweep_interval.total_seconds()

    @property
    def files(self) -> EvidenceFiles | None:
        """Evidence files' uploads into the current batch (None: no files are kept)."""
        blobs = self.app.blobs
        return EvidenceFiles(self.app, blobs) if blobs is not None else None

    def tick(self, at: datetime) -> datetime:
        """The first sweep tick at or after ``at`` (every ``sweep_interval`` from the epoch)."""
        ticks = math.ceil(at.timestamp() / self._interval)
        return datetime.fromtimestamp(ticks * self._interval, UTC)

    def order(self, spec: OrderSpec) -> None:
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
                seller_name=spec.seller_name,
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
        life = OrderLife(self, spec, rng, view, at)
        life.start()
        life.live()
        life.settle()


class OrderLife:
    """One order from placement to the end instant; steps run in time order."""

    def __init__(
        self, run: Stage, spec: OrderSpec, rng: random.Random, view: dict[str, Any], at: datetime
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
        # Thank-yous, slipping promises and extensions draw from their own stream, so
        # that every other draw of this order stays what it was without them.
        self.lived = random.Random(f"{spec.seed}-lived")
        self.appealing = random.Random(f"{spec.seed}-appeals")  # appeals, likewise
        self.feed = random.Random(f"{spec.seed}-feed")  # shipments the feed reports late
        self._words: random.Random | None = None  # review texts, their hiding, return labels
        self._asking: random.Random | None = None  # a moderator's requests for evidence

    @property
    def words(self) -> random.Random:
        """The stream of review texts, hidden reviews and return labels (made when needed)."""
        if self._words is None:
            self._words = random.Random(f"{self.spec.seed}-words")
        return self._words

    @property
    def asking(self) -> random.Random:
        """The stream of a moderator's evidence requests and their answers."""
        if self._asking is None:
            self._asking = random.Random(f"{self.spec.seed}-asks")
        return self._asking

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
                elif row["type"] == "OrderAutoCancelled" and self.rng.random() < self.p.pays_refund:
                    # The cancel approves the refund; the platform pays what falls due.
                    self.schedule(at + self.hours(self.p.pay_hours), self.pay_cancelled)
            self.version = rows[-1]["sequence"]
            self.see(self.app.case_as_answered(self.id, self.actors[role]), role, at)
        self.run.clock.set(t)

    def see(self, view: dict[str, Any], role: str, at: datetime) -> None:
        self.view = view
        self.view_role = role
        self.view_at = at
        self.next_due = _next_due(view)

    def _recorded(
        self,
        view: dict[str, Any],
        role: str,
        at: datetime,
        event_type: str,
        also: tuple[str, ...] = (),
    ) -> None:
        """``also``: the other events the command records besides ``event_type`` (and
        the refunds that fall due with it)."""
        added = view["version"] - self.version - len(also)
        self.run.tally.by_type[event_type] += 1
        for other in also:
            self.run.tally.by_type[other] += 1
        # An approval (or a received return) may make a refund fall due with it.
        fell_due = len(_dues(view)) - len(_dues(self.view))
        if fell_due > 0:
            self.run.tally.by_type["RefundDue"] += fell_due
            added -= fell_due
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
            self.see(self.app.case_as_answered(self.id, self.actors[role]), role, t)
        actions: list[str] = self.view["next_actions"]
        return actions

    def act(
        self,
        t: datetime,
        role: str,
        action: str,
        event_type: str,
        command: Callable[[Actor], dict[str, Any]],
        also: tuple[str, ...] = (),
    ) -> dict[str, Any] | None:
        """Run ``command`` as ``role`` if the case allows ``action`` now."""
        if action not in self.allowed(t, role, action):
            self.run.tally.skipped[f"{role}.{action}"] += 1
            return None
        try:
            view = command(self.actors[role])
        except DomainError as exc:
            self.run.tally.refused[f"{role}.{action}: {exc.code}"] += 1
            self.see(self.app.case_as_answered(self.id, self.actors[role]), role, t)
            return None
        self._recorded(view, role, t, event_type, also)
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
            self.schedule_shipment(self.ship_at)
            if self.ship_at > self.ship_by and self.lived.random() < p.extensions:
                notice = timedelta(hours=self.lived.uniform(*p.extension_notice_hours))
                if self.ship_by - notice > placed:
                    self.schedule(self.ship_by - notice, self.extend)
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

    def schedule_shipment(self, ship_at: datetime) -> None:
        """The parcel leaves at ``ship_at`` and is reported then, except that the carrier
        feed sometimes reports a parcel that left in time only after ship_by."""
        if ship_at <= self.ship_by and self.feed.random() < self.p.late_feed:
            lag = timedelta(hours=self.feed.uniform(*self.p.late_feed_hours))
            self.schedule(self.ship_by + lag, lambda t: self.report_late(t, ship_at))
        else:
            self.schedule(ship_at, self.ship)

    def report_late(self, t: datetime, shipped_at: datetime) -> None:
        """The feed reports at ``t`` the parcel that left at ``shipped_at``, by ship_by: the
        case withdraws each deadline miss on record that the date disproves."""
        self.sweep(t, "platform")
        if self.shipped or self.finished or self.refunded_in_full:
            return
        carrier, tracking = self.carrier()
        withdrawn = tuple(
            "DeadlineMissWithdrawn"
            for entry in self.view["timeline"]
            if entry["type"] == "DeadlineMissed"
            and datetime.fromisoformat(entry["occurred_at"]) >= shipped_at
        )
        done = self.act(
            t,
            "platform",
            "ship",
            "OrderShipped",
            lambda a: self.app.ship(
                self.id, carrier=carrier, tracking_number=tracking, shipped_at=shipped_at, actor=a
            ),
            also=withdrawn,
        )
        if done is not None and withdrawn:  # a withdrawn miss is no late dispatch
            kinds = [entry["type"] for entry in done["timeline"]]
            self.missed = kinds.count("DeadlineMissed") > kinds.count("DeadlineMissWithdrawn")
        if done is not None and self.rng.random() >= self.p.lost_in_transit:
            transit = self.run.transit.get(self.spec.region, (2.0, 5.0))
            arrives = max(shipped_at + self.days(transit), t + timedelta(hours=1))
            self.schedule(arrives, self.deliver)

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
        if self.lived.random() < self.p.thanks_after_delivery:
            thanks = timedelta(days=self.lived.uniform(*self.p.thanks_days))
            self.schedule(t + thanks, self.thank)
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

    def thank(self, t: datetime) -> None:
        """A thank-you: a message that expects no reply (no response window opens)."""
        self.sweep(t, "buyer")
        if self.finished:
            return
        self.act(
            t,
            "buyer",
            "contact_seller",
            "SellerContacted",
            lambda a: self.app.contact_seller(
                self.id, message="Thanks, it arrived!", channel="in_app", expects_reply=False,
                actor=a,
            ),
        )

    def extend(self, t: datetime) -> None:
        """A moderator gives a seller that will ship late until a little after it will."""
        self.sweep(t, "moderator")
        if self.shipped or self.finished or self.ship_at is None:
            return
        slack = timedelta(hours=self.lived.uniform(*self.p.extension_slack_hours))
        new_ship_by = (self.ship_at + slack).replace(microsecond=0)
        done = self.act(
            t,
            "moderator",
            "extend_ship_by",
            "ShipByExtended",
            lambda a: self.app.extend_ship_by(
                self.id, new_ship_by=new_ship_by, reason="Carrier backlog in the region",
                actor=a,
            ),
        )
        if done is not None:
            self.ship_by = datetime.fromisoformat(done["ship_by"])
            self.cancel_at = datetime.fromisoformat(done["auto_cancel_at"])

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
            zone = self.run.zones[self.spec.region]
            promised = self.ship_at.astimezone(zone).date()
            # Some sellers name a day too early: that promise breaks (PromiseBroken).
            if self.lived.random() < self.p.promise_slips:
                promised = max(promised - timedelta(days=1), t.astimezone(zone).date())
        elif not self.shipped and self.lived.random() < self.p.promise_slips * (
            self.tier.promises_date
        ):  # a seller that will not ship in time may name a date all the same
            zone = self.run.zones[self.spec.region]
            promised = t.astimezone(zone).date() + timedelta(days=1)
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
        self, t: datetime, role: str, kind: str, reference: str | None = None,
        file: tuple[str, bytes] | None = None,
    ) -> dict[str, Any] | None:
        """``file``: its name and bytes, uploaded with the evidence (when the
        application keeps evidence files)."""
        description = _EVIDENCE_TEXT[kind]
        files = self.run.files
        if file is not None and files is not None:
            name, content = file
            return self.act(
                t, role, "add_evidence", "EvidenceAdded",
                lambda a: files.upload(self.id, [content], kind=kind, description=description,
                                       reference=reference, filename=name, actor=a),
            )
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
            reference = f"{kind}-{self.rng.getrandbits(32):08x}"
            file = None
            if kind == "photo" and self.asking.random() < self.p.attaches_files:
                file = (f"{reference}.png", photo(self.asking))
            view = self.add_evidence(t, "buyer", kind, reference, file)
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
        if self.asking.random() < self.p.asks_for_evidence:
            self.schedule(t + (ruling_at - t) * self.asking.uniform(0.05, 0.3), self.ask_seller)

    def ask_seller(self, t: datetime) -> None:
        """The moderator asks the seller for the tracking page or the chat; the seller
        often answers before the ruling."""
        self.sweep(t, "moderator")
        if self.finished:
            return
        done = self.act(
            t,
            "moderator",
            "request_evidence",
            "EvidenceRequested",
            lambda a: self.app.request_evidence(
                self.id, party="seller",
                description="Send the carrier's tracking page or your chat with the buyer.",
                actor=a,
            ),
        )
        if done is not None and self.asking.random() < self.tier.adds_evidence:
            self.schedule(t + timedelta(hours=self.asking.uniform(1.0, 30.0)),
                          self.seller_evidence)

    def seller_evidence(self, t: datetime) -> None:
        self.sweep(t, "seller")
        if self.finished:
            return
        file = None
        shipment = self.view.get("shipment")
        if shipment and self.asking.random() < self.p.attaches_files:
            page = tracking_page(self.spec.order_id, shipment["carrier"],
                                 shipment["tracking_number"], t)
            file = (f"tracking-{shipment['tracking_number']}.txt", page)
        self.add_evidence(t, "seller", "tracking" if self.shipped else "chat_log", None, file)

    def rule(self, t: datetime) -> None:
        p, rng = self.p, self.rng
        self.sweep(t, "moderator")
        if self.finished or "rule" not in self.allowed(t, "moderator", "rule"):
            return
        # The moderator claims the case while working it, and lets go once it is ruled
        # (an appeal goes to another moderator).
        claimed = self.act(t, "moderator", "claim", "CaseClaimed",
                           lambda a: self.app.claim(self.id, actor=a))
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
        if claimed is not None:
            self.release_claim(t)
        if done is None:
            return
        self.plan_appeal(t, outcome)
        if outcome in ("refund_full", "refund_partial"):
            self.after_approval(t, return_required=bool(done["refund"]["return_required"]))
        elif outcome == "seller_must_ship" and new_ship_by is not None:
            if rng.random() < self.tier.complies:
                self.ship_at = t + (new_ship_by - t) * rng.uniform(0.1, 0.9)
                self.schedule(self.ship_at, self.ship)
        elif self.shipped and rng.random() < p.closes_rejected:
            self.schedule(t + self.hours(p.close_hours), self.close_by_moderator)

    def release_claim(self, t: datetime) -> None:
        """The moderator releases their claim (never among next actions: only the holder
        may, so it is run as is)."""
        try:
            view = self.app.release_claim(self.id, actor=self.actors["moderator"])
        except DomainError as exc:
            self.run.tally.refused[f"moderator.release_claim: {exc.code}"] += 1
            return
        self._recorded(view, "moderator", t, "ClaimReleased")

    def choose_outcome(self, t: datetime) -> tuple[str, str, Money | None, datetime | None]:
        p, rng = self.p, self.rng
        outcome = pick_weighted(rng, p.outcomes)
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
        reason = {  # codes of the bundled policy's catalogue
            "refund_full": "not_received" if self.shipped else "not_shipped_in_time",
            "refund_partial": "late_dispatch_compensation",
            "seller_must_ship": "seller_given_time_to_ship",
            "claim_rejected": "shipped_on_time" if self.shipped else "claim_not_supported",
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
                self.schedule(t + self.hours(self.p.return_ship_hours), self.return_goods)
        elif self.rng.random() < self.p.pays_refund:
            self.schedule(t + self.hours(self.p.pay_hours), self.pay)

    def request_return(self, t: datetime) -> None:
        self.sweep(t, "buyer")
        if self.finished or self.view["refund"] is not None:
            return
        self.request_refund(t, "The item is not as described; I will send it back.")

    def return_goods(self, t: datetime) -> None:
        self.sweep(t, "buyer")
        carrier, tracking = self.carrier()
        label = self.label_cost()
        done = self.act(
            t,
            "buyer",
            "return_goods",
            "ReturnShipped",
            lambda a: self.app.return_goods(
                self.id, carrier=carrier, tracking_number=tracking, label_cost=label, actor=a
            ),
        )
        if done is not None and self.rng.random() < self.p.receives_return:
            arrival = t + self.days(self.p.return_transit_days)
            self.schedule(arrival + self.hours(self.p.receipt_hours), self.confirm_return_receipt)

    def label_cost(self) -> Money | None:
        """The return label the seller paid for, if the order's policy has the seller pay
        the return and this return ships on one."""
        refund = self.view["refund"]
        if refund is None or refund["return_shipping_payer"] != "seller":
            return None
        currency = self.view["amount"]["currency"]
        costs = {code: (lo, hi) for code, lo, hi in self.p.label_costs}
        if currency not in costs or self.words.random() >= self.p.seller_paid_labels:
            return None
        value = self.words.uniform(*costs[currency])
        if currency in self.p.whole_units:
            return Money.of(str(max(1, round(value))), currency)
        return Money.of(f"{value:.2f}", currency)

    def confirm_return_receipt(self, t: datetime) -> None:
        self.sweep(t, "seller")
        done = self.act(
            t,
            "seller",
            "confirm_return_receipt",
            "ReturnReceived",
            lambda a: self.app.confirm_return_receipt(self.id, actor=a),
        )
        if done is not None and self.rng.random() < self.p.pays_refund:
            self.schedule(t + self.hours(self.p.pay_hours), self.pay)

    def pay_due(self, t: datetime) -> dict[str, Any] | None:
        """The platform pays the oldest refund due that is still open."""
        self.sweep(t, "platform")
        if self.refund_status != "approved":
            return None
        owed = next(
            (d for d in _dues(self.view) if d["status"] == "open" and d["payee"] == "buyer"), None
        )
        if owed is None:
            return None
        left = Decimal(owed["amount"]["amount"]) - Decimal(owed["paid_amount"]["amount"])
        amount = Money.of(str(left), owed["amount"]["currency"])
        return self.act(
            t,
            "platform",
            "issue_refund",
            "RefundIssued",
            lambda a: self.app.issue_refund(
                self.id, amount=amount, due_id=owed["due_id"], actor=a
            ),
        )

    # ---- appeals ---------------------------------------------------------------------------

    def plan_appeal(self, t: datetime, outcome: str) -> None:
        """The party the ruling went against may appeal it (draws of its own stream)."""
        rng = self.appealing
        if rng.random() >= self.p.appeals:
            return
        party = "seller" if outcome in ("refund_full", "refund_partial") else "buyer"
        at = t + timedelta(hours=rng.uniform(*self.p.appeal_hours))
        self.schedule(at, lambda when: self.appeal(when, party))

    def appeal(self, t: datetime, party: str) -> None:
        self.sweep(t, party)
        self.see(self.app.case_as_answered(self.id, self.actors[party]), party, t)  # a window
        statement = (
            "The seller did ship; the carrier lost track of it."
            if party == "seller"
            else "The order never came and the seller's evidence does not show it did."
        )
        done = self.act(
            t,
            party,
            "appeal",
            "AppealFiled",
            lambda a: self.app.appeal(self.id, statement=statement, actor=a),
        )
        if done is not None:
            rng = self.appealing
            decide_at = t + timedelta(hours=rng.uniform(*self.p.appeal_decision_hours))
            overturn = rng.random() < self.p.overturns
            self.schedule(decide_at, lambda when: self.decide_appeal(when, party, overturn))

    def decide_appeal(self, t: datetime, party: str, overturn: bool) -> None:
        """Another moderator than the one who ruled upholds or overturns the ruling."""
        self.sweep(t, "moderator")
        if "decide_appeal" not in self.allowed(t, "moderator", "decide_appeal"):
            self.run.tally.skipped["moderator.decide_appeal"] += 1
            return
        refund = self.view["refund"]
        ruled_code = str(self.view["intervention"]["reason_code"])
        if party == "buyer" and refund is not None and refund["status"] in ("approved", "paid"):
            overturn = False  # a refund is already under way: nothing to grant
        also: tuple[str, ...] = ()
        if not overturn:
            outcome, code = None, ruled_code
        elif party == "seller":
            outcome = "claim_rejected"
            code = "shipped_on_time" if self.shipped else "claim_not_supported"
            if refund is not None and refund["status"] == "approved":
                also = ("RefundCancelled",)  # approved, not paid: withdrawn
        else:
            outcome = "refund_full"
            code = "not_received" if self.shipped else "not_shipped_in_time"
        reviewer = Actor("moderator", f"mod-{self.run.seed}-appeals")
        done = self.act(
            t,
            "moderator",
            "decide_appeal",
            "AppealDecided",
            lambda a: self.app.decide_appeal(
                self.id,
                decision="overturn" if overturn else "uphold",
                outcome=outcome,
                reason_code=code,
                note="Decided on appeal after a second look at the evidence.",
                actor=reviewer,
            ),
            also,
        )
        if done is None or not overturn:
            return
        if party == "buyer":
            self.after_approval(t, return_required=bool(done["refund"]["return_required"]))
        elif any(d["payee"] == "seller" for d in _dues(done)):
            self.schedule(t + timedelta(hours=self.appealing.uniform(*self.p.pays_seller_hours)),
                          self.pay_seller)

    def pay_seller(self, t: datetime) -> None:
        """The platform makes up to the seller the refund the buyer kept."""
        self.sweep(t, "platform")
        owed = next(
            (d for d in _dues(self.view) if d["status"] == "open" and d["payee"] == "seller"),
            None,
        )
        if owed is None:
            return
        amount = Money.of(owed["amount"]["amount"], owed["amount"]["currency"])
        self.act(
            t,
            "platform",
            "issue_refund",
            "SellerCompensated",
            lambda a: self.app.issue_refund(self.id, amount=amount, due_id=owed["due_id"], actor=a),
        )

    def pay_cancelled(self, t: datetime) -> None:
        self.pay_due(t)

    def pay(self, t: datetime) -> None:
        if self.pay_due(t) is None:
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
        # An order that never shipped is cancelled by the close; the rest falls due.
        cancel = not self.shipped
        done = self.act(
            t,
            role,
            "close",
            "CaseClosed",
            lambda a: self.app.close_case(self.id, reason=reason, cancel_order=cancel, actor=a),
            also=("OrderCancelled",) if cancel else (),
        )
        if done is not None and any(due["status"] == "open" for due in _dues(done)):
            paid_after = timedelta(hours=self.lived.uniform(*self.p.pay_hours))
            self.schedule(t + paid_after, self.pay_cancelled)

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
        words = self.words
        abusive = words.random() < self.p.abusive_reviews
        if abusive:
            rating, comment = 1, words.choice(_ABUSIVE)
        else:
            comment = words.choice(_COMMENTS[rating])
        done = self.act(
            t,
            "buyer",
            "review",
            "Reviewed",
            lambda a: self.app.review(self.id, rating=rating, comment=comment, actor=a),
        )
        if done is not None and abusive and words.random() < self.p.hides_abusive:
            self.schedule(t + timedelta(hours=words.uniform(*self.p.hide_hours)), self.hide_review)

    def hide_review(self, t: datetime) -> None:
        """A moderator hides an abusive review from buyers."""
        self.sweep(t, "moderator")
        self.act(
            t,
            "moderator",
            "set_review_visibility",
            "ReviewVisibilityChanged",
            lambda a: self.app.set_review_visibility(
                self.id, hidden=True, reason=_HIDE_REASON, actor=a
            ),
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


def _dues(view: dict[str, Any]) -> list[dict[str, Any]]:
    refund = view["refund"]
    return [] if refund is None else list(refund["dues"])
