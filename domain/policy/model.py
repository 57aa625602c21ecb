"""The marketplace policy: versioned data, never constants in code.

A policy document (TOML on disk, JSON over the API) has this shape::

    version = "2026-12-default"
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
    [reason_codes.not_shipped_in_time]          # the catalogue rulings name (``reasons``)
    text = "The seller did not ship your order by its shipping deadline."
    outcomes = ["refund_full", "refund_partial"]

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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from domain.calendar import BusinessCalendar, calendar_for
from domain.errors import InvalidMoney
from domain.policy.checks import (
    CATEGORY_NAME,
    OPTIONAL_RULE_DEFAULTS,
    REGION_KEYS,
    RULE_KEYS,
    TOP_LEVEL_KEYS,
    RuleValue,
    combination_problems,
    format_instant,
    override_problems,
    parse_instant,
    region_problems,
    shown,
    table_in,
    unknown_key_problem,
    valid_overrides,
)
from domain.policy.errors import PolicyError, UnknownCategory, UnknownRegion
from domain.policy.reasons import (
    NO_REASON_CODES,
    ReasonCodes,
    reason_code_problems,
    reason_codes_from,
)
from domain.policy.rules import Rules, rules_from


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
        problems = region_problems(
            path, self.code, self.timezone, self.holiday_subdivision, self.currency
        )
        problems += override_problems(path, self.overrides)
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
    #: The reason codes rulings name while this version is in force.
    reason_codes: ReasonCodes = NO_REASON_CODES
    _rules: Mapping[tuple[str, str], Rules] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not isinstance(self.version, str) or not self.version.strip():
            problems.append(f"version: must be a non-empty string, got {shown(self.version)}")
        effective_from, problem = parse_instant("effective_from", self.effective_from)
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
            if not CATEGORY_NAME.fullmatch(name):
                problems.append(f"categories.{name}: category names use only a-z, 0-9 and _")
            problems += override_problems(f"categories.{name}", overrides)
        problems += combination_problems(
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
            "effective_from": format_instant(self.effective_from),
            "defaults": self.defaults.as_dict(),
            "regions": {code: region.to_document() for code, region in self.regions.items()},
            "categories": {name: dict(overrides) for name, overrides in self.categories.items()},
            "reason_codes": self.reason_codes.to_document(),
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Policy:
        """Validate a whole document; raise PolicyError listing every problem."""
        if not isinstance(doc, Mapping):
            raise PolicyError(f"(document): must be a table/object, got {shown(doc)}")
        problems: list[str] = []
        for key in doc:
            if key not in TOP_LEVEL_KEYS:
                problems.append(unknown_key_problem(str(key), str(key), TOP_LEVEL_KEYS))

        version = doc.get("version")
        if version is None:
            problems.append('version: required (a non-empty string, e.g. "2026-12-default")')
        elif not isinstance(version, str) or not version.strip():
            problems.append(f"version: must be a non-empty string, got {shown(version)}")

        effective_from: datetime | None = None
        if "effective_from" not in doc:
            problems.append(
                "effective_from: required (RFC 3339 with offset, e.g. 2026-01-01T00:00:00Z)"
            )
        else:
            effective_from, problem = parse_instant("effective_from", doc["effective_from"])
            if problem is not None:
                problems.append(problem)

        defaults_doc = table_in(doc, "defaults", problems)
        if defaults_doc is not None:
            for key in RULE_KEYS:
                if key not in defaults_doc and key not in OPTIONAL_RULE_DEFAULTS:
                    problems.append(f"defaults.{key}: required")
            problems += override_problems("defaults", defaults_doc)
        defaults_valid = valid_overrides(defaults_doc or {})

        regions_doc = table_in(doc, "regions", problems)
        region_overrides: dict[str, dict[str, RuleValue]] = {}
        if regions_doc is not None:
            if not regions_doc:
                problems.append("regions: define at least one region (e.g. [regions.US])")
            for code, region_doc in regions_doc.items():
                path = f"regions.{code}"
                if not isinstance(region_doc, Mapping):
                    problems.append(f"{path}: must be a table, got {shown(region_doc)}")
                    continue
                problems += region_problems(
                    path,
                    str(code),
                    region_doc.get("timezone"),
                    region_doc.get("holiday_subdivision"),
                    region_doc.get("currency"),
                )
                problems += override_problems(path, region_doc, extra=REGION_KEYS)
                region_overrides[str(code)] = valid_overrides(region_doc)

        categories_doc = table_in(doc, "categories", problems)
        category_overrides: dict[str, dict[str, RuleValue]] = {}
        if categories_doc is not None:
            if not categories_doc:
                problems.append(
                    "categories: define at least one category (e.g. [categories.general])"
                )
            for name, category_doc in categories_doc.items():
                path = f"categories.{name}"
                if not isinstance(name, str) or not CATEGORY_NAME.fullmatch(name):
                    problems.append(f"{path}: category names use only a-z, 0-9 and _")
                if not isinstance(category_doc, Mapping):
                    problems.append(
                        f"{path}: must be a table (may be empty), got {shown(category_doc)}"
                    )
                    continue
                problems += override_problems(path, category_doc)
                category_overrides[str(name)] = valid_overrides(category_doc)

        reasons_doc = doc.get("reason_codes", {})
        problems += reason_code_problems(reasons_doc)
        problems += combination_problems(defaults_valid, region_overrides, category_overrides)
        if problems:
            raise PolicyError(problems)

        assert isinstance(version, str) and effective_from is not None
        assert defaults_doc is not None and regions_doc is not None
        return cls(
            version=version,
            effective_from=effective_from,
            defaults=rules_from(defaults_valid),
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
            reason_codes=reason_codes_from(reasons_doc),
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
                problems.append(unknown_key_problem(dotted, parts[0], TOP_LEVEL_KEYS))
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


def parse_policy(text: str) -> Policy:
    """TOML text -> Policy; syntax errors become PolicyError (with line info)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}") from None
    return Policy.from_document(doc)
