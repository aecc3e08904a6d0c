"""Every money movement back to a buyer reverses the invoice once (simulators on loopback).

An A-to-z guarantee claim is a refund by another name; a transaction type nobody knows that
moves an order's money waits for a person; an order cancelled after invoicing and also refunded
is reversed once, whichever Amazon reports first.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ml_connector.flow.post.codec import load_credit_memo, load_invoice
from ml_connector.pipeline import planner_for, poster_for
from ml_connector.store import (
    DocumentKind,
    DocumentState,
    RawKind,
    ReviewKind,
    get_raw_record,
    list_raw_records,
    timeline,
    upsert_raw_record,
)

Seller = Any
Factory = Callable[..., Seller]


def _order_of(txn: dict[str, Any]) -> str:
    return next(
        str(r["relatedIdentifierValue"])
        for r in txn["relatedIdentifiers"]
        if r["relatedIdentifierName"] == "ORDER_ID"
    )


def _memos(seller: Seller, order_id: str) -> list[Any]:
    return [
        d
        for d in seller.documents(DocumentKind.CREDIT_MEMO)
        if d.amazon_source_id == order_id and d.state is not DocumentState.REJECTED
    ]


def test_an_a_to_z_claim_reverses_the_invoice_like_a_refund(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.write_mapping()
    claim = next(t for t in seller.world.transactions if t.get("transactionType") == "Refund")
    claim["transactionType"] = "A-to-z Guarantee Claim"
    claim["description"] = "A-to-z Guarantee Claim"
    order_id = _order_of(claim)

    seller.sync()

    (memo,) = _memos(seller, order_id)
    assert memo.state is DocumentState.POSTED
    assert memo.payload["refund_transaction_id"] == claim["transactionId"]
    with seller.rt.sessions() as session:
        actions = {e.action for e in timeline(session, str(claim["transactionId"]))}
    assert "planned" in actions


def test_an_unknown_type_that_moves_order_money_waits_for_a_person(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.write_mapping()
    odd = next(t for t in seller.world.transactions if t.get("transactionType") == "Shipment")
    odd["transactionType"] = "BuyerGoodwillCredit"

    report = seller.sync()

    items = {i.subject_amazon_id: i for i in seller.review(ReviewKind.ACCOUNTING_HOLD)}
    item = items[str(odd["transactionId"])]
    assert "BuyerGoodwillCredit" in item.reason
    assert item.details["field"] == "transactionType"
    assert item.details["order_id"] == _order_of(odd)
    assert report.plan.waiting >= 1


def _cancel(seller: Seller, order_id: str) -> None:
    with seller.rt.sessions() as session, session.begin():
        raw = get_raw_record(session, seller.connection_id, RawKind.ORDER, order_id)
        assert raw is not None
        payload = copy.deepcopy(dict(raw.payload))
        payload["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
        payload["lastUpdatedTime"] = "2026-12-01T00:00:00Z"
        upsert_raw_record(session, seller.connection_id, RawKind.ORDER, order_id, payload)


def _take_refund(seller: Seller) -> tuple[str, dict[str, Any], str]:
    """Remove a stored full refund (it has not happened yet); returns (id, payload, order)."""
    with seller.rt.sessions() as session, session.begin():
        row = next(
            r
            for r in list_raw_records(session, seller.connection_id, RawKind.TRANSACTION)
            if r.payload.get("transactionType") == "Refund"
        )
        refund = (row.amazon_id, dict(row.payload), _order_of(dict(row.payload)))
        session.delete(row)
    return refund


def _plan_and_post(seller: Seller) -> None:
    with seller.connect() as ctx:
        planner_for(seller.rt, ctx).plan_all()
        poster_for(seller.rt, ctx).post_all()


def test_cancelled_then_refunded_is_reversed_once_by_the_refunds_memo(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40)
    seller.write_mapping()
    seller.extract_and_plan(plan=False)
    refund_id, refund, order_id = _take_refund(seller)
    _plan_and_post(seller)
    assert _memos(seller, order_id) == []
    _cancel(seller, order_id)  # Amazon reports the cancellation and the refund together
    with seller.rt.sessions() as session, session.begin():
        upsert_raw_record(session, seller.connection_id, RawKind.TRANSACTION, refund_id, refund)
    _plan_and_post(seller)
    _plan_and_post(seller)

    memos = _memos(seller, order_id)
    # The refund's memo (with its id) comes first; a cancellation memo may follow only for what
    # the refund left open (a partial refund of a cancelled order), never for more.
    assert memos[0].payload["refund_transaction_id"] == refund_id
    assert all(m.state is DocumentState.POSTED for m in memos)
    (invoice,) = [
        d for d in seller.documents(DocumentKind.INVOICE) if d.amazon_source_id == order_id
    ]
    credited = sum((load_credit_memo(m.payload).total for m in memos), Decimal(0))
    assert credited == -load_invoice(invoice.payload).total, "reversed exactly once"
    assert not [i for i in seller.review() if i.subject_amazon_id == order_id]


def test_a_refund_after_a_posted_cancellation_memo_is_not_a_second_reversal(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40)
    seller.write_mapping()
    seller.extract_and_plan(plan=False)
    refund_id, refund, order_id = _take_refund(seller)
    _plan_and_post(seller)
    _cancel(seller, order_id)
    _plan_and_post(seller)
    (cancellation,) = _memos(seller, order_id)
    assert cancellation.state is DocumentState.POSTED
    assert cancellation.payload["refund_transaction_id"] is None

    with seller.rt.sessions() as session, session.begin():
        upsert_raw_record(session, seller.connection_id, RawKind.TRANSACTION, refund_id, refund)
    _plan_and_post(seller)
    _plan_and_post(seller)

    assert len(_memos(seller, order_id)) == 1
    assert not [i for i in seller.review() if i.subject_amazon_id == order_id]
    with seller.rt.sessions() as session:
        covered = [e for e in timeline(session, refund_id) if e.action == "reversal_covered"]
    assert len(covered) == 1, "said once, not once a cycle"


def _group_of(txn: dict[str, Any]) -> str:
    return next(
        str(r["relatedIdentifierValue"])
        for r in txn["relatedIdentifiers"]
        if r["relatedIdentifierName"] == "FINANCIAL_EVENT_GROUP_ID"
    )


def test_an_unknown_type_naming_no_order_holds_its_settlements_journal_until_listed(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40)
    seller.write_mapping()
    closed = {
        g["FinancialEventGroupId"]
        for g in seller.world.groups
        if g.get("ProcessingStatus") == "Closed"
    }
    odd = next(
        t
        for t in seller.world.transactions
        if t.get("transactionType") == "ServiceFee"
        and _group_of(t) in closed
        and not any(r["relatedIdentifierName"] == "ORDER_ID" for r in t["relatedIdentifiers"])
    )
    odd["transactionType"] = "MysteryCharge"
    group_id = _group_of(odd)

    report = seller.sync()

    (row,) = [r for r in report.reconciliation if r["group_id"] == group_id]
    settlement_id = str(row["settlement_id"])
    items = [i for i in seller.review(ReviewKind.ACCOUNTING_HOLD) if i.subject_amazon_id in
             (settlement_id, group_id)]  # fmt: skip
    assert len(items) == 1, [i.reason for i in seller.review()]
    reason = items[0].reason
    assert f"'MysteryCharge' {odd['transactionId']}" in reason
    assert '[transaction_types] book_by_breakdowns = ["MysteryCharge"]' in reason
    assert not [
        d for d in seller.documents(DocumentKind.JOURNAL) if d.amazon_source_id == settlement_id
    ]
    assert row["status"] == "not_posted"
    causes = row["invariants"]["journal_total"]["causes"]
    assert any("MysteryCharge" in cause and "journal held for review" in cause for cause in causes)
    assert items[0].id in row["review_items"]
    # Known non-reversal types (the other ServiceFees, Transfers...) still book: every other
    # Closed settlement has its journal.
    posted = {d.amazon_source_id for d in seller.documents(DocumentKind.JOURNAL)}
    others = [r for r in report.reconciliation if r["group_id"] != group_id]
    assert others
    assert all(str(r["settlement_id"]) in posted for r in others)

    # The finance team decides it is a charge between Amazon and them (spelled their way).
    charges = seller.workdir / "charges.toml"
    charges.write_text(
        charges.read_text(encoding="utf-8")
        + '\n[transaction_types]\nbook_by_breakdowns = ["Mystery Charge"]\n',
        encoding="utf-8",
    )
    second = seller.sync()

    (journal,) = [
        d for d in seller.documents(DocumentKind.JOURNAL) if d.amazon_source_id == settlement_id
    ]
    assert journal.state is DocumentState.POSTED
    assert not [i for i in seller.review() if i.subject_amazon_id in (settlement_id, group_id)]
    (after,) = [r for r in second.reconciliation if r["group_id"] == group_id]
    assert after["status"] != "not_posted"
    assert not any("journal held" in note for note in after["notes"])


def _find_leaf(nodes: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for node in nodes:
        children = node.get("breakdowns") or []
        if node["breakdownType"] == name and not children:
            return node
        found = _find_leaf(children, name)
        if found is not None:
            return found
    return None


def _leaf(nodes: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = _find_leaf(nodes, name)
    assert found is not None, name
    return found


def _resum(nodes: list[dict[str, Any]]) -> Decimal:
    """Each parent breakdown is the sum of its children again; returns the nodes' sum."""
    for node in nodes:
        if node.get("breakdowns"):
            node["breakdownAmount"]["currencyAmount"] = _resum(node["breakdowns"])
    return sum((Decimal(str(n["breakdownAmount"]["currencyAmount"])) for n in nodes), Decimal(0))


