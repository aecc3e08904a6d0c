"""Finances v0 (PascalCase) and 2024-06-19 (camelCase) shapes. Amounts are JSON *numbers* on
the wire; the client parses them straight to ``Decimal`` (never through float)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator

from ml_connector.remote.amazon.models.base import CamelModel, PascalModel

__all__ = [
    "Breakdown",
    "Currency",
    "FinancialEventGroup",
    "FinancialEventsPage",
    "RelatedIdentifier",
    "Transaction",
    "TransactionCurrency",
    "TransactionItem",
]


class Currency(PascalModel):
    currency_code: str | None = None
    currency_amount: Decimal | None = None


class FinancialEventGroup(PascalModel):
    """A settlement: Open while Amazon adds to it, Closed once final."""

    financial_event_group_id: str
    processing_status: str | None = None
    fund_transfer_status: str | None = None
    original_total: Currency | None = None
    converted_total: Currency | None = None
    fund_transfer_date: datetime | None = None
    trace_id: str | None = None
    account_tail: str | None = None
    beginning_balance: Currency | None = None
    financial_event_group_start: datetime | None = None
    financial_event_group_end: datetime | None = None


class FinancialEventsPage(PascalModel):
    """One page of v0 events: a dict of list name → events, kept as Amazon's JSON.

    v0 has 34+ event list shapes and keeps adding more; the connector normalizes from the raw
    dicts, so they are deliberately not modelled field by field here.
    """

    financial_events: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    next_token: str | None = None


class TransactionCurrency(CamelModel):
    currency_code: str | None = None
    currency_amount: Decimal | None = None


class Breakdown(CamelModel):
    breakdown_type: str | None = None
    breakdown_amount: TransactionCurrency | None = None
    breakdowns: list[Breakdown] | None = None


class RelatedIdentifier(CamelModel):
    related_identifier_name: str | None = None
    related_identifier_value: str | None = None


class ItemRelatedIdentifier(CamelModel):
    item_related_identifier_name: str | None = None
    item_related_identifier_value: str | None = None


class MarketplaceDetails(CamelModel):
    marketplace_id: str | None = None
    marketplace_name: str | None = None


class TransactionItem(CamelModel):
    description: str | None = None
    related_identifiers: list[ItemRelatedIdentifier] | None = None
    total_amount: TransactionCurrency | None = None
    breakdowns: list[Breakdown] | None = None
    contexts: list[dict[str, Any]] | None = None


def _unwrap_breakdowns(value: Any) -> Any:
    """The model's own `Transaction` example sends `{"breakdowns": [...]}` instead of the list."""
    if isinstance(value, dict) and set(value) <= {"breakdowns"}:
        return value.get("breakdowns")
    return value


class Transaction(CamelModel):
    transaction_id: str | None = None
    transaction_type: str | None = None
    transaction_status: str | None = None
    description: str | None = None
    posted_date: datetime | None = None
    total_amount: TransactionCurrency | None = None
    marketplace_details: MarketplaceDetails | None = None
    related_identifiers: list[RelatedIdentifier] | None = None
    items: list[TransactionItem] | None = None
    contexts: list[dict[str, Any]] | None = None
    breakdowns: list[Breakdown] | None = None

    @field_validator("breakdowns", mode="before")
    @classmethod
    def _breakdowns_list(cls, value: Any) -> Any:
        return _unwrap_breakdowns(value)

    def related(self, name: str) -> str | None:
        """The value of a related identifier (``ORDER_ID``, ``FINANCIAL_EVENT_GROUP_ID``...)."""
        for rid in self.related_identifiers or ():
            if rid.related_identifier_name == name:
                return rid.related_identifier_value
        return None
