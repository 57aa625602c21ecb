"""Money as a decimal amount and an ISO 4217 currency code; never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.errors import InvalidMoney

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000000")


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: str | Decimal | int, currency: str, *, field: str = "amount") -> Money:
        """Validate and build; amounts have at most two decimal places and are >= 0."""
        if isinstance(amount, (bool, float)):
            raise InvalidMoney(
                f'{field} must be a decimal string such as "12.50", not a {type(amount).__name__}',
                field=field,
            )
        try:
            value = Decimal(str(amount).strip())
        except InvalidOperation:
            raise InvalidMoney(
                f'{field} must be a decimal string such as "12.50", got {amount!r}', field=field
            ) from None
        if not value.is_finite():
            raise InvalidMoney(f"{field} must be a finite number, got {amount!r}", field=field)
        if value < 0:
            raise InvalidMoney(f"{field} must not be negative, got {amount!r}", field=field)
        if value > MAX_AMOUNT:  # before quantize, which cannot hold more digits than its context
            raise InvalidMoney(f"{field} is implausibly large: {amount!r}", field=field)
        if value != value.quantize(_CENT):
            raise InvalidMoney(f"{field} has more than two decimal places: {amount!r}", field=field)
        if not isinstance(currency, str) or not _CURRENCY.match(currency):
            raise InvalidMoney(
                f'currency must be a three-letter ISO 4217 code such as "USD", got {currency!r}',
                field="currency",
            )
        return cls(value.quantize(_CENT), currency)

    def to_dict(self) -> dict[str, str]:
        return {"amount": f"{self.amount:.2f}", "currency": self.currency}

    def __str__(self) -> str:
        return f"{self.amount:.2f} {self.currency}"
