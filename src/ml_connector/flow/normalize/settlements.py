"""Finances v0 `FinancialEventGroup` + 2024-06-19 `Transaction`s → `Settlement`.

Read per the official model (``finances_2024-06-19.json``), which requires no field at all: what
the accounting cannot do without (an id, a total, a currency) is checked here, everything else
may be absent or null. Enum values are compared without regard to case (the model's enum says
``RELEASED``, its own example sends ``Released``).

Breakdowns nest to any depth (``Sales → ProductCharges``, ``Expenses → AmazonFees → Commission →
Base / Tax``); only leaves carry money, and each leaf keeps its whole *path*, because the same leaf
name means different things in different places (`Tax` of a sale is output tax, `Tax` of a fee is
the VAT Amazon charges the seller). A transaction's own `breakdowns` already sum its items, so the
transaction's leaves come from there and each item's leaves are kept separately (for per-SKU credit
memos); using both would count the money twice. A transaction with no breakdowns anywhere (a
`Transfer` with ``"breakdowns": []``) is one leaf named after its type, for its `totalAmount`.

One transaction that cannot be read does not stop its settlement from being read: it is returned
in `Settlement.unreadable`, and the settlement's journal waits for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
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
from ml_connector.domain.quarantine import RecordKind, Unreadable
from ml_connector.domain.settlements import (
    GroupStatus,
    Leaf,
    Settlement,
    SettlementTransaction,
    TransactionItem,
    TransactionStatus,
)
from ml_connector.flow.normalize.fields import Node, NormalizeError, money

# Deeper than any tree Amazon documents; a deeper one is malformed, not something to recurse into.
_MAX_DEPTH = 12


def _breakdown_nodes(node: Node) -> list[Node]:
    """The `breakdowns` of a transaction, item or breakdown: a list, or (as in the model's own
    `Transaction` example) an object holding the list under `breakdowns`; absent/null → none."""
    child = node.get("breakdowns")
    if child is None:
        return []
    if isinstance(child.value, Mapping):
        inner = child.get("breakdowns")
        return [] if inner is None else inner.items()
    return child.items()


def _leaves(
    nodes: list[Node], currency: str, out: list[Leaf], parents: tuple[str, ...] = ()
) -> None:
    """Flatten a breakdown tree into leaves with their paths.

    A group node's amount, when sent, must equal the sum of its children; the model does not
    require `breakdownAmount`, so a group node without one is taken as the sum of its children.
    """
    if len(parents) >= _MAX_DEPTH:
        raise nodes[0].error(f"breakdowns nest deeper than {_MAX_DEPTH} levels")
    for node in nodes:
        kind = node.req("breakdownType").text().strip()
        path = (*parents, kind)
        children = _breakdown_nodes(node)
        amount_node = node.get("breakdownAmount")
        amount = None
        if amount_node is not None:
            amount, leaf_currency = money(amount_node, "currencyAmount", "currencyCode")
            if leaf_currency != currency:
                raise amount_node.error(
                    f"currency {leaf_currency} differs from the transaction's {currency}"
                )
        if not children:
            if amount is None:
                raise NormalizeError(node.child_path("breakdownAmount"), "a leaf needs an amount")
            if node.get("breakdowns") is not None and amount == 0:
                continue  # an empty group node ("breakdowns": []) carries nothing
            out.append(Leaf(path, amount))
            continue
        start = len(out)
        _leaves(children, currency, out, path)
        below = total(leaf.amount for leaf in out[start:])
        if amount is not None and below != amount:
            raise node.error(f"{kind} is {amount} but its breakdowns sum to {below}")


def _fold(segment: str) -> str:
    return "".join(segment.split()).casefold()


def _refined(leaves: list[Leaf], items: tuple[TransactionItem, ...]) -> list[Leaf]:
    """Transaction-level leaves split the way the items split them, where they say more.

    Amazon may stop the transaction's tree at `Expenses/AmazonFees` while each item carries
    `AmazonFees/Commission/Base` and `.../Tax`: the split is the difference between fee expense
    and recoverable VAT, so it must not be lost. A leaf is replaced by the items' pieces below the
    node of the same name only when there are several pieces and they add up to it exactly;
    a single piece (`ProductCharges/OurPricePrincipal`) tells nothing more and is not used.
    """
    item_leaves = [leaf for item in items for leaf in item.leaves]
    if not item_leaves:
        return leaves
    out: list[Leaf] = []
    for leaf in leaves:
        where = [_fold(segment) for segment in leaf.path]
        pieces: dict[tuple[str, ...], Decimal] = {}
        for piece in item_leaves:
            folded = [_fold(segment) for segment in piece.path]
            at = folded.index(where[-1]) if where[-1] in folded[:-1] else -1
            # The item's path down to that node must end the way the leaf's path ends
            # (`AmazonFees` under `Expenses`, not a namesake elsewhere in the tree).
            if at >= 0 and folded[: at + 1] == where[len(where) - at - 1 :]:
                below = piece.path[at + 1 :]
                pieces[below] = pieces.get(below, Decimal(0)) + piece.amount
        if len(pieces) > 1 and total(pieces.values()) == leaf.amount:
            out.extend(Leaf((*leaf.path, *below), amount) for below, amount in pieces.items())
        else:
            out.append(leaf)
    return out


def _related(node: Node, list_key: str, name_key: str, value_key: str) -> dict[str, str]:
    """Related identifiers by name; an entry without a name or value identifies nothing."""
    found: dict[str, str] = {}
    for entry in node.array(list_key):
        name, value = entry.get(name_key), entry.get(value_key)
        if name is None or value is None:
            continue
        if not isinstance(name.value, str) or not isinstance(value.value, str | int):
            raise entry.error("a related identifier's name and value must be text")
        text = str(value.value).strip()
        if text:
            found[name.value.strip().upper()] = text
    return found


def _optional_text(node: Node, key: str) -> str | None:
    child = node.get(key)
    if child is None:
        return None
    if not isinstance(child.value, str):
        raise child.error(f"expected a string, got {child.value!r}")
    return child.value.strip() or None


def _item(node: Node, currency: str) -> TransactionItem:
    leaves: list[Leaf] = []
    _leaves(_breakdown_nodes(node), currency, leaves)
    sku = asin = network = None
    quantity: int | None = None
    for context in node.array("contexts"):
        context_type = _optional_text(context, "contextType")
        if context_type is None or context_type.casefold() != "productcontext":
            continue
        sku = _optional_text(context, "sku")
        asin = _optional_text(context, "asin")
        q = context.get("quantityShipped")
        # 0 is a real value (the v0 model's own example: a refund of no goods, a charge on an
        # item): no unit moved, not an unreadable transaction.
        quantity = q.quantity(minimum=0) if q is not None else None
        network = _optional_text(context, "fulfillmentNetwork")
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


def _status(node: Node) -> TransactionStatus | None:
    status_node = node.get("transactionStatus")
    if status_node is None:
        return None  # not required by the model: the settlement decides (resolve_statusless)
    try:
        return TransactionStatus(status_node.text())
    except ValueError:
        raise status_node.error(f"unknown transactionStatus {status_node.value!r}") from None


def transaction_id_of(raw: Any) -> str | None:
    """The record's `transactionId` when it has a usable one (text, not blank)."""
    if isinstance(raw, Mapping):
        value = raw.get("transactionId")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


