"""Reading raw SP-API JSON with the field path in every error.

Raw records come from a store of API payloads; when one is malformed, the message must say
exactly where (`orderItems[1].proceeds.breakdowns[0].subtotal.amount`) so a person can find it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ml_connector.domain.money import MoneyError, check_currency, quantize, to_decimal

# Plausibility bounds (issue 9): what lies outside is a broken record, held for review.
EARLIEST_YEAR, LATEST_YEAR = 1995, 2100
MAX_QUANTITY = 1_000_000


class NormalizeError(ValueError):
    """Raw Amazon data that does not have the official shape; `path` locates the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class Node:
    """A JSON value together with the path that led to it."""

    __slots__ = ("path", "value")

    def __init__(self, value: Any, path: str = "") -> None:
        self.value = value
        self.path = path

    def child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def error(self, message: str) -> NormalizeError:
        return NormalizeError(self.path, message)

    def obj(self) -> Mapping[str, Any]:
        if not isinstance(self.value, Mapping):
            raise self.error(f"expected an object, got {type(self.value).__name__}")
        return self.value

    def get(self, key: str) -> Node | None:
        """The child `key`, or None when absent or null."""
        value = self.obj().get(key)
        return None if value is None else Node(value, self.child_path(key))

    def req(self, key: str) -> Node:
        child = self.get(key)
        if child is None:
            raise NormalizeError(self.child_path(key), "required field is missing")
        return child

    def items(self) -> list[Node]:
        if not isinstance(self.value, Sequence) or isinstance(self.value, str | bytes):
            raise self.error(f"expected an array, got {type(self.value).__name__}")
        return [Node(item, self.child_path(i)) for i, item in enumerate(self.value)]

    def array(self, key: str) -> list[Node]:
        """Children of an optional array field (absent → empty)."""
        child = self.get(key)
        return [] if child is None else child.items()

    def text(self) -> str:
        if not isinstance(self.value, str):
            raise self.error(f"expected a string, got {self.value!r}")
        if not self.value.strip():
            raise self.error("must not be empty")
        return self.value

    def integer(self) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            if isinstance(self.value, str) and self.value.strip().lstrip("-").isdigit():
                return int(self.value)
            raise self.error(f"expected an integer, got {self.value!r}")
        return self.value

    def quantity(self, *, minimum: int = 1) -> int:
        """A count of goods: a whole number from ``minimum`` to 1,000,000 (more is not a real
        order line); anything else is an error naming the field."""
        value = self.integer()
        if not minimum <= value <= MAX_QUANTITY:
            raise self.error(f"quantity {value} is outside {minimum}..{MAX_QUANTITY:,}")
        return value

    def decimal(self) -> Decimal:
        try:
            return to_decimal(self.value)
        except MoneyError as exc:
            raise self.error(str(exc)) from None

    def currency(self) -> str:
        try:
            return check_currency(self.text())
        except MoneyError as exc:
            raise self.error(str(exc)) from None

    def timestamp(self) -> datetime:
        """ISO 8601 with an offset, returned in UTC; a naive time is an error, not a guess."""
        text = self.text()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.error(f"{text!r} is not an ISO 8601 date-time") from None
        if parsed.tzinfo is None:
            raise self.error(f"{text!r} has no time zone")
        if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
            # Amazon's marketplaces opened in 1995; a year-9999 date is a broken record.
            raise self.error(f"{text!r} is outside {EARLIEST_YEAR}-{LATEST_YEAR}")
        return parsed.astimezone(UTC)


def money(node: Node, amount_key: str, currency_key: str) -> tuple[Decimal, str]:
    """An (amount, currency) pair from Orders `Money` or Finances `Currency` objects.

    Finances sends JSON numbers (`160.3`), Orders decimal strings (`"160.30"`): an amount that is
    exact at the currency's precision is written at that precision, so the same money prints the
    same everywhere. A finer amount is kept as sent, never rounded here.
    """
    amount, currency = node.req(amount_key).decimal(), node.req(currency_key).currency()
    scaled = quantize(amount, currency)
    return (scaled if scaled == amount else amount), currency
