"""Moderators' claims on a case, given-when-then (see test_dispute_lifecycle.py for the
story): claim, renew, take over, expiry, release, and what a live claim blocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from application.case_view import case_view
from application.public_events import Parties, public_event
from application.queue_events import queue_event
from domain.dispute import ACCESS, Actor, Dispute
from domain.dispute.access import check_claim
from domain.dispute.feasibility import refusal
from domain.errors import CaseClosed, ClaimHeld, ClaimNotHeld, InvalidInput
from domain.policy import Policy, PolicyError
from tests.unit.test_dispute_lifecycle import (
    BUYER,
    CLOSED,
    MODERATOR,
    POLICY,
    SELLER,
    UNDER_REVIEW,
    given,
    la,
    new_events,
    recorded,
    story,
)

OTHER = Actor("moderator", "m-2")
AT = la(11, 25, 13)  # the case is under review from 12:00
TWO_HOURS = timedelta(minutes=120)
#: The moderators' deciding steps: the ones a live claim of another moderator blocks.
CLAIM_BOUND = {"rule", "decide_appeal", "extend_ship_by", "request_evidence",
               "set_review_visibility", "close"}


def claimed(by: Actor = MODERATOR, at: datetime = AT, take_over: bool = False) -> Dispute:
    """The case under review, claimed by ``by`` at ``at``; its events as recorded."""
    return given(*story(*UNDER_REVIEW, lambda d: d.claim(by, at, POLICY, take_over)))


# ---- claiming ----------------------------------------------------------------------


def test_a_claim_holds_the_case_for_the_policys_expiry() -> None:
    d = given(*story(*UNDER_REVIEW))
    d.claim(MODERATOR, AT, POLICY)
    [event] = recorded(d)
    assert isinstance(event, Dispute.CaseClaimed)
    assert (event.moderator_id, event.expires_at, event.taken_from) == ("m-1", AT + TWO_HOURS,
                                                                         None)
    assert d.claim_holder(AT) == "m-1"
    assert d.moderator_claim is not None and d.moderator_claim.claimed_at == AT


def test_the_expiry_comes_from_the_policy() -> None:
    short = POLICY.with_changes({"defaults.claim_expiry_minutes": 30}, version="short-claims")
    d = given(*story(*UNDER_REVIEW))
    d.claim(MODERATOR, AT, short)
    assert d.moderator_claim is not None
    assert d.moderator_claim.expires_at == AT + timedelta(minutes=30)


def test_claiming_ones_own_live_claim_renews_it() -> None:
    d = claimed()
    later = AT + timedelta(minutes=90)
    d.claim(MODERATOR, later, POLICY)
    [event] = recorded(d)
    assert event.taken_from is None and event.expires_at == later + TWO_HOURS
    assert d.moderator_claim is not None
    assert (d.moderator_claim.claimed_at, d.moderator_claim.expires_at) == (AT,
                                                                          later + TWO_HOURS)


def test_another_moderators_live_claim_refuses_a_claim_naming_holder_and_expiry() -> None:
    d = claimed()
    with pytest.raises(ClaimHeld) as refused:
        d.claim(OTHER, AT + timedelta(minutes=5), POLICY)
    assert "m-1" in refused.value.detail
    assert (AT + TWO_HOURS).isoformat() in refused.value.detail
    assert refused.value.code == "claim-held"
    assert new_events(d) == []
    assert d.claim_holder(AT + timedelta(minutes=5)) == "m-1"


def test_take_over_claims_it_and_records_whose_claim_it_was() -> None:
    d = claimed()
    d.claim(OTHER, AT + timedelta(minutes=5), POLICY, take_over=True)
    [event] = recorded(d)
    assert (event.moderator_id, event.taken_from) == ("m-2", "m-1")
    assert d.claim_holder(AT + timedelta(minutes=5)) == "m-2"
    assert d.moderator_claim is not None
    assert d.moderator_claim.claimed_at == AT + timedelta(minutes=5)


def test_take_over_of_nobodys_claim_takes_nothing_from_anyone() -> None:
    d = given(*story(*UNDER_REVIEW))
    d.claim(OTHER, AT, POLICY, take_over=True)
    assert recorded(d)[0].taken_from is None


def test_an_expired_claim_lets_another_moderator_claim() -> None:
    d = claimed()
    expired = AT + TWO_HOURS  # lapsed at its expiry instant
    assert d.claim_holder(expired - timedelta(seconds=1)) == "m-1"
    assert d.claim_holder(expired) is None
    d.claim(OTHER, expired, POLICY)
    [event] = recorded(d)
    assert (event.moderator_id, event.taken_from) == ("m-2", None)


def test_a_closed_case_cannot_be_claimed() -> None:
    d = given(*story(*CLOSED))
    with pytest.raises(CaseClosed):
        d.claim(MODERATOR, la(11, 24, 9), POLICY)
    assert new_events(d) == []


def test_take_over_must_be_a_boolean() -> None:
    d = given(*story(*UNDER_REVIEW))
    with pytest.raises(InvalidInput):
        d.claim(MODERATOR, AT, POLICY, take_over="yes")  # type: ignore[arg-type]


# ---- releasing -----------------------------------------------------------------------


def test_the_holder_releases_the_claim() -> None:
    d = claimed()
    d.release_claim(MODERATOR, AT + timedelta(minutes=10))
    [event] = recorded(d)
    assert isinstance(event, Dispute.ClaimReleased) and event.moderator_id == "m-1"
    assert d.moderator_claim is None and d.claim_holder(AT + timedelta(minutes=10)) is None
    # Anyone may claim it now.
    d.claim(OTHER, AT + timedelta(minutes=11), POLICY)
    assert recorded(d)[0].taken_from is None


@pytest.mark.parametrize(
    ("d", "who", "at", "because"),
    [
        (lambda: given(*story(*UNDER_REVIEW)), MODERATOR, AT, "nobody has claimed"),
        (claimed, OTHER, AT, "m-1 holds the claim"),
        (claimed, MODERATOR, AT + TWO_HOURS, "expired"),
    ],
    ids=["no claim", "another's", "expired"],
)
def test_a_release_without_ones_own_live_claim_is_refused_saying_why(
    d: object, who: Actor, at: datetime, because: str
) -> None:
    case = d()  # type: ignore[operator]
    with pytest.raises(ClaimNotHeld, match=because):
        case.release_claim(who, at)
    assert new_events(case) == []


# ---- what a live claim blocks (one rule: access.check_claim) ----------------------------


def test_the_access_table_marks_exactly_the_moderators_deciding_steps() -> None:
    assert {name for name, access in ACCESS.items() if access.claim_bound} == CLAIM_BOUND


@pytest.mark.parametrize("action", sorted(CLAIM_BOUND))
def test_a_deciding_step_is_refused_while_another_moderator_holds_a_live_claim(
    action: str,
) -> None:
    d = claimed()
    with pytest.raises(ClaimHeld, match="m-1"):
        check_claim(d, action, "m-2", AT + timedelta(minutes=1))
    check_claim(d, action, "m-1", AT + timedelta(minutes=1))  # the holder goes ahead
    check_claim(d, action, "m-2", AT + TWO_HOURS)  # once it lapsed, anyone does


@pytest.mark.parametrize("action", ["add_note", "add_evidence", "claim", "release_claim"])
def test_notes_and_evidence_stay_open_to_every_moderator(action: str) -> None:
    check_claim(claimed(), action, "m-2", AT + timedelta(minutes=1))


def test_a_ruling_goes_ahead_once_the_holder_rules() -> None:
    d = claimed()
    check_claim(d, "rule", "m-1", AT)
    d.rule("refund_full", "not_shipped_in_time", None, None, None, MODERATOR,
           AT + timedelta(minutes=1), reasons=POLICY.reason_codes)
    assert new_events(d) == ["InterventionResolved", "RefundDue"]


# ---- what each role sees -----------------------------------------------------------


def test_claim_is_offered_to_moderators_on_open_cases_and_release_never() -> None:
    assert "claim" in claimed().next_actions("moderator", POLICY, AT)
    assert "release_claim" not in claimed().next_actions("moderator", POLICY, AT)
    assert "claim" not in given(*story(*CLOSED)).next_actions("moderator", POLICY, AT)
    for role in ("buyer", "seller", "platform"):
        assert "claim" not in claimed().next_actions(role, POLICY, AT)


def test_only_moderators_see_the_claim_and_only_while_it_is_live() -> None:
    d = claimed()
    view = case_view(d, MODERATOR, POLICY, AT + timedelta(minutes=1))
    assert view["claim"] == {
        "moderator_id": "m-1",
        "claimed_at": AT.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": (AT + TWO_HOURS).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert "CaseClaimed" in [entry["type"] for entry in view["timeline"]]
    assert case_view(d, OTHER, POLICY, AT + TWO_HOURS)["claim"] is None
    for party in (BUYER, SELLER):
        seen = case_view(d, party, POLICY, AT + timedelta(minutes=1))
        assert "claim" not in seen
        assert "CaseClaimed" not in [entry["type"] for entry in seen["timeline"]]


def test_claims_are_never_public_but_the_queue_stream_tells_them() -> None:
    d = claimed()
    d.claim(OTHER, AT + timedelta(minutes=1), POLICY, take_over=True)
    d.release_claim(OTHER, AT + timedelta(minutes=2))
    parties = Parties(str(d.id), d.order_id, d.buyer_id, d.seller_id, "USD")
    taken, released = recorded(d)
    assert public_event(7, taken.TOPIC, taken, parties) is None
    assert public_event(8, released.TOPIC, released, parties) is None
    told = queue_event(7, taken.TOPIC, taken, parties)
    assert told is not None and told["type"] == "dispute.claimed"
    assert told["data"]["moderator_id"] == "m-2" and told["data"]["taken_from"] == "m-1"
    gone = queue_event(8, released.TOPIC, released, parties)
    assert gone is not None and gone["type"] == "dispute.claim_released"


def test_a_replay_never_finds_a_recorded_claim_impossible() -> None:
    d = given(*story(*UNDER_REVIEW))
    d.claim(MODERATOR, AT, POLICY)
    d.release_claim(MODERATOR, AT)
    taken, released = recorded(d)
    before = given(*story(*UNDER_REVIEW))
    assert refusal(before, taken, POLICY, AT) is None
    taken.apply(before)
    assert refusal(before, released, POLICY, AT) is None
    assert refusal(given(*story(*CLOSED)), taken, POLICY, AT) is not None  # a closed case


# ---- the policy's rule -----------------------------------------------------------


def test_claim_expiry_is_an_optional_rule_of_the_policy() -> None:
    document = POLICY.to_document()
    assert document["defaults"]["claim_expiry_minutes"] == 120
    del document["defaults"]["claim_expiry_minutes"]
    assert Policy.from_document(document).rules_for("US", "general").claim_expiry_minutes == 120
    for bad in (0, 7 * 24 * 60 + 1, "2h"):
        with pytest.raises(PolicyError, match="claim_expiry_minutes"):
            POLICY.with_changes({"defaults.claim_expiry_minutes": bad}, version="bad")