# Transaction types that give order money back to the buyer, each reversing the order's invoice
# with a credit memo: refunds, A-to-z guarantee claims and chargebacks (v0 lists them as
# RefundEventList, GuaranteeClaimEventList and ChargebackEventList, all in the ShipmentEvent
# shape: reference/sp-api.md §4). Compared without case, spaces, hyphens or underscores.
REVERSAL_TYPES = frozenset(
    {"refund", "guaranteeclaim", "guaranteeclaimrefund", "atozguaranteeclaim", "chargeback",
     "chargebackrefund"}
)  # fmt: skip
# Types that never reverse an invoice: the sale itself and money between Amazon and the seller.
NON_REVERSAL_TYPES = frozenset(
    {"shipment", "servicefee", "adjustment", "transfer", "reserve", "retrocharge",
     "deferredtransaction", "disbursement", "debtrecovery", "loanservicing"}
)  # fmt: skip


def transaction_type_of(raw: Any) -> str | None:
    """The type folded for comparison: `A-to-z Guarantee Claim` → `atozguaranteeclaim`."""
    kind = raw.get("transactionType") if isinstance(raw, Mapping) else None
    if not isinstance(kind, str):
        return None
    folded = "".join(ch for ch in kind.casefold() if ch.isalnum())
    return folded or None


def is_reversal(raw: Any) -> bool:
    """True for a transaction that gives order money back to the buyer (REVERSAL_TYPES)."""
    return transaction_type_of(raw) in REVERSAL_TYPES


