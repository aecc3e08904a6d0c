"""Money as `Decimal`, with the currency's own precision.

Amazon sends amounts as strings (Orders) or JSON numbers (Finances); a float that slipped through
a JSON parser is converted through `str` so 0.1 stays 0.1 rather than its binary neighbour.
Rounding is ROUND_HALF_UP because that is what buyers, Amazon's invoices and Oracle's
Receivables precision rules produce for the amounts we derive (unit prices, proportions, COGS);
banker's rounding would make our derived figures differ from what a person computes by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal("0")

# ISO 4217 minor units for the currencies Amazon marketplaces use; anything else is 2.
_MINOR_UNITS: dict[str, int] = {
    "JPY": 0,
    "KRW": 0,
    "CLP": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}


class MoneyError(ValueError):
    """An amount or currency code that cannot be used as money."""


def minor_units(currency: str) -> int:
    """Decimal places of `currency` (JPY 0, most others 2)."""
    check_currency(currency)
    return _MINOR_UNITS.get(currency, 2)


def check_currency(currency: str) -> str:
    """Reject anything that is not a three-letter upper-case ISO 4217 code."""
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code")
    if not currency.isupper():
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code (use upper case)")
    return currency


def to_decimal(value: object) -> Decimal:
    """Convert an API amount to `Decimal` without passing through binary floating point."""
    if isinstance(value, bool):
        raise MoneyError(f"{value!r} is not an amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise MoneyError(f"{value!r} is not a decimal number") from None
    else:
        raise MoneyError(f"{value!r} is not a decimal number")
    if not result.is_finite():
        raise MoneyError(f"{value!r} is not a finite amount")
    return result


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half up."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def is_exact(amount: Decimal, currency: str) -> bool:
    """Whether `amount` already fits the currency's precision (no rounding would change it)."""
    return quantize(amount, currency) == amount


def total(amounts: Iterable[Decimal]) -> Decimal:
    """Sum Decimals from an exact zero, so an empty sum is `Decimal("0")`, not the int 0."""
    result = ZERO
    for amount in amounts:
        result += amount
    return result
