"""The marketplace policy: versioned data, never constants in code.

A policy document (TOML on disk, JSON over the API) has this shape::

    version = "2026-11-default"
    effective_from = 2026-01-01T00:00:00Z      # RFC 3339, with an offset
    [defaults]                                  # all six rule keys
    ship_within_business_days = 2
    ...
    [regions.GB]                                # an ISO code known to `holidays`
    timezone = "Europe/London"                  # required, an IANA name
    holiday_subdivision = "ENG"                 # optional
    currency = "GBP"                            # optional: the ISO 4217 code orders use
    ship_within_business_days = 3               # optional overrides
    [categories.made_to_order]                  # overrides; may be empty
    ship_within_business_days = 7

The rules for an order are ``defaults``, then the region's overrides, then the
category's overrides (later wins). A region that names a ``currency`` takes
orders in that currency only (``Policy.check_currency``); one without takes any.
``Policy.from_document`` checks everything and reports *all* problems at once,
each naming its key path, so a person can fix a candidate policy in one pass.
Nothing here reads files: callers hand in the TOML text or an already-decoded
document.
"""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, cast

from domain.calendar import (
    BusinessCalendar,
    CalendarError,
    calendar_for,
    validate_country,
    validate_subdivision,
    validate_timezone,
)
from domain.errors import InvalidMoney
from domain.money import check_currency

__all__ = [
    "BUSINESS_DAY_KEYS",
    "MAX_BUSINESS_DAYS",
    "MAX_REVIEW_WINDOW_DAYS",
    "RETURN_SHIPPING_PAYERS",
    "RULE_KEYS",
    "Policy",
    "PolicyError",
    "RegionPolicy",
    "Rules",
    "UnknownCategory",
    "UnknownRegion",
    "parse_policy",
]

RULE_KEYS = (
    "ship_within_business_days",
    "auto_cancel_after_business_days",
    "seller_response_business_days",
    "refund_response_business_days",
    "review_window_days",
    "return_shipping_payer",
)
BUSINESS_DAY_KEYS = RULE_KEYS[:4]
RETURN_SHIPPING_PAYERS = ("seller", "buyer")
# Upper bounds keep a mistyped (or hostile) candidate from asking the calendar
# to walk thousands of years: a year of business days is already absurd.
MAX_BUSINESS_DAYS = 365
MAX_REVIEW_WINDOW_DAYS = 3660

TOP_LEVEL_KEYS = ("version", "effective_from", "defaults", "regions", "categories")
REGION_KEYS = ("timezone", "holiday_subdivision", "currency")

_CATEGORY_NAME = re.compile(r"[a-z0-9_]+")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")

RuleValue = int | str


# -- errors -------------------------------------------------------------------


