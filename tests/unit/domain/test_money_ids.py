"""Money conversion/rounding and deterministic keys."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ml_connector.domain.ids import (
    TRX_NUMBER_MAX,
    AmazonOrderId,
    credit_memo_number,
    invoice_number,
)
from ml_connector.domain.money import MoneyError, minor_units, quantize, to_decimal


def test_float_amounts_keep_their_decimal_reading() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal("  12.50 ") == Decimal("12.50")
    assert to_decimal(Decimal("3")) == Decimal("3")


@pytest.mark.parametrize("bad", [True, "12,50", "abc", float("nan"), "Infinity", None, [1]])
def test_non_amounts_are_rejected(bad: object) -> None:
    with pytest.raises(MoneyError):
        to_decimal(bad)


def test_currency_precision_and_half_up() -> None:
    assert minor_units("JPY") == 0
    assert minor_units("USD") == 2
    assert quantize(Decimal("2.345"), "USD") == Decimal("2.35")
    assert quantize(Decimal("-2.345"), "USD") == Decimal("-2.35")
    assert quantize(Decimal("100.5"), "JPY") == Decimal("101")
    with pytest.raises(MoneyError):
        minor_units("usd")


def test_invoice_number_is_the_order_id_and_must_fit() -> None:
    assert invoice_number(AmazonOrderId("111-0000001-0000001")) == "111-0000001-0000001"
    with pytest.raises(ValueError, match="20-character"):
        invoice_number(AmazonOrderId("X" * 21))


def test_credit_memo_number_is_stable_and_fits() -> None:
    assert credit_memo_number("R-1") == "CM-R-1"
    long_id = "amzn1.refund." + "f" * 40
    number = credit_memo_number(long_id)
    assert len(number) == TRX_NUMBER_MAX
    assert number == credit_memo_number(long_id)
    assert number != credit_memo_number(long_id + "0")
