"""Planning as a finance user sees it: nothing goes to Oracle that is not right, and whatever is
held says why, once, until it is fixed."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ml_connector.flow.normalize.settlements import normalize_transaction
from ml_connector.pipeline import planner_for, poster_for
from ml_connector.store import (
    DocumentKind,
    DocumentState,
    RawKind,
    ReviewKind,
    UpsertOutcome,
    get_raw_record,
    list_raw_records,
    upsert_raw_record,
)

Seller = Any
Factory = Callable[..., Seller]


def skus(order: dict[str, Any]) -> set[str]:
    return {str(item["product"]["sellerSku"]) for item in order.get("orderItems", [])}


def bump(money: dict[str, Any], by: Decimal) -> None:
    money["amount"] = str(Decimal(str(money["amount"])) + by)


def change_order_at_amazon(seller: Seller, order_id: str) -> None:
    """Amazon reports the order again with one more dollar on its first item."""
    with seller.rt.sessions() as session, session.begin():
        raw = get_raw_record(session, seller.connection_id, RawKind.ORDER, order_id)
        assert raw is not None
        payload = copy.deepcopy(dict(raw.payload))
        item = payload["orderItems"][0]
        for part in item["proceeds"]["breakdowns"]:
            if part["type"] == "ITEM":
                bump(part["subtotal"], Decimal("1.00"))
        bump(item["proceeds"]["proceedsTotal"], Decimal("1.00"))
        bump(payload["proceeds"]["grandTotal"], Decimal("1.00"))
        payload["lastUpdatedTime"] = "2026-12-01T00:00:00Z"
        outcome = upsert_raw_record(session, seller.connection_id, RawKind.ORDER, order_id, payload)
        assert outcome is UpsertOutcome.CHANGED


def test_order_changed_after_posting_is_never_replanned(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.sync()
    posted = next(
        d for d in seller.documents(DocumentKind.INVOICE) if d.state is DocumentState.POSTED
    )
    order_id = posted.amazon_source_id
    before_in_oracle = seller.oracle_numbers()
    change_order_at_amazon(seller, order_id)

    with seller.connect() as ctx:
        summary = planner_for(seller.rt, ctx).plan_all()
        again = planner_for(seller.rt, ctx).plan_all()
        post = poster_for(seller.rt, ctx).post_all()
    assert summary.changed_after_posting == 1
    assert summary.planned == {}
    assert again.planned == {}
    assert sum(post.posted.values()) == 0
    (doc,) = [d for d in seller.documents(DocumentKind.INVOICE) if d.id == posted.id]
    assert doc.state is DocumentState.POSTED
    assert doc.payload == posted.payload
    assert doc.oracle_id == posted.oracle_id
    items = seller.review(ReviewKind.CHANGED_AFTER_POSTING)
    assert [i.subject_amazon_id for i in items] == [order_id]
    assert "not changed" in items[0].reason
    assert seller.oracle_numbers() == before_in_oracle


def test_unmapped_sku_holds_each_order_once_and_plans_nothing(sim_seller: Factory) -> None:
    seller = sim_seller(orders=60)
    (sku,) = seller.left_out
    summary = seller.extract_and_plan()
    with seller.rt.sessions() as session:
        orders = {
            row.amazon_id: dict(row.payload)
            for row in list_raw_records(session, seller.connection_id, RawKind.ORDER)
        }
    with_sku = {oid for oid, payload in orders.items() if sku in skus(payload)}
    assert with_sku, "the generated seller sold the left-out SKU"
    items = seller.review(ReviewKind.UNMAPPED_SKU)
    subjects = [i.subject_amazon_id for i in items]
    assert len(subjects) == len(set(subjects)), "one review item per order"
    assert subjects
    assert set(subjects) <= with_sku
    assert all(sku in i.reason for i in items)
    assert summary.held.get("unmapped_sku") == len(subjects)
    documents = seller.documents()
    assert not {d.amazon_source_id for d in documents} & set(subjects)
    assert not {d.amazon_source_id for d in documents if d.kind is DocumentKind.INVOICE} & with_sku

    with seller.connect() as ctx:
        planner_for(seller.rt, ctx).plan_all()
    assert [i.subject_amazon_id for i in seller.review(ReviewKind.UNMAPPED_SKU)] == subjects


def test_refund_waits_for_a_held_invoice_and_is_planned_with_it(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    refunds = [
        normalize_transaction(t)
        for t in seller.world.transactions
        if t.get("transactionType") == "Refund"
    ]
    by_id = {str(o["orderId"]): o for o in seller.world.orders}
    refunded = next(r.order_id for r in refunds if r.order_id in by_id)
    held_skus = skus(by_id[refunded])
    seller.write_mapping(leave_out=held_skus)

    summary = seller.extract_and_plan()
    assert refunded in {i.subject_amazon_id for i in seller.review(ReviewKind.UNMAPPED_SKU)}
    assert not [d for d in seller.documents() if d.amazon_source_id == refunded]
    assert summary.held.get("not_invoiced", 0) >= 1
    with seller.connect() as ctx:
        posted = poster_for(seller.rt, ctx).post_all()
    assert posted.rejected == 0
    assert not [d for d in seller.documents() if d.amazon_source_id == refunded]

    seller.write_mapping()  # the finance user maps the SKU(s)
    with seller.connect() as ctx:
        fixed = planner_for(seller.rt, ctx).plan_all()
        post = poster_for(seller.rt, ctx).post_all()
    assert fixed.planned.get("invoice", 0) >= 1
    assert fixed.planned.get("credit_memo", 0) >= 1
    docs = {d.kind: d for d in seller.documents() if d.amazon_source_id == refunded}
    assert set(docs) == {DocumentKind.INVOICE, DocumentKind.CREDIT_MEMO}
    assert (
        docs[DocumentKind.CREDIT_MEMO].payload["invoice_key"]
        == docs[DocumentKind.INVOICE].idempotency_key
    )
    assert all(d.state is DocumentState.POSTED for d in docs.values())
    assert post.rejected == 0
    assert refunded not in {i.subject_amazon_id for i in seller.review(ReviewKind.UNMAPPED_SKU)}


def test_a_later_refund_does_not_close_the_changed_after_posting_item(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40)
    seller.extract_and_plan(plan=False)
    with seller.rt.sessions() as session, session.begin():
        refund_row = next(
            row
            for row in list_raw_records(session, seller.connection_id, RawKind.TRANSACTION)
            if row.payload.get("transactionType") == "Refund"
        )
        refund = (refund_row.amazon_id, dict(refund_row.payload))
        order_id = normalize_transaction(refund[1]).order_id
        session.delete(refund_row)  # the refund has not happened yet
    with seller.connect() as ctx:
        planner_for(seller.rt, ctx).plan_all()
        poster_for(seller.rt, ctx).post_all()
    assert order_id is not None
    change_order_at_amazon(seller, order_id)
    with seller.connect() as ctx:
        planner_for(seller.rt, ctx).plan_all()
    assert [i.subject_amazon_id for i in seller.review(ReviewKind.CHANGED_AFTER_POSTING)] == [
        order_id
    ]
    with seller.rt.sessions() as session, session.begin():  # the refund arrives
        upsert_raw_record(session, seller.connection_id, RawKind.TRANSACTION, *refund)
    with seller.connect() as ctx:
        summary = planner_for(seller.rt, ctx).plan_all()
    assert summary.planned.get("credit_memo") == 1
    still_open = [i.subject_amazon_id for i in seller.review(ReviewKind.CHANGED_AFTER_POSTING)]
    assert still_open == [order_id], "nobody looked at the change yet"
