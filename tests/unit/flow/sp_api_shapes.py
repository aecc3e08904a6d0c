"""Builders for raw SP-API records in the official shapes, shared by the flow tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

US = "ATVPDKIKX0DER"


class Shapes:
    """Builders for raw SP-API records in the official shapes (Orders 2026-01-01, Finances)."""

    @staticmethod
    def money(amount: str, currency: str = "USD") -> dict[str, Any]:
        return {"amount": amount, "currencyCode": currency}

    @staticmethod
    def item(
        sku: str,
        quantity: int,
        principal: str,
        *,
        shipping: str | None = None,
        promotion: str | None = None,
        tax: str | None = None,
        facilitator: bool = True,
        currency: str = "USD",
        item_id: str = "10000000000001",
    ) -> dict[str, Any]:
        m = Shapes.money
        breakdowns: list[dict[str, Any]] = [{"type": "ITEM", "subtotal": m(principal, currency)}]
        parts = [Decimal(principal)]
        if shipping:
            breakdowns.append({"type": "SHIPPING", "subtotal": m(shipping, currency)})
            parts.append(Decimal(shipping))
        if tax:
            breakdowns.append(
                {
                    "type": "TAX",
                    "subtotal": m(tax, currency),
                    "detailedBreakdowns": [{"subtype": "ITEM", "value": m(tax, currency)}],
                }
            )
            parts.append(Decimal(tax))
        if promotion:
            breakdowns.append(
                {
                    "type": "DISCOUNT",
                    "subtotal": m(promotion, currency),
                    "detailedBreakdowns": [{"subtype": "ITEM", "value": m(promotion, currency)}],
                }
            )
            parts.append(Decimal(promotion))
        item: dict[str, Any] = {
            "orderItemId": item_id,
            "quantityOrdered": quantity,
            "product": {"asin": "B000000001", "sellerSku": sku, "title": f"Product {sku}"},
            "proceeds": {
                "proceedsTotal": m(str(sum(parts, Decimal(0))), currency),
                "breakdowns": breakdowns,
            },
        }
        if facilitator:
            item["tax"] = {"taxCollections": [{"model": "MARKETPLACE_FACILITATOR"}]}
        return item

    @staticmethod
    def order(
        order_id: str,
        items: list[dict[str, Any]],
        *,
        marketplace: str = US,
        status: str = "SHIPPED",
        currency: str = "USD",
    ) -> dict[str, Any]:
        grand = sum((Decimal(i["proceeds"]["proceedsTotal"]["amount"]) for i in items), Decimal(0))
        return {
            "orderId": order_id,
            "createdTime": "2026-03-01T10:00:00Z",
            "lastUpdatedTime": "2026-03-02T08:30:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": marketplace},
            "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": "AMAZON"},
            "proceeds": {"grandTotal": Shapes.money(str(grand), currency)},
            "orderItems": items,
        }

    @staticmethod
    def amount(value: str | Decimal, currency: str = "USD") -> dict[str, Any]:
        return {"currencyCode": currency, "currencyAmount": Decimal(value)}

    @staticmethod
    def tree(leaves: list[tuple[str, str]], currency: str = "USD") -> list[dict[str, Any]]:
        """Leaves under one group node, as Finances nests them."""
        amounts = [Decimal(a) for _, a in leaves]
        return [
            {
                "breakdownType": "Group",
                "breakdownAmount": Shapes.amount(sum(amounts, Decimal(0)), currency),
                "breakdowns": [
                    {"breakdownType": name, "breakdownAmount": Shapes.amount(value, currency)}
                    for name, value in leaves
                ],
            }
        ]

    @staticmethod
    def transaction(
        transaction_id: str,
        kind: str,
        leaves: list[tuple[str, str]],
        *,
        group: str = "G1",
        order_id: str | None = None,
        refund_id: str | None = None,
        sku: str | None = None,
        quantity: int | None = None,
        status: str = "RELEASED",
        currency: str = "USD",
        marketplace: str = US,
    ) -> dict[str, Any]:
        total = sum((Decimal(a) for _, a in leaves), Decimal(0))
        related = [
            {"relatedIdentifierName": "FINANCIAL_EVENT_GROUP_ID", "relatedIdentifierValue": group}
        ]
        if order_id:
            related.append(
                {"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": order_id}
            )
        if refund_id:
            related.append(
                {"relatedIdentifierName": "REFUND_ID", "relatedIdentifierValue": refund_id}
            )
        txn: dict[str, Any] = {
            "transactionId": transaction_id,
            "transactionType": kind,
            "transactionStatus": status,
            "postedDate": "2026-03-05T12:00:00Z",
            "totalAmount": Shapes.amount(total, currency),
            "marketplaceDetails": {"marketplaceId": marketplace},
            "relatedIdentifiers": related,
            "breakdowns": Shapes.tree(leaves, currency),
        }
        if sku:
            txn["items"] = [
                {
                    "totalAmount": Shapes.amount(total, currency),
                    "breakdowns": Shapes.tree(leaves, currency),
                    "contexts": [
                        {"contextType": "ProductContext", "sku": sku, "quantityShipped": quantity}
                    ],
                }
            ]
        return txn

    @staticmethod
    def group(
        total: str | Decimal, *, group: str = "G1", status: str = "Closed", currency: str = "USD"
    ) -> dict[str, Any]:
        return {
            "FinancialEventGroupId": group,
            "ProcessingStatus": status,
            "OriginalTotal": {"CurrencyCode": currency, "CurrencyAmount": Decimal(total)},
            "FinancialEventGroupStart": "2026-03-01T00:00:00Z",
            "FinancialEventGroupEnd": "2026-03-15T00:00:00Z",
            "FundTransferDate": "2026-03-16T09:00:00Z",
        }
