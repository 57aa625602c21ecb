"""Policy documents: parsing, validation, precedence, deadlines, candidates."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import CalendarError
from domain.policy import (
    RULE_KEYS,
    Policy,
    PolicyError,
    RegionPolicy,
    Rules,
    UnknownCategory,
    UnknownRegion,
    parse_policy,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FILE = REPO_ROOT / "infrastructure" / "policies" / "default.toml"
LA = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def default_text() -> str:
    return DEFAULT_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def policy(default_text: str) -> Policy:
    return parse_policy(default_text)


@pytest.fixture
def doc(policy: Policy) -> Doc:
    return policy.to_document()


def problems_of(doc: Doc) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        Policy.from_document(doc)
    return raised.value.problems


# -- the bundled default --------------------------------------------------------


def test_given_default_file_when_parsed_then_design_values(policy: Policy) -> None:
    assert policy.version == "2027-01-default"
    assert policy.effective_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert policy.defaults == Rules(
        ship_within_business_days=2,
        auto_cancel_after_business_days=7,
        seller_response_business_days=2,
        refund_response_business_days=2,
        review_window_days=60,
        return_shipping_payer="seller",
        reminder_hours_before=24,
    )
    assert set(policy.regions) == {"US", "GB", "TH"}
    assert policy.regions["US"].timezone == "America/Los_Angeles"
    assert policy.regions["GB"] == RegionPolicy(
        "GB", "Europe/London", "ENG", {"ship_within_business_days": 3}, currency="GBP"
    )
    assert {code: region.currency for code, region in policy.regions.items()} == {
        "US": "USD",
        "GB": "GBP",
        "TH": "THB",
    }
    assert policy.regions["TH"].timezone == "Asia/Bangkok"
    assert set(policy.categories) == {
        "general",
        "electronics",
        "fashion",
        "home",
        "beauty",
        "made_to_order",
    }
    assert policy.categories["general"] == {}
    assert policy.categories["made_to_order"] == {
        "ship_within_business_days": 7,
        "auto_cancel_after_business_days": 12,
    }


# -- precedence -----------------------------------------------------------------


def test_given_region_without_overrides_when_rules_for_then_defaults(policy: Policy) -> None:
    assert policy.rules_for("US", "general") == policy.defaults


def test_given_region_overrides_when_rules_for_then_region_beats_defaults(policy: Policy) -> None:
    assert policy.rules_for("GB", "general").ship_within_business_days == 3
    th = policy.rules_for("TH", "electronics")
    assert th.seller_response_business_days == 1
    assert th.refund_response_business_days == 1
    assert policy.rules_for("US", "general").seller_response_business_days == 2
    assert policy.rules_for("GB", "general").refund_response_business_days == 2


def test_given_category_overrides_when_rules_for_then_category_beats_region(
    policy: Policy,
) -> None:
    gb = policy.rules_for("GB", "made_to_order")
    assert gb.ship_within_business_days == 7  # not GB's 3
    assert gb.auto_cancel_after_business_days == 12
    th = policy.rules_for("TH", "made_to_order")
    assert th.seller_response_business_days == 1  # region still applies elsewhere
    assert th.review_window_days == 60  # and defaults below that


def test_given_unknown_region_when_rules_for_then_unknown_region_lists_known(
    policy: Policy,
) -> None:
    with pytest.raises(UnknownRegion, match="GB, TH, US") as raised:
        policy.rules_for("FR", "general")
    assert isinstance(raised.value, PolicyError)
    assert raised.value.region == "FR"
    with pytest.raises(UnknownRegion):
        policy.calendar("FR")


def test_given_unknown_category_when_rules_for_then_unknown_category_lists_known(
    policy: Policy,
) -> None:
    with pytest.raises(UnknownCategory, match="beauty, electronics") as raised:
        policy.rules_for("US", "toys")
    assert isinstance(raised.value, PolicyError)
    assert "made_to_order" in str(raised.value)


# -- deadlines ------------------------------------------------------------------


def test_given_us_friday_order_when_deadlines_then_design_example(policy: Policy) -> None:
    ship_by, auto_cancel_at = policy.order_deadlines(
        "US", "general", datetime(2026, 11, 20, 10, 0, tzinfo=LA)
    )

    assert ship_by == datetime(2026, 11, 24, 23, 59, 59, tzinfo=timezone(timedelta(hours=-8)))
    assert auto_cancel_at == datetime(2026, 12, 2, 23, 59, 59, tzinfo=timezone(timedelta(hours=-8)))


def test_given_gb_made_to_order_when_deadlines_then_category_windows_in_london(
    policy: Policy,
) -> None:
    ship_by, auto_cancel_at = policy.order_deadlines(
        "GB", "made_to_order", datetime(2026, 12, 23, 10, 0, tzinfo=UTC)
    )

    # 24, 29, 30, 31 Dec, 4, 5, 6 Jan (25/28 Dec and 1 Jan are bank holidays).
    assert ship_by == datetime(2027, 1, 6, 23, 59, 59, tzinfo=UTC)
    assert auto_cancel_at == datetime(2027, 1, 13, 23, 59, 59, tzinfo=UTC)
    assert ship_by.tzinfo is LONDON


def test_given_naive_placed_at_when_deadlines_then_calendar_error(policy: Policy) -> None:
    with pytest.raises(CalendarError, match="naive"):
        policy.order_deadlines("US", "general", datetime(2026, 11, 20, 10, 0))


def test_given_region_when_calendar_then_its_country_zone_and_subdivision(
    policy: Policy,
) -> None:
    calendar = policy.calendar("GB")

    assert (calendar.country, calendar.timezone, calendar.subdivision) == (
        "GB",
        "Europe/London",
        "ENG",
    )
    assert calendar.tz == LONDON
    assert policy.calendar("GB") is calendar


# -- documents ------------------------------------------------------------------


def test_given_policy_when_to_document_then_json_serialisable_rfc3339(policy: Policy) -> None:
    doc = policy.to_document()

    assert json.loads(json.dumps(doc)) == doc
    assert doc["effective_from"] == "2026-01-01T00:00:00Z"
    assert doc["regions"]["GB"] == {
        "timezone": "Europe/London",
        "holiday_subdivision": "ENG",
        "currency": "GBP",
        "ship_within_business_days": 3,
    }
    assert "holiday_subdivision" not in doc["regions"]["US"]
    assert doc["categories"]["general"] == {}


def test_given_document_when_round_tripped_then_equal_policy(policy: Policy) -> None:
    again = Policy.from_document(json.loads(json.dumps(policy.to_document())))

    assert again == policy
    assert again.to_document() == policy.to_document()


def test_given_policy_when_pickled_or_hashed_then_equal(policy: Policy) -> None:
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert copy.deepcopy(policy) == policy
    assert hash(policy) == hash(Policy.from_document(policy.to_document()))


def test_given_effective_from_with_offset_when_parsed_then_normalised_to_utc(doc: Doc) -> None:
    doc["effective_from"] = "2026-01-01T07:00:00+07:00"
    assert Policy.from_document(doc).effective_from == datetime(2026, 1, 1, tzinfo=UTC)
    doc["effective_from"] = datetime(2026, 1, 1, 7, tzinfo=timezone(timedelta(hours=7)))
    assert Policy.from_document(doc).effective_from.tzinfo is UTC


def test_given_toml_native_datetime_when_parsed_then_accepted(default_text: str) -> None:
    text = default_text.replace(
        'effective_from = "2026-01-01T00:00:00Z"', "effective_from = 2026-01-01T01:00:00+01:00"
    )

    assert parse_policy(text).effective_from == datetime(2026, 1, 1, tzinfo=UTC)


def test_given_policy_when_checking_effect_then_from_effective_from_on(policy: Policy) -> None:
    assert policy.is_effective_at(datetime(2026, 1, 1, tzinfo=UTC))
    assert not policy.is_effective_at(datetime(2025, 12, 31, 23, 59, tzinfo=UTC))


# -- validation -------------------------------------------------------------------


def test_given_bad_toml_when_parsed_then_policy_error_with_line() -> None:
    with pytest.raises(PolicyError, match="line 2") as raised:
        parse_policy('version = "x"\neffective_from = \n')
    assert raised.value.problems[0].startswith("not valid TOML")


def test_given_wrong_type_when_validated_then_problem_names_key_path(doc: Doc) -> None:
    doc["regions"]["GB"]["ship_within_business_days"] = "x"

    assert problems_of(doc) == [
        "regions.GB.ship_within_business_days: must be an integer >= 1, got 'x'"
    ]


def set_path(path: str, value: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        *parents, last = path.split(".")
        target = doc
        for part in parents:
            target = target[part]
        target[last] = value

    return change


def drop_path(path: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        *parents, last = path.split(".")
        target = doc
        for part in parents:
            target = target[part]
        del target[last]

    return change


INVALID = [
    ("missing version", drop_path("version"), "version: required"),
    ("empty version", set_path("version", "  "), "version: must be a non-empty string"),
    ("version not a string", set_path("version", 3), "version: must be a non-empty string"),
    ("missing effective_from", drop_path("effective_from"), "effective_from: required"),
    (
        "naive effective_from string",
        set_path("effective_from", "2026-01-01T00:00:00"),
        "effective_from: must include a UTC offset",
    ),
    (
        "naive effective_from datetime",
        set_path("effective_from", datetime(2026, 1, 1)),
        "effective_from: must include a UTC offset",
    ),
    (
        "date-only effective_from",
        set_path("effective_from", "2026-01-01"),
        "effective_from: must be an RFC 3339",
    ),
    (
        "impossible effective_from",
        set_path("effective_from", "2026-02-30T00:00:00Z"),
        "effective_from: not a real date-time",
    ),
    ("effective_from a number", set_path("effective_from", 0), "effective_from: must be an RFC"),
    ("missing defaults", drop_path("defaults"), "defaults: required table"),
    (
        "missing default key",
        drop_path("defaults.review_window_days"),
        "defaults.review_window_days: required",
    ),
    (
        "string where int",
        set_path("defaults.ship_within_business_days", "2"),
        "defaults.ship_within_business_days: must be an integer >= 1, got '2'",
    ),
    (
        "float where int",
        set_path("defaults.seller_response_business_days", 2.0),
        "defaults.seller_response_business_days: must be an integer >= 1, got 2.0",
    ),
    (
        "bool where int",
        set_path("defaults.refund_response_business_days", True),
        "defaults.refund_response_business_days: must be an integer >= 1, got True",
    ),
    (
        "zero days",
        set_path("defaults.review_window_days", 0),
        "defaults.review_window_days: must be an integer >= 1, got 0",
    ),
    (
        "negative days",
        set_path("regions.TH.seller_response_business_days", -1),
        "regions.TH.seller_response_business_days: must be an integer >= 1, got -1",
    ),
    (
        "absurdly many days",
        set_path("categories.home.auto_cancel_after_business_days", 10**9),
        "categories.home.auto_cancel_after_business_days: must be an integer <= 365",
    ),
    (
        "unknown payer",
        set_path("defaults.return_shipping_payer", "platform"),
        "defaults.return_shipping_payer: must be 'seller' or 'buyer', got 'platform'",
    ),
    (
        "auto-cancel before ship-by in defaults",
        set_path("defaults.auto_cancel_after_business_days", 1),
        "defaults.auto_cancel_after_business_days: auto_cancel_after_business_days (1) "
        "must be >= ship_within_business_days (2",
    ),
    (
        "auto-cancel before a region's ship-by",
        set_path("regions.GB.ship_within_business_days", 9),
        "must be >= ship_within_business_days (9, from regions.GB.ship_within_business_days)",
    ),
    (
        "auto-cancel before a category's ship-by",
        set_path("categories.beauty.ship_within_business_days", 8),
        "affects US/beauty, GB/beauty, TH/beauty",
    ),
    ("unknown region", set_path("regions.XX", {"timezone": "UTC"}), "regions.XX: unknown country"),
    (
        "lower-case region",
        set_path("regions.fr", {"timezone": "Europe/Paris"}),
        "did you mean 'FR'",
    ),
    ("alias region", set_path("regions.UK", {"timezone": "Europe/London"}), "use the code 'GB'"),
    ("missing timezone", drop_path("regions.US.timezone"), "regions.US.timezone: required"),
    (
        "unknown timezone",
        set_path("regions.TH.timezone", "Asia/Bangkokk"),
        "regions.TH.timezone: unknown time zone 'Asia/Bangkokk'",
    ),
    (
        "timezone not a string",
        set_path("regions.TH.timezone", 7),
        "regions.TH.timezone: time zone must be a non-empty IANA name",
    ),
    (
        "unknown subdivision",
        set_path("regions.GB.holiday_subdivision", "XYZ"),
        "regions.GB.holiday_subdivision: unknown holiday subdivision 'XYZ'",
    ),
    ("unknown top-level key", set_path("verison", "x"), "verison: unknown key"),
    (
        "unknown default key",
        set_path("defaults.ship_within_days", 2),
        "defaults.ship_within_days: unknown key; did you mean 'ship_within_business_days'?",
    ),
    (
        "unknown region key",
        set_path("regions.US.time_zone", "UTC"),
        "regions.US.time_zone: unknown key; did you mean 'timezone'?",
    ),
    (
        "unknown category key",
        set_path("categories.home.review_days", 3),
        "categories.home.review_days: unknown key",
    ),
    (
        "region currency not ISO 4217",
        set_path("regions.US.currency", "XYZ"),
        "regions.US.currency: currency 'XYZ' is not an ISO 4217 currency code",
    ),
    (
        "region currency in lower case",
        set_path("regions.GB.currency", "gbp"),
        "regions.GB.currency: currency must be a three-letter ISO 4217 code",
    ),
    (
        "region currency not a string",
        set_path("regions.TH.currency", 764),
        "regions.TH.currency: currency must be a three-letter ISO 4217 code",
    ),
    ("bad category name", set_path("categories.Made-To-Order", {}), "categories.Made-To-Order:"),
    ("regions not a table", set_path("regions", ["US"]), "regions: must be a table"),
    ("region not a table", set_path("regions.US", "America/Los_Angeles"), "regions.US: must be"),
    ("no regions", set_path("regions", {}), "regions: define at least one region"),
    ("no categories", set_path("categories", {}), "categories: define at least one category"),
    ("missing categories", drop_path("categories"), "categories: required table"),
    ("category not a table", set_path("categories.home", 3), "categories.home: must be a table"),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [pytest.param(change, expected, id=name) for name, change, expected in INVALID],
)
def test_given_invalid_document_when_validated_then_policy_error_says_where(
    doc: Doc, change: Callable[[Doc], None], expected: str
) -> None:
    change(doc)

    problems = problems_of(doc)

    assert any(expected in problem for problem in problems), problems


def test_given_naive_toml_datetime_when_parsed_then_policy_error(default_text: str) -> None:
    text = default_text.replace(
        'effective_from = "2026-01-01T00:00:00Z"', "effective_from = 2026-01-01T00:00:00"
    )

    with pytest.raises(PolicyError, match="effective_from: must include a UTC offset"):
        parse_policy(text)


def test_given_many_mistakes_when_validated_then_all_reported_at_once(doc: Doc) -> None:
    doc["version"] = ""
    doc["defaults"]["ship_within_business_days"] = "two"
    doc["regions"]["TH"]["timezone"] = "Bangkok"
    doc["categories"]["home"]["colour"] = "red"

    with pytest.raises(PolicyError) as raised:
        Policy.from_document(doc)

    problems = raised.value.problems
    assert len(problems) == 4
    assert [problem.split(":")[0] for problem in problems] == [
        "version",
        "defaults.ship_within_business_days",
        "regions.TH.timezone",
        "categories.home.colour",
    ]
    assert "4 problems" in str(raised.value)


def test_given_not_a_mapping_when_validated_then_policy_error() -> None:
    with pytest.raises(PolicyError, match="must be a table"):
        Policy.from_document(["not", "a", "document"])  # type: ignore[arg-type]


def test_given_invalid_rules_when_constructed_directly_then_policy_error() -> None:
    with pytest.raises(PolicyError, match=r"rules\.review_window_days"):
        Rules(2, 7, 2, 2, 0, "seller")
    with pytest.raises(PolicyError, match="must be >= ship_within_business_days"):
        Rules(5, 3, 2, 2, 60, "seller")


def test_given_invalid_region_when_constructed_directly_then_policy_error() -> None:
    with pytest.raises(PolicyError, match=r"regions\.GB\.timezone"):
        RegionPolicy("GB", "Europe/Londres")


def test_given_naive_effective_from_when_policy_constructed_directly_then_policy_error(
    policy: Policy,
) -> None:
    with pytest.raises(PolicyError, match="effective_from"):
        Policy(
            version="x",
            effective_from=datetime(2026, 1, 1),
            defaults=policy.defaults,
            regions=policy.regions,
            categories=policy.categories,
        )


def test_given_policy_when_mapping_mutated_then_refused(policy: Policy) -> None:
    with pytest.raises(TypeError):
        policy.regions["FR"] = policy.regions["GB"]  # type: ignore[index]
    with pytest.raises(TypeError):
        policy.categories["general"]["review_window_days"] = 1  # type: ignore[index]


# -- candidates -------------------------------------------------------------------


def test_given_dotted_changes_when_with_changes_then_candidate_differs_only_there(
    policy: Policy,
) -> None:
    candidate = policy.with_changes(
        {"regions.US.ship_within_business_days": 3, "defaults.review_window_days": 30}
    )

    assert candidate.version == "2027-01-default+candidate"
    assert candidate.rules_for("US", "general").ship_within_business_days == 3
    assert candidate.rules_for("TH", "general").ship_within_business_days == 2
    assert candidate.rules_for("GB", "home").review_window_days == 30
    assert candidate.rules_for("US", "made_to_order").ship_within_business_days == 7
    assert candidate.effective_from == policy.effective_from
    assert policy.rules_for("US", "general").ship_within_business_days == 2  # untouched


def test_given_version_when_with_changes_then_used(policy: Policy) -> None:
    assert policy.with_changes({}, version="2026-12").version == "2026-12"
    assert policy.with_changes({"version": "v2"}).version == "v2"
    assert policy.with_changes({"version": "v2"}, version="v3").version == "v3"


def test_given_new_tables_when_with_changes_then_created(policy: Policy) -> None:
    candidate = policy.with_changes(
        {
            "categories.toys": {},
            "categories.custom_prints.ship_within_business_days": 5,
            "regions.FR.timezone": "Europe/Paris",
            "effective_from": "2026-12-01T00:00:00+01:00",
        }
    )

    assert candidate.rules_for("FR", "toys") == policy.defaults
    assert candidate.rules_for("GB", "custom_prints").ship_within_business_days == 5
    assert candidate.effective_from == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def test_given_none_when_with_changes_then_override_removed(policy: Policy) -> None:
    candidate = policy.with_changes(
        {"regions.GB.ship_within_business_days": None, "categories.nothing.here": None}
    )

    assert candidate.rules_for("GB", "general").ship_within_business_days == 2
    assert "nothing" not in candidate.categories


def test_given_unknown_top_level_path_when_with_changes_then_policy_error(
    policy: Policy,
) -> None:
    with pytest.raises(PolicyError, match=r"rule\.ship: unknown key"):
        policy.with_changes({"rule.ship": 3})


@pytest.mark.parametrize("key", ["", "defaults.", ".defaults", "defaults..review_window_days"])
def test_given_malformed_path_when_with_changes_then_policy_error(policy: Policy, key: str) -> None:
    with pytest.raises(PolicyError, match="not a dotted key path"):
        policy.with_changes({key: 1})


def test_given_path_through_a_value_when_with_changes_then_policy_error(policy: Policy) -> None:
    with pytest.raises(PolicyError, match=r"defaults\.review_window_days is a value"):
        policy.with_changes({"defaults.review_window_days.max": 1})


def test_given_invalid_candidate_when_with_changes_then_all_problems_reported(
    policy: Policy,
) -> None:
    with pytest.raises(PolicyError) as raised:
        policy.with_changes(
            {
                "nonsense": 1,
                "regions.US.ship_within_business_days": 0,
                "defaults.auto_cancel_after_business_days": 1,
            }
        )

    problems = raised.value.problems
    assert problems[0].startswith("nonsense: unknown key")
    assert any(p.startswith("regions.US.ship_within_business_days") for p in problems)
    assert any(p.startswith("defaults.auto_cancel_after_business_days") for p in problems)


@settings(max_examples=50, deadline=None)
@given(
    ship=st.integers(min_value=1, max_value=20),
    grace=st.integers(min_value=0, max_value=20),
    review=st.integers(min_value=1, max_value=400),
    payer=st.sampled_from(["seller", "buyer"]),
)
def test_property_valid_candidate_round_trips_and_applies(
    ship: int, grace: int, review: int, payer: str
) -> None:
    base = parse_policy(DEFAULT_FILE.read_text(encoding="utf-8"))
    candidate = base.with_changes(
        {
            "regions.TH.ship_within_business_days": ship,
            "regions.TH.auto_cancel_after_business_days": ship + grace,
            "defaults.review_window_days": review,
            "defaults.return_shipping_payer": payer,
        }
    )

    rules = candidate.rules_for("TH", "general")
    assert (rules.ship_within_business_days, rules.auto_cancel_after_business_days) == (
        ship,
        ship + grace,
    )
    assert rules.review_window_days == review
    assert rules.return_shipping_payer == payer
    assert Policy.from_document(candidate.to_document()) == candidate
    assert set(RULE_KEYS) == set(candidate.to_document()["defaults"])
