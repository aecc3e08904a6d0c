"""Orders API 2026-01-01 shapes (reference/sp-api/orders_2026-01-01.json). Amounts are strings
on the wire (``Money.amount``); they become ``Decimal`` here.

Only the fields the model marks ``required`` are required. Enum fields take the model's value
whatever its case (``"shipped"`` reads as ``FulfillmentStatus.SHIPPED``) and keep any other text
as sent, so one unexpected value never rejects a page: normalize sends that order to review.
The typed view holds the member (``dump()`` spells it the model's way); ``Record.raw`` keeps the
text exactly as Amazon sent it, and that is what is stored and normalized.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator

from ml_connector.remote.amazon.models.base import CamelModel

__all__ = [
    "FulfilledBy",
    "FulfillmentStatus",
    "IncludedData",
    "ItemProceeds",
    "ItemProceedsBreakdown",
    "ItemProduct",
    "Money",
    "Order",
    "OrderFulfillment",
    "OrderItem",
    "OrderProceeds",
    "SalesChannel",
]


class FulfillmentStatus(StrEnum):
    PENDING_AVAILABILITY = "PENDING_AVAILABILITY"
    PENDING = "PENDING"
    UNSHIPPED = "UNSHIPPED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    CANCELLED = "CANCELLED"
    UNFULFILLABLE = "UNFULFILLABLE"


class FulfilledBy(StrEnum):
    AMAZON = "AMAZON"
    MERCHANT = "MERCHANT"


def _any_case(enum: type[StrEnum]) -> BeforeValidator:
    """Read a member of `enum` whatever its case; leave any other value as it came."""
    members = {member.value.casefold(): member for member in enum}

    def read(value: Any) -> Any:
        if isinstance(value, str):
            return members.get(value.strip().casefold(), value)
        return value

    return BeforeValidator(read)


class IncludedData(StrEnum):
    BUYER = "BUYER"
    RECIPIENT = "RECIPIENT"
    PROCEEDS = "PROCEEDS"
    EXPENSE = "EXPENSE"
    PROMOTION = "PROMOTION"
    CANCELLATION = "CANCELLATION"
    FULFILLMENT = "FULFILLMENT"
    PACKAGES = "PACKAGES"
    TAX = "TAX"
    PAYMENT = "PAYMENT"
    FULFILLMENT_ORDERS = "FULFILLMENT_ORDERS"


class Money(CamelModel):
    amount: Decimal
    currency_code: str


class SalesChannel(CamelModel):
    channel_name: str
    marketplace_id: str | None = None
    marketplace_name: str | None = None


class OrderProceedsBreakdown(CamelModel):
    type: str
    subtotal: Money
    status: str | None = None


class OrderProceeds(CamelModel):
    grand_total: Money | None = None
    breakdowns: list[OrderProceedsBreakdown] | None = None


class OrderFulfillment(CamelModel):
    fulfillment_status: Annotated[FulfillmentStatus | str, _any_case(FulfillmentStatus)]
    fulfilled_by: Annotated[FulfilledBy | str | None, _any_case(FulfilledBy)] = None
    fulfillment_service_level: str | None = None


class ItemPrice(CamelModel):
    unit_price: Money | None = None
    price_designation: str | None = None


class ItemProduct(CamelModel):
    asin: str | None = None
    title: str | None = None
    seller_sku: str | None = None
    price: ItemPrice | None = None


class ItemProceedsDetailedBreakdown(CamelModel):
    subtype: str | None = None
    value: Money | None = None


class ItemProceedsBreakdown(CamelModel):
    type: str
    subtotal: Money
    detailed_breakdowns: list[ItemProceedsDetailedBreakdown] | None = None


class ItemProceeds(CamelModel):
    proceeds_total: Money | None = None
    breakdowns: list[ItemProceedsBreakdown] | None = None


class ItemPromotionBreakdown(CamelModel):
    promotion_id: str | None = None


class ItemPromotion(CamelModel):
    breakdowns: list[ItemPromotionBreakdown] | None = None


class ItemFulfillment(CamelModel):
    quantity_fulfilled: int | None = None
    quantity_unfulfilled: int | None = None


class OrderItem(CamelModel):
    order_item_id: str
    quantity_ordered: int
    product: ItemProduct
    programs: list[str] | None = None
    proceeds: ItemProceeds | None = None
    promotion: ItemPromotion | None = None
    fulfillment: ItemFulfillment | None = None


class Order(CamelModel):
    order_id: str
    created_time: datetime
    last_updated_time: datetime
    sales_channel: SalesChannel
    order_items: list[OrderItem]
    programs: list[str] | None = None
    proceeds: OrderProceeds | None = None
    fulfillment: OrderFulfillment | None = None
