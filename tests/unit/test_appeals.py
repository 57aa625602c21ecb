"""Rulings name a reason code of the policy's catalogue; each party may appeal a ruling
once, within its window; another moderator upholds or overturns it, and money follows
the final outcome. Given (recorded events), when (a command), then (events, state)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.dispute import Actor, Dispute
from domain.errors import (
    AppealNotAllowed,
    AppealWindowClosed,
    InvalidInput,
    NoPendingAppeal,
    NotForThisActor,
    OrderCancelled,
    RefundNotAllowed,
)
from domain.money import Money
from domain.policy import ReasonDoesNotJustify, UnknownReasonCode
from infrastructure.bootstrap import load_policy

POLICY = load_policy(None).with_changes({"defaults.reminder_hours_before": 0}, version="t")
REASONS = POLICY.reason_codes
LA = ZoneInfo("America/Los_Angeles")
SECOND = timedelta(seconds=1)
PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
SELLER = Actor("seller", "s-1")
MODERATOR = Actor("moderator", "m-1")
REVIEWER = Actor("moderator", "m-2")


def la(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LA)


RULED_AT = la(11, 25, 13)
Step = Callable[[Dispute], object]


def story(*steps: Step) -> list[Any]:
    d = Dispute.place(
        order_id="order-1", buyer_id=BUYER.id, seller_id=SELLER.id, region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=la(11, 20, 10),
        policy=POLICY, actor=PLATFORM, now=la(11, 20, 10),
    )
    for step in steps:
        step(d)
    return list(d.collect_events())


def given(*events: Any) -> Dispute:
    d: Dispute | None = None
    for event in events:
        d = event.mutate(d)
    assert isinstance(d, Dispute)
    return d


def recorded(d: Dispute) -> list[Any]:
    return list(d.collect_events())


def names(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def ruled(outcome: str, code: str, refund: str | None = None, note: str | None = None) -> Step:
    money = usd(refund) if refund is not None else None
    return lambda d: d.rule(outcome, code, money, None, note, MODERATOR, RULED_AT, reasons=REASONS)


def appealed(actor: Actor, at: datetime) -> Step:
    return lambda d: d.appeal("the ruling is wrong", [], POLICY, actor, at)


def decided(decision: str, code: str, outcome: str | None = None, refund: str | None = None,
            at: datetime = la(11, 27)) -> Step:
    money = usd(refund) if refund is not None else None
    return lambda d: d.decide_appeal(decision, outcome, code, money, "second look", REVIEWER, at,
                                     reasons=REASONS)


def paid(at: datetime = la(11, 26)) -> Step:
    return lambda d: d.issue_refund(usd(str(d.open_dues[0].outstanding)), PLATFORM, at)


#: Not shipped by ship_by, the seller answered, the buyer asked the platform to step in.
UNDER_REVIEW: tuple[Step, ...] = (
    lambda d: d.record_due(POLICY, la(11, 25, 9)),
    lambda d: d.contact_seller("where is it?", "chat", BUYER, la(11, 25, 10)),
    lambda d: d.respond("soon", None, POLICY, SELLER, la(11, 25, 11)),
    lambda d: d.request_intervention("not_shipped", "late", [], BUYER, la(11, 25, 12)),
)
#: Shipped late (so no auto-cancel ends the case), then the same path to a ruling.
SHIPPED_UNDER_REVIEW: tuple[Step, ...] = (
    lambda d: d.record_due(POLICY, la(11, 25, 9)),
    lambda d: d.ship("UPS", "1Z", la(11, 25, 9, 30), SELLER, la(11, 25, 9, 30)),
    *UNDER_REVIEW[1:],
)
FULL_REFUND = (*UNDER_REVIEW, ruled("refund_full", "not_shipped_in_time", note="sorry"))
REJECTED = (*SHIPPED_UNDER_REVIEW, ruled("claim_rejected", "shipped_on_time"))


# ---- reason codes ------------------------------------------------------------------------


def test_a_ruling_names_a_code_of_the_catalogue_and_records_its_text() -> None:
    d = given(*story(*UNDER_REVIEW))
    d.rule("refund_full", "not_shipped_in_time", None, None, "sorry", MODERATOR, RULED_AT,
           reasons=REASONS)
    [ruling, _due] = recorded(d)
    assert ruling.reason_code == "not_shipped_in_time"
    assert ruling.reason_text == REASONS.get("not_shipped_in_time").text
    assert d.intervention is not None and d.intervention.note_is_public
    assert (d.intervention.note, d.intervention.ruled_by) == ("sorry", "m-1")


@pytest.mark.parametrize(
    ("outcome", "code", "error"),
    [
        ("refund_full", "late", UnknownReasonCode),
        ("refund_full", "shipped_on_time", ReasonDoesNotJustify),
        ("claim_rejected", "not_shipped_in_time", ReasonDoesNotJustify),
    ],
)
def test_an_unknown_code_or_one_that_does_not_justify_the_outcome_is_refused(
    outcome: str, code: str, error: type[Exception]
) -> None:
    d = given(*story(*UNDER_REVIEW))
    with pytest.raises(error) as raised:
        d.rule(outcome, code, None, None, None, MODERATOR, RULED_AT, reasons=REASONS)
    assert isinstance(raised.value, InvalidInput) and raised.value.field == "reason_code"
    assert recorded(d) == []


def test_a_ruling_recorded_before_the_catalogue_keeps_its_note_internal() -> None:
    events = story(*FULL_REFUND)
    ruling = next(e for e in events if type(e).__name__ == "InterventionResolved")
    events[events.index(ruling)] = type(ruling)(
        **{**ruling.__dict__, "reason_text": None}  # as recorded before this release
    )
    d = given(*events)
    assert d.intervention is not None and d.intervention.note == "sorry"
    assert not d.intervention.note_is_public


# ---- appeals -----------------------------------------------------------------------------


def test_the_buyer_appeals_a_rejected_claim_and_the_case_awaits_a_decision() -> None:
    d = given(*story(*REJECTED))
    assert "appeal" in d.next_actions("buyer", POLICY, la(11, 26))
    d.appeal("it never arrived", [], POLICY, BUYER, la(11, 26))
    [filed] = recorded(d)
    assert (type(filed).__name__, filed.party, filed.statement) == (
        "AppealFiled", "buyer", "it never arrived",
    )
    assert d.status == "under_appeal" and d.awaiting_appeal_decision
    assert "appeal" not in d.next_actions("buyer", POLICY, la(11, 26))
    assert "appeal" in d.next_actions("seller", POLICY, la(11, 26))
    assert "decide_appeal" in d.next_actions("moderator", POLICY, la(11, 26))


def test_each_party_appeals_once() -> None:
    d = given(*story(*REJECTED, appealed(BUYER, la(11, 26))))
    with pytest.raises(AppealNotAllowed, match="one appeal each"):
        d.appeal("again", [], POLICY, BUYER, la(11, 27))


def test_there_is_nothing_to_appeal_before_a_ruling() -> None:
    d = given(*story(*UNDER_REVIEW))
    with pytest.raises(AppealNotAllowed, match="no ruling"):
        d.appeal("why", [], POLICY, SELLER, la(11, 26))
    assert "appeal" not in d.next_actions("seller", POLICY, la(11, 26))


@pytest.mark.parametrize(("actor", "days"), [(BUYER, 30), (SELLER, 21)])
def test_the_window_is_n_calendar_days_after_the_ruling(actor: Actor, days: int) -> None:
    d = given(*story(*REJECTED))
    closes = RULED_AT + timedelta(days=days)
    assert closes in d.next_actions_turn_at(actor.role, POLICY)  # readers re-check then
    assert "appeal" in d.next_actions(actor.role, POLICY, closes)
    assert "appeal" not in d.next_actions(actor.role, POLICY, closes + SECOND)
    with pytest.raises(AppealWindowClosed, match=f"{days} days after the ruling"):
        d.appeal("late", [], POLICY, actor, closes + SECOND)
    d.appeal("in time", [], POLICY, actor, closes)
    assert names(recorded(d)) == ["AppealFiled"]


def test_a_policy_may_allow_a_party_no_appeal() -> None:
    none = POLICY.with_changes({"regions.US.appeal_window_days_seller": 0})
    d = given(*story(*FULL_REFUND))
    with pytest.raises(AppealWindowClosed, match="allows the seller no appeal"):
        d.appeal("no", [], none, SELLER, la(11, 26))
    assert d.next_actions_turn_at("seller", none) == ()


def test_appeals_cite_evidence_of_the_case() -> None:
    d = given(*story(*REJECTED))
    with pytest.raises(InvalidInput, match="unknown evidence ids: ev-9") as raised:
        d.appeal("see", ["ev-9"], POLICY, BUYER, la(11, 26))
    assert raised.value.field == "evidence_ids"


# ---- decisions ---------------------------------------------------------------------------


def test_the_moderator_who_ruled_does_not_decide_the_appeal() -> None:
    d = given(*story(*REJECTED, appealed(BUYER, la(11, 26))))
    with pytest.raises(NotForThisActor, match="another moderator"):
        d.decide_appeal("uphold", None, "shipped_on_time", None, None, MODERATOR, la(11, 27),
                        reasons=REASONS)
    assert recorded(d) == []


def test_a_decision_needs_a_pending_appeal() -> None:
    d = given(*story(*REJECTED))
    with pytest.raises(NoPendingAppeal):
        decided("uphold", "shipped_on_time")(d)


def test_an_uphold_keeps_the_ruling_and_the_other_party_may_still_appeal() -> None:
    d = given(*story(*REJECTED, appealed(BUYER, la(11, 26))))
    decided("uphold", "delivered_to_buyer")(d)
    [decision] = recorded(d)
    assert (decision.decision, decision.outcome, decision.favours) == (
        "uphold", "claim_rejected", None,
    )
    assert decision.appellants == ["buyer"] and decision.refund_amount is None
    assert d.status != "under_appeal" and d.final_outcome == "claim_rejected"
    assert [a.status for a in d.appeals.filed] == ["upheld"]
    assert "appeal" in d.next_actions("seller", POLICY, la(11, 28))


@pytest.mark.parametrize(
    ("outcome", "code", "refund", "field", "message"),
    [
        ("refund_full", "shipped_on_time", None, "outcome", "to change it, overturn"),
        (None, "not_received", None, "reason_code", "justifies"),
        (None, "shipped_on_time", "1.00", "refund_amount", "keeps the ruling's refund"),
    ],
)
def test_an_uphold_keeps_the_outcome_and_names_a_code_that_justifies_it(
    outcome: str | None, code: str, refund: str | None, field: str, message: str
) -> None:
    d = given(*story(*REJECTED, appealed(BUYER, la(11, 26))))
    with pytest.raises(InvalidInput, match=message) as raised:
        decided("uphold", code, outcome, refund)(d)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("outcome", "refund", "message"),
    [
        (None, None, "names the outcome"),
        ("seller_must_ship", None, "cannot order shipment"),
        ("claim_rejected", None, "same amount"),
        ("refund_partial", None, "needs refund_amount"),
        ("refund_partial", "25.01", "at most 25.00"),
        ("refund_full", "5.00", "does not apply"),
    ],
)
def test_an_overturn_names_a_different_outcome(
    outcome: str | None, refund: str | None, message: str
) -> None:
    d = given(*story(*REJECTED, appealed(BUYER, la(11, 26))))
    code = "not_received" if outcome != "claim_rejected" else "shipped_on_time"
    with pytest.raises(InvalidInput, match=message):
        decided("overturn", code, outcome, refund)(d)
    assert recorded(d) == []


def test_an_overturn_is_final() -> None:
    d = given(*story(*REJECTED, appealed(BUYER, la(11, 26)),
                     decided("overturn", "not_received", "refund_full")))
    with pytest.raises(AppealNotAllowed, match="final"):
        d.appeal("me too", [], POLICY, SELLER, la(11, 28))


# ---- money follows the final outcome -------------------------------------------------------


def test_an_overturn_that_grants_a_refund_makes_it_due_to_the_buyer() -> None:
    d = given(*story(*REJECTED, appealed(BUYER, la(11, 26))))
    decided("overturn", "not_received", "refund_full")(d)
    [decision, due] = recorded(d)
    assert (decision.outcome, decision.refund_amount, decision.favours) == (
        "refund_full", Decimal("25.00"), "buyer",
    )
    assert (due.payee, due.amount, due.reason) == ("buyer", Decimal("25.00"), "appeal")
    assert d.refund is not None and (d.refund.status, d.refund.amount) == (
        "approved", Decimal("25.00"),
    )
    assert d.final_outcome == "refund_full" and d.status == "refund_approved"


def test_an_unpaid_refund_that_is_overturned_is_cancelled() -> None:
    d = given(*story(*FULL_REFUND, appealed(SELLER, la(11, 26))))
    [owed] = d.open_dues
    decided("overturn", "claim_not_supported", "claim_rejected")(d)
    [decision, cancelled] = recorded(d)
    assert (decision.favours, decision.refund_amount) == ("seller", None)
    assert type(cancelled).__name__ == "RefundCancelled"
    assert (cancelled.amount, cancelled.due_ids, cancelled.refund_cancelled) == (
        Decimal("25.00"), [owed.due_id], True,
    )
    assert d.refund is not None and d.refund.status == "cancelled"
    assert [due.status for due in d.dues] == ["cancelled"]
    assert d.owed_total == 0 and d.remaining_refundable == Decimal("25.00")
    with pytest.raises(RefundNotAllowed):
        d.issue_refund(usd("25.00"), PLATFORM, la(11, 28), owed.due_id)


def test_a_refund_the_buyer_received_is_made_up_to_the_seller() -> None:
    d = given(*story(*FULL_REFUND, paid(), appealed(SELLER, la(11, 26, 13))))
    decided("overturn", "claim_not_supported", "claim_rejected")(d)
    [_decision, owed] = recorded(d)
    assert (owed.payee, owed.amount, owed.reason) == (
        "seller", Decimal("25.00"), "overturned_refund",
    )
    assert d.refund is not None and d.refund.status == "paid"  # never charged back
    assert d.refunded_total == Decimal("25.00") and d.owed_total == 0
    d.issue_refund(usd("25.00"), PLATFORM, la(11, 28))
    [compensated] = recorded(d)
    assert (type(compensated).__name__, compensated.due_id) == ("SellerCompensated", owed.due_id)
    assert d.refunded_total == Decimal("25.00") and not d.open_dues


def test_a_smaller_refund_replaces_an_unpaid_one() -> None:
    d = given(*story(*FULL_REFUND, appealed(SELLER, la(11, 26))))
    decided("overturn", "partly_unfulfilled", "refund_partial", "10.00")(d)
    [decision, cancelled, owed] = recorded(d)
    assert decision.refund_amount == Decimal("10.00")
    assert (cancelled.amount, cancelled.refund_cancelled) == (Decimal("15.00"), False)
    assert (owed.payee, owed.amount) == ("buyer", Decimal("10.00"))
    assert d.refund is not None and (d.refund.status, d.refund.amount) == (
        "approved", Decimal("10.00"),
    )
    assert d.owed_total == Decimal("10.00")


def test_a_larger_refund_owes_the_rest_of_a_paid_one() -> None:
    d = given(*story(*UNDER_REVIEW, ruled("refund_partial", "late_dispatch_compensation", "10.00"),
                     paid(), appealed(BUYER, la(11, 26, 13))))
    decided("overturn", "not_shipped_in_time", "refund_full")(d)
    [decision, owed] = recorded(d)
    assert (decision.refund_amount, decision.refund_paid) == (Decimal("25.00"), Decimal("10.00"))
    assert (owed.payee, owed.amount, owed.reason) == ("buyer", Decimal("15.00"), "appeal")
    d.issue_refund(usd("15.00"), PLATFORM, la(11, 28))
    assert d.refund is not None and d.refund.status == "paid"
    assert d.refunded_total == Decimal("25.00")


def test_a_smaller_refund_than_was_paid_owes_the_difference_to_the_seller() -> None:
    d = given(*story(*FULL_REFUND, paid(), appealed(SELLER, la(11, 26, 13))))
    decided("overturn", "late_dispatch_compensation", "refund_partial", "10.00")(d)
    assert [(e.payee, e.amount) for e in recorded(d)[1:]] == [("seller", Decimal("15.00"))]


def test_replaying_an_appealed_case_gives_the_same_state() -> None:
    steps = (*FULL_REFUND, paid(), appealed(SELLER, la(11, 26, 13)),
             decided("overturn", "late_dispatch_compensation", "refund_partial", "10.00"))
    live = Dispute.place(
        order_id="order-1", buyer_id=BUYER.id, seller_id=SELLER.id, region="US",
        category="general", amount=usd("25.00"), placed_at=la(11, 20, 10), policy=POLICY,
        actor=PLATFORM, now=la(11, 20, 10),
    )
    for step in steps:
        step(live)
    replayed = given(*live.collect_events())
    for attribute in ("status", "refund", "dues", "appeals", "intervention", "refunded_total"):
        assert getattr(replayed, attribute) == getattr(live, attribute), attribute
    assert replayed.appeals.decisions[0].decided_by == "m-2"
    assert replayed.final_outcome == "refund_partial"


def test_no_appeal_on_a_cancelled_order() -> None:
    d = given(*story(*FULL_REFUND))
    d.record_due(POLICY, la(12, 3))
    with pytest.raises(OrderCancelled):
        d.appeal("too late", [], POLICY, SELLER, la(12, 3))


def test_an_appeal_pending_when_the_order_is_auto_cancelled_is_moot() -> None:
    d = given(*story(*FULL_REFUND, appealed(SELLER, la(11, 26))))
    assert d.status == "under_appeal"
    d.record_due(POLICY, la(12, 3))
    assert d.status == "cancelled" and not d.awaiting_appeal_decision
    with pytest.raises(OrderCancelled):
        decided("overturn", "claim_not_supported", "claim_rejected", at=la(12, 3))(d)
