"""Tab-separated report documents: settlement V2 and all-orders by last update.

Rows are built from the wire-shaped records, so a hand-written scenario without settlement rows
still gets a report whose amounts add up to its group's total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ml_connector_sim.amazon.marketplaces import BY_ID
from ml_connector_sim.amazon.world import JsonObject

SETTLEMENT_COLUMNS = (
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date",
    "total-amount", "currency", "transaction-type", "order-id", "merchant-order-id",
    "adjustment-id", "shipment-id", "marketplace-name", "amount-type", "amount-description",
    "amount", "fulfillment-id", "posted-date", "posted-date-time", "order-item-code",
    "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
)  # fmt: skip

ALL_ORDERS_COLUMNS = (
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date",
    "order-status", "fulfillment-channel", "sales-channel", "order-channel",
    "ship-service-level", "product-name", "sku", "asin", "item-status", "quantity", "currency",
    "item-price", "item-tax", "shipping-price", "shipping-tax", "gift-wrap-price",
    "gift-wrap-tax", "item-promotion-discount", "ship-promotion-discount", "ship-city",
    "ship-state", "ship-postal-code", "ship-country", "promotion-ids", "is-business-order",
    "purchase-order-number", "price-designation",
)  # fmt: skip

_TRANSACTION_TYPE = {
    "Shipment": "Order",
    "Refund": "Refund",
    "ServiceFee": "ServiceFee",
    "Adjustment": "other-transaction",
    "Reserve": "other-transaction",
}
_AMOUNT_TYPE = {
    "Sales": "ItemPrice",
    "Promotions": "Promotion",
    "Tax withheld": "ItemWithheldTax",
    "Expenses": "ItemFees",
    "Reimbursements": "other-transaction",
    "Reserve": "other-transaction",
}


_NEUTRAL_TIME = "%Y-%m-%d %H:%M:%S UTC"
_NEUTRAL_DATE = "%Y-%m-%d"


def settlement_time(moment: datetime) -> str:
    """The world keeps report rows in one neutral spelling; ``render_document`` localises."""
    return moment.strftime(_NEUTRAL_TIME)


@dataclass(frozen=True)
class DocumentStyle:
    """How one marketplace's report documents are written: charset, dates, decimal mark."""

    charset: str
    """The charset as the download's Content-Type names it (Amazon spells EU files ``Cp1252``)."""
    codec: str
    date: str
    """strftime of a date; a date-time appends `` %H:%M:%S UTC``."""
    decimal_mark: str = "."


_UTF8 = DocumentStyle("UTF-8", "utf-8", "%Y-%m-%d")
_STYLES = {
    "UK": DocumentStyle("Cp1252", "cp1252", "%d/%m/%Y"),
    "DE": DocumentStyle("Cp1252", "cp1252", "%d.%m.%Y", ","),
    "FR": DocumentStyle("windows-1252", "cp1252", "%d/%m/%Y", ","),
    "IT": DocumentStyle("windows-1252", "cp1252", "%d/%m/%Y", ","),
    "ES": DocumentStyle("windows-1252", "cp1252", "%d/%m/%Y", ","),
    "JP": DocumentStyle("Shift_JIS", "cp932", "%Y/%m/%d"),
}
_TIME_COLUMNS = frozenset(
    {"settlement-start-date", "settlement-end-date", "deposit-date", "posted-date-time"}
)
_DATE_COLUMNS = frozenset({"posted-date"})
_AMOUNT_COLUMNS = frozenset(
    {"total-amount", "amount", "item-price", "item-tax", "shipping-price", "shipping-tax",
     "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount", "ship-promotion-discount"}
)  # fmt: skip


def document_style(marketplace_id: str | None) -> DocumentStyle:
    """EU files in windows-1252 (day-first dates, decimal commas but in the UK), JP files in
    Shift_JIS (cp932 bytes) with year-first dates, everything else UTF-8 with ISO dates."""
    market = BY_ID.get(marketplace_id or "")
    return _STYLES.get(market.code, _UTF8) if market else _UTF8


