"""Accounting holds instead of guessing, and credit memos reverse what was invoiced."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ml_connector.domain.documents import CreditMemoDoc, Held, HoldCode, InvoiceDoc, JournalDoc
from ml_connector.flow.accounting import (
    AccountingPolicy,
    plan_cancellation_credit_memo,
    plan_invoice,
    plan_refund_credit_memo,
    plan_settlement_journal,
)
from ml_connector.flow.mapping import Catalog, ChargeMapping
from ml_connector.flow.normalize import normalize_order, normalize_settlement, normalize_transaction

D = Decimal
DE = "A1PA6795UKMFR9"


def _invoice(shapes: type, catalog: Catalog, mapping: ChargeMapping, **kw: object) -> InvoiceDoc:
    items = [
        shapes.item("MUG-01", 2, "25.00", tax="2.00", item_id="1"),
        shapes.item("CABLE-USB-C", 1, "9.99", shipping="3.00", tax="1.04", item_id="2"),
    ]
    invoice = plan_invoice(normalize_order(shapes.order("O-1", items, **kw)), catalog, mapping)
    assert isinstance(invoice, InvoiceDoc)
    return invoice


def test_unmapped_skus_hold_the_order(
    shapes: type, catalog: Catalog, mapping: ChargeMapping
) -> None:
    order = shapes.order(
        "O-2", [shapes.item("NEW-1", 1, "5.00"), shapes.item("MUG-01", 1, "5.00", item_id="2")]
    )
    held = plan_invoice(normalize_order(order), catalog, mapping)
    assert held == Held("inv:O-2", HoldCode.UNMAPPED_SKU,
                        "SKU(s) not in the catalog mapping: NEW-1", ("NEW-1",))  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"status": "UNSHIPPED"}, HoldCode.NOT_SHIPPED),
        ({"marketplace": "A2Q3Y263D00KWC"}, HoldCode.MISSING_CUSTOMER),
    ],
)
def test_other_invoice_holds(
    shapes: type, catalog: Catalog, mapping: ChargeMapping, kwargs: dict[str, str], code: HoldCode
) -> None:
    order = normalize_order(shapes.order("O-3", [shapes.item("MUG-01", 1, "5.00")], **kwargs))
    held = plan_invoice(order, catalog, mapping)
    assert isinstance(held, Held)
    assert held.code is code


def test_seller_tax_and_marketplace_cost_center(
    shapes: type, catalog: Catalog, mapping: ChargeMapping
) -> None:
    item = shapes.item("KETTLE-01", 1, "30.00", tax="5.70", facilitator=False, currency="EUR")
    order = shapes.order("O-4", [item], marketplace=DE, currency="EUR")
    invoice = plan_invoice(normalize_order(order), catalog, mapping)
    assert isinstance(invoice, InvoiceDoc)
    assert [(ln.kind.value, str(ln.account)) for ln in invoice.lines] == [
        ("item", "101.20.40120"),  # blank catalog cost center → the EU region's
        ("tax", "101.00.21600"),
    ]
    assert invoice.currency == "EUR"
    assert invoice.total == D("35.70")


def test_full_refund_over_two_items_reverses_each_sku(
    shapes: type, catalog: Catalog, mapping: ChargeMapping
) -> None:
    invoice = _invoice(shapes, catalog, mapping)
    refund = normalize_transaction(
        {
            **shapes.transaction("T-R", "Refund", [], order_id="O-1", refund_id="R-9"),
            "breakdowns": [],
            "totalAmount": shapes.amount("-38.03"),
            "items": [
                shapes.transaction("x", "Refund", [("Principal", "-25.00"), ("Tax", "-2.00"),
                    ("Commission", "3.75")], sku="MUG-01", quantity=2)["items"][0],
                shapes.transaction("x", "Refund", [("Principal", "-9.99"), ("Shipping", "-3.00"),
                    ("Tax", "-1.04"), ("RefundCommission", "-0.75")], sku="CABLE-USB-C",
                    quantity=1)["items"][0],
            ],
        }
    )  # fmt: skip
    memo = plan_refund_credit_memo(refund, invoice, mapping)
    assert isinstance(memo, CreditMemoDoc)
    assert memo.total == -invoice.total
    assert {(ln.sku, ln.kind.value, ln.amount, ln.quantity) for ln in memo.lines} == {
        ("MUG-01", "item", D("-25.00"), -2),
        ("MUG-01", "facilitator_tax", D("-2.00"), None),
        ("CABLE-USB-C", "item", D("-9.99"), -1),
        ("CABLE-USB-C", "shipping", D("-3.00"), None),
        ("CABLE-USB-C", "facilitator_tax", D("-1.04"), None),
    }
    # everything is credited now: another refund or a cancellation cannot credit more
    again = plan_refund_credit_memo(refund, invoice, mapping, prior=[memo])
    assert isinstance(again, Held)
    assert again.code is HoldCode.OVER_CREDIT
    assert (
        plan_cancellation_credit_memo(invoice, cancelled_on=date(2026, 3, 9), prior=[memo]) is None
    )


def test_refund_waits_for_invoice_and_fee_only_refund_needs_no_memo(
    shapes: type, mapping: ChargeMapping
) -> None:
    refund = normalize_transaction(
        shapes.transaction("T", "Refund", [("Principal", "-1.00")], order_id="O-9")
    )
    held = plan_refund_credit_memo(refund, None, mapping)
    assert isinstance(held, Held)
    assert held.code is HoldCode.NOT_INVOICED
    assert held.key == "cm:O-9:T"


def test_cancellation_reverses_what_is_still_open(
    shapes: type, catalog: Catalog, mapping: ChargeMapping
) -> None:
    invoice = _invoice(shapes, catalog, mapping)
    memo = plan_cancellation_credit_memo(invoice, cancelled_on=date(2026, 3, 9))
    assert isinstance(memo, CreditMemoDoc)
    assert memo.total == -invoice.total
    assert memo.key == "cm:O-1:cancel"
    assert [ln.account for ln in memo.lines] == [ln.account for ln in invoice.lines]


def test_journal_holds(shapes: type, mapping: ChargeMapping) -> None:
    unknown = normalize_settlement(
        shapes.group("-5.00"), [shapes.transaction("T", "ServiceFee", [("BrandNewFee", "-5.00")])]
    )
    held = plan_settlement_journal(unknown, mapping)
    assert isinstance(held, Held)
    assert held.code is HoldCode.UNMAPPED_CHARGE
    assert held.details == ("Group/BrandNewFee",)
    fee = [shapes.transaction("T", "ServiceFee", [("Subscription", "-39.99")])]
    still_open = normalize_settlement(shapes.group("-39.99", status="Open"), fee)
    assert plan_settlement_journal(still_open, mapping).code is HoldCode.NOT_CLOSED  # type: ignore[union-attr]
    wrong_total = normalize_settlement(shapes.group("-40.00"), fee)
    held = plan_settlement_journal(wrong_total, mapping)
    assert isinstance(held, Held)
    assert held.code is HoldCode.INVARIANT
    assert "Amazon's total is -40.00" in held.reason


def test_negative_payout_credits_cash_and_cogs_option(
    shapes: type, catalog: Catalog, mapping: ChargeMapping
) -> None:
    txns = [
        shapes.transaction("T1", "ServiceFee", [("Subscription", "-39.99")]),
        shapes.transaction("T2", "Shipment", [("Principal", "12.50")], order_id="O", sku="MUG-01",
                           quantity=3),
    ]  # fmt: skip
    settlement = normalize_settlement(shapes.group("-27.49"), txns)
    journal = plan_settlement_journal(
        settlement, mapping, catalog=catalog, policy=AccountingPolicy(include_cogs=True)
    )
    assert isinstance(journal, JournalDoc)
    by_account = {str(ln.account): (ln.entered_dr, ln.entered_cr) for ln in journal.lines}
    assert by_account["101.00.10500"] == (D("0"), D("27.49"))
    assert by_account["101.10.50100"] == (D("12.30"), D("0"))  # 3 × 4.10
    assert by_account["101.00.14000"] == (D("0"), D("12.30"))
    assert journal.total_dr == journal.total_cr