class PolicyError(ValueError):
    """A policy document is invalid; ``problems`` lists every reason found."""

    problems: list[str]

    def __init__(self, problems: str | Iterable[str], *, message: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if message is None:
            if len(self.problems) == 1:
                message = f"invalid policy: {self.problems[0]}"
            else:
                listed = "\n".join(f"- {problem}" for problem in self.problems)
                message = f"invalid policy ({len(self.problems)} problems):\n{listed}"
        super().__init__(message)


class UnknownRegion(PolicyError):
    """The policy has no rules for this region."""

    def __init__(self, region: str, known: Iterable[str]) -> None:
        self.region = region
        self.known = tuple(sorted(known))
        problem = f"unknown region {region!r}; this policy knows: {', '.join(self.known) or 'none'}"
        super().__init__(problem, message=problem)


class UnknownCategory(PolicyError):
    """The policy has no rules for this category."""

    def __init__(self, category: str, known: Iterable[str]) -> None:
        self.category = category
        self.known = tuple(sorted(known))
        problem = (
            f"unknown category {category!r}; this policy knows: {', '.join(self.known) or 'none'}"
        )
        super().__init__(problem, message=problem)


# -- value checks (shared by the document parser and the constructors) --------


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _rule_problem(path: str, key: str, value: object) -> str | None:
    """Why ``value`` is not acceptable for rule ``key`` (None if it is)."""
    if key == "return_shipping_payer":
        if isinstance(value, str) and value in RETURN_SHIPPING_PAYERS:
            return None
        return f"{path}: must be 'seller' or 'buyer', got {_show(value)}"
    limit = MAX_REVIEW_WINDOW_DAYS if key == "review_window_days" else MAX_BUSINESS_DAYS
    if type(value) is int and 1 <= value <= limit:
        return None
    if type(value) is int and value > limit:
        return f"{path}: must be an integer <= {limit}, got {value}"
    return f"{path}: must be an integer >= 1, got {_show(value)}"


def _unknown_key_problem(path: str, key: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{path}: unknown key{hint} (allowed: {', '.join(allowed)})"


def _override_problems(
    path: str, overrides: Mapping[str, object], extra: Iterable[str] = ()
) -> list[str]:
    """Problems in a table of rule overrides; keys in ``extra`` are skipped."""
    skip = set(extra)
    problems: list[str] = []
    for key, value in overrides.items():
        if key in skip:
            continue
        if key not in RULE_KEYS:
            problems.append(_unknown_key_problem(f"{path}.{key}", key, [*skip, *RULE_KEYS]))
            continue
        problem = _rule_problem(f"{path}.{key}", key, value)
        if problem is not None:
            problems.append(problem)
    return problems


def _valid_overrides(overrides: Mapping[str, object]) -> dict[str, RuleValue]:
    """The overrides whose key and value are acceptable (the rest are reported)."""
    valid: dict[str, RuleValue] = {}
    for key, value in overrides.items():
        if key in RULE_KEYS and _rule_problem(key, key, value) is None:
            assert isinstance(value, int | str)
            valid[key] = value
    return valid


def _combination_problems(
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


def _parse_instant(path: str, value: object) -> tuple[datetime | None, str | None]:
    """An aware UTC datetime from a TOML datetime or an RFC 3339 string."""
    example = "e.g. 2026-01-01T00:00:00Z"
    not_rfc3339 = f"{path}: must be an RFC 3339 date-time with offset ({example}), got "
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        if not _RFC3339.fullmatch(value):
            if _RFC3339.fullmatch(value + "Z"):
                return None, f"{path}: must include a UTC offset ({example}), got {_show(value)}"
            return None, not_rfc3339 + _show(value)
        try:
            parsed = datetime.fromisoformat(value.upper())
        except ValueError:
            return None, f"{path}: not a real date-time ({example}), got {_show(value)}"
    else:
        return None, not_rfc3339 + _show(value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        naive = parsed.isoformat()
        return None, f"{path}: must include a UTC offset ({example}), got naive {naive}"
    return parsed.astimezone(UTC), None


def _format_instant(at: datetime) -> str:
    text = at.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _region_problems(
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


# -- the model ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rules:
    """The effective rules for one region and category."""

    ship_within_business_days: int
    auto_cancel_after_business_days: int
    seller_response_business_days: int
    refund_response_business_days: int
    review_window_days: int
    return_shipping_payer: str

    def __post_init__(self) -> None:
        problems = [
            problem
            for key, value in self.as_dict().items()
            if (problem := _rule_problem(f"rules.{key}", key, value)) is not None
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
        return _rules_from(merged)


@dataclass(frozen=True)
class RegionPolicy:
    """A region: its calendar (country, time zone, subdivision), overrides and currency.

    ``currency``: the ISO 4217 code of the region's orders (None: any currency).
    """

    code: str
    timezone: str
    holiday_subdivision: str | None = None
    overrides: Mapping[str, RuleValue] = field(default_factory=dict)
    currency: str | None = None

    def __post_init__(self) -> None:
        path = f"regions.{self.code}"
        problems = _region_problems(
            path, self.code, self.timezone, self.holiday_subdivision, self.currency
        )
        problems += _override_problems(path, self.overrides)
        if problems:
            raise PolicyError(problems)
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    def __hash__(self) -> int:
        return hash(
            (
                self.code,
                self.timezone,
                self.holiday_subdivision,
                frozenset(self.overrides.items()),
                self.currency,
            )
        )

    def __reduce__(self) -> tuple[Any, ...]:
        args = (
            self.code,
            self.timezone,
            self.holiday_subdivision,
            dict(self.overrides),
            self.currency,
        )
        return (RegionPolicy, args)

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"timezone": self.timezone}
        if self.holiday_subdivision is not None:
            doc["holiday_subdivision"] = self.holiday_subdivision
        if self.currency is not None:
            doc["currency"] = self.currency
        doc.update(self.overrides)
        return doc


@dataclass(frozen=True)
class Policy:
    """One published version of the marketplace policy."""

    version: str
    effective_from: datetime
    defaults: Rules
    regions: Mapping[str, RegionPolicy]
    categories: Mapping[str, Mapping[str, RuleValue]]
    _rules: Mapping[tuple[str, str], Rules] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not isinstance(self.version, str) or not self.version.strip():
            problems.append(f"version: must be a non-empty string, got {_show(self.version)}")
        effective_from, problem = _parse_instant("effective_from", self.effective_from)
        if problem is not None:
            problems.append(problem)
        if not self.regions:
            problems.append("regions: define at least one region (e.g. [regions.US])")
        for code, region in self.regions.items():
            if region.code != code:
                problems.append(f"regions.{code}: holds the region {region.code!r}")
        if not self.categories:
            problems.append("categories: define at least one category (e.g. [categories.general])")
        for name, overrides in self.categories.items():
            if not _CATEGORY_NAME.fullmatch(name):
                problems.append(f"categories.{name}: category names use only a-z, 0-9 and _")
            problems += _override_problems(f"categories.{name}", overrides)
        problems += _combination_problems(
            self.defaults.as_dict(),
            {code: region.overrides for code, region in self.regions.items()},
            self.categories,
        )
        if problems:
            raise PolicyError(problems)
        assert effective_from is not None
        object.__setattr__(self, "effective_from", effective_from)
        object.__setattr__(self, "regions", MappingProxyType(dict(self.regions)))
        categories = {name: MappingProxyType(dict(o)) for name, o in self.categories.items()}
        object.__setattr__(self, "categories", MappingProxyType(categories))
        table = {
            (code, name): self.defaults.with_overrides(region.overrides).with_overrides(overrides)
            for code, region in self.regions.items()
            for name, overrides in categories.items()
        }
        object.__setattr__(self, "_rules", MappingProxyType(table))

    def __hash__(self) -> int:
        return hash((self.version, self.effective_from))

    def __reduce__(self) -> tuple[Any, ...]:
        # Mapping proxies do not pickle; the document is the canonical form.
        return (Policy.from_document, (self.to_document(),))

    # -- decisions ------------------------------------------------------------

    def rules_for(self, region: str, category: str) -> Rules:
        """defaults < region overrides < category overrides."""
        try:
            return self._rules[(region, category)]
        except KeyError:
            if region not in self.regions:
                raise UnknownRegion(region, self.regions) from None
            raise UnknownCategory(category, self.categories) from None

    def calendar(self, region: str) -> BusinessCalendar:
        try:
            found = self.regions[region]
        except KeyError:
            raise UnknownRegion(region, self.regions) from None
        return calendar_for(found.code, found.timezone, found.holiday_subdivision)

    def order_deadlines(
        self, region: str, category: str, placed_at: datetime
    ) -> tuple[datetime, datetime]:
        """(ship_by, auto_cancel_at) for an order placed at ``placed_at``."""
        rules = self.rules_for(region, category)
        calendar = self.calendar(region)
        return (
            calendar.window_end(placed_at, rules.ship_within_business_days),
            calendar.window_end(placed_at, rules.auto_cancel_after_business_days),
        )

    def check_currency(self, region: str, currency: str) -> None:
        """Refuse an order of ``region`` in another currency than the region's own.

        A region without a ``currency`` takes any. Raises UnknownRegion for a
        region this policy does not know, and InvalidMoney naming
        ``amount.currency`` for a currency the region does not take.
        """
        try:
            found = self.regions[region]
        except KeyError:
            raise UnknownRegion(region, self.regions) from None
        if found.currency is not None and currency != found.currency:
            raise InvalidMoney(
                f"orders in region {region} are in {found.currency}, not {currency}",
                field="amount.currency",
            )

    def is_effective_at(self, at: datetime) -> bool:
        return at >= self.effective_from

    # -- documents ------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        """The TOML-shaped document, JSON-serialisable (times as RFC 3339)."""
        return {
            "version": self.version,
            "effective_from": _format_instant(self.effective_from),
            "defaults": self.defaults.as_dict(),
            "regions": {code: region.to_document() for code, region in self.regions.items()},
            "categories": {name: dict(overrides) for name, overrides in self.categories.items()},
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Policy:
        """Validate a whole document; raise PolicyError listing every problem."""
        if not isinstance(doc, Mapping):
            raise PolicyError(f"(document): must be a table/object, got {_show(doc)}")
        problems: list[str] = []
        for key in doc:
            if key not in TOP_LEVEL_KEYS:
                problems.append(_unknown_key_problem(str(key), str(key), TOP_LEVEL_KEYS))

        version = doc.get("version")
        if version is None:
            problems.append('version: required (a non-empty string, e.g. "2026-11-default")')
        elif not isinstance(version, str) or not version.strip():
            problems.append(f"version: must be a non-empty string, got {_show(version)}")

        effective_from: datetime | None = None
        if "effective_from" not in doc:
            problems.append(
                "effective_from: required (RFC 3339 with offset, e.g. 2026-01-01T00:00:00Z)"
            )
        else:
            effective_from, problem = _parse_instant("effective_from", doc["effective_from"])
            if problem is not None:
                problems.append(problem)

        defaults_doc = _table(doc, "defaults", problems)
        if defaults_doc is not None:
            for key in RULE_KEYS:
                if key not in defaults_doc:
                    problems.append(f"defaults.{key}: required")
            problems += _override_problems("defaults", defaults_doc)
        defaults_valid = _valid_overrides(defaults_doc or {})

        regions_doc = _table(doc, "regions", problems)
        region_overrides: dict[str, dict[str, RuleValue]] = {}
        if regions_doc is not None:
            if not regions_doc:
                problems.append("regions: define at least one region (e.g. [regions.US])")
            for code, region_doc in regions_doc.items():
                path = f"regions.{code}"
                if not isinstance(region_doc, Mapping):
                    problems.append(f"{path}: must be a table, got {_show(region_doc)}")
                    continue
                problems += _region_problems(
                    path,
                    str(code),
                    region_doc.get("timezone"),
                    region_doc.get("holiday_subdivision"),
                    region_doc.get("currency"),
                )
                problems += _override_problems(path, region_doc, extra=REGION_KEYS)
                region_overrides[str(code)] = _valid_overrides(region_doc)

        categories_doc = _table(doc, "categories", problems)
        category_overrides: dict[str, dict[str, RuleValue]] = {}
        if categories_doc is not None:
            if not categories_doc:
                problems.append(
                    "categories: define at least one category (e.g. [categories.general])"
                )
            for name, category_doc in categories_doc.items():
                path = f"categories.{name}"
                if not isinstance(name, str) or not _CATEGORY_NAME.fullmatch(name):
                    problems.append(f"{path}: category names use only a-z, 0-9 and _")
                if not isinstance(category_doc, Mapping):
                    problems.append(
                        f"{path}: must be a table (may be empty), got {_show(category_doc)}"
                    )
                    continue
                problems += _override_problems(path, category_doc)
                category_overrides[str(name)] = _valid_overrides(category_doc)

        problems += _combination_problems(defaults_valid, region_overrides, category_overrides)
        if problems:
            raise PolicyError(problems)

        assert isinstance(version, str) and effective_from is not None
        assert defaults_doc is not None and regions_doc is not None
        return cls(
            version=version,
            effective_from=effective_from,
            defaults=_rules_from(defaults_valid),
            regions={
                code: RegionPolicy(
                    code=code,
                    timezone=region_doc["timezone"],
                    holiday_subdivision=region_doc.get("holiday_subdivision"),
                    overrides=region_overrides[code],
                    currency=region_doc.get("currency"),
                )
                for code, region_doc in regions_doc.items()
            },
            categories=category_overrides,
        )

    def with_changes(self, changes: Mapping[str, object], *, version: str | None = None) -> Policy:
        """A candidate: dotted-key changes applied over ``to_document()``.

        ``{"regions.US.ship_within_business_days": 3}`` sets a value (creating
        tables on the way, so ``{"categories.toys": {}}`` adds a category);
        a value of ``None`` removes the key (e.g. drops an override). The
        version is ``version`` if given, else a ``"version"`` change, else
        ``"<this version>+candidate"``. The result is fully re-validated.
        """
        doc = copy.deepcopy(self.to_document())
        doc["version"] = f"{self.version}+candidate"
        problems: list[str] = []
        for dotted, value in changes.items():
            parts = dotted.split(".") if isinstance(dotted, str) else []
            if not parts or any(not part for part in parts):
                problems.append(
                    f"{dotted!r}: not a dotted key path like 'defaults.review_window_days'"
                )
                continue
            if parts[0] not in TOP_LEVEL_KEYS:
                problems.append(_unknown_key_problem(dotted, parts[0], TOP_LEVEL_KEYS))
                continue
            target: Any = doc
            for depth, part in enumerate(parts[:-1]):
                child = target.get(part)
                if child is None:
                    if value is None:
                        break  # removing something that is not there
                    child = target[part] = {}
                if not isinstance(child, dict):
                    prefix = ".".join(parts[: depth + 1])
                    problems.append(f"{dotted}: {prefix} is a value, not a table")
                    break
                target = child
            else:
                if value is None:
                    target.pop(parts[-1], None)
                else:
                    target[parts[-1]] = copy.deepcopy(value)
        if version is not None:
            doc["version"] = version
        if problems:
            # Report what else is wrong with the candidate in the same pass.
            try:
                Policy.from_document(doc)
            except PolicyError as exc:
                problems += exc.problems
            raise PolicyError(problems)
        return Policy.from_document(doc)


def _rules_from(values: Mapping[str, RuleValue]) -> Rules:
    """Rules from a complete mapping of the six keys (validated by Rules)."""
    return Rules(
        ship_within_business_days=cast(int, values["ship_within_business_days"]),
        auto_cancel_after_business_days=cast(int, values["auto_cancel_after_business_days"]),
        seller_response_business_days=cast(int, values["seller_response_business_days"]),
        refund_response_business_days=cast(int, values["refund_response_business_days"]),
        review_window_days=cast(int, values["review_window_days"]),
        return_shipping_payer=cast(str, values["return_shipping_payer"]),
    )


def _table(doc: Mapping[str, Any], key: str, problems: list[str]) -> Mapping[str, Any] | None:
    if key not in doc:
        problems.append(f"{key}: required table")
        return None
    value = doc[key]
    if not isinstance(value, Mapping):
        problems.append(f"{key}: must be a table, got {_show(value)}")
        return None
    return value


def parse_policy(text: str) -> Policy:
    """TOML text -> Policy; syntax errors become PolicyError (with line info)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}") from None
    return Policy.from_document(doc)
