"""The marketplace policy: versioned data, never constants in code.

- :mod:`.model`: the document model (:class:`Policy`, :class:`RegionPolicy`) and
  the decisions read off it (the rules and calendar for an order, its deadlines,
  the currency it must use);
- :mod:`.rules`: :class:`Rules`, the effective rules for one region and category;
- :mod:`.reasons`: the catalogue of reason codes rulings name;
- :mod:`.checks`: the validation shared by the parser and the constructors;
- :mod:`.errors`: what a policy refuses.
"""

from domain.policy.checks import (
    BUSINESS_DAY_KEYS,
    MAX_BUSINESS_DAYS,
    MAX_REVIEW_WINDOW_DAYS,
    RECORDED_RULE_DEFAULTS,
    REGION_KEYS,
    RETURN_SHIPPING_PAYERS,
    RULE_KEYS,
    TOP_LEVEL_KEYS,
    RuleValue,
)
from domain.policy.errors import PolicyError, UnknownCategory, UnknownRegion
from domain.policy.model import Policy, RegionPolicy, parse_policy
from domain.policy.reasons import (
    NO_REASON_CODES,
    ReasonCode,
    ReasonCodes,
    ReasonDoesNotJustify,
    UnknownReasonCode,
)
from domain.policy.rules import Rules

__all__ = [
    "BUSINESS_DAY_KEYS",
    "MAX_BUSINESS_DAYS",
    "MAX_REVIEW_WINDOW_DAYS",
    "NO_REASON_CODES",
    "RECORDED_RULE_DEFAULTS",
    "REGION_KEYS",
    "RETURN_SHIPPING_PAYERS",
    "RULE_KEYS",
    "TOP_LEVEL_KEYS",
    "Policy",
    "PolicyError",
    "ReasonCode",
    "ReasonCodes",
    "ReasonDoesNotJustify",
    "RegionPolicy",
    "RuleValue",
    "Rules",
    "UnknownCategory",
    "UnknownReasonCode",
    "UnknownRegion",
    "parse_policy",
]
