"""Normalized Amazon orders: the facts accounting needs, nothing the API wraps them in.

Amounts are signed from the seller's point of view, as Amazon reports proceeds: charges are
positive, promotions negative. Tax is split by who owes it to the authority: the seller
(seller-collected, a liability in the seller's books) or Amazon (marketplace facilitator: it
passes through a clearing account and is offset when Amazon withholds it in the settlement).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ml_connector.domain.ids import AmazonOrderId, Asin, MarketplaceId, OrderItemId, SellerSku
from ml_connector.domain.money import total


class FulfillmentChannel(StrEnum):
    AFN = "AFN"  # fulfilled by Amazon (FBA)
    MFN = "MFN"  # fulfilled by the merchant


class OrderState(StrEnum):
    """What accounting cares about: only SHIPPED is invoiced; CANCELLED may reverse one."""

    OPEN = "OPEN"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class OrderLine:
    order_item_id: OrderItemId
    # Empty when Amazon sent none (the model makes it optional): only on an order not yet
    # invoiceable, since a shipped order without one is never read.
    sku: SellerSku
    asin: Asin | None
    title: str | None
    quantity: int
    principal: Decimal
    shipping: Decimal
    gift_wrap: Decimal
    promotion_principal: Decimal
    promotion_shipping: Decimal
    seller_tax: Decimal
    facilitator_tax: Decimal
    promotion_ids: tuple[str, ...] = ()
    # Proceeds types accounting has no line for yet (COD_FEE, OTHER): kept so the order's
    # total still ties, and so accounting can hold the order instead of dropping money.
    other_charges: tuple[tuple[str, Decimal], ...] = ()
    # Amazon said it remits this item's tax (marketplace facilitator, deemed supplier), even
    # when the item shows none: its amounts are never split for VAT by the connector.
    tax_collected_by_amazon: bool = False

    @property
    def tax(self) -> Decimal:
        return self.seller_tax + self.facilitator_tax

    @property
    def total(self) -> Decimal:
        return total(
            (
                self.principal,
                self.shipping,
                self.gift_wrap,
                self.promotion_principal,
                self.promotion_shipping,
                self.seller_tax,
                self.facilitator_tax,
                *(amount for _, amount in self.other_charges),
            )
        )


@dataclass(frozen=True, slots=True)
class NormalizedOrder:
    """One order. `marketplace_id` and `currency` are empty only on an order that is neither
    shipped nor partially shipped and whose record carries none (both are optional at Amazon);
    an order that is invoiced always has both."""

    order_id: AmazonOrderId
    marketplace_id: MarketplaceId
    currency: str
    state: OrderState
    fulfillment_channel: FulfillmentChannel | None
    purchase_date: datetime
    last_updated: datetime
    ship_date: datetime | None
    lines: tuple[OrderLine, ...]
    grand_total: Decimal
    # Order-level charges not attributed to any item (DELIVERY_TIP): part of the grand total.
    order_charges: tuple[tuple[str, Decimal], ...] = ()

    @property
    def lines_total(self) -> Decimal:
        return total(line.total for line in self.lines)

    @property
    def skus(self) -> tuple[SellerSku, ...]:
        return tuple(dict.fromkeys(line.sku for line in self.lines))
