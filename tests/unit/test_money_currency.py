"""Money: plain decimal strings, ISO 4217 currencies, whole minor units; a region's currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidInput, InvalidMoney
from domain.money import MINOR_UNITS, Money, check_currency, minor_units
from domain.policy import Policy, PolicyError, UnknownRegion, parse_policy
from infrastructure.bootstrap import bundled_policy_text

NOT_PLAIN = [
    "-0.00", "-0", "+0", "+5.00", "1e3", "1E3", "1.5e2", "2E-2", " 5.00", "5.00 ", "\t5.00",
    "5.00\n", "5 .00", "NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "0x10", "1_000.00",
    "\uff15.00", "\u0665.00", "012.50", "00", ".50", "5.", "", "1,000.00", "5.00.1", "--5",
]


@pytest.mark.parametrize("amount", NOT_PLAIN)
def test_only_a_plain_decimal_string_is_an_amount(amount: str) -> None:
    with pytest.raises(InvalidMoney) as raised:
        Money.of(amount, "USD")
    assert raised.value.field == "amount"


def test_a_negative_amount_says_so() -> None:
    with pytest.raises(InvalidMoney, match="must not be negative"):
        Money.of("-5.00", "USD")
    with pytest.raises(InvalidMoney, match="must not carry a sign"):
        Money.of("-0.00", "USD")


@pytest.mark.parametrize(
    ("amount", "currency", "kept"),
    [
        ("12.50", "USD", "12.50"),
        ("12.5", "USD", "12.50"),
        ("0", "USD", "0.00"),
        ("0.00", "GBP", "0.00"),
        ("1200", "JPY", "1200.00"),
        ("1200.00", "JPY", "1200.00"),  # a whole number of yen, written with cents
        ("1.234", "BHD", "1.234"),
        ("690", "THB", "690.00"),
    ],
)
def test_amounts_in_whole_minor_units_are_kept(amount: str, currency: str, kept: str) -> None:
    money = Money.of(amount, currency)
    assert money.to_dict() == {"amount": kept, "currency": currency}
    assert money.amount == Decimal(amount)


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("12.5", "JPY", "whole number of JPY"),
        ("0.1", "KRW", "whole number of KRW"),
        ("12.345", "USD", "more than 2 decimal places"),
        ("1.2345", "BHD", "more than 3 decimal places"),
    ],
)
def test_an_amount_finer_than_the_minor_unit_is_refused(
    amount: str, currency: str, message: str
) -> None:
    with pytest.raises(InvalidMoney, match=message) as raised:
        Money.of(amount, currency)
    assert raised.value.field == "amount"


@pytest.mark.parametrize("currency", ["XYZ", "usd", "US", "USDX", "", "XAU", "XXX", "XTS"])
def test_a_currency_must_be_an_iso_4217_currency_of_payment(currency: str) -> None:
    with pytest.raises(InvalidMoney) as raised:
        Money.of("1.00", currency)
    assert raised.value.field == "currency"


def test_the_currency_table_is_iso_4217() -> None:
    assert minor_units("USD") == 2 and minor_units("JPY") == 0 and minor_units("BHD") == 3
    assert MINOR_UNITS["XAU"] is None  # gold: no minor unit, not a currency of payment
    assert check_currency("THB") == "THB"
    with pytest.raises(InvalidMoney):
        minor_units("ABC")


def test_integers_and_decimals_are_read_as_their_plain_value() -> None:
    assert Money.of(5, "USD").to_dict()["amount"] == "5.00"
    assert Money.of(Decimal("1E+3"), "USD").to_dict()["amount"] == "1000.00"
    for value in (Decimal("-0"), Decimal("NaN"), Decimal("-1"), -1):
        with pytest.raises(InvalidMoney):
            Money.of(value, "USD")


# -- a region's currency ---------------------------------------------------------------


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(bundled_policy_text())


@pytest.mark.parametrize(("region", "currency"), [("US", "USD"), ("GB", "GBP"), ("TH", "THB")])
def test_an_order_in_its_region_currency_passes(
    policy: Policy, region: str, currency: str
) -> None:
    policy.check_currency(region, currency)


def test_an_order_in_another_currency_than_its_region_is_refused(policy: Policy) -> None:
    with pytest.raises(InvalidInput, match="orders in region US are in USD, not GBP") as raised:
        policy.check_currency("US", "GBP")
    assert raised.value.field == "amount.currency"
    with pytest.raises(UnknownRegion):
        policy.check_currency("FR", "EUR")


def test_a_region_without_a_currency_takes_any(policy: Policy) -> None:
    doc = policy.to_document()
    del doc["regions"]["US"]["currency"]
    loose = Policy.from_document(doc)
    loose.check_currency("US", "EUR")
    assert "currency" not in loose.to_document()["regions"]["US"]


def test_a_region_currency_survives_the_document_and_candidates(policy: Policy) -> None:
    assert Policy.from_document(policy.to_document()) == policy
    candidate = policy.with_changes({"regions.US.currency": "EUR"})
    assert candidate.regions["US"].currency == "EUR"
    with pytest.raises(PolicyError, match=r"regions\.US\.currency"):
        policy.with_changes({"regions.US.currency": "EURO"})