def _full_refund(seller: Seller) -> dict[str, Any]:
    """A Refund of one order of one SKU with a principal and a sale tax leaf."""
    return next(
        t
        for t in seller.world.transactions
        if t.get("transactionType") == "Refund"
        and len(t["items"]) == 1
        and _find_leaf(t["items"][0]["breakdowns"], "Tax") is not None
    )


def test_a_chargeback_reverses_the_invoice_like_a_refund(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.write_mapping()
    chargeback = _full_refund(seller)
    chargeback["transactionType"] = "Chargeback"
    chargeback["description"] = "Chargeback Refund"
    order_id = _order_of(chargeback)
    refund_id = next(
        r["relatedIdentifierValue"]
        for r in chargeback["relatedIdentifiers"]
        if r["relatedIdentifierName"] == "REFUND_ID"
    )
    item = chargeback["items"][0]["breakdowns"]
    principal = Decimal(str(_leaf(item, "ProductCharges")["breakdownAmount"]["currencyAmount"]))
    tax = Decimal(str(_leaf(item, "Tax")["breakdownAmount"]["currencyAmount"]))

    seller.sync()

    (memo_doc,) = _memos(seller, order_id)
    assert memo_doc.state is DocumentState.POSTED
    memo = load_credit_memo(memo_doc.payload)
    assert memo.refund_transaction_id == chargeback["transactionId"]
    assert memo.reason == f"Amazon chargeback {refund_id}"
    # What the buyer got back: the principal and its tax, on the invoice's own lines.
    assert sorted((ln.kind.value, ln.amount) for ln in memo.lines) == sorted(
        [("item", principal), ("facilitator_tax", tax)]
    )
    assert not [i for i in seller.review() if i.subject_amazon_id in (order_id, memo.key)]


def test_a_partial_a_to_z_claim_credits_only_what_it_gives_back(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.write_mapping()
    claim = _full_refund(seller)
    claim["transactionType"] = "GuaranteeClaim"
    claim["description"] = "A-to-z Guarantee Claim"
    order_id = _order_of(claim)
    before = Decimal(str(claim["totalAmount"]["currencyAmount"]))
    # Amazon grants the buyer 10.00 of the principal and its 0.89 of tax; fees untouched.
    for tree in (claim["items"][0]["breakdowns"], claim["breakdowns"]):
        _leaf(tree, "ProductCharges")["breakdownAmount"]["currencyAmount"] = Decimal("-10.00")
        _leaf(tree, "Tax")["breakdownAmount"]["currencyAmount"] = Decimal("-0.89")
        withheld = _leaf(tree, "MarketplaceFacilitatorTax-Principal")
        withheld["breakdownAmount"]["currencyAmount"] = Decimal("0.89")
        after = _resum(tree)
    claim["totalAmount"]["currencyAmount"] = after
    claim["items"][0]["totalAmount"]["currencyAmount"] = after
    group = next(g for g in seller.world.groups if g["FinancialEventGroupId"] == _group_of(claim))
    group["OriginalTotal"]["CurrencyAmount"] = (
        Decimal(str(group["OriginalTotal"]["CurrencyAmount"])) - before + after
    )

    seller.sync()

    (memo_doc,) = _memos(seller, order_id)
    assert memo_doc.state is DocumentState.POSTED
    memo = load_credit_memo(memo_doc.payload)
    assert memo.refund_transaction_id == claim["transactionId"]
    assert memo.reason.startswith("Amazon A-to-z guarantee claim ")
    assert sorted((ln.kind.value, ln.amount) for ln in memo.lines) == [
        ("facilitator_tax", Decimal("-0.89")),
        ("item", Decimal("-10.00")),
    ]
    assert memo.total == Decimal("-10.89")
    (invoice,) = [
        d for d in seller.documents(DocumentKind.INVOICE) if d.amazon_source_id == order_id
    ]
    # The invoice stays open by the rest: the claim is not taken for a full reversal.
    assert load_invoice(invoice.payload).total + memo.total > 0
    assert not [i for i in seller.review() if i.subject_amazon_id == order_id]
