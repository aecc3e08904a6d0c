"""An Amazon record the product cannot read, held aside so that everything else goes on.

One bad record never stops the books: it becomes one review item naming the record's Amazon id,
the field at fault and the reason, and every document that does not depend on it is posted as if
it did not exist. A later listing that reads fine closes the item by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RecordKind(StrEnum):
    ORDER = "order"
    TRANSACTION = "transaction"
    GROUP = "settlement_group"
    REPORT_ROW = "settlement_report_row"


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Why one record was held: `field` is a JSON path inside it (`totalAmount.currencyCode`)."""

    record: RecordKind
    amazon_id: str
    field: str
    reason: str

    def describe(self) -> str:
        where = f" at {self.field}" if self.field else ""
        return f"Amazon sent a {self.record.value.replace('_', ' ')} we cannot read{where}: " + (
            self.reason
        )

    def details(self) -> dict[str, str]:
        """The review item's details: what a person (and a script) needs to find the record."""
        return {
            "record": self.record.value,
            "amazon_id": self.amazon_id,
            "field": self.field,
            "reason": self.reason,
        }
