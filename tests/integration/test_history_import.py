"""Importing a platform's history from before day one, on SQLite and on PostgreSQL.

A generated history (``bench.history_import.generate``) of orders of 2025 with
their facts, and a few lines that must be refused, is imported twice: the second
run records nothing. Derived events fall due as of the facts' business times;
nothing imported reaches the event feed or a webhook endpoint registered before
the import; a version that would judge imported orders cannot be published.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.event_feed import EventFeed
from application.history_import import HistoryImport, ImportSummary, Rejection
from application.policies import published_versions
from bench.history_import.generate import History, generate
from domain.dispute import Actor, Dispute, dispute_id_for
from domain.money import Money
from domain.policy_ledger import PolicyWouldRejudgeOrders
from infrastructure.clock import ManualClock
from tests.integration.webhook_rig import Rig, rig

ANALYST = Actor("analyst", "a-1")
PLATFORM = Actor("platform", "p-1")
EVERY_TYPE = (
    "dispute.created", "dispute.shipped", "dispute.delivered", "dispute.deadline_missed",
    "dispute.auto_cancelled", "dispute.refund_due", "dispute.refund_paid",
    "dispute.refund_requested", "dispute.refund_approved", "dispute.refund_denied",
    "dispute.seller_contacted", "dispute.seller_responded", "dispute.closed",
    "dispute.deadline_approaching",
)


@pytest.fixture
def hooks(database_url: str, manual_clock: ManualClock) -> Iterator[Rig]:
    with rig(database_url, manual_clock) as made:
        publish(made, "2025-history", "2025-01-01T00:00:00Z")
        yield made


def publish(hooks: Rig, version: str, effective_from: str) -> None:
    document = copy.deepcopy(hooks.desk.current_policy().to_document())
    document.update(version=version, effective_from=effective_from)
    hooks.desk.publish_policy(document, ANALYST)


def run(
    hooks: Rig, text: bytes | io.BytesIO, workers: int = 1
) -> tuple[ImportSummary, list[Rejection]]:
    source = text if isinstance(text, io.BytesIO) else io.BytesIO(text)
    refused: list[Rejection] = []
    summary = HistoryImport.for_desk(hooks.desk).run(source, rejected=refused.append,
                                                     workers=workers)
    return summary, refused


def lines(*facts: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(fact).encode() + b"\n" for fact in facts)


def head(hooks: Rig) -> int:
    return hooks.desk.recorder.max_notification_id() or 0


def stored(hooks: Rig, order_id: str) -> list[Any]:
    return list(hooks.desk.events.get(dispute_id_for(order_id)))


def test_a_generated_history_is_imported_once(hooks: Rig, database_url: str) -> None:
    # Given a webhook endpoint for every type, registered before the import,
    endpoint, _ = hooks.register("history", EVERY_TYPE)
    # and a history of orders with their facts (1,000 on SQLite; fewer on PostgreSQL,
    # whose one transaction per order takes longer), with five lines to refuse,
    orders = 1000 if database_url.startswith("sqlite") else 300
    source = io.BytesIO()
    history: History = generate(source, orders, seed=7)
    before = head(hooks)
    # when it is imported, four orders at a time (on SQLite they take turns),
    first, refused = run(hooks, source, workers=4)
    # every order was created, every line accepted but the five, named by number,
    assert (first.orders, first.orders_created, first.orders_rejected) == (orders, orders, 0)
    assert first.facts_recorded == history.facts
    assert [r.line for r in refused] == sorted(history.bad_lines)  # in the file's order
    assert first.facts_rejected == len(history.bad_lines) == 5
    assert first.derived_recorded > 0
    after_first = head(hooks)
    assert after_first > before
    # and a second run recognises every fact and records nothing.
    second, refused_again = run(hooks, source)
    assert head(hooks) == after_first
    assert (second.orders_unchanged, second.facts_unchanged) == (orders, history.facts)
    assert (second.facts_recorded, second.events_recorded, second.derived_recorded) == (0, 0, 0)
    assert [r.line for r in refused_again] == [r.line for r in refused]

    # Every event is imported history, recorded now and dated at its business time:
    now = hooks.clock.now()
    lives = history.lives
    unshipped = next(o for o, life in lives.items() if life == "unshipped")
    events = stored(hooks, unshipped)
    assert all(e.imported and e.timestamp == now for e in events)
    cancelled = next(e for e in events if isinstance(e, Dispute.OrderAutoCancelled))
    placed = events[0]
    assert cancelled.occurred_at == placed.auto_cancel_at
    assert cancelled.occurred_at.year == 2025
    assert any(isinstance(e, Dispute.RefundIssued) for e in events)  # paid after the cancel
    # an order shipped on time was never missed nor cancelled for being loaded in 2026,
    for order_id in [o for o, life in lives.items() if life == "on_time"][:50]:
        kinds = {type(e).__name__ for e in stored(hooks, order_id)}
        assert {"OrderShipped", "OrderDelivered", "Reviewed"} <= kinds, order_id
        assert not kinds & {"DeadlineMissed", "OrderAutoCancelled"}, order_id
    # and one shipped late missed its deadline at that 2025 deadline.
    late = next(o for o, life in lives.items() if life == "late")
    events = stored(hooks, late)
    missed = next(e for e in events if isinstance(e, Dispute.DeadlineMissed))
    assert missed.occurred_at == events[0].ship_by
    shipped = next(e for e in events if isinstance(e, Dispute.OrderShipped))
    assert missed.occurred_at < shipped.occurred_at

    # Nothing imported is news: not in the feed, not sent to the endpoint.
    assert EventFeed(hooks.desk).feed(PLATFORM, 0, 500).events == []
    assert hooks.drain() == []
    assert hooks.deliveries(endpoint) == []

    # A version taking effect where imported orders were placed cannot be published,
    with pytest.raises(PolicyWouldRejudgeOrders) as refused_version:
        publish(hooks, "2025-06", "2025-06-01T00:00:00Z")
    placed_at = {
        fact["order_id"]: datetime.fromisoformat(fact["placed_at"])
        for fact in map(json.loads, source.getvalue().splitlines()[:history.facts])
        if fact["type"] == "order"
    }
    june_on = [o for o, at in placed_at.items() if at >= datetime(2025, 6, 1, tzinfo=UTC)]
    assert refused_version.value.count == len(june_on)
    assert set(refused_version.value.order_ids) <= set(june_on)
    # but one that governs only a span before them can.
    publish(hooks, "2024", "2024-01-01T00:00:00Z")
    assert [v.version for v in published_versions(hooks.desk)][:2] == ["2024", "2025-history"]


def _order(order_id: str, placed_at: str, **more: Any) -> dict[str, Any]:
    return {"type": "order", "order_id": order_id, "buyer_id": "b-1", "seller_id": "s-1",
            "region": "US", "category": "general",
            "amount": {"amount": "25.00", "currency": "USD"}, "placed_at": placed_at, **more}


def test_a_refused_line_leaves_no_trace_on_its_case(hooks: Rig) -> None:
    # A delivery dated weeks after an order that never shipped by then is refused: as
    # of its time the order was auto-cancelled. The auto-cancel fell due only as of
    # that refused line, so it goes with it, and the shipment on the next line
    # (earlier than the refused line, after the order's last accepted fact) is recorded.
    summary, refused = run(hooks, lines(
        _order("r-1", "2025-03-03T18:00:00Z"),
        {"type": "delivery", "order_id": "r-1", "delivered_at": "2025-03-30T10:00:00Z"},
        {"type": "shipment", "order_id": "r-1", "carrier": "ups", "tracking_number": "1Z",
         "shipped_at": "2025-03-04T10:00:00Z"},
        {"type": "review", "order_id": "r-1", "rating": 9, "at": "2025-03-05T10:00:00Z"},
        {"type": "review", "order_id": "r-1", "rating": 5, "at": "2025-03-05T10:00:00Z"},
    ))
    assert [(r.line, r.order_id) for r in refused] == [(2, "r-1"), (4, "r-1")]
    assert "auto-cancelled" in refused[0].reason and "rating" in refused[1].reason
    kinds = [type(e).__name__ for e in stored(hooks, "r-1")]
    assert kinds[:3] == ["OrderPlaced", "OrderShipped", "Reviewed"]
    assert "OrderAutoCancelled" not in kinds
    assert summary.facts_recorded == 3


def test_lines_refused_for_their_form_or_their_order(hooks: Rig) -> None:
    summary, refused = run(hooks, b"\n".join([
        b"[1, 2]",
        json.dumps({"type": "shipment", "carrier": "ups"}).encode(),
        json.dumps({"type": "delivery", "order_id": "x-1",
                    "delivered_at": "2025-03-04T10:00:00Z"}).encode(),
        json.dumps(_order("x-2", "2025-03-03T18:00:00")).encode(),
        json.dumps(_order("x-3", "2025-03-03T18:00:00Z", colour="red")).encode(),
        json.dumps(_order("x-4", "2024-03-03T18:00:00Z")).encode(),
        json.dumps(_order("x-5", "2027-03-03T18:00:00Z")).encode(),
        json.dumps({"type": "close", "order_id": "x-6", "reason": "done"}).encode(),
        b"",
    ]))
    reasons = {r.line: r.reason for r in refused}
    assert set(reasons) == {1, 2, 3, 4, 5, 6, 7, 8}
    assert "not a JSON object" in reasons[1]
    assert "order_id" in reasons[2]
    assert "order line must come first" in reasons[3]
    assert "UTC offset" in reasons[4]
    assert "colour" in reasons[5]
    assert "no policy was in force" in reasons[6]
    assert "future" in reasons[7]
    assert "needs at" in reasons[8]
    assert summary.orders_rejected == 6 and summary.events_recorded == 0


def test_an_order_on_record_takes_new_facts_and_refuses_other_details(
    hooks: Rig, manual_clock: ManualClock
) -> None:
    # An order the platform fed in live (placed 2026-11-19, under the bundled version)
    placed = manual_clock.now() - timedelta(days=1)
    hooks.desk.place_order(
        order_id="live-1", buyer_id="b-1", seller_id="s-1", region="US", category="general",
        amount=Money.of("25.00", "USD"), placed_at=placed, actor=PLATFORM)
    at = placed.isoformat()
    summary, refused = run(hooks, lines(
        _order("live-1", at),  # the same order: recognised
        _order("live-1", at, buyer_id="b-2"),  # another buyer: refused
        {"type": "seller_contact", "order_id": "live-1", "message": "hi", "channel": "chat",
         "at": (placed + timedelta(hours=2)).isoformat()},
    ))
    assert [r.line for r in refused] == [2]
    assert "buyer_id" in refused[0].reason
    assert (summary.orders_updated, summary.facts_recorded, summary.facts_unchanged) == (1, 1, 1)
    events = stored(hooks, "live-1")
    assert not events[0].imported and events[-1].imported
    assert isinstance(events[-1], Dispute.SellerContacted)


def test_live_events_of_an_imported_case_are_news_its_history_is_not(
    hooks: Rig, manual_clock: ManualClock
) -> None:
    endpoint, _ = hooks.register("live", EVERY_TYPE)
    placed = manual_clock.now() - timedelta(hours=3)
    run(hooks, lines(_order("mixed-1", placed.isoformat())))
    assert hooks.drain() == []
    hooks.ship(UUID(str(dispute_id_for("mixed-1"))))
    sent = hooks.drain()
    assert [s.event["type"] for s in sent] == ["dispute.shipped"]
    assert sent[0].event["order_id"] == "mixed-1"  # its parties, from the imported order
    feed = EventFeed(hooks.desk).feed(PLATFORM, 0, 500).events
    assert [e["type"] for e in feed] == ["dispute.shipped"]
    assert len(hooks.deliveries(endpoint)) == 1
