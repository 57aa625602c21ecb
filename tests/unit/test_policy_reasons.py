"""The policy's reason codes and appeal windows: parsing, checks, and versions on record."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from domain.outcomes import OUTCOMES
from domain.policy import Policy, PolicyError, ReasonCode, UnknownReasonCode, parse_policy
from domain.policy_ledger import recorded_policy
from infrastructure.bootstrap import bundled_policy_text

BUNDLED = parse_policy(bundled_policy_text())


def document() -> dict[str, Any]:
    return copy.deepcopy(BUNDLED.to_document())


def problems_of(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        Policy.from_document(doc)
    return raised.value.problems


def test_the_bundled_catalogue_justifies_every_outcome_for_non_shipment() -> None:
    codes = {reason.code: reason for reason in BUNDLED.reason_codes}
    assert {"not_shipped_in_time", "seller_unresponsive", "claim_not_supported"} <= set(codes)
    assert {o for reason in codes.values() for o in reason.outcomes} == set(OUTCOMES)
    assert codes["not_shipped_in_time"] == ReasonCode(
        "not_shipped_in_time",
        "The seller did not ship the order by its shipping deadline.",
        ("refund_full", "refund_partial"),
    )


def test_the_bundled_appeal_windows_are_30_days_for_buyers_and_21_for_sellers() -> None:
    for region in BUNDLED.regions:
        rules = BUNDLED.rules_for(region, "general")
        assert (rules.appeal_window_days("buyer"), rules.appeal_window_days("seller")) == (30, 21)


def test_a_region_overrides_an_appeal_window_and_zero_means_none() -> None:
    doc = document()
    doc["regions"]["GB"]["appeal_window_days_buyer"] = 14
    doc["regions"]["TH"]["appeal_window_days_seller"] = 0
    policy = Policy.from_document(doc)
    assert policy.rules_for("GB", "general").appeal_window_days_buyer == 14
    assert policy.rules_for("TH", "general").appeal_window_days_seller == 0
    assert policy.rules_for("US", "general").appeal_window_days_buyer == 30


def test_a_new_document_without_the_windows_takes_the_defaults() -> None:
    doc = document()
    del doc["defaults"]["appeal_window_days_buyer"], doc["defaults"]["appeal_window_days_seller"]
    rules = Policy.from_document(doc).rules_for("US", "general")
    assert (rules.appeal_window_days_buyer, rules.appeal_window_days_seller) == (30, 21)


def test_a_version_recorded_before_appeals_and_reason_codes_reads_as_written() -> None:
    # As an earlier release recorded it: neither appeal windows nor reason codes.
    doc = document()
    del doc["defaults"]["appeal_window_days_buyer"], doc["defaults"]["appeal_window_days_seller"]
    del doc["reason_codes"]
    policy = recorded_policy(doc)
    rules = policy.rules_for("US", "general")
    assert (rules.appeal_window_days_buyer, rules.appeal_window_days_seller) == (0, 0)
    assert len(policy.reason_codes) == 0
    with pytest.raises(UnknownReasonCode, match="lists: none"):
        policy.reason_codes.get("not_shipped_in_time")
    # What it did say is unchanged.
    bundled = BUNDLED.rules_for("US", "general")
    assert rules.ship_within_business_days == bundled.ship_within_business_days


def test_the_catalogue_round_trips_through_the_document() -> None:
    again = Policy.from_document(BUNDLED.to_document())
    assert again == BUNDLED and list(again.reason_codes) == list(BUNDLED.reason_codes)
    assert BUNDLED.with_changes({"reason_codes.x_new": {"text": "New.", "outcomes": [
        "claim_rejected"]}}).reason_codes.get("x_new").outcomes == ("claim_rejected",)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"text": "", "outcomes": ["refund_full"]}, "reason_codes.bad.text: required"),
        ({"text": "x"}, "reason_codes.bad.outcomes: required"),
        ({"text": "x", "outcomes": []}, "reason_codes.bad.outcomes: required"),
        ({"text": "x", "outcomes": ["refund_double"]}, "unknown outcome refund_double"),
        ({"text": "x", "outcomes": ["claim_rejected"] * 2}, "names an outcome twice"),
        ({"text": "x", "outcomes": ["claim_rejected"], "tone": "kind"}, "bad.tone: unknown"),
        ({"text": "a\nb", "outcomes": ["claim_rejected"]}, "printable characters"),
        ("text", "must be a table"),
    ],
)
def test_every_problem_of_a_reason_code_is_named(entry: object, problem: str) -> None:
    doc = document()
    doc["reason_codes"]["bad"] = entry
    assert any(problem in found for found in problems_of(doc)), problems_of(doc)


def test_codes_are_short_lowercase_words_and_the_table_is_a_table() -> None:
    doc = document()
    doc["reason_codes"]["Not-OK"] = {"text": "x", "outcomes": ["claim_rejected"]}
    assert any("reason_codes.Not-OK: codes use only" in p for p in problems_of(doc))
    doc["reason_codes"] = ["not", "a", "table"]
    assert any(p.startswith("reason_codes: must be a table") for p in problems_of(doc))


def test_appeal_windows_are_checked_like_other_rules() -> None:
    doc = document()
    doc["defaults"]["appeal_window_days_buyer"] = -1
    doc["regions"]["US"]["appeal_window_days_seller"] = 366
    found = problems_of(doc)
    assert "defaults.appeal_window_days_buyer: must be an integer >= 0, got -1" in found
    assert "regions.US.appeal_window_days_seller: must be an integer <= 365, got 366" in found
