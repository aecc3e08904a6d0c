"""Orders a settlement pays that the order listing did not bring are read by id (simulators)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ml_connector.flow.extract.settled_orders import (
    RETRY_AFTER,
    pull_settled_orders,
    settled_orders_missing,
)
from ml_connector.remote.amazon.models.base import read_record
from ml_connector.remote.amazon.models.orders import Order
from ml_connector.remote.amazon.orders import OrdersApi
from ml_connector.store import (
    RawKind,
    ReviewKind,
    delete_raw_records,
    list_raw_records,
    list_review_items,
    upsert_raw_record,
)

Factory = Callable[..., Any]


def test_a_settled_order_missing_from_the_store_is_read_by_id(sim_seller: Factory) -> None:
    seller = sim_seller(orders=30)
    seller.extract_and_plan(plan=False)
    with seller.rt.sessions() as session:
        missing = settled_orders_missing(session, seller.connection_id)
    assert missing == {}
    with seller.rt.sessions() as session, session.begin():
        settled = sorted(
            {
                ident["relatedIdentifierValue"]
                for row in list_raw_records(session, seller.connection_id, RawKind.TRANSACTION)
                for ident in row.payload.get("relatedIdentifiers") or ()
                if ident.get("relatedIdentifierName") == "ORDER_ID"
            }
        )
        gone = settled[:3]
        delete_raw_records(session, seller.connection_id, RawKind.ORDER, gone)
    with seller.connect() as ctx:
        summary = pull_settled_orders(seller.rt.sessions, ctx.id, ctx.amazon, now=seller.rt.clock())
    assert summary.new == {"order": 3}
    with seller.rt.sessions() as session:
        stored = {
            r.amazon_id for r in list_raw_records(session, seller.connection_id, RawKind.ORDER)
        }
        assert set(gone) <= stored
        assert settled_orders_missing(session, seller.connection_id) == {}


def test_an_order_amazon_does_not_return_is_in_review_and_not_asked_again(
    sim_seller: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = sim_seller(orders=5)
    ghost = "999-0000000-0000000"
    refund = {
        "transactionId": "T-GHOST",
        "transactionType": "Refund",
        "postedDate": "2026-11-01T00:00:00Z",
        "totalAmount": {"currencyAmount": -5, "currencyCode": "USD"},
        "marketplaceDetails": {"marketplaceId": "ATVPDKIKX0DER"},
        "relatedIdentifiers": [
            {"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": ghost}
        ],
    }
    with seller.rt.sessions() as session, session.begin():
        upsert_raw_record(session, seller.connection_id, RawKind.TRANSACTION, "T-GHOST", refund)
    now = seller.rt.clock()
    asked: list[str] = []
    get_order = OrdersApi.get_order

    def counted(api: OrdersApi, order_id: str, **kwargs: Any) -> Any:
        asked.append(order_id)
        return get_order(api, order_id, **kwargs)

    monkeypatch.setattr(OrdersApi, "get_order", counted)
    with seller.connect() as ctx:
        first = pull_settled_orders(seller.rt.sessions, ctx.id, ctx.amazon, now=now)
        again = pull_settled_orders(seller.rt.sessions, ctx.id, ctx.amazon, now=now)
        later = pull_settled_orders(seller.rt.sessions, ctx.id, ctx.amazon, now=now + RETRY_AFTER)
    assert (first.new, again.new, later.new) == ({}, {}, {})
    assert asked == [ghost, ghost], "asked once, then again only after RETRY_AFTER"
    with seller.rt.sessions() as session:
        items = [
            i
            for i in list_review_items(session, connection_id=seller.connection_id)
            if i.subject_amazon_id == ghost
        ]
    assert [i.kind for i in items] == [ReviewKind.INVALID_DATA]
    assert "T-GHOST" in items[0].reason
    assert "does not return the order" in items[0].reason


def test_an_order_returned_without_its_id_is_stored_under_the_asked_id_and_held(
    sim_seller: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What getOrder returns is read like a listed record: an order the typed view cannot take
    (no orderId) is kept under the id we asked for and waits in review; the cycle goes on."""
    seller = sim_seller(orders=20)
    seller.extract_and_plan(plan=False)
    with seller.rt.sessions() as session, session.begin():
        rows = list_raw_records(session, seller.connection_id, RawKind.TRANSACTION)
        settled = sorted(
            ident["relatedIdentifierValue"]
            for row in rows
            for ident in row.payload.get("relatedIdentifiers") or ()
            if ident.get("relatedIdentifierName") == "ORDER_ID"
        )
        victim = settled[0]
        delete_raw_records(session, seller.connection_id, RawKind.ORDER, [victim])
    get_order = OrdersApi.get_order

    def without_id(api: OrdersApi, order_id: str, **kwargs: Any) -> Any:
        record = get_order(api, order_id, **kwargs)
        raw = {k: v for k, v in record.raw.items() if k != "orderId"}
        return read_record(Order, raw)

    monkeypatch.setattr(OrdersApi, "get_order", without_id)
    with seller.connect() as ctx:
        summary = pull_settled_orders(seller.rt.sessions, ctx.id, ctx.amazon, now=seller.rt.clock())
    assert summary.new == {"order": 1}
    seller.extract_and_plan()
    with seller.rt.sessions() as session:
        items = [
            i
            for i in list_review_items(session, connection_id=seller.connection_id)
            if i.subject_amazon_id == victim
        ]
    assert [(i.kind, i.details.get("field")) for i in items] == [
        (ReviewKind.INVALID_DATA, "orderId")
    ]


def test_get_order_reads_an_order_the_model_cannot_take_without_raising() -> None:
    class Requestor:
        def call(self, *args: Any, **kwargs: Any) -> Any:
            return {"order": {"createdTime": "2026-11-01T00:00:00Z"}}

    record = OrdersApi(Requestor()).get_order("111-0000000-0000000")  # type: ignore[arg-type]
    assert record.raw == {"createdTime": "2026-11-01T00:00:00Z"}
    assert record.problem is not None
    assert record.problem.startswith("orderId")


def test_identifiers_of_any_shape_are_read_without_failing(sim_seller: Factory) -> None:
    seller = sim_seller(orders=5)
    shapes: list[Any] = [
        None,
        [None],
        [{"relatedIdentifierName": "ORDER_ID"}],
        [{"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": 7}],
        [{"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": "  "}],
        "ORDER_ID",
    ]
    with seller.rt.sessions() as session, session.begin():
        for n, identifiers in enumerate(shapes):
            payload = {"transactionId": f"T-{n}", "relatedIdentifiers": identifiers}
            upsert_raw_record(session, seller.connection_id, RawKind.TRANSACTION, f"T-{n}", payload)
    with seller.rt.sessions() as session:
        assert settled_orders_missing(session, seller.connection_id) == {}
