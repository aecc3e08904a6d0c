"""Issue 10, Scope 2: each invariant of a settlement's reconciliation, held and violated.

The settlement is DESIGN.md §4's worked example (a shipment of two mugs and a partial refund of
one). Every figure expected here is worked out by hand in the comments, not by the product.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from ml_connector.domain.documents import CreditMemoDoc, InvoiceDoc, JournalDoc, LineKind
from ml_connector.domain.settlements import Settlement
from ml_connector.flow.accounting import (
    plan_invoice,
    plan_refund_credit_memo,
    plan_settlement_journal,
)
from ml_connector.flow.mapping import Catalog, ChargeMapping
from ml_connector.flow.normalize import normalize_order, normalize_settlement
from ml_connector.flow.reconcile import ReconcileStatus, reconcile_settlement, roles_from_mapping
from ml_connector.flow.reconcile.invariants import OrderBooks, ReviewRef
from ml_connector.flow.reconcile.settlement import SettlementReconciliation

ORDER = "111-0000001-0000001"
D = Decimal


@pytest.fixture
def example(
    shapes: Any, mapping: ChargeMapping, catalog: Catalog
) -> tuple[Settlement, InvoiceDoc, CreditMemoDoc, JournalDoc]:
    raw_order = shapes.order(
        ORDER,
        [shapes.item("MUG-01", 2, "25.00", shipping="4.99", promotion="-2.00", tax="2.24")],
    )
    shipment = shapes.transaction(
        "T-SHIP", "Shipment",
        [("Principal", "25.00"), ("Shipping", "4.99"), ("PrincipalPromotion", "-2.00"),
         ("Tax", "2.24"), ("MarketplaceFacilitatorTax-Principal", "-2.24"),
         ("Commission", "-3.75"), ("FBAPerUnitFulfillmentFee", "-3.22")],
        order_id=ORDER, sku="MUG-01", quantity=2,
    )  # fmt: skip
    refund = shapes.transaction(
        "T-REF", "Refund",
        [("Principal", "-12.50"), ("Tax", "-1.12"),
         ("MarketplaceFacilitatorTax-Principal", "1.12"), ("Commission", "1.50")],
        order_id=ORDER, refund_id="R-1", sku="MUG-01", quantity=1,
    )  # fmt: skip
    settlement = normalize_settlement(shapes.group("10.02"), [shipment, refund])
    invoice = plan_invoice(normalize_order(raw_order), catalog, mapping)
    assert isinstance(invoice, InvoiceDoc)
    refund_txn = next(t for t in settlement.transactions if t.transaction_type == "Refund")
    memo = plan_refund_credit_memo(refund_txn, invoice, mapping)
    assert isinstance(memo, CreditMemoDoc)
    journal = plan_settlement_journal(settlement, mapping)
    assert isinstance(journal, JournalDoc)
    return settlement, invoice, memo, journal


def _reconcile(
    mapping: ChargeMapping,
    settlement: Settlement,
    journal: JournalDoc,
    books: OrderBooks,
    *,
    report_total: Decimal | None = D("10.02"),
    report_missing: str | None = None,
) -> SettlementReconciliation:
    return reconcile_settlement(
        settlement,
        journal,
        roles=roles_from_mapping(mapping),
        posted=True,
        report_total=report_total,
        report_id="R1" if report_total is not None else None,
        report_missing=report_missing,
        books={ORDER: books},
    )


def _holds(result: SettlementReconciliation) -> dict[str, Any]:
    return {name: check["holds"] for name, check in result.invariants().items()}


def test_all_four_hold_is_matched(example: Any, mapping: ChargeMapping) -> None:
    settlement, invoice, memo, journal = example
    result = _reconcile(mapping, settlement, journal, OrderBooks(ORDER, (invoice,), (memo,)))
    assert result.status is ReconcileStatus.MATCHED, result.notes
    assert _holds(result) == dict.fromkeys(
        ("journal_total", "report_total", "proceeds", "clearing"), True
    )
    data = result.to_json()["invariants"]
    # Proceeds: invoice 25.00 + 4.99 − 2.00 + 2.24 = 30.23; memo −12.50 − 1.12 = −13.62;
    # settled 30.23 − 13.62 = 16.61 (the journal's credit to receivable clearing).
    assert data["proceeds"]["proceeds_settled"] == "16.61"
    assert (data["proceeds"]["invoices"], data["proceeds"]["credit_memos"]) == ("30.23", "-13.62")
    assert data["proceeds"]["orders"] == []
    # Tax clearing: invoice Cr 2.24, memo Dr 1.12, journal Dr 2.24 − 1.12 = 1.12: nets 0.
    tax = next(a for a in data["clearing"]["accounts"] if a["name"] == "tax_clearing")
    assert (tax["journal"], tax["documents"], tax["net"]) == ("1.12", "-1.12", "0.00")
    assert result.to_json()["held_orders"] == 0


def test_a_journal_not_tied_to_the_group_total_is_a_variance(
    example: Any, mapping: ChargeMapping
) -> None:
    settlement, invoice, memo, journal = example
    # The journal lost its FBA fee line (Dr 61100 3.22) and debits cash 3.22 more: 13.24.
    lines = [ln for ln in journal.lines if "61100" not in str(ln.account)]
    cash = mapping.named("cash_in_transit")
    lines = [
        dataclasses.replace(ln, entered_dr=D("13.24")) if ln.account == cash else ln for ln in lines
    ]
    wrong = dataclasses.replace(journal, lines=tuple(lines))
    result = _reconcile(mapping, settlement, wrong, OrderBooks(ORDER, (invoice,), (memo,)))
    assert result.status is ReconcileStatus.VARIANCE
    check = result.invariants()["journal_total"]
    assert check["holds"] is False
    assert check["journal"] == "13.24"
    assert any("differs from Amazon's total 10.02 by 3.22" in c for c in check["causes"])
    assert _holds(result)["proceeds"] is True


def test_b_report_total_differs_is_a_variance(example: Any, mapping: ChargeMapping) -> None:
    settlement, invoice, memo, journal = example
    books = OrderBooks(ORDER, (invoice,), (memo,))
    result = _reconcile(mapping, settlement, journal, books, report_total=D("9.02"))
    assert result.status is ReconcileStatus.VARIANCE
    check = result.invariants()["report_total"]
    assert check["holds"] is False
    assert check["cause"] == "settlement report total 9.02 differs from the group total 10.02"


def test_b_report_not_found_is_never_matched(example: Any, mapping: ChargeMapping) -> None:
    settlement, invoice, memo, journal = example
    books = OrderBooks(ORDER, (invoice,), (memo,))
    result = _reconcile(
        mapping, settlement, journal, books, report_total=None, report_missing="no report fits"
    )
    assert result.status is ReconcileStatus.REPORT_MISSING
    check = result.invariants()["report_total"]
    assert check["holds"] is False
    assert check["cause"] == "settlement report not found: no report fits"


def test_c_order_not_invoiced_is_a_variance(example: Any, mapping: ChargeMapping) -> None:
    settlement, _, _, journal = example
    result = _reconcile(mapping, settlement, journal, OrderBooks(ORDER))
    assert result.status is ReconcileStatus.VARIANCE
    proceeds = result.invariants()["proceeds"]
    assert proceeds["holds"] is False
    causes = {(o["cause"], o["amazon"], o["books"]) for o in proceeds["orders"]}
    # Shipment settles 30.23 of order money, nothing invoiced; the refund gives back 13.62 and
    # nothing credits it.
    assert causes == {("not invoiced", "30.23", "0"), ("under-credited", "-13.62", "0")}
    assert any("orders differ from what Amazon settled" in n for n in result.notes)


def test_c_order_held_for_review_is_incomplete_with_its_items(
    example: Any, mapping: ChargeMapping
) -> None:
    settlement, _, _, journal = example
    item = ReviewRef(41, "unmapped_sku", "SKU(s) not in the catalog mapping: MUG-01")
    result = _reconcile(mapping, settlement, journal, OrderBooks(ORDER, review=(item,)))
    assert result.status is ReconcileStatus.INCOMPLETE
    data = result.to_json()
    assert data["held_orders"] == 1
    assert data["review_items"] == [41]
    orders = data["invariants"]["proceeds"]["orders"]
    assert {o["cause"] for o in orders} == {"held for review"}
    assert all(o["review_items"][0]["id"] == 41 for o in orders)
    # Tax clearing does not net (the journal withheld 1.12, no invoice credits it) but the held
    # order explains all of it: still `incomplete`, not `variance`.
    tax = next(a for a in data["invariants"]["clearing"]["accounts"] if a["name"] == "tax_clearing")
    assert tax["net"] == tax["explained_by_held_orders"] == "1.12"
    assert any("1 order of this settlement held for review" in n for n in result.notes)


def test_c_refund_without_credit_memo_is_under_credited(
    example: Any, mapping: ChargeMapping
) -> None:
    settlement, invoice, _, journal = example
    result = _reconcile(mapping, settlement, journal, OrderBooks(ORDER, (invoice,)))
    assert result.status is ReconcileStatus.VARIANCE
    (order,) = result.invariants()["proceeds"]["orders"]
    assert (order["cause"], order["amazon"], order["books"]) == ("under-credited", "-13.62", "0")
    assert order["transactions"] == ["T-REF"]


def test_c_credit_memo_larger_than_the_refund_is_over_credited(
    example: Any, mapping: ChargeMapping
) -> None:
    settlement, invoice, memo, journal = example
    lines = tuple(dataclasses.replace(ln, amount=ln.amount * 2) for ln in memo.lines)
    bigger = dataclasses.replace(memo, lines=lines)  # −27.24 for a refund of −13.62
    result = _reconcile(mapping, settlement, journal, OrderBooks(ORDER, (invoice,), (bigger,)))
    assert result.status is ReconcileStatus.VARIANCE
    (order,) = result.invariants()["proceeds"]["orders"]
    assert (order["cause"], order["amazon"], order["books"]) == (
        "over-credited",
        "-13.62",
        "-27.24",
    )


def test_c_invoice_for_another_amount(example: Any, mapping: ChargeMapping) -> None:
    settlement, invoice, memo, journal = example
    first = invoice.lines[0]
    short = dataclasses.replace(
        invoice, lines=(dataclasses.replace(first, amount=D("20.00")), *invoice.lines[1:])
    )  # 25.23 invoiced, Amazon settled 30.23
    result = _reconcile(mapping, settlement, journal, OrderBooks(ORDER, (short,), (memo,)))
    assert result.status is ReconcileStatus.VARIANCE
    (order,) = result.invariants()["proceeds"]["orders"]
    assert (order["cause"], order["amazon"], order["books"]) == (
        "invoiced for another amount",
        "30.23",
        "25.23",
    )


def test_c_document_not_yet_in_oracle_is_incomplete(example: Any, mapping: ChargeMapping) -> None:
    settlement, invoice, _, journal = example
    books = OrderBooks(ORDER, (invoice,), pending=(f"cm:{ORDER}:T-REF",))
    result = _reconcile(mapping, settlement, journal, books)
    assert result.status is ReconcileStatus.INCOMPLETE
    (order,) = result.invariants()["proceeds"]["orders"]
    assert order["cause"] == "not yet posted"


def test_d_tax_clearing_not_netting_is_a_variance(example: Any, mapping: ChargeMapping) -> None:
    settlement, invoice, memo, journal = example
    # Same invoice total, but the marketplace tax went to sales tax payable, not tax clearing:
    # (c) still holds, tax clearing keeps the journal's 2.24 Dr less the memo's 1.12 Dr.
    payable = mapping.named("sales_tax_payable")
    lines = tuple(
        dataclasses.replace(ln, account=payable, kind=LineKind.TAX)
        if ln.kind is LineKind.FACILITATOR_TAX
        else ln
        for ln in invoice.lines
    )
    moved = dataclasses.replace(invoice, lines=lines)
    result = _reconcile(mapping, settlement, journal, OrderBooks(ORDER, (moved,), (memo,)))
    assert result.status is ReconcileStatus.VARIANCE
    holds = _holds(result)
    assert (holds["proceeds"], holds["clearing"]) == (True, False)
    tax = next(
        a for a in result.invariants()["clearing"]["accounts"] if a["name"] == "tax_clearing"
    )
    # Journal Dr 1.12 (2.24 withheld − 1.12 given back); documents: the memo's Dr 1.12.
    assert (tax["journal"], tax["documents"], tax["net"]) == ("1.12", "1.12", "2.24")
    assert any("clearing account tax_clearing (21500) nets 2.24" in n for n in result.notes)


def test_split_sale_across_settlements_takes_the_part_not_settled_elsewhere(
    example: Any, mapping: ChargeMapping
) -> None:
    settlement, invoice, memo, journal = example
    # Another settlement already settled 5.00 of this order's proceeds (and withheld 0.50 of
    # its tax): this one should carry 30.23 − 5.00 = 25.23, so its 30.23 is 5.00 too much.
    result = reconcile_settlement(
        settlement,
        journal,
        roles=roles_from_mapping(mapping),
        posted=True,
        report_total=D("10.02"),
        books={ORDER: OrderBooks(ORDER, (invoice,), (memo,))},
        elsewhere={ORDER: {"proceeds": D("5.00"), "21500": D("-0.50")}},
    )
    assert result.status is ReconcileStatus.VARIANCE
    (order,) = result.invariants()["proceeds"]["orders"]
    assert (order["amazon"], order["books"]) == ("30.23", "25.23")
    assert "5.00 of it settled in other settlements" in order["detail"]
