"""A hand-built history with known simulation answers, and helpers (no tests here).

Six orders placed Friday 2026-11-20 10:00 in Los Angeles (18:00Z), recorded
through the real application under a ManualClock, with deadline sweeps at
three instants. The candidate changes four US rules at once; each US order
is built so that exactly one of them changes its outcome:

- A: shipped Wed 25th, after the 2-day ship_by (Tue 24th) but within 3 days:
  DeadlineMissed -> nothing (a shipment is allowed either way: not
  counterfactual);
- B: contact Mon 23rd, answer Wed 25th: within a 2-day response window, not
  within 1: nothing -> SellerResponseOverdue (a late answer is still allowed:
  not counterfactual);
- C: refund asked Tue 24th, denied Fri 27th: within 2 days, not within 1:
  nothing -> RefundAutoApproved, and the denial could not have happened after
  the candidate approved the refund (counterfactual);
- D: never shipped: auto-cancelled after 7 business days (Wed Dec 2nd), not
  after 9 (Fri Dec 4th, after as_of): DeadlineMissed + OrderAutoCancelled
  -> DeadlineMissed (a day later; no fact follows: not counterfactual);
- E: shipped and delivered on time: nothing either way;
- F: GB (rules unchanged), never shipped: the same under both.

Under the bundled policy each deadline left open until a day before it gets its
reminder (DeadlineApproaching): A's, D's and F's ship-by, B's response, C's
refund decision, under both policies (the candidate's land earlier or later).

As of Fri 2026-12-04 12:00Z (Thanksgiving, Thu Nov 26th, is no business day).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from application.disputes import DisputeDesk
from application.simulation_ports import StoredRow
from application.times import rfc3339
from domain.dispute import Actor, dispute_id_for
from domain.money import Money
from infrastructure.clock import ManualClock

PLACED = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
AS_OF = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SWEEPS = (
    datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
    datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    datetime(2026, 12, 4, 11, 0, tzinfo=UTC),
)
CHANGES: dict[str, Any] = {
    "regions.US.ship_within_business_days": 3,
    "regions.US.seller_response_business_days": 1,
    "regions.US.refund_response_business_days": 1,
    "regions.US.auto_cancel_after_business_days": 9,
}
PLATFORM = Actor("platform", "feed")
SELLER = Actor("seller", "s-us")
BUYER = Actor("buyer", "b-1")
ORDERS = ("A", "B", "C", "D", "E", "F")

EXPECTED_DERIVED = {
    "DeadlineMissed": {"baseline": 3, "candidate": 2},
    "SellerResponseOverdue": {"baseline": 0, "candidate": 1},
    "RefundAutoApproved": {"baseline": 0, "candidate": 1},
    "OrderAutoCancelled": {"baseline": 2, "candidate": 1},
    # Counted like the other derived types: one reminder each for A, B, C, D and F.
    "DeadlineApproaching": {"baseline": 5, "candidate": 5},
    # No shipment here is dated by a deadline it was reported after.
    "DeadlineMissWithdrawn": {"baseline": 0, "candidate": 0},
    # No seller here promised a date.
    "PromiseBroken": {"baseline": 0, "candidate": 0},
}
REMINDED = "DeadlineApproaching"
EXPECTED_SAMPLES = {
    "A": ([REMINDED, "DeadlineMissed"], [REMINDED], False),
    "B": ([REMINDED], [REMINDED, "SellerResponseOverdue"], False),
    "C": ([REMINDED], [REMINDED, "RefundAutoApproved"], True),
    "D": ([REMINDED, "DeadlineMissed", "OrderAutoCancelled"], [REMINDED, "DeadlineMissed"], False),
}
EXPECTED_FACTS = 16  # A 2, B 4, C 5, D 1, E 3, F 1


def at(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def did(order: str) -> UUID:
    return dispute_id_for(order)


def build_history(desk: DisputeDesk, clock: ManualClock) -> None:
    """Record the six orders' history (see the module docstring); leaves the clock at AS_OF."""
    clock.set(PLACED)
    for order in ORDERS:
        gb = order == "F"
        desk.place_order(
            order_id=order,
            buyer_id=BUYER.id,
            seller_id="s-gb" if gb else "s-us",
            region="GB" if gb else "US",
            category="general",
            amount=Money.of("10.00", "GBP") if gb else Money.of("25.00", "USD"),
            placed_at=PLACED,
            actor=PLATFORM,
        )
    steps: list[tuple[datetime, Any]] = [
        (at(23, 18), lambda: [
            desk.ship(did(o), carrier="ups", tracking_number=f"1Z{o}", shipped_at=at(23, 18),
                      actor=SELLER)
            for o in "BCE"
        ]),
        (at(23, 20), lambda: desk.contact_seller(
            did("B"), message="where is it?", channel="chat", actor=BUYER)),
        (at(24, 16), lambda: [
            desk.deliver(did(o), delivered_at=at(24, 16), actor=PLATFORM) for o in "CE"
        ]),
        (at(24, 20), lambda: desk.request_refund(did("C"), reason="damaged", actor=BUYER)),
        (at(25, 17), lambda: desk.respond(did("B"), message="sorry, on its way", actor=SELLER)),
        (at(25, 18), lambda: desk.ship(
            did("A"), carrier="ups", tracking_number="1ZA", shipped_at=at(25, 18), actor=SELLER)),
        (at(27, 18), lambda: desk.decide_refund(
            did("C"), approve=False, reason="used item", actor=SELLER)),
    ]
    steps += [(when, lambda: [desk.record_due(did(o)) for o in ORDERS]) for when in SWEEPS]
    for when, step in sorted(steps, key=lambda s: s[0]):
        clock.set(when)
        step()
    clock.set(AS_OF)


