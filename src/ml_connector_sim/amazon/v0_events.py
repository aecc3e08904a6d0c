"""Finances v0 `FinancialEvents` derived from 2024-06-19 transactions (the fallback path).

v0 has no transaction ids, no reserve or transfer events, shows a fee with its VAT as one amount
and hides deferred money: callers that fall back to it get what the real v0 API gives, which is
less than listTransactions.
"""

from __future__ import annotations

from typing import Any

from ml_connector_sim.amazon.world import JsonObject

#: 2024-06-19 `Sales` children → the v0 ChargeType of the same money.
_CHARGE_TYPES = {"ProductCharges": "Principal", "Shipping": "ShippingCharge",
                 "GiftWrap": "Giftwrap", "Tax": "Tax"}  # fmt: skip
_PROMOTION_TYPE = "PromotionMetaDataDefinitionValue"


def _money(node: JsonObject) -> JsonObject:
    amount = node.get("breakdownAmount") or node.get("totalAmount") or {}
    return {
        "CurrencyCode": amount.get("currencyCode"),
        "CurrencyAmount": amount.get("currencyAmount"),
    }


def _leaves(
    nodes: list[JsonObject], path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], JsonObject]]:
    """Every leaf with its path of breakdownTypes from the top of the tree."""
    found: list[tuple[tuple[str, ...], JsonObject]] = []
    for node in nodes:
        here = (*path, str(node.get("breakdownType", "")))
        children = node.get("breakdowns") or []
        found.extend(_leaves(children, here) if children else [(here, node)])
    return found


def _fees(leaves: list[tuple[tuple[str, ...], JsonObject]]) -> list[JsonObject]:
    """One v0 FeeComponent per Amazon fee: v0 shows the fee with its VAT, not split."""
    totals: dict[str, JsonObject] = {}
    for path, leaf in leaves:
        name = path[2] if len(path) > 2 and path[1] == "AmazonFees" else path[-1]
        money = _money(leaf)
        known = totals.get(name)
        if known is None:
            totals[name] = dict(money)
        else:
            known["CurrencyAmount"] = known["CurrencyAmount"] + money["CurrencyAmount"]
    return [{"FeeType": name, "FeeAmount": money} for name, money in totals.items()]


def _sku(item: JsonObject) -> tuple[str, int]:
    for context in item.get("contexts", []) or []:
        if context.get("contextType") == "ProductContext":
            return str(context.get("sku", "")), int(context.get("quantityShipped", 0))
    return "", 0


def _shipment_item(item: JsonObject, refund: bool, order: JsonObject | None) -> JsonObject:
    suffix = "AdjustmentList" if refund else "List"
    charges: list[JsonObject] = []
    fee_leaves: list[tuple[tuple[str, ...], JsonObject]] = []
    promotions: list[JsonObject] = []
    withheld: list[JsonObject] = []
    for path, leaf in _leaves(item.get("breakdowns") or []):
        money = _money(leaf)
        if path[0] == "Sales":
            charges.append({"ChargeType": _CHARGE_TYPES.get(path[-1], path[-1]),
                            "ChargeAmount": money})  # fmt: skip
        elif path[0] == "Promotions":
            promotions.append({"PromotionType": _PROMOTION_TYPE, "PromotionAmount": money})
        elif path[0] == "TaxWithheld":
            withheld.append({"ChargeType": path[-1], "ChargeAmount": money})
        else:
            fee_leaves.append((path, leaf))
    fees = _fees(fee_leaves)
    sku, quantity = _sku(item)
    shaped: JsonObject = {"SellerSKU": sku, "QuantityShipped": quantity}
    for candidate in (order or {}).get("orderItems", []):
        if candidate.get("product", {}).get("sellerSku") == sku:
            shaped["OrderItemId"] = candidate.get("orderItemId")
    shaped[f"ItemCharge{suffix}"] = charges
    shaped[f"ItemFee{suffix}"] = fees
    shaped[f"Promotion{suffix}"] = promotions
    if withheld:
        shaped["ItemTaxWithheldList"] = [
            {"TaxCollectionModel": "MarketplaceFacilitator", "TaxesWithheld": withheld}
        ]
    return shaped


def financial_events(
    transactions: list[JsonObject], orders: dict[str, JsonObject]
) -> dict[str, list[Any]]:
    """Group transactions into the v0 event lists; only non-empty lists are returned."""
    lists: dict[str, list[Any]] = {}
    for tx in transactions:
        kind = tx.get("transactionType")
        related = {
            r.get("relatedIdentifierName"): r.get("relatedIdentifierValue")
            for r in tx.get("relatedIdentifiers", [])
        }
        market = (tx.get("marketplaceDetails") or {}).get("marketplaceName")
        if kind in ("Shipment", "Refund"):
            order_id = str(related.get("ORDER_ID", ""))
            order = orders.get(order_id)
            refund = kind == "Refund"
            event: JsonObject = {
                "AmazonOrderId": order_id,
                "MarketplaceName": market,
                "PostedDate": tx.get("postedDate"),
                "ShipmentItemAdjustmentList" if refund else "ShipmentItemList": [
                    _shipment_item(item, refund, order) for item in tx.get("items", [])
                ],
            }
            lists.setdefault("RefundEventList" if refund else "ShipmentEventList", []).append(event)
        elif kind == "ServiceFee":
            lists.setdefault("ServiceFeeEventList", []).append(
                {
                    "FeeReason": tx.get("description"),
                    "FeeDescription": tx.get("description"),
                    "FeeList": _fees(_leaves(tx.get("breakdowns") or [])),
                }
            )
        elif kind == "Adjustment":
            items = []
            for item in tx.get("items") or []:
                sku, quantity = _sku(item)
                items.append(
                    {"Quantity": str(quantity), "TotalAmount": _money(item), "SellerSKU": sku}
                )
            lists.setdefault("AdjustmentEventList", []).append(
                {
                    "AdjustmentType": "FBAInventoryReimbursement",
                    "PostedDate": tx.get("postedDate"),
                    "AdjustmentAmount": _money(tx),
                    "AdjustmentItemList": items,
                }
            )
    return lists
