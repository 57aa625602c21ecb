"""The per-case caps as rules of the policy document: optional with generous defaults
(a version recorded before them stays valid), overridable per region and category,
and refused with a reason when they are not a whole number in range."""

from __future__ import annotations

import re

import pytest

from domain.policy import RULE_KEYS, PolicyError, parse_policy
from infrastructure.bootstrap import bundled_policy_text

CAPS = ("messages_case_max", "evidence_case_max_items", "notes_case_max")
CAP_LINES = re.compile(r"^(messages_case_max|evidence_case_max_items|notes_case_max) = .*\n",
                       re.M)


def with_caps(caps: str) -> str:
    """The bundled policy, its caps replaced by ``caps`` (TOML lines of [defaults])."""
    text = CAP_LINES.sub("", bundled_policy_text())
    return text.replace("[defaults]\n", f"[defaults]\n{caps}\n", 1)


def test_a_policy_names_its_caps_and_each_region_or_category_may_override_them() -> None:
    policy = parse_policy(
        with_caps("messages_case_max = 40\nevidence_case_max_items = 5\nnotes_case_max = 7")
        + "\n[categories.bulky]\nmessages_case_max = 80\n"
    )
    rules = policy.rules_for("US", "general")
    assert (rules.messages_case_max, rules.evidence_case_max_items, rules.notes_case_max) == (
        40, 5, 7)
    assert policy.rules_for("US", "bulky").messages_case_max == 80
    # They are shown like every other rule (policy show, GET /v1/policies/...).
    assert set(CAPS) <= set(RULE_KEYS)
    assert policy.to_document()["defaults"]["notes_case_max"] == 7


def test_the_caps_are_optional_with_generous_defaults_so_older_versions_stay_valid() -> None:
    bundled = parse_policy(bundled_policy_text()).rules_for("US", "general")
    assert (bundled.messages_case_max, bundled.evidence_case_max_items,
            bundled.notes_case_max) == (300, 50, 300)
    # A file of evidence may be 10 MB; a case's files together, five times that.
    assert bundled.evidence_case_max_mb == 5 * bundled.evidence_file_max_mb
    # A version published before the caps existed names none of them.
    rules = parse_policy(with_caps("")).rules_for("GB", "general")
    assert (rules.messages_case_max, rules.evidence_case_max_items, rules.notes_case_max) == (
        300, 50, 300)


@pytest.mark.parametrize(("value", "reason"), [
    ("0", "defaults.messages_case_max: must be an integer >= 1, got 0"),
    ("-5", "defaults.messages_case_max: must be an integer >= 1, got -5"),
    ("10001", "defaults.messages_case_max: must be an integer <= 10000, got 10001"),
    ('"many"', "defaults.messages_case_max: must be an integer >= 1, got 'many'"),
    ("true", "defaults.messages_case_max: must be an integer >= 1, got True"),
    ("2.5", "defaults.messages_case_max: must be an integer >= 1, got 2.5"),
])
def test_a_cap_that_is_not_a_whole_number_in_range_is_refused_with_a_reason(
    value: str, reason: str
) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_policy(with_caps(f"messages_case_max = {value}"))
    assert refused.value.problems == [reason]


def test_a_misspelt_cap_is_refused_naming_the_one_meant() -> None:
    with pytest.raises(PolicyError, match="did you mean 'notes_case_max'"):
        parse_policy(with_caps("note_case_max = 3"))
    bundled = parse_policy(bundled_policy_text())
    with pytest.raises(PolicyError) as refused:
        bundled.with_changes({"regions.US.evidence_case_max_items": 0}, version="bad")
    assert refused.value.problems == [
        "regions.US.evidence_case_max_items: must be an integer >= 1, got 0"]
