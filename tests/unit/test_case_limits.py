"""The per-case caps of the policy (messages, evidence items and bytes, notes) in the
aggregate, given-when-then: one below the cap is accepted, at the cap refused naming
the rule and its value, and every other command goes on (see
test_dispute_lifecycle.py for the story)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from domain.dispute import Dispute
from domain.dispute.case_limits import CaseLimitReached
from domain.dispute.state import EvidenceFile
from domain.errors import EvidenceTooLarge, TransitionRefused
from domain.policy import Policy
from tests.unit.test_dispute_lifecycle import (
    BUYER,
    MODERATOR,
    MONDAY,
    POLICY,
    SELLER,
    TUESDAY,
    given,
    new_events,
    story,
)

CAPPED = POLICY.with_changes({
    "defaults.messages_case_max": 3,
    "defaults.evidence_case_max_items": 3,
    "defaults.notes_case_max": 2,
    "defaults.evidence_file_max_mb": 2,
    "defaults.evidence_case_max_mb": 3,
}, version="2026-12-capped")
FILE = EvidenceFile("ab" * 32, "image/png", 1_000_000, "listing.png", "blob-1")


def contact(policy: Policy = CAPPED) -> Any:
    return lambda d: d.contact_seller("where is it?", "chat", BUYER, MONDAY, policy=policy)


def respond(policy: Policy = CAPPED) -> Any:
    return lambda d: d.respond("on its way", None, policy, SELLER, MONDAY)


def note(policy: Policy | None = CAPPED) -> Any:
    return lambda d: d.add_note("called the seller", MODERATOR, MONDAY, policy=policy)


def evidence(file: EvidenceFile | None = None) -> Any:
    return lambda d: d.add_evidence("screenshot", "the listing", None, BUYER, MONDAY,
                                    file=file, policy=CAPPED)


def refused(action: Any, d: Dispute) -> CaseLimitReached:
    with pytest.raises(CaseLimitReached) as refusal:
        action(d)
    assert new_events(d) == []  # nothing half-written
    return refusal.value


def test_one_message_below_the_cap_is_accepted_and_the_next_is_refused_naming_the_cap(
) -> None:
    d = given(*story(contact(), respond()))
    contact()(d)  # the third message of three
    assert new_events(d) == ["SellerContacted"]

    for action in (contact(), respond()):
        error = refused(action, d)
        assert (error.limit_name, error.limit, error.code) == (
            "messages_case_max", 3, "case-limit-reached")
        assert isinstance(error, TransitionRefused)  # a refusal by the case's state: 409
        assert "holds 3 messages" in error.detail and "messages_case_max = 3" in error.detail
    # Every other command goes on: notes, evidence, the order's own steps.
    note()(d)
    evidence()(d)
    d.ship("UPS", "1Z999", TUESDAY, SELLER, TUESDAY)
    assert new_events(d) == ["NoteAdded", "EvidenceAdded", "OrderShipped"]


def test_notes_are_capped_apart_from_messages() -> None:
    d = given(*story(note()))
    note()(d)
    assert new_events(d) == ["NoteAdded"]
    error = refused(note(), d)
    assert (error.limit_name, error.limit) == ("notes_case_max", 2)
    contact()(d)  # a message is not a note
    assert new_events(d) == ["SellerContacted"]


def test_evidence_items_with_a_file_or_without_are_capped() -> None:
    d = given(*story(evidence(), evidence(replace(FILE, size=10))))
    evidence()(d)
    assert new_events(d) == ["EvidenceAdded"]
    for action in (evidence(), evidence(replace(FILE, size=10))):
        error = refused(action, d)
        assert (error.limit_name, error.limit) == ("evidence_case_max_items", 3)
    # The upload is refused before a byte is kept: the admission asks the same.
    with pytest.raises(CaseLimitReached, match="evidence_case_max_items"):
        d.evidence_room(CAPPED)
    d.request_evidence("seller", "the tracking page", CAPPED, MODERATOR, MONDAY)
    assert new_events(d) == ["EvidenceRequested"]


def test_a_case_whose_files_hold_the_most_bytes_takes_no_file_but_takes_a_description(
) -> None:
    d = given(*story(evidence(replace(FILE, size=2_000_000))))
    # Below the cap, a file that would pass it is too large (413), not the cap reached.
    with pytest.raises(EvidenceTooLarge, match="at most 3 MB together"):
        evidence(replace(FILE, size=1_500_000))(d)
    evidence(FILE)(d)  # exactly the 3 MB the case may hold
    assert new_events(d) == ["EvidenceAdded"]
    assert d.evidence_bytes == 3_000_000

    error = refused(evidence(replace(FILE, size=1)), d)
    assert (error.limit_name, error.limit) == ("evidence_case_max_mb", 3)
    assert "hold 3,000,000 bytes" in error.detail
    with pytest.raises(CaseLimitReached, match="evidence_case_max_mb"):
        d.evidence_room(CAPPED)
    evidence()(d)  # described, without a file
    assert new_events(d) == ["EvidenceAdded"]


def test_a_caller_without_the_policy_at_hand_is_held_to_the_default_caps() -> None:
    d = given(*story(*[note(None)] * 299))
    note(None)(d)
    assert new_events(d) == ["NoteAdded"]
    error = refused(note(None), d)
    assert (error.limit_name, error.limit) == ("notes_case_max", 300)


def test_each_region_or_category_may_have_its_own_cap() -> None:
    loose = CAPPED.with_changes({"regions.US.messages_case_max": 4}, version="us-loose")
    d = given(*story(contact(loose), respond(loose), contact(loose)))
    contact(loose)(d)
    assert new_events(d) == ["SellerContacted"]
    assert refused(contact(loose), d).limit == 4
