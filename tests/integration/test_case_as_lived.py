"""The case as each party lives it, through the application on SQLite and PostgreSQL:
the conversation, a broken promise recorded by the sweeper and replayed the same way,
a moderator's extension, and a close that waits for the money."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from uuid import UUID

import pytest

from application.disputes import DisputeDesk, Forbidden
from application.simulator import build_request, run_simulation
from application.sweeper import Sweeper
from domain.dispute import Actor
from domain.errors import CaseNotSettled, DisputeNotFound, InvalidInput, OrderStillOpen
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.history_reader import history_reader_for
from infrastructure.settings import Settings
from tests.fakes.memory_due_index import MemoryDueIndex

PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
OTHER_BUYER = Actor("buyer", "b-2")
SELLER = Actor("seller", "s-1")
OTHER_SELLER = Actor("seller", "s-2")
MODERATOR = Actor("moderator", "m-1")
ANALYST = Actor("analyst", "a-1")
USD = "USD"


@pytest.fixture
def desk(database_url: str, manual_clock: ManualClock) -> Iterator[DisputeDesk]:
    application = build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}), clock=manual_clock
    )
    yield application
    application.close()


def la(month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime.fromisoformat(
        f"2026-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}-08:00"
    )


def place(desk: DisputeDesk, index: MemoryDueIndex | None = None, order_id: str = "o-1") -> UUID:
    """An order placed Friday 2026-11-20 10:00 in Los Angeles (the clock's now)."""
    view, _ = desk.place_order(
        order_id=order_id, buyer_id=BUYER.id, seller_id=SELLER.id, region="US",
        category="general", amount=Money.of("25.00", USD), placed_at=desk.clock.now(),
        actor=PLATFORM,
    )
    if index is not None:
        index.track(view)
    return UUID(view["id"])


# ---- the conversation --------------------------------------------------------------


def test_the_parties_and_moderators_read_the_conversation_without_notes(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    case = place(desk)
    desk.contact_seller(case, message="where is it?", channel="chat", actor=BUYER)
    desk.add_note(case, text="seller warned by phone", actor=MODERATOR)
    manual_clock.advance(timedelta(hours=2))
    desk.respond(case, message="Monday", promised_ship_date=date(2026, 11, 23), actor=SELLER)
    desk.contact_seller(case, message="thanks!", channel="chat", expects_reply=False,
                        actor=BUYER)
    expected = [
        {"sequence": 2, "author_role": "buyer", "author_id": "b-1", "text": "where is it?",
         "sent_at": "2026-11-20T18:00:00Z", "expects_reply": True, "promised_ship_date": None},
        {"sequence": 4, "author_role": "seller", "author_id": "s-1", "text": "Monday",
         "sent_at": "2026-11-20T20:00:00Z", "expects_reply": False,
         "promised_ship_date": "2026-11-23"},
        {"sequence": 5, "author_role": "buyer", "author_id": "b-1", "text": "thanks!",
         "sent_at": "2026-11-20T20:00:00Z", "expects_reply": False, "promised_ship_date": None},
    ]
    for reader in (BUYER, SELLER, MODERATOR):
        assert desk.messages(case, reader) == expected
    for stranger in (OTHER_BUYER, OTHER_SELLER):
        with pytest.raises(DisputeNotFound):
            desk.messages(case, stranger)
    for role in (ANALYST, PLATFORM):
        with pytest.raises(Forbidden):
            desk.messages(case, role)


def test_a_thank_you_opens_no_window_and_the_sweeper_records_no_overdue_answer(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    index = MemoryDueIndex()
    case = place(desk, index)
    desk.ship(case, carrier="UPS", tracking_number="1Z", shipped_at=manual_clock.now(),
              actor=SELLER)
    view = desk.contact_seller(case, message="thanks, it shipped!", channel="chat",
                               expects_reply=False, actor=BUYER)
    index.track(view)
    assert view["status"] == "shipped"
    assert view["deadlines"]["seller_response_due"] is None
    manual_clock.advance(timedelta(days=30))
    Sweeper(desk, index).sweep()
    types = [row["type"] for row in desk.history(case, MODERATOR)]
    assert "SellerResponseOverdue" not in types
    assert types[-1] == "SellerContacted"


# ---- the seller's promise -------------------------------------------------------------


def test_the_sweeper_records_a_broken_promise_and_the_replay_reproduces_it(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    index = MemoryDueIndex()
    case = place(desk, index)
    index.track(desk.contact_seller(case, message="when?", channel="chat", actor=BUYER))
    manual_clock.set(la(11, 23, 9))
    view = desk.respond(case, message="today", promised_ship_date=date(2026, 11, 23),
                        actor=SELLER)
    index.track(view)
    assert view["promise"]["due_at"] == "2026-11-24T07:59:59Z"
    # A sweep a few minutes after the end of Monday in Los Angeles records it, dated then
    # (with the reminder a day before ship_by, due at the same instant).
    manual_clock.set(la(11, 24, 0, 5))
    recorded = Sweeper(desk, index).sweep().recorded
    assert [(r["type"], r["occurred_at"]) for r in recorded] == [
        ("DeadlineApproaching", "2026-11-24T07:59:59Z"),
        ("PromiseBroken", "2026-11-24T07:59:59Z"),
    ]
    assert recorded[1]["data"]["promised_ship_date"] == "2026-11-23"
    assert recorded[1]["recorded_at"] == "2026-11-24T08:05:00Z"
    assert Sweeper(desk, index).sweep().recorded == []  # once
    after = desk.request_intervention(case, reason="not_shipped", statement="it broke its word",
                                      actor=BUYER)
    assert after["status"] == "under_review"
    # The replay records it the same way: the baseline reproduces the record.
    manual_clock.set(la(11, 30))
    request = build_request(current=desk.current_policy(), now=manual_clock.now(),
                            changes={"version": "identical"})
    report = run_simulation(desk, history_reader_for(desk), request)
    assert report["baseline_matches_recorded"] is True, report["mismatched_disputes"]
    assert report["derived"]["PromiseBroken"] == {"baseline": 1, "candidate": 1}


# ---- extensions -----------------------------------------------------------------------


def test_an_extension_moves_both_dates_for_every_party_and_the_sweeper_follows(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    index = MemoryDueIndex()
    case = place(desk, index)
    view = desk.extend_ship_by(case, new_ship_by=la(12, 4, 17), reason="carrier strike",
                               actor=MODERATOR)
    index.track(view)
    for party in (BUYER, SELLER):
        seen = desk.case(case, party)
        assert seen["ship_by"] == "2026-12-05T01:00:00Z"
        assert seen["auto_cancel_at"] == "2026-12-12T07:59:59Z"  # 7 business days later
    with pytest.raises(InvalidInput, match="later than the current ship_by"):
        desk.extend_ship_by(case, new_ship_by=la(12, 1), reason="shorter", actor=MODERATOR)
    with pytest.raises(Forbidden):
        desk.extend_ship_by(case, new_ship_by=la(12, 9), reason="x", actor=SELLER)
    # Past the old ship-by and the old auto-cancel instant: nothing is due.
    manual_clock.set(la(12, 3, 9))
    assert Sweeper(desk, index).sweep().recorded == []
    assert desk.case(case, BUYER)["status"] == "awaiting_shipment"


# ---- closing --------------------------------------------------------------------------


def test_a_partial_refund_ruled_then_close_waits_until_it_is_paid(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    case = place(desk)
    desk.contact_seller(case, message="where is it?", channel="chat", actor=BUYER)
    desk.respond(case, message="soon", actor=SELLER)
    manual_clock.set(la(11, 25, 9))  # ship_by was missed
    desk.request_intervention(case, reason="not_shipped", statement="late", actor=BUYER)
    ruled = desk.rule(case, outcome="refund_partial", reason_code="late_dispatch_compensation",
                      refund_amount=Money.of("10.00", USD), actor=MODERATOR)
    [due] = ruled["refund"]["dues"]
    with pytest.raises(CaseNotSettled, match=re.escape(f"{due['due_id']} still owes 10.00")):
        desk.close_case(case, reason="resolved", actor=MODERATOR)
    with pytest.raises(CaseNotSettled):
        desk.close_case(case, reason="resolved", cancel_order=True, actor=PLATFORM)
    assert "close" not in desk.case(case, MODERATOR)["next_actions"]
    desk.issue_refund(case, amount=Money.of("10.00", USD), due_id=due["due_id"], actor=PLATFORM)
    with pytest.raises(OrderStillOpen, match="cancel_order"):
        desk.close_case(case, reason="resolved", actor=MODERATOR)
    closed = desk.close_case(case, reason="resolved", cancel_order=True, actor=MODERATOR)
    assert closed["status"] == "closed"
    rest = closed["refund"]["dues"][-1]
    assert (rest["amount"], rest["reason"], rest["status"]) == (
        {"amount": "15.00", "currency": USD}, "order_cancelled", "open"
    )
    # The close left the rest due; the platform pays it on the closed case.
    paid = desk.issue_refund(case, amount=Money.of("15.00", USD), actor=PLATFORM)
    assert paid["status"] == "closed" and paid["refund"]["status"] == "paid"
    types = [row["type"] for row in desk.history(case, MODERATOR)][-5:]
    assert types == ["RefundIssued", "OrderCancelled", "RefundDue", "CaseClosed", "RefundIssued"]