@dataclass
class _RowsScan:
    rows: list[StoredRow]
    batch_size: int

    @property
    def estimated_events(self) -> int:
        return len(self.rows)

    def batches(self) -> Iterator[Sequence[StoredRow]]:
        for start in range(0, len(self.rows), self.batch_size):
            yield self.rows[start : start + self.batch_size]


class RecorderReader:
    """A HistoryReader over any application recorder (the in-memory one in unit tests)."""

    def __init__(self, desk: DisputeDesk, batch_size: int = 3) -> None:
        self.desk = desk
        self.batch_size = batch_size

    @contextmanager
    def scan(self) -> Iterator[_RowsScan]:
        notifications = self.desk.recorder.select_notifications(1, 1_000_000)
        rows: list[StoredRow] = sorted(
            ((n.originator_id, n.originator_version, n.topic, n.state) for n in notifications),
            key=lambda row: (str(row[0]), row[1]),
        )
        yield _RowsScan(rows, self.batch_size)


def samples_by_order(report: dict[str, Any]) -> dict[str, tuple[list[str], list[str], bool]]:
    return {
        s["order_id"]: (s["baseline"], s["candidate"], s["counterfactual"])
        for s in report["samples"]
    }


def assert_known_answers(report: dict[str, Any]) -> None:
    assert report["as_of"] == rfc3339(AS_OF)
    assert report["disputes"] == len(ORDERS)
    assert report["events_replayed"] == EXPECTED_FACTS
    assert report["derived"] == EXPECTED_DERIVED
    assert report["changed_disputes"] == 4
    assert report["retimed_disputes"] == 0
    assert report["counterfactual_disputes"] == 1
    assert report["counterfactual_facts"] == {"RefundDenied": 1}
    assert report["baseline_matches_recorded"] is True, report["mismatched_disputes"]
    assert report["mismatched_disputes"] == []
    assert samples_by_order(report) == EXPECTED_SAMPLES
    sellers = {s["seller_id"]: s for s in report["sellers"]}
    assert sellers["s-us"]["orders"] == 5
    assert sellers["s-us"]["late_dispatch_rate"] == {"baseline": 0.4, "candidate": 0.2}
    assert sellers["s-us"]["auto_cancel_rate"] == {"baseline": 0.2, "candidate": 0.0}
    assert sellers["s-gb"]["late_dispatch_rate"] == {"baseline": 1.0, "candidate": 1.0}
    assert report["refund_exposure"] == [
        {
            "currency": "GBP",
            "baseline": {"amount": "10.00", "currency": "GBP"},
            "candidate": {"amount": "10.00", "currency": "GBP"},
        },
        {
            "currency": "USD",
            "baseline": {"amount": "25.00", "currency": "USD"},
            "candidate": {"amount": "25.00", "currency": "USD"},
        },
    ]
