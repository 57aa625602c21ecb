"""The effective rules for one region and category."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from domain.policy.checks import OPTIONAL_RULE_DEFAULTS, RULE_KEYS, RuleValue, rule_problem
from domain.policy.errors import PolicyError


@dataclass(frozen=True, slots=True)
class Rules:
    """The effective rules for one region and category."""

    ship_within_business_days: int
    auto_cancel_after_business_days: int
    seller_response_business_days: int
    refund_response_business_days: int
    review_window_days: int
    return_shipping_payer: str
    #: Hours before a seller's deadline that DeadlineApproaching is recorded.
    reminder_hours_before: int = OPTIONAL_RULE_DEFAULTS["reminder_hours_before"]
    #: Calendar days after a ruling that the buyer, the seller, may appeal it (0: never).
    appeal_window_days_buyer: int = OPTIONAL_RULE_DEFAULTS["appeal_window_days_buyer"]
    appeal_window_days_seller: int = OPTIONAL_RULE_DEFAULTS["appeal_window_days_seller"]
    #: Evidence: the largest file and the most one case holds (MB), and the business
    #: days a party has to answer a moderator's request for more.
    evidence_file_max_mb: int = OPTIONAL_RULE_DEFAULTS["evidence_file_max_mb"]
    evidence_case_max_mb: int = OPTIONAL_RULE_DEFAULTS["evidence_case_max_mb"]
    evidence_due_business_days: int = OPTIONAL_RULE_DEFAULTS["evidence_due_business_days"]
    #: Minutes a moderator's claim on a case lasts (from when it is taken or renewed).
    claim_expiry_minutes: int = OPTIONAL_RULE_DEFAULTS["claim_expiry_minutes"]
    #: The most one case holds of messages (the buyer's contacts and the seller's
    #: responses), evidence items and internal notes (its files' bytes: above).
    messages_case_max: int = OPTIONAL_RULE_DEFAULTS["messages_case_max"]
    evidence_case_max_items: int = OPTIONAL_RULE_DEFAULTS["evidence_case_max_items"]
    notes_case_max: int = OPTIONAL_RULE_DEFAULTS["notes_case_max"]

    @property
    def evidence_file_max_bytes(self) -> int:
        return self.evidence_file_max_mb * 1_000_000

    @property
    def evidence_case_max_bytes(self) -> int:
        return self.evidence_case_max_mb * 1_000_000

    def appeal_window_days(self, party: str) -> int:
        """The appeal window of ``party`` (``buyer`` or ``seller``)."""
        if party == "buyer":
            return self.appeal_window_days_buyer
        return self.appeal_window_days_seller

    def __post_init__(self) -> None:
        problems = [
            problem
            for key, value in self.as_dict().items()
            if (problem := rule_problem(f"rules.{key}", key, value)) is not None
        ]
        if not problems and self.auto_cancel_after_business_days < self.ship_within_business_days:
            problems.append(
                "rules.auto_cancel_after_business_days: must be >= ship_within_business_days "
                f"({self.auto_cancel_after_business_days} < {self.ship_within_business_days})"
            )
        if problems:
            raise PolicyError(problems)

    def as_dict(self) -> dict[str, RuleValue]:
        return {key: getattr(self, key) for key in RULE_KEYS}

    def with_overrides(self, overrides: Mapping[str, RuleValue]) -> Rules:
        if not overrides:
            return self
        merged = self.as_dict()
        merged.update(overrides)
        return rules_from(merged)


def rules_from(values: Mapping[str, RuleValue]) -> Rules:
    """Rules from a complete mapping of the keys (validated by Rules); an optional key
    left out takes its default."""
    return Rules(
        ship_within_business_days=cast(int, values["ship_within_business_days"]),
        auto_cancel_after_business_days=cast(int, values["auto_cancel_after_business_days"]),
        seller_response_business_days=cast(int, values["seller_response_business_days"]),
        refund_response_business_days=cast(int, values["refund_response_business_days"]),
        review_window_days=cast(int, values["review_window_days"]),
        return_shipping_payer=cast(str, values["return_shipping_payer"]),
        **{
            key: cast(int, values.get(key, default))
            for key, default in OPTIONAL_RULE_DEFAULTS.items()
        },
    )
