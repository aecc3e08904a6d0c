"""Finances v0 `FinancialEventGroup` + 2024-06-19 `Transaction`s → `Settlement`.

Breakdowns nest; only leaves carry meaning. A transaction's own `breakdowns` already sum its
items, so the transaction's leaves come from there, and each item's leaves are kept separately
(for per-SKU credit memos) — using both would count the money twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ml_connector.domain.ids import (
    AmazonOrderId,
    FinancialEventGroupId,
    MarketplaceId,
    SellerSku,
    SettlementId,
    TransactionId,
)
from ml_connector.domain.money import total
from ml_connector.domain.settlements import (
    GroupStatus,
    Leaf,
    Settlement,
    SettlementTransaction,
    TransactionItem,
    TransactionStatus,
)
from ml_connector.flow.normalize.fields import Node, NormalizeError, money


def _leaves(nodes: list[Node], currency: str, out: list[Leaf]) -> None:
    """Flatten a breakdown tree, checking each group node equals the sum of its children."""
    for node in nodes:
        kind = node.req("breakdownType").text()
        amount, leaf_currency = money(node.req("breakdownAmount"), "currencyAmount", "currencyCode")
        if leaf_currency != currency:
            raise node.error(f"currency {leaf_currency} differs from the transaction's {currency}")
        children = node.array("breakdowns")
        if not children:
            if node.get("breakdowns") is not None and amount == 0:
                continue  # an empty group node ("breakdowns": []) carries nothing
            out.append(Leaf(kind, amount))
            continue
        start = len(out)
        _leaves(children, currency, out)
        below = total(leaf.amount for leaf in out[start:])
        if below != amount:
            raise node.error(f"{kind} is {amount} but its breakdowns sum to {below}")


def _related(node: Node, list_key: str, name_key: str, value_key: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in node.array(list_key):
        found[entry.req(name_key).text()] = entry.req(value_key).text()
    return found


def _item(node: Node, currency: str) -> TransactionItem:
    leaves: list[Leaf] = []
    _leaves(node.array("breakdowns"), currency, leaves)
    sku = asin = network = None
    quantity: int | None = None
    for context in node.array("contexts"):
        if context.req("contextType").text() == "ProductContext":
            sku = context.req("sku").text() if context.get("sku") else None
            asin = context.req("asin").text() if context.get("asin") else None
            q = context.get("quantityShipped")
            quantity = q.integer() if q is not None else None
            n = context.get("fulfillmentNetwork")
            network = n.text() if n is not None else None
    ids = _related(
        node, "relatedIdentifiers", "itemRelatedIdentifierName", "itemRelatedIdentifierValue"
    )
    return TransactionItem(
        sku=SellerSku(sku) if sku else None,
        asin=asin,
        quantity=quantity,
        fulfillment_network=network,
        leaves=tuple(leaves),
        order_adjustment_item_id=ids.get("ORDER_ADJUSTMENT_ITEM_ID"),
    )


def normalize_transaction(raw: Mapping[str, Any], *, path: str = "") -> SettlementTransaction:
    """One 2024-06-19 `Transaction`; its leaves must sum to its `totalAmount`."""
    node = Node(raw, path)
    amount, currency = money(node.req("totalAmount"), "currencyAmount", "currencyCode")
    status_node = node.req("transactionStatus")
    try:
        status = TransactionStatus(status_node.text())
    except ValueError:
        raise status_node.error(f"unknown transactionStatus {status_node.value!r}") from None
    leaves: list[Leaf] = []
    _leaves(node.array("breakdowns"), currency, leaves)
    items = tuple(_item(item, currency) for item in node.array("items"))
    if not leaves:  # some transactions carry their money on the items only
        leaves = [leaf for item in items for leaf in item.leaves]
    leaves_total = total(leaf.amount for leaf in leaves)
    if leaves_total != amount:
        raise node.req("totalAmount").error(f"breakdowns sum to {leaves_total}, total is {amount}")
    related = _related(
        node, "relatedIdentifiers", "relatedIdentifierName", "relatedIdentifierValue"
    )
    details = node.get("marketplaceDetails")
    market = details.get("marketplaceId") if details is not None else None
    posted = node.get("postedDate")
    description = node.get("description")
    return SettlementTransaction(
        transaction_id=TransactionId(node.req("transactionId").text()),
        transaction_type=node.req("transactionType").text(),
        status=status,
        posted_date=posted.timestamp() if posted is not None else None,
        total=amount,
        currency=currency,
        marketplace_id=MarketplaceId(market.text()) if market is not None else None,
        order_id=AmazonOrderId(related["ORDER_ID"]) if "ORDER_ID" in related else None,
        refund_id=related.get("REFUND_ID"),
        shipment_id=related.get("SHIPMENT_ID"),
        leaves=tuple(leaves),
        items=items,
        description=description.text() if description is not None else None,
    )


def normalize_settlement(
    group: Mapping[str, Any], transactions: Iterable[Mapping[str, Any]], *, path: str = ""
) -> Settlement:
    """A group and the transactions listed for it (by FINANCIAL_EVENT_GROUP_ID).

    A transaction that names another group is an error: it means the caller mixed up pages.
    The settlement id is the transactions' SETTLEMENT_ID when they carry one, else the group id.
    """
    node = Node(group, path)
    group_id = node.req("FinancialEventGroupId").text()
    status_node = node.req("ProcessingStatus")
    try:
        status = GroupStatus(status_node.text())
    except ValueError:
        raise status_node.error(f"unknown ProcessingStatus {status_node.value!r}") from None
    amount, currency = money(node.req("OriginalTotal"), "CurrencyAmount", "CurrencyCode")
    normalized: list[SettlementTransaction] = []
    settlement_ids: set[str] = set()
    for index, raw in enumerate(transactions):
        where = f"transactions[{index}]"
        txn = normalize_transaction(raw, path=where)
        related = _related(
            Node(raw, where),
            "relatedIdentifiers",
            "relatedIdentifierName",
            "relatedIdentifierValue",
        )
        named_group = related.get("FINANCIAL_EVENT_GROUP_ID")
        if named_group is not None and named_group != group_id:
            raise NormalizeError(where, f"belongs to group {named_group}, not {group_id}")
        if txn.currency != currency:
            raise NormalizeError(
                f"{where}.totalAmount", f"currency {txn.currency} differs from group's {currency}"
            )
        if "SETTLEMENT_ID" in related:
            settlement_ids.add(related["SETTLEMENT_ID"])
        normalized.append(txn)
    if len(settlement_ids) > 1:
        raise NormalizeError("transactions", f"several SETTLEMENT_IDs: {sorted(settlement_ids)}")
    start, end, transfer = (
        node.get(key)
        for key in ("FinancialEventGroupStart", "FinancialEventGroupEnd", "FundTransferDate")
    )
    return Settlement(
        group_id=FinancialEventGroupId(group_id),
        settlement_id=SettlementId(settlement_ids.pop() if settlement_ids else group_id),
        status=status,
        currency=currency,
        start=start.timestamp() if start is not None else None,
        end=end.timestamp() if end is not None else None,
        fund_transfer_date=transfer.timestamp() if transfer is not None else None,
        total=amount,
        transactions=tuple(normalized),
    )
