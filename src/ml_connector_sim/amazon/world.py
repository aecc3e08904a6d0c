"""The simulated seller's Amazon world, held in the official wire shapes.

Records are kept as the JSON objects Amazon would send (Orders 2026-01-01 `Order`, Finances v0
`FinancialEventGroup`, Finances 2024-06-19 `Transaction`), with Finances numbers as `Decimal`.
Keeping the wire shape means a scenario captured from a real account can be served unchanged;
the routes only parse the few fields they filter on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ml_connector_sim.amazon.catalog import CatalogEntry

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Credential:
    """An LWA app + seller authorisation the strict mode accepts. Secrets stay out of repr."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    #: The region the refresh token belongs to ("na", "eu", "fe"); None = every region.
    region: str | None = None


@dataclass
class SettlementReport:
    """A settlement V2 flat file Amazon generated for a Closed group."""

    report_id: str
    document_id: str
    settlement_id: str
    financial_event_group_id: str
    marketplace_id: str
    created_time: datetime
    data_start_time: datetime
    data_end_time: datetime
    #: Rows keyed by the documented column names; the first row is the settlement summary.
    rows: list[dict[str, str]]


@dataclass
class AmazonWorld:
    """Everything one seller account holds. `now` is the instant the world was generated for."""

    now: datetime
    selling_partner_id: str
    marketplace_ids: list[str]
    credentials: list[Credential] = field(default_factory=list)
    catalog: list[CatalogEntry] = field(default_factory=list)
    orders: list[JsonObject] = field(default_factory=list)
    groups: list[JsonObject] = field(default_factory=list)
    transactions: list[JsonObject] = field(default_factory=list)
    settlement_reports: list[SettlementReport] = field(default_factory=list)


def seller_catalog(world: AmazonWorld) -> list[CatalogEntry]:
    """The SKUs the seller sells: the stored catalog, else what the orders show.

    A hand-written or captured scenario may carry no catalog; the demo still needs a SKU list to
    build its mapping file, so one is derived from the order items (first unit price seen).
    """
    if world.catalog:
        return list(world.catalog)
    seen: dict[str, CatalogEntry] = {}
    for order in world.orders:
        for item in order.get("orderItems", []):
            product = item.get("product", {})
            sku = product.get("sellerSku")
            if not sku or sku in seen:
                continue
            unit = product.get("price", {}).get("unitPrice", {})
            seen[sku] = CatalogEntry(
                sku=sku,
                asin=product.get("asin", ""),
                title=product.get("title", ""),
                category="",
                price=Decimal(unit.get("amount", "0")),
                currency=unit.get("currencyCode", "USD"),
            )
    return sorted(seen.values(), key=lambda entry: entry.sku)
