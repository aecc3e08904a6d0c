"""DESIGN.md §4 worked example, figure by figure, through normalize → accounting → checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ml_connector.domain.checks import (
    check_clearing_nets_to_zero,
    check_proceeds_match,
    clearing_net,
)
from ml_connector.domain.documents import CreditMemoDoc, InvoiceDoc, JournalDoc, LineKind
from ml_connector.flow.accounting import (
    plan_invoice,
    plan_refund_credit_memo,
    plan_settlement_journal,
)
from ml_connector.flow.mapping import Catalog, ChargeMapping
from ml_connector.flow.normalize import normalize_order, normalize_settlement

ORDER = "111-0000001-0000001"
D = Decimal


@pytest.fixture
def documents(
    shapes: type, mapping: ChargeMapping, catalog: Catalog
) -> tuple[InvoiceDoc, CreditMemoDoc, JournalDoc]:
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
    return invoice, memo, journal


def _lines(doc: InvoiceDoc | CreditMemoDoc) -> list[tuple[str, Decimal, str]]:
    return [(line.kind.value, line.amount, str(line.account)) for line in doc.lines]


def test_invoice_lines_and_total(documents: tuple[InvoiceDoc, CreditMemoDoc, JournalDoc]) -> None:
    invoice, _, _ = documents
    assert _lines(invoice) == [
        ("item", D("25.00"), "101.10.40100"),
        ("shipping", D("4.99"), "101.10.40200"),
        ("promotion", D("-2.00"), "101.10.40900"),
        ("facilitator_tax", D("2.24"), "101.00.21500"),
    ]
    assert invoice.total == D("30.23")
    assert str(invoice.receivable_account) == "101.00.12100"
    assert invoice.transaction_number == ORDER
    assert invoice.key == f"inv:{ORDER}"
    item = invoice.lines[0]
    assert (item.quantity, item.unit_price, item.sku) == (2, D("12.50"), "MUG-01")


def test_partial_refund_credit_memo(
    documents: tuple[InvoiceDoc, CreditMemoDoc, JournalDoc],
) -> None:
    invoice, memo, _ = documents
    assert _lines(memo) == [
        ("item", D("-12.50"), "101.10.40100"),
        ("facilitator_tax", D("-1.12"), "101.00.21500"),
    ]
    assert memo.total == D("-13.62")
    assert memo.lines[0].quantity == -1
    assert memo.invoice_key == invoice.key
    assert memo.key == f"cm:{ORDER}:T-REF"
    assert memo.transaction_number == "CM-R-1"


def test_settlement_journal_lines(documents: tuple[InvoiceDoc, CreditMemoDoc, JournalDoc]) -> None:
    _, _, journal = documents
    got = sorted((str(ln.account), ln.entered_dr, ln.entered_cr) for ln in journal.lines)
    assert got == sorted(
        [
            ("101.00.10500", D("10.02"), D("0")),  # cash in transit (net payout)
            ("101.10.61000", D("3.75"), D("0")),  # commission expense
            ("101.10.61100", D("3.22"), D("0")),  # FBA fulfilment expense
            ("101.10.61000", D("0"), D("1.50")),  # commission refunded
            ("101.00.21500", D("1.12"), D("0")),  # tax clearing, net of refund
            ("101.00.12500", D("0"), D("16.61")),  # proceeds settled (receivable clearing)
        ]
    )
    assert journal.total_dr == journal.total_cr == D("18.11")
    assert journal.key == "jnl:G1"
    assert {line.reference for line in journal.lines} == {"G1"}


def test_cross_document_checks(
    documents: tuple[InvoiceDoc, CreditMemoDoc, JournalDoc], mapping: ChargeMapping
) -> None:
    invoice, memo, journal = documents
    tax_clearing = mapping.named("tax_clearing")
    check_clearing_nets_to_zero(
        tax_clearing, invoices=[invoice], credit_memos=[memo], journals=[journal]
    )
    clearing = mapping.named("receivable_clearing")
    check_proceeds_match(journal, clearing, [invoice], [memo])
    assert -journal.net(clearing) == invoice.total + memo.total == D("16.61")
    assert journal.net(mapping.named("cash_in_transit")) == D("10.02")
    # the tax clearing account would not net to zero without the journal's offset
    assert clearing_net(tax_clearing, invoices=[invoice], credit_memos=[memo]) == D("-1.12")


def test_lines_refer_to_kinds_in_order(
    documents: tuple[InvoiceDoc, CreditMemoDoc, JournalDoc],
) -> None:
    invoice, _, _ = documents
    assert [line.line_number for line in invoice.lines] == [1, 2, 3, 4]
    assert invoice.lines[0].kind is LineKind.ITEM
