"""VAT-inclusive marketplaces: an order with no tax figure is invoiced with its VAT separated.

Every expected figure is computed by hand: tax = gross × rate / (100 + rate), half-up to the
cent, net = gross − tax.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ml_connector.domain.documents import CreditMemoDoc, Held, HoldCode, InvoiceDoc
from ml_connector.domain.orders import NormalizedOrder
from ml_connector.flow.accounting import (
    AccountingPolicy,
    VatInclusive,
    plan_cancellation_credit_memo,
    plan_invoice,
    plan_refund_credit_memo,
)
from ml_connector.flow.mapping import Catalog, ChargeMapping, parse_mapping
from ml_connector.flow.normalize import normalize_order, normalize_transaction

D = Decimal
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FR = "A13V1IB3VIYZZH"
IT = "APJ6JRA9NG5V4"
DE = "A1PA6795UKMFR9"
UK = "A1F83G8C2ARO7P"
US = "ATVPDKIKX0DER"
JP = "A1VC38T7YXB528"
TAX_CODE = AccountingPolicy(vat_inclusive=VatInclusive.TAX_CODE)
VAT = {
    "FR": {
        "rate": "20",
        "tax_classification_code": "FR VAT STANDARD",
        "categories": {"books": "5.5"},
    },
    "DE": {"rate": "19", "tax_classification_code": "DE VAT STANDARD"},
    "UK": {"rate": "20", "tax_classification_code": "UK VAT STANDARD"},
}


def _mapping(*, output_vat: str | None = "21700", **sections: Any) -> ChargeMapping:
    data = tomllib.loads((EXAMPLES / "charges.toml").read_text(encoding="utf-8"))
    if output_vat is None:
        data["accounts"].pop("output_vat", None)
    else:
        data["accounts"]["output_vat"] = output_vat
    for marketplace in (FR, IT):
        data["customers"][marketplace] = {"account_number": "AMZ-X", "site_number": "AMZ-X-BILL"}
    data["vat"] = VAT
    data.pop("revenue_rules", None)
    return parse_mapping(data | sections, "charges.toml")


@pytest.fixture(scope="module")
def vat_mapping() -> ChargeMapping:
    return _mapping()


def _order(
    shapes: type, marketplace: str, items: list[dict[str, Any]], order_id: str = "O-1"
) -> NormalizedOrder:
    return normalize_order(shapes.order(order_id, items, marketplace=marketplace, currency="EUR"))


def _eur_item(shapes: type, sku: str, quantity: int, principal: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("facilitator", False)
    item: dict[str, Any] = shapes.item(sku, quantity, principal, currency="EUR", **kw)
    return item


def _lines(doc: InvoiceDoc | CreditMemoDoc) -> list[tuple[object, ...]]:
    return [(ln.kind.value, ln.sku, ln.amount, str(ln.account), ln.tax_rate) for ln in doc.lines]


def _refund(shapes: type, leaves: list[tuple[str, str]], quantity: int) -> Any:
    return normalize_transaction(
        shapes.transaction(
            "T-R", "Refund", leaves, order_id="O-1", refund_id="R-1", sku="KETTLE-01",
            quantity=quantity, currency="EUR", marketplace=FR,
        )
    )  # fmt: skip


def _split_invoice(shapes: type, catalog: Catalog, mapping: ChargeMapping) -> InvoiceDoc:
    order = _order(shapes, FR, [_eur_item(shapes, "KETTLE-01", 1, "59.99")])
    invoice = plan_invoice(order, catalog, mapping)
    assert isinstance(invoice, InvoiceDoc)
    return invoice


def test_fr_order_without_tax_figure_is_split_into_net_and_output_vat(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    invoice = _split_invoice(shapes, catalog, vat_mapping)
    # 59.99 × 20/120 = 9.998… → 10.00 VAT; 59.99 − 10.00 = 49.99 revenue.
    assert _lines(invoice) == [
        ("item", "KETTLE-01", D("49.99"), "101.20.40120", D("20")),
        ("tax", "KETTLE-01", D("10.00"), "101.00.21700", D("20")),
    ]
    assert invoice.lines[0].unit_price == D("49.99")
    assert invoice.lines[1].description == "VAT 20%: KETTLE-01"
    assert invoice.total == D("59.99")
    assert not any(ln.amount_includes_tax or ln.tax_classification_code for ln in invoice.lines)


def test_without_output_vat_the_vat_goes_to_sales_tax_payable(
    shapes: type, catalog: Catalog
) -> None:
    invoice = _split_invoice(shapes, catalog, _mapping(output_vat=None))
    assert [str(ln.account) for ln in invoice.lines] == ["101.20.40120", "101.00.21600"]


def test_shipping_and_promotion_are_split_too(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    item = _eur_item(shapes, "KETTLE-01", 1, "59.99", shipping="4.99", promotion="-6.00")
    invoice = plan_invoice(_order(shapes, FR, [item]), catalog, vat_mapping)
    assert isinstance(invoice, InvoiceDoc)
    # shipping 4.99/6 = 0.8316… → 0.83; promotion -6.00/6 = -1.00; VAT 10.00 + 0.83 − 1.00.
    assert _lines(invoice) == [
        ("item", "KETTLE-01", D("49.99"), "101.20.40120", D("20")),
        ("shipping", "KETTLE-01", D("4.16"), "101.20.40200", D("20")),
        ("promotion", "KETTLE-01", D("-5.00"), "101.20.40900", D("20")),
        ("tax", "KETTLE-01", D("9.83"), "101.00.21700", D("20")),
    ]
    assert invoice.total == D("58.98")


def test_a_category_at_a_reduced_rate_gets_its_own_vat_line(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    items = [
        _eur_item(shapes, "KETTLE-01", 1, "59.99", item_id="1"),
        _eur_item(shapes, "BOOK-COOKING", 1, "21.10", item_id="2"),
    ]
    invoice = plan_invoice(_order(shapes, FR, items), catalog, vat_mapping)
    assert isinstance(invoice, InvoiceDoc)
    # books at 5.5 %: 21.10 × 5.5/105.5 = 1.10 exactly; 20.00 net.
    assert _lines(invoice) == [
        ("item", "KETTLE-01", D("49.99"), "101.20.40120", D("20")),
        ("tax", "KETTLE-01", D("10.00"), "101.00.21700", D("20")),
        ("item", "BOOK-COOKING", D("20.00"), "101.20.40100", D("5.5")),
        ("tax", "BOOK-COOKING", D("1.10"), "101.00.21700", D("5.5")),
    ]
    assert invoice.total == D("81.09")


def test_a_marketplace_without_a_rate_is_held_naming_it_and_the_key_to_add(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    held = plan_invoice(
        _order(shapes, IT, [_eur_item(shapes, "KETTLE-01", 1, "59.99")], "O-IT"),
        catalog,
        vat_mapping,
    )
    assert held == Held(
        "inv:O-IT",
        HoldCode.MISSING_VAT,
        "Amazon.it (APJ6JRA9NG5V4) prices include VAT and order O-IT carries no tax figure: "
        'add [vat.IT] rate = "<percent>" to the charge mapping (rate = "0" if no VAT is due '
        "there; docs/mapping.md, [vat]); the next sync or `review resolve` invoices it",
        (IT, '[vat.IT] rate = "<percent>"'),
    )


def test_a_rate_of_zero_is_an_explicit_choice_not_to_split(shapes: type, catalog: Catalog) -> None:
    mapping = _mapping(vat={**VAT, "IT": {"rate": "0"}})
    order = _order(shapes, IT, [_eur_item(shapes, "KETTLE-01", 1, "59.99")])
    for policy in (AccountingPolicy(), TAX_CODE):
        invoice = plan_invoice(order, catalog, mapping, policy=policy)
        assert isinstance(invoice, InvoiceDoc)
        assert _lines(invoice) == [("item", "KETTLE-01", D("59.99"), "101.20.40120", None)]
        assert invoice.lines[0].tax_classification_code is None


def test_de_order_with_a_tax_split_is_unchanged(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    item = _eur_item(shapes, "KETTLE-01", 1, "30.00", tax="5.70")
    for policy in (AccountingPolicy(), TAX_CODE):
        invoice = plan_invoice(_order(shapes, DE, [item]), catalog, vat_mapping, policy=policy)
        assert isinstance(invoice, InvoiceDoc)
        assert _lines(invoice) == [
            ("item", "KETTLE-01", D("30.00"), "101.20.40120", None),
            ("tax", "KETTLE-01", D("5.70"), "101.00.21600", None),
        ]
        assert not any(ln.tax_classification_code for ln in invoice.lines)


def test_uk_orders_amazon_collects_the_vat_for_are_unchanged(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    taxed = shapes.item("KETTLE-01", 1, "49.99", tax="10.00", currency="GBP", item_id="1")
    # Amazon says it collects the tax, and shows none on this item: nothing to split either.
    untaxed = shapes.item("MUG-01", 1, "12.00", currency="GBP", item_id="2")
    order = normalize_order(shapes.order("O-UK", [taxed, untaxed], marketplace=UK, currency="GBP"))
    invoice = plan_invoice(order, catalog, vat_mapping)
    assert isinstance(invoice, InvoiceDoc)
    assert _lines(invoice) == [
        ("item", "KETTLE-01", D("49.99"), "101.20.40120", None),
        ("facilitator_tax", "KETTLE-01", D("10.00"), "101.00.21500", None),
        ("item", "MUG-01", D("12.00"), "101.10.40100", None),
    ]
    alone = normalize_order(shapes.order("O-UK2", [untaxed], marketplace=UK, currency="GBP"))
    invoice = plan_invoice(alone, catalog, vat_mapping)
    assert isinstance(invoice, InvoiceDoc)
    assert _lines(invoice) == [("item", "MUG-01", D("12.00"), "101.10.40100", None)]


def test_us_orders_without_tax_are_never_split(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    order = normalize_order(shapes.order("O-US", [shapes.item("MUG-01", 1, "12.00")]))
    invoice = plan_invoice(order, catalog, vat_mapping)
    assert isinstance(invoice, InvoiceDoc)
    assert _lines(invoice) == [("item", "MUG-01", D("12.00"), "101.10.40100", None)]


def test_full_refund_of_a_split_invoice_reverses_net_and_vat(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    invoice = _split_invoice(shapes, catalog, vat_mapping)
    refund = _refund(shapes, [("Principal", "-59.99"), ("Commission", "7.50")], 1)
    memo = plan_refund_credit_memo(refund, invoice, vat_mapping)
    assert isinstance(memo, CreditMemoDoc)
    assert _lines(memo) == [
        ("item", "KETTLE-01", D("-49.99"), "101.20.40120", D("20")),
        ("tax", "KETTLE-01", D("-10.00"), "101.00.21700", D("20")),
    ]
    assert memo.total == D("-59.99")
    assert memo.lines[0].quantity == -1


def test_partial_refund_of_a_split_invoice_splits_the_refunded_gross(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    order = _order(shapes, FR, [_eur_item(shapes, "KETTLE-01", 2, "59.98")])
    invoice = plan_invoice(order, catalog, vat_mapping)
    assert isinstance(invoice, InvoiceDoc)
    # 59.98/6 = 9.9966… → 10.00; 49.98 net.
    assert [ln.amount for ln in invoice.lines] == [D("49.98"), D("10.00")]
    memo = plan_refund_credit_memo(_refund(shapes, [("Principal", "-29.99")], 1), invoice,
                                   vat_mapping)  # fmt: skip
    assert isinstance(memo, CreditMemoDoc)
    # -29.99/6 = -4.998… → -5.00; -24.99 net.
    assert [(ln.kind.value, ln.amount) for ln in memo.lines] == [
        ("item", D("-24.99")),
        ("tax", D("-5.00")),
    ]
    assert memo.total == D("-29.99")


def test_a_refund_that_carries_its_own_tax_is_taken_as_amazon_gives_it(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    invoice = _split_invoice(shapes, catalog, vat_mapping)
    refund = _refund(shapes, [("Principal", "-49.99"), ("Tax", "-10.00")], 1)
    memo = plan_refund_credit_memo(refund, invoice, vat_mapping)
    assert isinstance(memo, CreditMemoDoc)
    assert [(ln.kind.value, ln.amount) for ln in memo.lines] == [
        ("item", D("-49.99")),
        ("tax", D("-10.00")),
    ]


def test_cancellation_of_a_split_invoice_mirrors_its_lines(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    invoice = _split_invoice(shapes, catalog, vat_mapping)
    memo = plan_cancellation_credit_memo(invoice, cancelled_on=date(2026, 3, 9))
    assert isinstance(memo, CreditMemoDoc)
    assert _lines(memo) == [
        ("item", "KETTLE-01", D("-49.99"), "101.20.40120", D("20")),
        ("tax", "KETTLE-01", D("-10.00"), "101.00.21700", D("20")),
    ]


def test_tax_code_mode_sends_gross_tax_inclusive_lines_with_the_code(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    item = _eur_item(shapes, "KETTLE-01", 1, "59.99", shipping="4.99")
    invoice = plan_invoice(_order(shapes, FR, [item]), catalog, vat_mapping, policy=TAX_CODE)
    assert isinstance(invoice, InvoiceDoc)
    assert [
        (ln.kind.value, ln.amount, ln.tax_classification_code, ln.amount_includes_tax,
         ln.tax_rate)
        for ln in invoice.lines
    ] == [
        ("item", D("59.99"), "FR VAT STANDARD", True, None),
        ("shipping", D("4.99"), "FR VAT STANDARD", True, None),
    ]  # fmt: skip
    refund = _refund(shapes, [("Principal", "-59.99"), ("Shipping", "-4.99")], 1)
    memo = plan_refund_credit_memo(refund, invoice, vat_mapping, policy=TAX_CODE)
    assert isinstance(memo, CreditMemoDoc)
    assert [
        (ln.kind.value, ln.amount, ln.tax_classification_code, ln.amount_includes_tax)
        for ln in memo.lines
    ] == [
        ("item", D("-59.99"), "FR VAT STANDARD", True),
        ("shipping", D("-4.99"), "FR VAT STANDARD", True),
    ]
    cancel = plan_cancellation_credit_memo(invoice, cancelled_on=date(2026, 3, 9))
    assert isinstance(cancel, CreditMemoDoc)
    assert {ln.tax_classification_code for ln in cancel.lines} == {"FR VAT STANDARD"}
    assert all(ln.amount_includes_tax for ln in cancel.lines)


def test_tax_code_mode_holds_a_category_without_a_code(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    # [vat.FR.categories] books = "5.5" replaces the marketplace's code for books.
    order = _order(shapes, FR, [_eur_item(shapes, "BOOK-COOKING", 1, "21.10")], "O-B")
    held = plan_invoice(order, catalog, vat_mapping, policy=TAX_CODE)
    assert isinstance(held, Held)
    assert held.code is HoldCode.MISSING_VAT
    assert held.reason.startswith(
        "Amazon.fr (A13V1IB3VIYZZH) prices include VAT and order O-B carries no tax figure: "
        'add [vat.FR.categories.books] tax_classification_code = "<Oracle tax code>" to the '
        "charge mapping"
    )


def test_revenue_schedules_from_the_connection_and_a_category(
    shapes: type, catalog: Catalog
) -> None:
    mapping = _mapping(revenue_rules={"books": {"accounting_rule": "Monthly 3",
                                                "accounting_rule_duration": 3}})  # fmt: skip
    items = [
        _eur_item(shapes, "KETTLE-01", 1, "59.99", shipping="4.99", item_id="1"),
        _eur_item(shapes, "BOOK-COOKING", 1, "21.10", item_id="2"),
    ]
    order = _order(shapes, FR, items)
    policy = AccountingPolicy(invoicing_rule="In Advance", accounting_rule="Immediate")
    invoice = plan_invoice(order, catalog, mapping, policy=policy)
    assert isinstance(invoice, InvoiceDoc)
    assert invoice.invoicing_rule == "In Advance"
    assert [(ln.kind.value, ln.accounting_rule, ln.accounting_rule_duration)
            for ln in invoice.lines] == [
        ("item", "Immediate", None),
        ("shipping", None, None),
        ("tax", None, None),
        ("item", "Monthly 3", 3),
        ("tax", None, None),
    ]  # fmt: skip
    # By default revenue is recognized at shipment: no rule anywhere.
    plain = plan_invoice(order, catalog, _mapping())
    assert isinstance(plain, InvoiceDoc)
    assert plain.invoicing_rule is None
    assert not any(ln.accounting_rule for ln in plain.lines)
    # A category's accounting rule needs the connection's invoicing rule.
    held = plan_invoice(order, catalog, mapping)
    assert isinstance(held, Held)
    assert held.code is HoldCode.MISSING_INVOICING_RULE
    assert "set [accounting] invoicing_rule on the connection" in held.reason


def test_yen_amounts_are_split_to_whole_yen(shapes: type, catalog: Catalog) -> None:
    mapping = _mapping(vat={**VAT, "JP": {"rate": "10"}})
    item = shapes.item("KETTLE-01", 1, "1999", currency="JPY", facilitator=False)
    order = normalize_order(shapes.order("O-JP", [item], marketplace=JP, currency="JPY"))
    invoice = plan_invoice(order, catalog, mapping)
    assert isinstance(invoice, InvoiceDoc)
    # 1999 × 10/110 = 181.72… → 182 yen; 1817 net.
    assert _lines(invoice) == [
        ("item", "KETTLE-01", D("1817"), "101.30.40120", D("10")),
        ("tax", "KETTLE-01", D("182"), "101.00.21700", D("10")),
    ]


def test_the_refund_that_completes_a_split_line_takes_what_is_left_on_it(
    shapes: type, catalog: Catalog, vat_mapping: ChargeMapping
) -> None:
    """Three partial refunds of 19.99 (the last with the shipping) give back exactly what the
    invoice booked: no 0.01 of revenue over-credited, no 0.01 of output VAT left."""
    item = _eur_item(shapes, "KETTLE-01", 3, "59.97", shipping="4.99")
    invoice = plan_invoice(_order(shapes, FR, [item]), catalog, vat_mapping)
    assert isinstance(invoice, InvoiceDoc)
    # 59.97 × 20/120 = 9.995 → 10.00 VAT, 49.97 net; 4.99/6 = 0.8316… → 0.83, 4.16 net.
    assert _lines(invoice) == [
        ("item", "KETTLE-01", D("49.97"), "101.20.40120", D("20")),
        ("shipping", "KETTLE-01", D("4.16"), "101.20.40200", D("20")),
        ("tax", "KETTLE-01", D("10.83"), "101.00.21700", D("20")),
    ]
    parts = [
        [("Principal", "-19.99")],
        [("Principal", "-19.99")],
        [("Principal", "-19.99"), ("Shipping", "-4.99")],
    ]
    memos: list[CreditMemoDoc] = []
    for number, leaves in enumerate(parts, start=1):
        refund = normalize_transaction(
            shapes.transaction(
                f"T-R{number}", "Refund", leaves, order_id="O-1", refund_id=f"R-{number}",
                sku="KETTLE-01", quantity=1, currency="EUR", marketplace=FR,
            )
        )  # fmt: skip
        memo = plan_refund_credit_memo(refund, invoice, vat_mapping, prior=memos)
        assert isinstance(memo, CreditMemoDoc), memo
        memos.append(memo)
    # -19.99/6 = -3.3316… → -3.33 VAT, -16.66 net, twice: 49.97 - 33.32 = 16.65 net and
    # 10.83 - 6.66 = 4.17 VAT are left; the last refund takes them (-16.65, -0.83 - 3.34).
    assert [(ln.kind.value, ln.amount) for ln in memos[0].lines] == [
        ("item", D("-16.66")),
        ("tax", D("-3.33")),
    ]
    assert [(ln.kind.value, ln.amount) for ln in memos[1].lines] == [
        ("item", D("-16.66")),
        ("tax", D("-3.33")),
    ]
    assert sorted((ln.kind.value, ln.amount) for ln in memos[2].lines) == [
        ("item", D("-16.65")),
        ("shipping", D("-4.16")),
        ("tax", D("-4.17")),
    ]
    assert memos[2].total == D("-24.98")
    assert memos[2].lines[0].quantity == -1