def normalize_transaction(raw: Mapping[str, Any], *, path: str = "") -> SettlementTransaction:
    """One 2024-06-19 `Transaction`; its leaves must sum to its `totalAmount`.

    Raises `NormalizeError` (with the field's path) when the transaction cannot be read: no id,
    no total, an unknown status, leaves that do not add up, a value of the wrong type.
    """
    node = Node(raw, path)
    node.obj()
    transaction_id = node.req("transactionId").text().strip()
    amount, currency = money(node.req("totalAmount"), "currencyAmount", "currencyCode")
    status = _status(node)
    transaction_type = _optional_text(node, "transactionType")
    leaves: list[Leaf] = []
    _leaves(_breakdown_nodes(node), currency, leaves)
    items = tuple(_item(item, currency) for item in node.array("items"))
    if not leaves:  # some transactions carry their money on the items only
        leaves = [leaf for item in items for leaf in item.leaves]
    else:
        leaves = _refined(leaves, items)
    if not leaves and amount != 0:
        # No breakdown anywhere (a Transfer with "breakdowns": []): the total is the one leaf.
        leaves = [Leaf((transaction_type or "Unclassified",), amount)]
    leaves_total = total(leaf.amount for leaf in leaves)
    if leaves_total != amount:
        raise node.req("totalAmount").error(f"breakdowns sum to {leaves_total}, total is {amount}")
    related = _related(
        node, "relatedIdentifiers", "relatedIdentifierName", "relatedIdentifierValue"
    )
    # `marketplaceDetails` and `sellingPartnerMetadata` both carry it; neither is required.
    market = None
    for holder in ("marketplaceDetails", "sellingPartnerMetadata"):
        details = node.get(holder)
        if details is not None and isinstance(details.value, Mapping):
            market = market or _optional_text(details, "marketplaceId")
    posted = node.get("postedDate")
    return SettlementTransaction(
        transaction_id=TransactionId(transaction_id),
        transaction_type=transaction_type or "",
        status=status,
        posted_date=posted.timestamp() if posted is not None else None,
        total=amount,
        currency=currency,
        marketplace_id=MarketplaceId(market) if market else None,
        order_id=AmazonOrderId(related["ORDER_ID"]) if "ORDER_ID" in related else None,
        refund_id=related.get("REFUND_ID"),
        shipment_id=related.get("SHIPMENT_ID"),
        leaves=tuple(leaves),
        items=items,
        description=_optional_text(node, "description"),
    )


def _field(error: NormalizeError, prefix: str) -> str:
    return error.path[len(prefix) + 1 :] if error.path.startswith(prefix + ".") else error.path


def resolve_statusless(settlement: Settlement) -> Settlement:
    """Decide what transactions without a `transactionStatus` mean, by the group's total.

    The model does not require the status; Amazon's `OriginalTotal` of a Closed group is the money
    it settled. So: when the total ties only with the status-less money counted, it is RELEASED;
    when it ties without it, it is not in this settlement (read as DEFERRED); otherwise nobody can
    tell, and each status-less transaction is held for review. An Open group is left as it is.
    Source of the rule: docs/amazon-vocabulary.md ("What Amazon really sends").
    """
    unknown = [t for t in settlement.transactions if t.status is None]
    if not unknown or settlement.status is not GroupStatus.CLOSED or settlement.unreadable:
        # With a record missing, the total cannot tell anything: the settlement waits for it.
        return settlement
    known = settlement.released_total
    unknown_total = total(t.total for t in unknown)
    ids = ", ".join(t.transaction_id for t in unknown)
    if known + unknown_total == settlement.total:
        status, note = TransactionStatus.RELEASED, f"read as RELEASED (the group total ties): {ids}"
    elif known == settlement.total:
        status, note = TransactionStatus.DEFERRED, f"read as not settled here (total ties): {ids}"
    else:
        held = tuple(
            Unreadable(
                RecordKind.TRANSACTION,
                t.transaction_id,
                "transactionStatus",
                "transactionStatus is null and the settlement's total does not tell whether "
                f"this {t.total} {t.currency} was released",
            )
            for t in unknown
        )
        return dataclasses.replace(
            settlement,
            transactions=tuple(t for t in settlement.transactions if t.status is not None),
            unreadable=settlement.unreadable + held,
        )
    resolved = tuple(
        dataclasses.replace(t, status=status) if t.status is None else t
        for t in settlement.transactions
    )
    notes = (*settlement.notes, f"transactionStatus null on {len(unknown)} transaction(s), {note}")
    return dataclasses.replace(settlement, transactions=resolved, notes=notes)


