"""Money as a decimal amount and an ISO 4217 currency code; never a float.

An amount is written as a plain decimal string: digits, then optionally a point
and more digits (``"12.50"``, ``"0.5"``, ``"1200"``). Nothing else is read as a
number: no sign (``"-0.00"``, ``"+5"``), exponent (``"1e3"``), surrounding or
inner space, leading zero (``"012.50"``), digit separator (``"1_000"``),
non-ASCII digit, ``NaN`` or ``Infinity``.

The currency is a code of the ISO 4217 table as published, and the amount is
a whole number of that currency's minor unit: cents for USD (``"12.345"`` is
refused), none for JPY (``"12.5"`` is refused), fils for BHD (``"1.234"`` is
fine). The table comes from the pure-data ``iso4217`` package, which reads its
own bundled copy once when it is imported (as ``holidays`` does for calendars):
the domain itself does no I/O, and this module is the one place that knows
currencies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

import iso4217

from domain.errors import InvalidMoney

__all__ = ["MAX_AMOUNT", "MINOR_UNITS", "Money", "check_currency", "minor_units"]

MAX_AMOUNT = Decimal("1000000000")
#: No plausible amount needs more characters (the largest, with 4 decimals: 15).
MAX_AMOUNT_LENGTH = 40
#: Amounts keep (and print) at least cents, as they always have; more where the
#: currency's minor unit is smaller (BHD: 3 places).
MIN_PLACES = 2

_CURRENCY = re.compile(r"[A-Z]{3}")
_PLAIN_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_EXAMPLE = 'a plain decimal string such as "12.50"'

#: ISO 4217 code -> its minor unit as a power of ten (USD 2, JPY 0, BHD 3); None
#: where the standard gives none (gold, SDRs, test and "no currency" codes).
MINOR_UNITS: MappingProxyType[str, int | None] = MappingProxyType(
    {currency.code: currency.exponent for currency in iso4217.Currency}
)


def check_currency(currency: object, *, field: str = "currency") -> str:
    """``currency`` if it is an ISO 4217 code that money can be paid in, else InvalidMoney."""
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise InvalidMoney(
            f'{field} must be a three-letter ISO 4217 code such as "USD", got {currency!r}',
            field=field,
        )
    if currency not in MINOR_UNITS:
        raise InvalidMoney(
            f'{field} {currency!r} is not an ISO 4217 currency code (e.g. "USD", "EUR")',
            field=field,
        )
    if MINOR_UNITS[currency] is None:
        raise InvalidMoney(
            f"{field} {currency!r} is not a currency of payment (ISO 4217 gives it no "
            "minor unit)",
            field=field,
        )
    return currency


def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit (USD 2, JPY 0); InvalidMoney if unknown."""
    places = MINOR_UNITS.get(check_currency(currency))
    assert places is not None  # check_currency refuses the others
    return places


def _places(currency: str) -> int:
    """Decimal places an amount of ``currency`` is kept and printed with."""
    return max(MIN_PLACES, MINOR_UNITS.get(currency) or 0)


def _amount_text(amount: object, field: str) -> str:
    if isinstance(amount, bool | float) or not isinstance(amount, str | int | Decimal):
        raise InvalidMoney(
            f"{field} must be {_EXAMPLE}, not a {type(amount).__name__}", field=field
        )
    if isinstance(amount, Decimal):
        return format(amount, "f") if amount.is_finite() else str(amount)
    return str(amount)


def _parse_amount(amount: object, field: str) -> Decimal:
    """The value of a plain decimal string (>= 0); InvalidMoney naming ``field`` otherwise."""
    text = _amount_text(amount, field)
    if len(text) > MAX_AMOUNT_LENGTH:
        raise InvalidMoney(f"{field} is implausibly long: {text[:20]!r}...", field=field)
    sign, digits = (text[0], text[1:]) if text[:1] in ("-", "+") else ("", text)
    if not _PLAIN_DECIMAL.fullmatch(digits):
        raise InvalidMoney(
            f"{field} must be {_EXAMPLE} (digits and an optional decimal point; no sign, "
            f"exponent, spaces or leading zeros), got {amount!r}",
            field=field,
        )
    try:
        value = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        raise InvalidMoney(f"{field} must be {_EXAMPLE}, got {amount!r}", field=field) from None
    if sign == "-" and value != 0:
        raise InvalidMoney(f"{field} must not be negative, got {amount!r}", field=field)
    if sign:
        raise InvalidMoney(f"{field} must not carry a sign, got {amount!r}", field=field)
    if value > MAX_AMOUNT:
        raise InvalidMoney(f"{field} is implausibly large: {amount!r}", field=field)
    return value


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: str | Decimal | int, currency: str, *, field: str = "amount") -> Money:
        """Validate and build: a plain decimal amount >= 0, in whole minor units of an
        ISO 4217 currency. A problem with the amount names ``field``, one with the
        currency names ``currency``."""
        value = _parse_amount(amount, field)
        places = minor_units(currency)
        if value != value.quantize(Decimal(1).scaleb(-places)):
            if places == 0:
                problem = f"{field} must be a whole number of {currency}, which has no minor unit"
            else:
                problem = (
                    f"{field} has more than {places} decimal places, the minor unit of {currency}"
                )
            raise InvalidMoney(f"{problem}: {amount!r}", field=field)
        return cls(value.quantize(Decimal(1).scaleb(-_places(currency))), currency)

    def to_dict(self) -> dict[str, str]:
        return {"amount": self.amount_text(), "currency": self.currency}

    def amount_text(self) -> str:
        """The amount as the API writes it: ``"12.50"`` (at least two decimal places)."""
        return f"{self.amount:.{_places(self.currency)}f}"

    def __str__(self) -> str:
        return f"{self.amount_text()} {self.currency}"