def _localise(column: str, value: str, style: DocumentStyle) -> str:
    try:
        if column in _TIME_COLUMNS:
            moment = datetime.strptime(value, _NEUTRAL_TIME).replace(tzinfo=UTC)
            return moment.strftime(style.date + " %H:%M:%S UTC")
        if column in _DATE_COLUMNS:
            day = datetime.strptime(value, _NEUTRAL_DATE).replace(tzinfo=UTC)
            return day.strftime(style.date)
        if column in _AMOUNT_COLUMNS and value:
            return str(Decimal(value)).replace(".", style.decimal_mark)
    except (ValueError, InvalidOperation):
        return value  # a hand-written scenario's own spelling is served as written
    return value


def render_document(
    columns: tuple[str, ...], rows: list[dict[str, str]], marketplace_id: str | None
) -> tuple[bytes, str]:
    """A report document's bytes and its Content-Type, in the marketplace's style.

    Text the marketplace's charset cannot hold (a JP file naming an accented SKU) is served
    as UTF-8, and the Content-Type says so: the header never names a charset the bytes are not.
    """
    style = document_style(marketplace_id)
    local = [
        {column: _localise(column, str(value), style) for column, value in row.items()}
        for row in rows
    ]
    text = to_tsv(columns, local)
    try:
        return text.encode(style.codec), f"text/plain;charset={style.charset}"
    except UnicodeEncodeError:
        return text.encode("utf-8"), "text/plain;charset=UTF-8"


def _leaves(nodes: list[JsonObject], parent: str) -> list[tuple[str, str, Any]]:
    found: list[tuple[str, str, Any]] = []
    for node in nodes:
        children = node.get("breakdowns") or []
        if children:
            found.extend(_leaves(children, node.get("breakdownType", "")))
        else:
            amount = node.get("breakdownAmount", {}).get("currencyAmount", 0)
            found.append((parent, node.get("breakdownType", ""), amount))
    return found


def _related(transaction: JsonObject, name: str) -> str:
    for related in transaction.get("relatedIdentifiers", []):
        if related.get("relatedIdentifierName") == name:
            return str(related.get("relatedIdentifierValue", ""))
    return ""


def settlement_rows(
    settlement_id: str,
    start: datetime,
    end: datetime,
    deposit: datetime,
    currency: str,
    transactions: list[JsonObject],
    posted: dict[str, datetime],
) -> list[dict[str, str]]:
    """Summary row, then one row per breakdown leaf of every RELEASED transaction."""
    rows: list[dict[str, str]] = []
    total = Decimal(0)
    for tx in transactions:
        if tx.get("transactionStatus") != "RELEASED":
            continue
        when = posted[tx["transactionId"]]
        base = {
            "settlement-id": settlement_id,
            "transaction-type": _TRANSACTION_TYPE.get(tx.get("transactionType", ""), "other"),
            "order-id": _related(tx, "ORDER_ID"),
            "adjustment-id": _related(tx, "REFUND_ID"),
            "shipment-id": _related(tx, "SHIPMENT_ID"),
            "marketplace-name": tx.get("marketplaceDetails", {}).get("marketplaceName", ""),
            "posted-date": when.strftime("%Y-%m-%d"),
            "posted-date-time": settlement_time(when),
        }
        parts: list[tuple[JsonObject | None, list[tuple[str, str, Any]]]] = []
        if tx.get("items"):
            parts = [(item, _leaves(item.get("breakdowns", []), "")) for item in tx["items"]]
        else:
            parts = [(None, _leaves(tx.get("breakdowns", []), ""))]
        for item, leaves in parts:
            context = _product_context(item)
            for group, name, amount in leaves:
                value = Decimal(str(amount))
                total += value
                row = dict.fromkeys(SETTLEMENT_COLUMNS, "") | base
                row |= {
                    "amount-type": _AMOUNT_TYPE.get(group, "other-transaction"),
                    "amount-description": name,
                    "amount": str(value),
                    "fulfillment-id": str(context.get("fulfillmentNetwork", "")),
                    "sku": str(context.get("sku", "")),
                    "quantity-purchased": str(context.get("quantityShipped", "")),
                }
                rows.append(row)
    summary = dict.fromkeys(SETTLEMENT_COLUMNS, "") | {
        "settlement-id": settlement_id,
        "settlement-start-date": settlement_time(start),
        "settlement-end-date": settlement_time(end),
        "deposit-date": settlement_time(deposit),
        "total-amount": str(total),
        "currency": currency,
    }
    return [summary, *rows]


