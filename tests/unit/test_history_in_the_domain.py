"""What the domain says about history brought in from before the first version:
a version may take effect in the past only where no recorded order falls under
it (the policy ledger), and an import records events at its own time while they
keep their business time (``Dispute.importing``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.dispute import Actor, Dispute
from domain.money import Money
from domain.policy import Policy
from domain.policy_ledger import (
    OrdersPlaced,
    PolicyLedger,
    PolicyWouldRejudgeOrders,
    Span,
)
from domain.requests import RequestStamp
from infrastructure.bootstrap import load_policy

BUNDLED = load_policy(None)  # effective 2026-01-01
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
ANALYST = ("analyst", "a-1")


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def version(name: str, effective_from: datetime) -> Policy:
    return replace(BUNDLED, version=name, effective_from=effective_from)


def ledger_with(*versions: tuple[str, datetime]) -> PolicyLedger:
    ledger = PolicyLedger.start(NOW)
    ledger.adopt_configured(BUNDLED, NOW)
    for name, effective_from in versions:
        ledger.publish(version(name, effective_from), *ANALYST, NOW,
                       placed=_none(ledger, effective_from))
    return ledger


def _none(ledger: PolicyLedger, effective_from: datetime) -> OrdersPlaced | None:
    span = ledger.span_to_check(effective_from, NOW)
    return None if span is None else OrdersPlaced(span, (), 0)


def test_a_version_governs_up_to_the_next_later_effective_from() -> None:
    ledger = ledger_with(("2026-06", at(2026, 6, 1)))
    assert ledger.span_governed(at(2025, 1, 1)) == Span(at(2025, 1, 1), at(2026, 1, 1))
    assert ledger.span_governed(at(2026, 3, 1)) == Span(at(2026, 3, 1), at(2026, 6, 1))
    assert ledger.span_governed(at(2026, 7, 1)) == Span(at(2026, 7, 1), None)
    # Of equal effective_from the one published last is in force: it takes the whole span.
    assert ledger.span_governed(at(2026, 1, 1)) == Span(at(2026, 1, 1), at(2026, 6, 1))
    span = Span(at(2026, 3, 1), at(2026, 6, 1))
    assert at(2026, 3, 1) in span and at(2026, 6, 1) not in span
    assert at(2026, 5, 31) in span and at(2026, 2, 28) not in span


def test_a_version_starting_after_any_accepted_placing_time_needs_no_orders() -> None:
    ledger = ledger_with()
    assert ledger.span_to_check(NOW + timedelta(minutes=6), NOW) is None
    assert ledger.span_to_check(NOW + timedelta(minutes=4), NOW) is not None
    ledger.publish(version("2027-02", at(2027, 2, 1)), *ANALYST, NOW)
    assert ledger.has_published("2027-02")


def test_a_past_version_over_an_empty_span_is_published() -> None:
    ledger = ledger_with(("2025-history", at(2025, 1, 1)))
    assert ledger.has_published("2025-history")


def test_a_past_version_over_recorded_orders_is_refused_naming_them() -> None:
    ledger = ledger_with()
    span = ledger.span_to_check(at(2026, 7, 1), NOW)
    assert span == Span(at(2026, 7, 1), None)
    placed = OrdersPlaced(span, ("o-1", "o-2", "o-3"), 7)
    with pytest.raises(PolicyWouldRejudgeOrders) as refused:
        ledger.publish(version("2026-07", at(2026, 7, 1)), *ANALYST, NOW, placed=placed)
    assert refused.value.code == "policy-would-rejudge-orders"
    assert refused.value.order_ids == ("o-1", "o-2", "o-3")
    assert refused.value.count == 7
    assert "o-1, o-2, o-3, ..." in refused.value.detail
    assert not ledger.has_published("2026-07")


def test_publishing_needs_the_orders_of_the_span_it_would_govern() -> None:
    ledger = ledger_with()
    with pytest.raises(ValueError, match="recorded orders"):
        ledger.publish(version("2026-07", at(2026, 7, 1)), *ANALYST, NOW)
    stale = OrdersPlaced(Span(at(2026, 7, 1), at(2026, 9, 1)), (), 0)
    with pytest.raises(ValueError, match="recorded orders"):
        ledger.publish(version("2026-07", at(2026, 7, 1)), *ANALYST, NOW, placed=stale)


# ---- Dispute.importing ----------------------------------------------------------------

PLACED = datetime(2025, 3, 3, 18, 0, tzinfo=UTC)  # a Monday, 10:00 in Los Angeles


def order(now: datetime) -> Dispute:
    return Dispute.place(
        order_id="h-1", buyer_id="b-1", seller_id="s-1", region="US", category="general",
        amount=Money.of("25.00", "USD"), placed_at=PLACED,
        policy=version("2025", at(2025, 1, 1)),
        actor=Actor("platform", "feed"), now=now,
    )


def test_events_recorded_while_importing_keep_the_import_time_and_their_business_time() -> None:
    d = order(NOW)
    shipped = PLACED + timedelta(days=1)
    stamp = RequestStamp.for_import("fact-1")
    with d.importing(NOW), d.serving(stamp):
        d.ship("ups", "1Z1", shipped, Actor("platform", "feed"), shipped)  # now = business time
    event = d.pending_events[-1]
    assert isinstance(event, Dispute.OrderShipped)
    assert event.timestamp == NOW
    assert event.occurred_at == shipped
    assert event.imported
    assert "fact-1" in d.imported_facts
    assert not hasattr(d, "_recorded_at")  # nothing of the block stays on the case


def test_derived_events_due_by_a_business_time_are_dated_then_and_recorded_now() -> None:
    d = order(NOW)
    policy = version("2025", at(2025, 1, 1))
    with d.importing(NOW), d.serving(RequestStamp.for_import("due")):
        d.record_due(policy, PLACED + timedelta(days=30), PLACED + timedelta(days=30))
    cancelled = next(e for e in d.pending_events if isinstance(e, Dispute.OrderAutoCancelled))
    assert cancelled.occurred_at == d.auto_cancel_at < PLACED + timedelta(days=30)
    assert cancelled.timestamp == NOW
    assert all(e.timestamp == NOW for e in d.pending_events[1:])


def test_outside_the_block_events_are_recorded_at_the_time_the_command_is_given() -> None:
    d = order(NOW)
    later = NOW + timedelta(minutes=1)
    d.ship("ups", "1Z1", NOW, Actor("platform", "feed"), later)
    assert d.pending_events[-1].timestamp == later
    assert not d.pending_events[-1].imported
