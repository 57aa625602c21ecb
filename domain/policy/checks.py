"""Checks on a policy's values, shared by the document parser and the constructors.

Each check returns the problems it found, named by their key path, so a person
can fix a candidate policy in one pass.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from domain.calendar import (
    CalendarError,
    validate_country,
    validate_subdivision,
    validate_timezone,
)
from domain.errors import InvalidMoney
from domain.money import check_currency

RULE_KEYS = (
    "ship_within_business_days",
    "auto_cancel_after_business_days",
    "seller_response_business_days",
    "refund_response_business_days",
    "review_window_days",
    "return_shipping_payer",
    "reminder_hours_before",
    "appeal_window_days_buyer",
    "appeal_window_days_seller",
    "evidence_file_max_mb",
    "evidence_case_max_mb",
    "evidence_due_business_days",
    "claim_expiry_minutes",
    "messages_case_max",
    "evidence_case_max_items",
    "notes_case_max",
)
BUSINESS_DAY_KEYS = RULE_KEYS[:4]
#: Rule keys a document may leave out of ``[defaults]``, with the value a new
#: document (a file, a candidate, a version published now) then takes.
#: ``reminder_hours_before`` = 24: DeadlineApproaching a day before each deadline;
#: ``appeal_window_days_*``: calendar days after a ruling that each party may appeal it.
OPTIONAL_RULE_DEFAULTS: dict[str, int] = {
    "reminder_hours_before": 24,
    "appeal_window_days_buyer": 30,
    "appeal_window_days_seller": 21,
    "evidence_file_max_mb": 10,
    "evidence_case_max_mb": 50,
    "evidence_due_business_days": 3,
    "claim_expiry_minutes": 120,
    "messages_case_max": 300,
    "evidence_case_max_items": 50,
    "notes_case_max": 300,
}
#: ``evidence_*``: the largest evidence file and the most a case may hold (MB, 10**6
#: bytes); the business days a party has to answer a moderator's evidence request.
#: A recorded version without them takes these too (no limits were judged before).
#: ``claim_expiry_minutes``: how long a moderator's claim on a case lasts unless renewed
#: (a recorded version without it takes it too: no claims were taken before).
#: ``*_case_max*``: the most messages (contacts and responses), evidence items and
#: internal notes one case holds, so that no party grows a case (and every answer that
#: carries it) without end; a recorded version without them takes these too.
#: The value a *recorded* document that leaves the key out meant: it was published
#: before the key existed (every version published since names each key), so it
#: keeps replaying the same (0: no reminders), whatever today's default. A version
#: published before appeals existed offers none (0 days) to the orders placed under it.
RECORDED_RULE_DEFAULTS: dict[str, int] = {
    "reminder_hours_before": 0,
    "appeal_window_days_buyer": 0,
    "appeal_window_days_seller": 0,
}
RETURN_SHIPPING_PAYERS = ("seller", "buyer")
# Upper bounds keep a mistyped (or hostile) candidate from asking the calendar
# to walk thousands of years: a year of business days is already absurd.
MAX_BUSINESS_DAYS = 365
MAX_REVIEW_WINDOW_DAYS = 3660
MAX_REMINDER_HOURS = 720
MAX_APPEAL_WINDOW_DAYS = 365
MAX_EVIDENCE_MB = 1000
MAX_CLAIM_MINUTES = 7 * 24 * 60
MAX_CASE_ITEMS = 10_000
#: The caps of how many things one case holds (its files' bytes: evidence_case_max_mb).
CASE_CAP_KEYS = frozenset({"messages_case_max", "evidence_case_max_items", "notes_case_max"})
#: Rule keys for which 0 means "none" (no reminders, no appeals).
ZERO_MEANS_NONE = frozenset({"reminder_hours_before", "appeal_window_days_buyer",
                             "appeal_window_days_seller"})

TOP_LEVEL_KEYS = (
    "version", "effective_from", "defaults", "regions", "categories", "reason_codes"
)
REGION_KEYS = ("timezone", "holiday_subdivision", "currency")

CATEGORY_NAME = re.compile(r"[a-z0-9_]+")
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")

RuleValue = int | str


# -- value checks (shared by the document parser and the constructors) --------


def shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def rule_problem(path: str, key: str, value: object) -> str | None:
    """Why ``value`` is not acceptable for rule ``key`` (None if it is)."""
    if key == "return_shipping_payer":
        if isinstance(value, str) and value in RETURN_SHIPPING_PAYERS:
            return None
        return f"{path}: must be 'seller' or 'buyer', got {shown(value)}"
    limit = (
        MAX_REVIEW_WINDOW_DAYS
        if key == "review_window_days"
        else MAX_REMINDER_HOURS
        if key == "reminder_hours_before"
        else MAX_APPEAL_WINDOW_DAYS
        if key.startswith("appeal_window_days_")
        else MAX_EVIDENCE_MB
        if key.endswith("_max_mb")
        else MAX_CLAIM_MINUTES
        if key == "claim_expiry_minutes"
        else MAX_CASE_ITEMS
        if key in CASE_CAP_KEYS
        else MAX_BUSINESS_DAYS
    )
    lowest = 0 if key in ZERO_MEANS_NONE else 1
    if type(value) is int and lowest <= value <= limit:
        return None
    if type(value) is int and value > limit:
        return f"{path}: must be an integer <= {limit}, got {value}"
    return f"{path}: must be an integer >= {lowest}, got {shown(value)}"


def unknown_key_problem(path: str, key: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{path}: unknown key{hint} (allowed: {', '.join(allowed)})"


def override_problems(
    path: str, overrides: Mapping[str, object], extra: Iterable[str] = ()
) -> list[str]:
    """Problems in a table of rule overrides; keys in ``extra`` are skipped."""
    skip = set(extra)
    problems: list[str] = []
    for key, value in overrides.items():
        if key in skip:
            continue
        if key not in RULE_KEYS:
            problems.append(unknown_key_problem(f"{path}.{key}", key, [*skip, *RULE_KEYS]))
            continue
        problem = rule_problem(f"{path}.{key}", key, value)
        if problem is not None:
            problems.append(problem)
    return problems


def valid_overrides(overrides: Mapping[str, object]) -> dict[str, RuleValue]:
    """The overrides whose key and value are acceptable (the rest are reported)."""
    valid: dict[str, RuleValue] = {}
    for key, value in overrides.items():
        if key in RULE_KEYS and rule_problem(key, key, value) is None:
            assert isinstance(value, int | str)
            valid[key] = value
    return valid


def combination_problems(
    defaults: Mapping[str, RuleValue],
    regions: Mapping[str, Mapping[str, RuleValue]],
    categories: Mapping[str, Mapping[str, RuleValue]],
) -> list[str]:
    """auto_cancel must not come before ship_by for any region and category."""
    ship_key, cancel_key = "ship_within_business_days", "auto_cancel_after_business_days"
    # (ship source, cancel source, ship, cancel) -> affected "REGION/category"
    failures: dict[tuple[str, str, int, int], list[str]] = {}
    for region, region_overrides in regions.items():
        for category, category_overrides in categories.items():
            found: list[tuple[str, int]] = []
            for key in (ship_key, cancel_key):
                for source, table in (
                    (f"categories.{category}", category_overrides),
                    (f"regions.{region}", region_overrides),
                    ("defaults", defaults),
                ):
                    value = table.get(key)
                    if isinstance(value, int):
                        found.append((f"{source}.{key}", value))
                        break
            if len(found) != 2:
                continue  # a missing or invalid value is reported elsewhere
            (ship_source, ship), (cancel_source, cancel) = found
            if cancel < ship:
                failures.setdefault((ship_source, cancel_source, ship, cancel), []).append(
                    f"{region}/{category}"
                )
    problems = []
    for (ship_source, cancel_source, ship, cancel), combos in failures.items():
        problems.append(
            f"{cancel_source}: {cancel_key} ({cancel}) must be >= {ship_key} ({ship}, "
            f"from {ship_source}); affects {', '.join(combos)}"
        )
    return problems


def parse_instant(path: str, value: object) -> tuple[datetime | None, str | None]:
    """An aware UTC datetime from a TOML datetime or an RFC 3339 string."""
    example = "e.g. 2026-01-01T00:00:00Z"
    not_rfc3339 = f"{path}: must be an RFC 3339 date-time with offset ({example}), got "
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        if not RFC3339.fullmatch(value):
            if RFC3339.fullmatch(value + "Z"):
                return None, f"{path}: must include a UTC offset ({example}), got {shown(value)}"
            return None, not_rfc3339 + shown(value)
        try:
            parsed = datetime.fromisoformat(value.upper())
        except ValueError:
            return None, f"{path}: not a real date-time ({example}), got {shown(value)}"
    else:
        return None, not_rfc3339 + shown(value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        naive = parsed.isoformat()
        return None, f"{path}: must include a UTC offset ({example}), got naive {naive}"
    return parsed.astimezone(UTC), None


def format_instant(at: datetime) -> str:
    text = at.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def region_problems(
    path: str, code: str, timezone: object, subdivision: object, currency: object = None
) -> list[str]:
    problems: list[str] = []
    try:
        validate_country(code)
    except CalendarError as exc:
        problems.append(f"{path}: {exc}")
        country_ok = False
    else:
        country_ok = True
    if timezone is None:
        problems.append(f"{path}.timezone: required (an IANA name such as 'America/Los_Angeles')")
    else:
        try:
            validate_timezone(timezone)
        except CalendarError as exc:
            problems.append(f"{path}.timezone: {exc}")
    if country_ok and subdivision is not None:
        try:
            validate_subdivision(code, subdivision)
        except CalendarError as exc:
            problems.append(f"{path}.holiday_subdivision: {exc}")
    if currency is not None:
        try:
            check_currency(currency, field="currency")
        except InvalidMoney as exc:
            problems.append(f"{path}.currency: {exc.detail}")
    return problems


def table_in(doc: Mapping[str, Any], key: str, problems: list[str]) -> Mapping[str, Any] | None:
    if key not in doc:
        problems.append(f"{key}: required table")
        return None
    value = doc[key]
    if not isinstance(value, Mapping):
        problems.append(f"{key}: must be a table, got {shown(value)}")
        return None
    return value