def _first_currency(transactions: Iterable[Mapping[str, Any]]) -> str:
    for raw in transactions:
        try:
            return money(Node(raw).req("totalAmount"), "currencyAmount", "currencyCode")[1]
        except NormalizeError:
            continue
    return "XXX"  # ISO 4217 "no currency": nothing listed yet


def normalize_settlement(
    group: Mapping[str, Any],
    transactions: Iterable[Mapping[str, Any]],
    *,
    path: str = "",
    record_ids: Sequence[str] | None = None,
) -> Settlement:
    """A group and the transactions listed for it (by FINANCIAL_EVENT_GROUP_ID).

    Raises `NormalizeError` when the group itself cannot be read (no id, no or unknown
    ProcessingStatus, no total); a transaction that cannot be read, names another group or is in
    another currency is put in `Settlement.unreadable` instead, named by its `transactionId` or,
    when it has none, by its entry in `record_ids` (the id it is stored under). The settlement id
    is the transactions' SETTLEMENT_ID when they carry one, else the group id.
    """
    listed = list(transactions)
    node = Node(group, path)
    node.obj()
    group_id = node.req("FinancialEventGroupId").text().strip()
    status_node = node.get("ProcessingStatus")
    if status_node is None:
        # Without a status nobody can tell whether the group is final: never journal it.
        raise NormalizeError(node.child_path("ProcessingStatus"), "ProcessingStatus is missing")
    try:
        status = GroupStatus(status_node.text())
    except ValueError:
        raise status_node.error(f"unknown ProcessingStatus {status_node.value!r}") from None
    original = node.get("OriginalTotal")
    if original is None and status is GroupStatus.OPEN:
        # Not required by the v0 model; an Open group is not journaled, so its running total
        # is only informative: take the currency its transactions are in.
        amount, currency = Decimal(0), _first_currency(listed)
    else:
        amount, currency = money(node.req("OriginalTotal"), "CurrencyAmount", "CurrencyCode")
    normalized: list[SettlementTransaction] = []
    unreadable: list[Unreadable] = []
    settlement_ids: set[str] = set()
    for index, raw in enumerate(listed):
        where = f"transactions[{index}]"
        fallback = (
            record_ids[index]
            if record_ids is not None and index < len(record_ids)
            else f"{group_id}/transactions[{index}]"
        )
        try:
            txn = normalize_transaction(raw, path=where)
            related = _related(
                Node(raw, where),
                "relatedIdentifiers",
                "relatedIdentifierName",
                "relatedIdentifierValue",
            )
            named_group = related.get("FINANCIAL_EVENT_GROUP_ID")
            if named_group is not None and named_group != group_id:
                raise NormalizeError(
                    f"{where}.relatedIdentifiers", f"belongs to group {named_group}"
                )
            if txn.currency != currency:
                raise NormalizeError(
                    f"{where}.totalAmount.currencyCode",
                    f"currency {txn.currency} differs from the group's {currency}",
                )
        except NormalizeError as exc:
            unreadable.append(
                Unreadable(
                    RecordKind.TRANSACTION,
                    transaction_id_of(raw) or fallback,
                    _field(exc, where),
                    exc.message,
                )
            )
            continue
        if "SETTLEMENT_ID" in related:
            settlement_ids.add(related["SETTLEMENT_ID"])
        normalized.append(txn)
    if len(settlement_ids) > 1:
        raise NormalizeError("transactions", f"several SETTLEMENT_IDs: {sorted(settlement_ids)}")
    start, end, transfer = (
        node.get(key)
        for key in ("FinancialEventGroupStart", "FinancialEventGroupEnd", "FundTransferDate")
    )
    settlement = Settlement(
        group_id=FinancialEventGroupId(group_id),
        settlement_id=SettlementId(settlement_ids.pop() if settlement_ids else group_id),
        status=status,
        currency=currency,
        start=start.timestamp() if start is not None else None,
        end=end.timestamp() if end is not None else None,
        fund_transfer_date=transfer.timestamp() if transfer is not None else None,
        total=amount,
        transactions=tuple(normalized),
        unreadable=tuple(unreadable),
    )
    return resolve_statusless(settlement)
