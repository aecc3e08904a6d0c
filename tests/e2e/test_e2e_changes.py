"""What happens when the world moves: Amazon changes a posted order, Oracle says no, and both
sides throw 503/429 storms. Posted documents never change; nothing is doubled or lost.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from e2e_support import (
    amazon_options,
    closed_groups,
    duplicates,
    grand_total,
    money,
    refunds,
    related,
    running_books,
    shipped_orders,
    small_world,
)

from ml_connector.store import DocumentKind, DocumentState, ReviewKind, ReviewStatus
from ml_connector_sim.amazon import FaultOptions
from ml_connector_sim.oracle import default_setup, parse_fault
from ml_connector_sim.oracle.tenant import parse_setup

CUSTOMER_NOT_FOUND = "The criteria you entered didn't return a bill-to customer."


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_order_changed_after_posting_is_held_for_review_not_rewritten(
    tmp_path: Path, database_url: str
) -> None:
    world = small_world(60)
    url = database_url
    with running_books(tmp_path, world, url, leave_out=0) as books:
        books.sync()
        order = next(
            o
            for o in shipped_orders(world)
            if len(o["orderItems"]) == 1
            and o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER"
            and not any(related(r, "ORDER_ID") == o["orderId"] for r in refunds(world))
        )
        order_id = order["orderId"]
        invoice = next(i for i in books.oracle.state.invoices if i.number == order_id)
        before = (invoice.amount, repr(invoice.lines), repr(invoice.distributions), invoice.version)
        counts = books.oracle_counts()

        # Amazon now says the customer bought one more unit, updated three minutes ago.
        item = order["orderItems"][0]
        unit = money(item["product"]["price"]["unitPrice"]["amount"])
        item["quantityOrdered"] += 1
        item["fulfillment"]["quantityFulfilled"] += 1
        for part in (*item["proceeds"]["breakdowns"], *order["proceeds"]["breakdowns"]):
            if part["type"] == "ITEM":
                part["subtotal"]["amount"] = str(money(part["subtotal"]["amount"]) + unit)
        for total in (item["proceeds"]["proceedsTotal"], order["proceeds"]["grandTotal"]):
            total["amount"] = str(money(total["amount"]) + unit)
        changed_at = datetime.now(UTC) - timedelta(minutes=3)
        order["lastUpdatedTime"] = _iso(changed_at)
        books.amazon.context.orders_by_id[order_id].updated = changed_at.replace(microsecond=0)

        report = books.sync()

        assert report.orders.changed.get("order") == 1  # the change reached the connector
        assert report.plan.changed_after_posting == 1
        assert books.oracle_counts() == counts
        invoice = next(i for i in books.oracle.state.invoices if i.number == order_id)
        after = (invoice.amount, repr(invoice.lines), repr(invoice.distributions), invoice.version)
        assert after == before
        assert invoice.amount == grand_total(order) - unit
        items = [i for i in books.review_items() if i.kind is ReviewKind.CHANGED_AFTER_POSTING]
        assert [(i.subject_amazon_id, i.status) for i in items] == [(order_id, ReviewStatus.OPEN)]
        assert order_id in items[0].reason

        # Polling again neither posts nor piles up review items.
        books.sync()
        assert books.oracle_counts() == counts
        assert len([i for i in books.review_items() if i.kind is items[0].kind]) == 1


def test_oracle_rejection_is_recorded_with_oracles_message(
    tmp_path: Path, database_url: str
) -> None:
    """The pod has no customer account for amazon.ca: Oracle refuses those invoices."""
    data = default_setup().model_dump(mode="json", by_alias=True)
    customers = data["receivables"]["customers"]
    data["receivables"]["customers"] = [c for c in customers if c["account_number"] != "AMZ-CA"]
    setup = parse_setup(data, source="test tenant without AMZ-CA")
    world = small_world(60)
    canadian = {
        o["orderId"]
        for o in shipped_orders(world)
        if o["salesChannel"]["marketplaceId"] == "A2EUQ1WTGCTBG2"
    }
    assert canadian
    url = database_url
    with running_books(tmp_path, world, url, leave_out=0, setup=setup) as books:
        report = books.sync()

        assert report.post.rejected == len(canadian)
        numbers = {i.number for i in books.oracle.state.invoices}
        assert numbers == {o["orderId"] for o in shipped_orders(world)} - canadian
        rejected = {
            d.amazon_source_id: d
            for d in books.documents()
            if d.kind is DocumentKind.INVOICE and d.state is DocumentState.REJECTED
        }
        assert set(rejected) == canadian
        assert all(CUSTOMER_NOT_FOUND in (d.last_error or "") for d in rejected.values())
        review = {
            i.subject_amazon_id: i
            for i in books.review_items()
            if i.kind is ReviewKind.ORACLE_REJECTED and i.status is ReviewStatus.OPEN
        }
        assert set(review) == canadian
        assert all(CUSTOMER_NOT_FOUND in i.reason for i in review.values())

        # A rejected document is not re-sent blindly on the next poll.
        counts = books.oracle_counts()
        again = books.sync()
        assert again.post.rejected == 0
        assert books.oracle_counts() == counts


def test_storms_from_both_sides_end_with_complete_books_and_no_duplicates(
    tmp_path: Path,
) -> None:
    world = small_world(60)
    storm = FaultOptions(throttle_rate=0.1, error_rate=0.1, seed=11)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with running_books(
        tmp_path, world, url, leave_out=0, amazon_options=amazon_options(faults=storm)
    ) as books:
        for spec in (
            "503@receivablesInvoicesx6",
            "429=0.05@receivablesInvoicesx6",
            "drop-after-commit@receivablesInvoicesx2",
            "503@erpintegrationsx3",
            "429=0.05@erpintegrationsx3",
            "503@journalBatchesx2",
        ):
            books.oracle.add_fault(parse_fault(spec))

        first = books.sync()  # finishes: no exception escapes
        assert sum(first.post.posted.values()) > 0
        assert books.oracle.faults.armed() == []  # every injected fault fired

        books.oracle.faults.clear()
        for _ in range(6):
            books.sync()  # Amazon keeps throttling and failing at random
            if not books.unsettled():
                break
        assert books.unsettled() == []

        state = books.oracle.state
        assert duplicates([i.number for i in state.invoices]) == []
        assert duplicates([m.number for m in state.credit_memos]) == []
        assert duplicates([b.name for b in state.journal_batches]) == []
        shipped = {o["orderId"] for o in shipped_orders(world)}
        assert {i.number for i in state.invoices} == shipped
        refunded = [r for r in refunds(world) if related(r, "ORDER_ID") in shipped]
        assert len(state.credit_memos) == len(refunded)
        assert len(state.journal_batches) == len(closed_groups(world))
        assert all(d.state is DocumentState.POSTED for d in books.documents())
        last = books.sync()
        assert all(Decimal(str(r["variance"])) == 0 for r in last.reconciliation)
