"""The charge/fee mapping file as a pydantic model (TOML or YAML on disk).

The file says, for each Amazon leaf breakdown type, whether it is *invoiced* (part of an order's
receivable, settled against receivable clearing) or where it goes in the settlement journal; and
names the connection-level accounts, cost centers, customers and journal header values. See
docs/mapping.md for the format.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class InvoicedRole(StrEnum):
    """Which invoice line an invoiced leaf corresponds to (a credit memo reverses that line)."""

    ITEM = "item"
    SHIPPING = "shipping"
    GIFT_WRAP = "gift_wrap"
    PROMOTION = "promotion"
    TAX = "tax"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChartConfig(_Strict):
    pattern: str = "{company}.{cost_center}.{account}"
    company: str
    segments: dict[str, str] = Field(default_factory=dict)
    fixed: dict[str, str] = Field(default_factory=dict)
    balance_sheet_accounts: str = "^[123]"


class CostCentersConfig(_Strict):
    balance_sheet: str
    default: str | None = None
    regions: dict[str, str] = Field(default_factory=dict)
    marketplaces: dict[str, str] = Field(default_factory=dict)


class AccountsConfig(_Strict):
    receivable: str
    receivable_clearing: str
    cash_in_transit: str
    tax_clearing: str
    sales_tax_payable: str
    shipping_revenue: str
    gift_wrap_revenue: str
    promotions: str
    reserve: str
    deferred: str
    reimbursements: str
    cogs: str | None = None
    inventory: str | None = None
    # The cost of returned units that cannot be sold again ([accounting] returned_goods).
    returns_write_off: str | None = None
    # Output VAT the connector separates from VAT-inclusive prices; sales_tax_payable if unset.
    output_vat: str | None = None
    # Recoverable input VAT: the VAT Amazon charges EU/UK sellers on its own fees.
    input_vat: str | None = None


class CustomerConfig(_Strict):
    account_number: str = Field(min_length=1, max_length=30)
    site_number: str = Field(min_length=1, max_length=150)


class JournalConfig(_Strict):
    ledger: str = Field(min_length=1)
    legal_entity: str | None = None
    # USER_JE_SOURCE_NAME / USER_JE_CATEGORY_NAME are display names of at most 25 characters.
    source: str = Field(default="Amazon", min_length=1, max_length=25)
    category: str = Field(default="Amazon Settlement", min_length=1, max_length=25)
    batch_prefix: str = "AMZ"


class ChargeConfig(_Strict):
    """Where one non-invoiced leaf type goes: a natural account or a name from [accounts]."""

    account: str
    cost_center: str | None = None
    label: str | None = None


# A percentage as people write it on a VAT return: digits, an optional decimal part ("5.5").
_RATE = re.compile(r"^\d{1,3}(\.\d{1,4})?$")
_HUNDRED = Decimal(100)


def check_rate(value: object) -> object:
    """A VAT/GST rate in percent as a decimal string, 0 to 100 (``"20"``, ``"5.5"``).

    Raises ValueError for a number (a TOML or YAML float may not be the decimal written), a
    percent sign, or anything outside 0..100; None passes (not configured).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f'{value!r} is not a string: write the rate in percent in quotes, e.g. "20" '
            'or "5.5" (a number may not be read as the decimal written)'
        )
    text = value.strip()
    if text.endswith("%"):
        raise ValueError(f'{value!r}: write the rate without a percent sign, e.g. "20"')
    if not _RATE.match(text) or Decimal(text) > _HUNDRED:
        raise ValueError(f'{value!r} is not a rate in percent from 0 to 100, e.g. "20"')
    return text


class VatCategoryConfig(_Strict):
    """The VAT of one catalog category in one marketplace (books at a reduced rate)."""

    rate: str | None = None
    tax_classification_code: str | None = Field(default=None, min_length=1, max_length=50)

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, value: object) -> object:
        return check_rate(value)


class VatConfig(_Strict):
    """How the VAT inside one marketplace's tax-inclusive prices is separated (docs/mapping.md).

    ``rate``: percent, as a decimal string (``"20"``), for the connector's own split;
    ``tax_classification_code``: the Oracle tax classification code for Oracle's tax engine;
    ``categories``: per catalog category, either a rate (``books = "5.5"``) or a table with
    ``rate`` and ``tax_classification_code``; a category listed replaces the marketplace's
    values for its SKUs.
    """

    rate: str | None = None
    tax_classification_code: str | None = Field(default=None, min_length=1, max_length=50)
    categories: dict[str, VatCategoryConfig] = Field(default_factory=dict)

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, value: object) -> object:
        return check_rate(value)

    @field_validator("categories", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `books = "5.5"` is short for `[vat.FR.categories.books] rate = "5.5"`.
        if isinstance(value, dict):
            return {k: {"rate": v} if not isinstance(v, dict) else v for k, v in value.items()}
        return value


class RevenueRuleConfig(_Strict):
    """The Receivables accounting rule one catalog category's revenue lines carry."""

    accounting_rule: str = Field(min_length=1, max_length=30)
    accounting_rule_duration: int | None = Field(default=None, ge=1, le=999)


class TransactionTypesConfig(_Strict):
    """Finances transaction types a person decided about (docs/mapping.md, [transaction_types]).

    ``book_by_breakdowns``: types the product does not know that are money between Amazon and
    the seller (a fee, a charge, a credit): their settlement journal books them by their
    breakdowns through the charge mapping, and no credit memo is made for them.
    """

    book_by_breakdowns: list[str] = Field(default_factory=list)

    @field_validator("book_by_breakdowns")
    @classmethod
    def _named(cls, value: list[str]) -> list[str]:
        for kind in value:
            if not any(ch.isalnum() for ch in kind):
                raise ValueError(f"{kind!r} names no transaction type")
        return value


class MappingFile(_Strict):
    chart: ChartConfig
    cost_centers: CostCentersConfig
    accounts: AccountsConfig
    customers: dict[str, CustomerConfig] = Field(default_factory=dict)
    journal: JournalConfig
    invoiced: dict[str, InvoicedRole]
    charges: dict[str, ChargeConfig] = Field(default_factory=dict)
    # By marketplace id or country code (`FR`, `A13V1IB3VIYZZH`): VAT inside the prices.
    vat: dict[str, VatConfig] = Field(default_factory=dict)
    # By catalog category: an accounting rule that replaces the connection's for its SKUs.
    revenue_rules: dict[str, RevenueRuleConfig] = Field(default_factory=dict)
    transaction_types: TransactionTypesConfig = Field(default_factory=TransactionTypesConfig)