def _product_context(item: JsonObject | None) -> JsonObject:
    for context in (item or {}).get("contexts", []) or []:
        if context.get("contextType") == "ProductContext":
            return dict(context)
    return {}


def to_tsv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    """Tab-separated text with a header line; tabs and newlines in values become spaces."""
    lines = ["\t".join(columns)]
    for row in rows:
        cells = (str(row.get(column, "")) for column in columns)
        lines.append("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in cells))
    return "\n".join(lines) + "\n"


def _sum_breakdown(item: JsonObject, kind: str, subtype: str | None = None) -> str:
    for breakdown in item.get("proceeds", {}).get("breakdowns", []):
        if breakdown.get("type") != kind:
            continue
        if subtype is None:
            return str(breakdown["subtotal"]["amount"])
        for detail in breakdown.get("detailedBreakdowns", []):
            if detail.get("subtype") == subtype:
                return str(detail["value"]["amount"])
    return ""


_STATUS = {
    "SHIPPED": ("Shipped", "Shipped"),
    "PARTIALLY_SHIPPED": ("Shipped", "Shipped"),
    "CANCELLED": ("Cancelled", "Cancelled"),
    "UNSHIPPED": ("Pending", "Unshipped"),
    "PENDING": ("Pending", "Unshipped"),
}


def all_orders_rows(orders: list[JsonObject]) -> list[dict[str, str]]:
    """One row per order item, as GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL has."""
    rows: list[dict[str, str]] = []
    for order in orders:
        fulfillment = order.get("fulfillment", {})
        status = fulfillment.get("fulfillmentStatus", "PENDING")
        order_status, item_status = _STATUS.get(status, ("Pending", "Unshipped"))
        address = order.get("recipient", {}).get("deliveryAddress", {})
        for item in order.get("orderItems", []):
            product = item.get("product", {})
            unit = product.get("price", {}).get("unitPrice", {})
            promotions = item.get("promotion", {}).get("breakdowns", [])
            rows.append(
                {
                    "amazon-order-id": order["orderId"],
                    "purchase-date": order["createdTime"],
                    "last-updated-date": order["lastUpdatedTime"],
                    "order-status": order_status,
                    "fulfillment-channel": "Amazon"
                    if fulfillment.get("fulfilledBy") == "AMAZON"
                    else "Merchant",
                    "sales-channel": order.get("salesChannel", {}).get("marketplaceName", ""),
                    "ship-service-level": fulfillment.get("fulfillmentServiceLevel", ""),
                    "product-name": product.get("title", ""),
                    "sku": product.get("sellerSku", ""),
                    "asin": product.get("asin", ""),
                    "item-status": item_status,
                    "quantity": str(item.get("quantityOrdered", "")),
                    "currency": unit.get("currencyCode", ""),
                    "item-price": _sum_breakdown(item, "ITEM"),
                    "item-tax": _sum_breakdown(item, "TAX", "ITEM"),
                    "shipping-price": _sum_breakdown(item, "SHIPPING"),
                    "shipping-tax": _sum_breakdown(item, "TAX", "SHIPPING"),
                    "gift-wrap-price": _sum_breakdown(item, "GIFT_WRAP"),
                    "gift-wrap-tax": _sum_breakdown(item, "TAX", "GIFT_WRAP"),
                    "item-promotion-discount": _sum_breakdown(item, "DISCOUNT", "ITEM"),
                    "ship-promotion-discount": _sum_breakdown(item, "DISCOUNT", "SHIPPING"),
                    "ship-city": address.get("city", ""),
                    "ship-state": address.get("stateOrRegion", ""),
                    "ship-postal-code": address.get("postalCode", ""),
                    "ship-country": address.get("countryCode", ""),
                    "promotion-ids": ",".join(p.get("promotionId", "") for p in promotions),
                    "is-business-order": str(
                        "AMAZON_BUSINESS" in order.get("programs", [])
                    ).lower(),
                }
            )
    return rows
