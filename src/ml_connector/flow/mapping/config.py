"""The charge/fee mapping file as a pydantic model (TOML or YAML on disk).

The file says, for each Amazon leaf breakdown type, whether it is *invoiced* (part of an order's
receivable, settled against receivable clearing) or where it goes in the settlement journal; and
names the connection-level accounts, cost centers, customers and journal header values. See
docs/mapping.md for the format.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


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


class MappingFile(_Strict):
    chart: ChartConfig
    cost_centers: CostCentersConfig
    accounts: AccountsConfig
    customers: dict[str, CustomerConfig] = Field(default_factory=dict)
    journal: JournalConfig
    invoiced: dict[str, InvoicedRole]
    charges: dict[str, ChargeConfig] = Field(default_factory=dict)
