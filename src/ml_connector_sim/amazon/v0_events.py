"""Finances v0 `FinancialEvents` derived from 2024-06-19 transactions (the fallback path).

v0 has no transaction ids, no reserve events and hides deferred money: callers that fall back to
it get what the real v0 API gives, which is less than listTransactions.
"""

from __future__ import annotations

from typing import Any

from ml_connector_sim.amazon.world import JsonObject

_CHARGES = {"Principal", "Shipping", "GiftWrap", "Tax", "ShippingTax", "GiftWrapTax"}


def _money(node: JsonObject) -> JsonObject:
    amount = node.get("breakdownAmount") or node.get("totalAmount") or {}
    return {
        "CurrencyCode": amount.get("currencyCode"),
        "CurrencyAmount": amount.get("currencyAmount"),
    }


def _leaves(nodes: list[JsonObject]) -> list[JsonObject]:
    found: list[JsonObject] = []
    for node in nodes:
        children = node.get("breakdowns") or []
        found.extend(_leaves(children) if children else [node])
    return found


def _sku(item: JsonObject) -> tuple[str, int]:
    for context in item.get("contexts", []) or []:
        if context.get("contextType") == "ProductContext":
            return str(context.get("sku", "")), int(context.get("quantityShipped", 0))
    return "", 0


def _shipment_item(item: JsonObject, refund: bool, order: JsonObject | None) -> JsonObject:
    suffix = "AdjustmentList" if refund else "List"
    charges: list[JsonObject] = []
    fees: list[JsonObject] = []
    promotions: list[JsonObject] = []
    withheld: list[JsonObject] = []
    for leaf in _leaves(item.get("breakdowns", [])):
        name = str(leaf.get("breakdownType", ""))
        money = _money(leaf)
        if name in _CHARGES:
            charges.append({"ChargeType": name, "ChargeAmount": money})
        elif name.endswith("Promotion"):
            promotions.append({"PromotionType": name, "PromotionAmount": money})
        elif name.startswith("MarketplaceFacilitatorTax"):
            withheld.append({"ChargeType": name, "ChargeAmount": money})
        else:
            fees.append({"FeeType": name, "FeeAmount": money})
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
            leaves = _leaves(tx.get("breakdowns", []))
            lists.setdefault("ServiceFeeEventList", []).append(
                {
                    "FeeReason": tx.get("description"),
                    "FeeDescription": tx.get("description"),
                    "FeeList": [
                        {"FeeType": leaf.get("breakdownType"), "FeeAmount": _money(leaf)}
                        for leaf in leaves
                    ],
                }
            )
        elif kind == "Adjustment":
            items = []
            for item in tx.get("items", []):
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
