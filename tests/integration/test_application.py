"""The application's stories, end to end, on SQLite and on PostgreSQL.

Each test gets an empty store (``database_url``) and a manual clock that starts
on Friday 2026-11-20 10:00 in Los Angeles, when the order is placed: ship_by is
the end of Tuesday 11-24 and the auto-cancel instant the end of Wednesday 12-02.
The bundled policy reminds the seller a day before each deadline: ship_by's
reminder (DeadlineApproaching) is dated the end of Monday 11-23.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from application.disputes import COMMAND_ROLES, DisputeDesk, Forbidden
from application.times import rfc3339
from domain.dispute import Actor, dispute_id_for
from domain.errors import (
    ConcurrentModification,
    DisputeNotFound,
    InterventionNotAllowed,
    InvalidInput,
    InvalidRating,
    OrderCancelled,
    OrderConflict,
    RefundNotAllowed,
)
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings

LA = ZoneInfo("America/Los_Angeles")
PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
SELLER = Actor("seller", "s-1")
MODERATOR = Actor("moderator", "m-1")
OTHER_BUYER = Actor("buyer", "b-2")
OTHER_SELLER = Actor("seller", "s-2")
ANALYST = Actor("analyst", "a-1")

SHIP_BY = "2026-11-25T07:59:59Z"
SHIP_BY_REMINDER = "2026-11-24T07:59:59Z"
AUTO_CANCEL = "2026-12-03T07:59:59Z"
ROW_KEYS = {
    "sequence", "type", "occurred_at", "recorded_at", "actor_role", "actor_id",
    "policy_version", "data",
}


def la(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LA)


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def build(database_url: str, clock: ManualClock) -> DisputeDesk:
    return build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}), clock=clock
    )


@pytest.fixture
def app(database_url: str, manual_clock: ManualClock) -> Iterator[DisputeDesk]:
    application = build(database_url, manual_clock)
    try:
        yield application
    finally:
        application.close()


def place(app: DisputeDesk, order_id: str = "order-1", **kw: Any) -> tuple[dict[str, Any], bool]:
    args: dict[str, Any] = {
        "order_id": order_id,
        "buyer_id": BUYER.id,
        "seller_id": SELLER.id,
        "region": "US",
        "category": "general",
        "amount": usd("25.00"),
        "placed_at": app.clock.now(),
        "actor": PLATFORM,
    }
    args.update(kw)
    return app.place_order(**args)


def opened(app: DisputeDesk, order_id: str = "order-1") -> UUID:
    view, created = place(app, order_id)
    assert created
    return UUID(view["id"])


def types(app: DisputeDesk, dispute_id: UUID) -> list[str]:
    return [row["type"] for row in app.history(dispute_id, MODERATOR)]


def assert_gap_free(rows: list[dict[str, Any]]) -> None:
    assert [row["sequence"] for row in rows] == list(range(1, len(rows) + 1))


# ---- placing orders ----------------------------------------------------------


def test_place_order_opens_the_case_once(app: DisputeDesk, manual_clock: ManualClock) -> None:
    view, created = place(app)
    assert created is True
    assert view["id"] == str(dispute_id_for("order-1"))
    assert view["status"] == "awaiting_shipment"
    assert (view["ship_by"], view["auto_cancel_at"]) == (SHIP_BY, AUTO_CANCEL)
    assert view["amount"] == {"amount": "25.00", "currency": "USD"}
    assert view["version"] == 1 and view["policy_version"] == "2027-01-default"

    placed_at = manual_clock.now()
    manual_clock.advance(timedelta(minutes=1))
    again, created_again = place(app, placed_at=placed_at)
    assert created_again is False
    assert again["id"] == view["id"] and again["version"] == 1
    with pytest.raises(OrderConflict, match="amount"):
        place(app, placed_at=placed_at, amount=usd("99.00"))
    assert types(app, UUID(view["id"])) == ["OrderPlaced"]


def test_a_back_dated_order_records_what_already_fell_due(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    manual_clock.set(la(11, 25, 9))
    view, created = place(app, placed_at=la(11, 20, 10))
    assert created and view["status"] == "overdue" and view["version"] == 3
    rows = app.history(UUID(view["id"]), MODERATOR)
    assert [(r["type"], r["occurred_at"]) for r in rows[1:]] == [
        ("DeadlineApproaching", SHIP_BY_REMINDER), ("DeadlineMissed", SHIP_BY),
    ]


# ---- full stories ------------------------------------------------------------


def test_unshipped_order_to_ruling_refund_and_review(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    dispute = opened(app)

    manual_clock.set(la(11, 25, 9))  # Wednesday: the deadline passed
    recorded = app.record_due(dispute)
    assert [(r["type"], r["occurred_at"]) for r in recorded] == [
        ("DeadlineApproaching", SHIP_BY_REMINDER), ("DeadlineMissed", SHIP_BY),
    ]
    assert app.case(dispute, BUYER)["status"] == "overdue"

    manual_clock.set(la(11, 25, 10))
    view = app.contact_seller(dispute, message="where is it?", channel="chat", actor=BUYER)
    assert view["status"] == "awaiting_seller"
    assert view["deadlines"]["seller_response_due"] == "2026-12-01T07:59:59Z"
    view = app.add_evidence(
        dispute, kind="chat_log", description="the unanswered chat", reference="chat://1",
        actor=BUYER,
    )
    [evidence] = view["evidence"]
    assert evidence["kind"] == "chat_log"

    manual_clock.set(la(12, 1, 9))  # Tuesday: the seller never answered
    view = app.request_intervention(
        dispute, reason="seller_unresponsive", statement="no answer, no parcel",
        evidence_ids=[evidence["id"]], actor=BUYER,
    )
    assert view["status"] == "under_review"
    assert "rule" in app.case(dispute, MODERATOR)["next_actions"]

    manual_clock.set(la(12, 1, 11))
    view = app.rule(dispute, outcome="refund_full", reason_code="seller_unresponsive",
                    actor=MODERATOR)
    assert view["refund"]["status"] == "approved"
    assert view["refund"]["amount"] == {"amount": "25.00", "currency": "USD"}
    view = app.issue_refund(dispute, amount=usd("25.00"), actor=PLATFORM)
    assert view["status"] == "refunded"
    assert view["refund"]["paid_amount"] == {"amount": "25.00", "currency": "USD"}
    view = app.review(dispute, rating=1, comment="never shipped", actor=BUYER)
    assert view["review"]["rating"] == 1

    manual_clock.set(la(12, 10))  # fully refunded: no auto-cancel follows
    assert app.record_due(dispute) == []
    rows = app.history(dispute, MODERATOR)
    assert [r["type"] for r in rows] == [
        "OrderPlaced", "DeadlineApproaching", "DeadlineMissed", "SellerContacted",
        "EvidenceAdded", "DeadlineApproaching", "SellerResponseOverdue",
        "InterventionRequested", "InterventionResolved", "RefundDue", "RefundIssued", "Reviewed",
    ]
    assert_gap_free(rows)
    reminder, overdue = rows[5:7]
    assert reminder["data"]["deadline"] == "seller_response"
    assert reminder["occurred_at"] == "2026-11-30T07:59:59Z"  # a day before it is due
    assert overdue["occurred_at"] == "2026-12-01T07:59:59Z"
    assert datetime.fromisoformat(overdue["recorded_at"]) == la(12, 1, 9)
    assert datetime.fromisoformat(overdue["data"]["contacted_at"]) == la(11, 25, 10)
    assert rows[7]["data"]["evidence_ids"] == [evidence["id"]]
    assert rows[8]["data"]["refund_amount"] == {"amount": "25.00", "currency": "USD"}
    assert (rows[9]["data"]["reason"], rows[9]["data"]["due_id"]) == ("ruling", f"{dispute}:1")
    assert rows[10]["data"]["due_id"] == f"{dispute}:1"


def test_delivered_order_refund_with_return(app: DisputeDesk, manual_clock: ManualClock) -> None:
    dispute = opened(app)
    manual_clock.set(la(11, 20, 16))
    app.ship(dispute, carrier="UPS", tracking_number="1Z9", shipped_at=la(11, 20, 15),
             actor=SELLER)
    manual_clock.set(la(11, 23, 12))
    view = app.deliver(dispute, delivered_at=la(11, 23, 11), actor=PLATFORM)
    assert view["status"] == "delivered"
    assert view["shipment"]["delivered_at"] == rfc3339(la(11, 23, 11))

    manual_clock.set(la(11, 24, 9))
    view = app.request_refund(dispute, reason="arrived broken", actor=BUYER)
    assert view["status"] == "refund_requested"
    assert view["refund"]["amount"] == {"amount": "25.00", "currency": "USD"}
    assert view["refund"]["return_required"] is True
    assert view["deadlines"]["refund_response_due"] == "2026-11-28T07:59:59Z"
    view = app.decide_refund(dispute, approve=True, actor=SELLER)
    assert "return_goods" in app.case(dispute, BUYER)["next_actions"]
    view = app.return_goods(dispute, carrier="USPS", tracking_number="RET-1", actor=BUYER)
    assert view["status"] == "return_in_transit"

    manual_clock.set(la(11, 27, 10))
    app.confirm_return_receipt(dispute, actor=SELLER)
    view = app.issue_refund(dispute, amount=usd("25.00"), actor=PLATFORM)
    assert view["status"] == "refunded"
    rows = app.history(dispute, MODERATOR)
    assert [r["type"] for r in rows] == [
        "OrderPlaced", "OrderShipped", "OrderDelivered", "RefundRequested", "RefundApproved",
        "ReturnShipped", "ReturnReceived", "RefundDue", "RefundIssued",
    ]
    assert_gap_free(rows)
    assert rows[3]["data"]["return_required"] is True


def test_unshipped_order_is_auto_cancelled(app: DisputeDesk, manual_clock: ManualClock) -> None:
    dispute = opened(app)
    manual_clock.set(la(12, 3, 9))
    recorded = app.record_due(dispute)
    assert [(r["type"], r["occurred_at"]) for r in recorded] == [
        ("DeadlineApproaching", SHIP_BY_REMINDER), ("DeadlineMissed", SHIP_BY),
        ("OrderAutoCancelled", AUTO_CANCEL), ("RefundDue", AUTO_CANCEL),
    ]
    for row in recorded:
        assert (row["actor_role"], row["actor_id"]) == ("system", "policy")
        assert datetime.fromisoformat(row["recorded_at"]) == la(12, 3, 9)
    for row in recorded[:3]:
        assert row["policy_version"] == "2027-01-default"
    assert recorded[2]["data"]["refund_amount"] == {"amount": "25.00", "currency": "USD"}
    assert recorded[3]["data"]["reason"] == "auto_cancelled"
    view = app.case(dispute, BUYER)
    assert view["status"] == "cancelled"
    # The auto-cancel approves the refund; the platform still has to pay it.
    assert view["refund"]["status"] == "approved"
    assert app.record_due(dispute) == []  # the sweep is idempotent
    with pytest.raises(OrderCancelled):
        app.ship(dispute, carrier="UPS", tracking_number="1", shipped_at=la(12, 3, 9),
                 actor=SELLER)
    assert len(app.history(dispute, MODERATOR)) == 5
    view = app.issue_refund(dispute, amount=usd("25.00"), actor=PLATFORM)
    assert (view["status"], view["refund"]["status"]) == ("cancelled", "paid")
    assert view["refund"]["dues"][0]["status"] == "paid"
    with pytest.raises(RefundNotAllowed, match="paid already"):
        app.issue_refund(dispute, amount=usd("25.00"), actor=PLATFORM)


def test_a_late_shipment_records_the_missed_deadline_first(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    dispute = opened(app)
    manual_clock.set(la(11, 25, 9))
    view = app.ship(dispute, carrier="UPS", tracking_number="1", shipped_at=la(11, 25, 8),
                    actor=PLATFORM)
    assert view["status"] == "shipped"
    rows = app.history(dispute, MODERATOR)
    assert [(r["type"], r["occurred_at"]) for r in rows[1:]] == [
        ("DeadlineApproaching", SHIP_BY_REMINDER), ("DeadlineMissed", SHIP_BY),
        ("OrderShipped", rfc3339(la(11, 25, 8))),
    ]
    assert rows[2]["data"]["ship_by"] == SHIP_BY
    assert [datetime.fromisoformat(r["recorded_at"]) for r in rows[1:]] == [la(11, 25, 9)] * 3


def test_a_shipment_reported_after_ship_by_finds_the_deadline_already_missed(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    """A command first records what a punctual sweeper would have recorded by now.

    DESIGN: DeadlineMissed is recorded at the first sweep after ship_by, so a
    shipment reported later (even dated earlier) finds it on record; the record
    never depends on when sweeps actually ran, and replay reproduces it. Dated
    by ship_by, the shipment then withdraws the miss (the feed was late, not the
    seller); the history keeps both.
    """
    dispute = opened(app)
    manual_clock.set(la(11, 25, 9))  # the feed arrives Wednesday morning...
    view = app.ship(dispute, carrier="UPS", tracking_number="1", shipped_at=la(11, 24, 15),
                    actor=PLATFORM)  # ...for a parcel that left on Tuesday afternoon
    assert types(app, dispute) == [
        "OrderPlaced", "DeadlineApproaching", "DeadlineMissed", "OrderShipped",
        "DeadlineMissWithdrawn",
    ]
    assert view["status"] == "shipped"


def test_a_promise_for_the_local_order_day_is_accepted(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    manual_clock.set(la(11, 20, 20))  # Friday 20:00 in Los Angeles, Saturday 04:00 UTC
    dispute = opened(app)
    view = app.respond(dispute, message="ships tonight", promised_ship_date=date(2026, 11, 20),
                       actor=SELLER)
    assert view["status"] == "seller_responded"


def test_record_due_never_looks_past_the_clock(app: DisputeDesk, manual_clock: ManualClock) -> None:
    dispute = opened(app)
    manual_clock.set(la(11, 24, 23, 59))
    # A later instant is capped at now: the reminder is due, DeadlineMissed not yet.
    assert [r["type"] for r in app.record_due(dispute, now=la(12, 31))] == [
        "DeadlineApproaching"
    ]
    manual_clock.set(la(11, 25, 9))
    assert app.record_due(dispute, now=la(11, 24, 12)) == []  # an earlier one is honoured
    assert [r["type"] for r in app.record_due(dispute)] == ["DeadlineMissed"]
    with pytest.raises(DisputeNotFound):
        app.record_due(dispute_id_for("no-such-order"))


# ---- who may do what ---------------------------------------------------------


def test_another_buyer_or_seller_gets_not_found(app: DisputeDesk) -> None:
    dispute = opened(app)
    with pytest.raises(DisputeNotFound):
        app.case(dispute, OTHER_BUYER)
    with pytest.raises(DisputeNotFound):
        app.contact_seller(dispute, message="hi", channel="chat", actor=OTHER_BUYER)
    with pytest.raises(DisputeNotFound):
        app.case(dispute, OTHER_SELLER)
    with pytest.raises(DisputeNotFound):
        app.ship(dispute, carrier="UPS", tracking_number="1", shipped_at=app.clock.now(),
                 actor=OTHER_SELLER)
    with pytest.raises(DisputeNotFound):
        app.case(dispute_id_for("no-such-order"), MODERATOR)
    assert app.case(dispute, BUYER)["id"] == str(dispute)
    assert app.case(dispute, SELLER)["id"] == str(dispute)
    assert types(app, dispute) == ["OrderPlaced"]


@pytest.mark.parametrize(
    ("call", "actor"),
    [
        (lambda app, d: app.rule(d, outcome="claim_rejected", reason_code="x", actor=BUYER),
         BUYER),
        (lambda app, d: app.contact_seller(d, message="x", channel="chat", actor=SELLER), SELLER),
        (lambda app, d: app.issue_refund(d, amount=usd("1.00"), actor=MODERATOR), MODERATOR),
        (lambda app, d: app.add_note(d, text="x", actor=BUYER), BUYER),
        (lambda app, d: app.close_case(d, reason="x", actor=SELLER), SELLER),
        (lambda app, d: app.history(d, BUYER), BUYER),
        (lambda app, d: app.as_of(d, SELLER, version=1), SELLER),
        (lambda app, d: app.case(d, ANALYST), ANALYST),
        (lambda app, d: place(app, "order-2", actor=BUYER), BUYER),
    ],
    ids=["buyer-rules", "seller-contacts", "moderator-pays", "buyer-notes", "seller-closes",
         "buyer-history", "seller-as-of", "analyst-views", "buyer-places"],
)
def test_roles_are_enforced(app: DisputeDesk, call: Any, actor: Actor) -> None:
    dispute = opened(app)
    with pytest.raises(Forbidden, match=f"^an? {actor.role} may not .*; only "):
        call(app, dispute)
    assert types(app, dispute) == ["OrderPlaced"]


def test_command_roles_table_names_each_command() -> None:
    assert COMMAND_ROLES["rule"] == {"moderator"}
    assert COMMAND_ROLES["ship"] == {"platform", "seller"}
    assert COMMAND_ROLES["add_evidence"] == {"buyer", "seller", "moderator"}
    assert COMMAND_ROLES["close"] == {"moderator", "platform"}
    assert COMMAND_ROLES["history"] == {"moderator"}


# ---- the audit history -------------------------------------------------------


def test_history_rows_are_complete_and_gap_free(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    dispute = opened(app)
    manual_clock.set(la(11, 21, 9))
    app.contact_seller(dispute, message="any news?", channel="email", actor=BUYER)
    manual_clock.set(la(11, 21, 10))
    app.add_note(dispute, text="seller called", actor=MODERATOR)
    rows = app.history(dispute, MODERATOR)
    assert_gap_free(rows)
    for row in rows:
        assert set(row) == ROW_KEYS
    placed, contacted, noted = rows
    assert placed == {
        "sequence": 1,
        "type": "OrderPlaced",
        "occurred_at": "2026-11-20T18:00:00Z",
        "recorded_at": "2026-11-20T18:00:00Z",
        "actor_role": "platform",
        "actor_id": "feed",
        "policy_version": "2027-01-default",
        "data": {
            "order_id": "order-1", "buyer_id": "b-1", "seller_id": "s-1", "region": "US",
            "category": "general", "amount": {"amount": "25.00", "currency": "USD"},
            "currency": "USD", "placed_at": "2026-11-20T18:00:00Z", "ship_by": SHIP_BY,
            "auto_cancel_at": AUTO_CANCEL, "seller_name": None,
        },
    }
    assert contacted["type"] == "SellerContacted"
    assert (contacted["actor_role"], contacted["actor_id"]) == ("buyer", "b-1")
    assert contacted["policy_version"] is None
    assert contacted["data"] == {"message": "any news?", "channel": "email", "expects_reply": True}
    assert datetime.fromisoformat(contacted["occurred_at"]) == la(11, 21, 9)
    assert datetime.fromisoformat(contacted["recorded_at"]) == la(11, 21, 9)
    assert (noted["type"], noted["actor_role"], noted["data"]) == (
        "NoteAdded", "moderator", {"text": "seller called"},
    )


def test_buyers_and_sellers_never_see_internal_notes(app: DisputeDesk) -> None:
    dispute = opened(app)
    app.add_note(dispute, text="seller is on a watch list", actor=MODERATOR)
    for actor in (BUYER, SELLER):
        assert [t["type"] for t in app.case(dispute, actor)["timeline"]] == ["OrderPlaced"]
    assert [t["type"] for t in app.case(dispute, MODERATOR)["timeline"]] == [
        "OrderPlaced", "NoteAdded",
    ]


def test_as_of_by_version_and_by_instant(app: DisputeDesk, manual_clock: ManualClock) -> None:
    dispute = opened(app)
    manual_clock.set(la(11, 20, 16))
    app.ship(dispute, carrier="UPS", tracking_number="1", shipped_at=la(11, 20, 15),
             actor=PLATFORM)
    manual_clock.set(la(11, 23, 12))
    app.deliver(dispute, delivered_at=la(11, 23, 11), actor=PLATFORM)

    first = app.as_of(dispute, MODERATOR, version=1)
    assert (first["version"], first["status"], first["shipment"]) == (1, "awaiting_shipment", None)
    assert first["as_of"] == {"version": 1, "at": None}
    second = app.as_of(dispute, MODERATOR, version=2)
    assert second["status"] == "shipped" and second["shipment"]["delivered_at"] is None

    between = app.as_of(dispute, MODERATOR, at=la(11, 21, 9))
    assert (between["version"], between["status"]) == (2, "shipped")
    assert between["as_of"]["at"] == rfc3339(la(11, 21, 9))
    exactly = app.as_of(dispute, MODERATOR, at=la(11, 20, 10))
    assert exactly["version"] == 1
    # An instant means what had been recorded by then: the parcel left at 15:00 but
    # the platform reported it at 16:00, so at 15:30 the case still awaited shipment.
    unreported = app.as_of(dispute, MODERATOR, at=la(11, 20, 15, 30))
    assert (unreported["version"], unreported["status"]) == (1, "awaiting_shipment")
    latest = app.as_of(dispute, MODERATOR, at=la(12, 1))
    assert latest["version"] == 3 and latest["status"] == "delivered"

    with pytest.raises(DisputeNotFound):
        app.as_of(dispute, MODERATOR, at=la(11, 20, 9))
    with pytest.raises(InvalidInput, match="between 1 and 3"):
        app.as_of(dispute, MODERATOR, version=4)
    with pytest.raises(InvalidInput, match="between 1 and 3"):
        app.as_of(dispute, MODERATOR, version=0)
    with pytest.raises(InvalidInput, match="either a version or an instant"):
        app.as_of(dispute, MODERATOR)
    with pytest.raises(InvalidInput, match="UTC offset"):
        app.as_of(dispute, MODERATOR, at=datetime(2026, 11, 21))


# ---- consistency -------------------------------------------------------------


def test_read_your_write(app: DisputeDesk) -> None:
    dispute = opened(app)
    view = app.contact_seller(dispute, message="hello", channel="chat", actor=BUYER)
    assert view["version"] == 2 and view["status"] == "awaiting_seller"
    again = app.case(dispute, BUYER)
    assert again["version"] == 2 and again["status"] == "awaiting_seller"
    assert again["timeline"][-1]["type"] == "SellerContacted"
    view = app.respond(dispute, message="ships today", actor=SELLER)
    assert app.case(dispute, SELLER)["status"] == view["status"] == "seller_responded"


def test_expected_version_mismatch_is_refused(app: DisputeDesk) -> None:
    dispute = opened(app)
    app.contact_seller(dispute, message="hello", channel="chat", actor=BUYER, expected_version=1)
    with pytest.raises(ConcurrentModification, match="version 2, not 1"):
        app.add_evidence(dispute, kind="photo", description="x", actor=BUYER, expected_version=1)
    assert types(app, dispute) == ["OrderPlaced", "SellerContacted"]
    view = app.add_evidence(dispute, kind="photo", description="x", actor=BUYER,
                            expected_version=2)
    assert view["version"] == 3


def test_a_refused_command_records_nothing(app: DisputeDesk, manual_clock: ManualClock) -> None:
    dispute = opened(app)
    manual_clock.set(la(11, 25, 9))  # DeadlineMissed is due, but nothing swept it yet
    with pytest.raises(InterventionNotAllowed):
        app.request_intervention(dispute, reason="not_shipped", statement="x", actor=BUYER)
    with pytest.raises(InvalidRating):
        app.review(dispute, rating=6, comment="x", actor=BUYER)
    with pytest.raises(InvalidInput):
        app.contact_seller(dispute, message="", channel="chat", actor=BUYER)
    assert types(app, dispute) == ["OrderPlaced"]


def test_a_restart_sees_everything(
    database_url: str, manual_clock: ManualClock
) -> None:
    first = build(database_url, manual_clock)
    placed_at = manual_clock.now()
    dispute = opened(first)
    manual_clock.set(la(11, 25, 9))
    first.contact_seller(dispute, message="hello", channel="chat", actor=BUYER)
    before = first.history(dispute, MODERATOR)
    view_before = first.case(dispute, BUYER)
    first.close()

    manual_clock.set(la(11, 25, 10))
    second = build(database_url, manual_clock)
    try:
        assert second.history(dispute, MODERATOR) == before
        assert [r["type"] for r in before] == [
            "OrderPlaced", "DeadlineApproaching", "DeadlineMissed", "SellerContacted",
        ]
        assert second.case(dispute, BUYER) == view_before
        assert second.current_policy().version == "2027-01-default"
        view, created = place(second, placed_at=placed_at)
        assert created is False and view["version"] == 4
        view = second.respond(dispute, message="sorry", actor=SELLER)
        assert view["version"] == 5 and view["status"] == "seller_responded"
    finally:
        second.close()


def test_batch_saves_many_commands_at_once(app: DisputeDesk) -> None:
    start = app.recorder.max_notification_id() or 0
    with app.batch() as batch:
        ids = [opened(batch, f"order-{n}") for n in range(5)]
        batch.ship(ids[0], carrier="UPS", tracking_number="1", shipped_at=app.clock.now(),
                   actor=PLATFORM)
        batch.contact_seller(ids[1], message="hi", channel="chat", actor=BUYER)
        assert batch.case(ids[1], BUYER)["status"] == "awaiting_seller"  # seen inside the batch
        again, created = place(batch, "order-2")
        assert created is False and again["id"] == str(ids[2])
        assert (app.recorder.max_notification_id() or 0) == start  # nothing saved yet
    assert (app.recorder.max_notification_id() or 0) == start + 7
    assert types(app, ids[0]) == ["OrderPlaced", "OrderShipped"]
    assert types(app, ids[1]) == ["OrderPlaced", "SellerContacted"]
    assert all(types(app, d) == ["OrderPlaced"] for d in ids[2:])


def test_a_batch_that_raises_saves_nothing(app: DisputeDesk) -> None:
    start = app.recorder.max_notification_id() or 0
    with pytest.raises(InvalidRating), app.batch() as batch:
        dispute = opened(batch, "order-9")
        batch.review(dispute, rating=0, comment="x", actor=BUYER)
    assert (app.recorder.max_notification_id() or 0) == start
    with pytest.raises(DisputeNotFound):
        app.case(dispute_id_for("order-9"), MODERATOR)
