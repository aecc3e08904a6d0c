"""Tax-inclusive lines with a tax classification code and revenue schedules, as the connector
encodes them for Oracle: REST invoice bodies and AutoInvoice credit-memo rows."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from decimal import Decimal

import pytest

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.documents import (
    CreditMemoDoc,
    CustomerRef,
    InvoiceDoc,
    InvoiceLine,
    LineKind,
)
from ml_connector.flow.post.oracle_docs import PostingProfile, credit_memo_rows, invoice_payload
from ml_connector.remote.oracle import AutoInvoiceLine, LineKey, autoinvoice_files
from ml_connector.remote.oracle.autoinvoice_columns import DISTRIBUTIONS_COLUMNS, LINES_COLUMNS
from ml_connector.remote.oracle.fbdi_autoinvoice import DISTRIBUTIONS_CSV, LINES_CSV
from ml_connector.remote.oracle.fbdi_gl import FbdiBuildError

DAY = dt.date(2026, 3, 2)
PROFILE = PostingProfile(
    business_unit="US1 Business Unit",
    invoice_source="Amazon Orders",
    invoice_type="Amazon Invoice",
    credit_memo_type="Amazon Credit Memo",
    ledger="US Primary Ledger",
    ledger_id="300000046975971",
    ledger_currency="USD",
    conversion_rate_type="Corporate",
    journal_source="Amazon Settlements",
    journal_category="Amazon Settlement",
)
ORDER = "402-1234567-1234567"


def _account(natural: str) -> AccountCombination:
    return AccountCombination((("company", "101"), ("cost_center", "10"), ("account", natural)))


def _item(amount: str, **fields: object) -> InvoiceLine:
    return InvoiceLine(
        1, LineKind.ITEM, "Mug MUG-01", Decimal(amount), _account("40100"), "MUG-01", 1,
        Decimal(amount), **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def _shipping(amount: str, **fields: object) -> InvoiceLine:
    return InvoiceLine(
        2, LineKind.SHIPPING, "Shipping MUG-01", Decimal(amount), _account("40200"), "MUG-01",
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


VAT = {"tax_classification_code": "VAT20", "amount_includes_tax": True, "tax_rate": Decimal(20)}
RULE = {"accounting_rule": "12 Months Fixed", "accounting_rule_duration": 12}


def _invoice(*lines: InvoiceLine, invoicing_rule: str | None = None) -> InvoiceDoc:
    return InvoiceDoc(
        key=f"invoice:{ORDER}",  # type: ignore[arg-type]
        transaction_number=ORDER,
        amazon_order_id=ORDER,  # type: ignore[arg-type]
        marketplace_id="A13V1IB3VIYZZH",  # type: ignore[arg-type]
        customer=CustomerRef("AMZ-FR", "AMZ-FR-BILL"),
        currency="EUR",
        transaction_date=DAY,
        accounting_date=DAY,
        receivable_account=_account("12100"),
        lines=lines,
        invoicing_rule=invoicing_rule,
    )


def _memo(invoice: InvoiceDoc, *lines: InvoiceLine) -> CreditMemoDoc:
    return CreditMemoDoc(
        key=f"credit_memo:{ORDER}:R1",  # type: ignore[arg-type]
        transaction_number=f"CM-{ORDER}-1",
        invoice_key=invoice.key,
        invoice_number=invoice.transaction_number,
        amazon_order_id=invoice.amazon_order_id,
        refund_id="R1",
        refund_transaction_id="T1",
        customer=invoice.customer,
        currency=invoice.currency,
        transaction_date=DAY,
        accounting_date=DAY,
        receivable_account=invoice.receivable_account,
        reason="Refund",
        lines=lines,
    )


def _rows(
    memo: CreditMemoDoc, invoice: InvoiceDoc, profile: PostingProfile = PROFILE
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    files = autoinvoice_files(*credit_memo_rows(memo, invoice, profile))

    def read(name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
        records = csv.reader(io.StringIO(files[name].decode()))
        return [{c: v for c, v in zip(columns, r, strict=False) if v} for r in records]

    return read(LINES_CSV, LINES_COLUMNS), read(DISTRIBUTIONS_CSV, DISTRIBUTIONS_COLUMNS)


def test_tax_inclusive_line_goes_with_its_code_and_a_revenue_share_not_a_tax_line() -> None:
    body = invoice_payload(_invoice(_item("59.99", **VAT), _shipping("4.99", **VAT)), PROFILE)
    wire = body.wire()
    item, shipping = wire["receivablesInvoiceLines"]
    assert item["TaxClassificationCode"] == "VAT20"
    assert item["LineAmountIncludesTax"] == "Y"
    assert item["LineAmount"] == Decimal("59.99")  # gross: Oracle takes the 10.00 out
    assert "receivablesInvoiceLineTaxLines" not in item
    assert shipping["LineAmountIncludesTax"] == "Y"
    dists = wire["receivablesInvoiceDistributions"]
    assert dists == [
        {
            "AccountClass": "Revenue",
            "AccountCombination": "101.10.40100",
            "InvoiceLineNumber": 1,
            "Percent": Decimal(100),
        },
        {
            "AccountClass": "Revenue",
            "AccountCombination": "101.10.40200",
            "InvoiceLineNumber": 2,
            "Percent": Decimal(100),
        },
        {
            "AccountClass": "Receivable",
            "AccountCombination": "101.10.12100",
            "Amount": Decimal("64.98"),
        },
    ]
    assert "InvoicingRule" not in wire


def test_a_line_without_the_new_fields_is_encoded_as_before() -> None:
    wire = invoice_payload(_invoice(_item("25.00")), PROFILE).wire()
    line = wire["receivablesInvoiceLines"][0]
    assert not {"TaxClassificationCode", "LineAmountIncludesTax", "AccountingRule"} & set(line)
    assert wire["receivablesInvoiceDistributions"][0]["Amount"] == Decimal("25.00")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            (
                _item("59.99", **VAT),
                InvoiceLine(3, LineKind.TAX, "VAT", Decimal("10.00"), _account("21600"), "MUG-01"),
            ),
            "whose tax Oracle computes from its code",
        ),
        ((_item("50.00", tax_classification_code="VAT20"),), "on an amount that excludes tax"),
        ((_item("59.99", amount_includes_tax=True),), "names no tax classification code"),
        (
            (_item("25.00", **RULE),),
            "have an accounting rule but the invoice has no invoicing rule",
        ),
    ],
)
def test_documents_oracle_would_book_otherwise_are_refused(
    lines: tuple[InvoiceLine, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        invoice_payload(_invoice(*lines), PROFILE)


def test_an_invoicing_rule_without_a_ruled_line_is_refused() -> None:
    with pytest.raises(
        ValueError, match="invoicing rule In Advance but no line has an accounting rule"
    ):
        invoice_payload(_invoice(_item("25.00"), invoicing_rule="In Advance"), PROFILE)


def test_ruled_invoice_carries_its_rules_and_starts_on_the_transaction_date() -> None:
    doc = _invoice(_item("120.00", **RULE), _shipping("4.99"), invoicing_rule="In Advance")
    wire = invoice_payload(doc, PROFILE).wire()
    assert wire["InvoicingRule"] == "In Advance"
    item, shipping = wire["receivablesInvoiceLines"]
    assert (item["AccountingRule"], item["AccountingRuleDuration"], item["RuleStartDate"]) == (
        "12 Months Fixed",
        12,
        DAY,
    )
    assert not {"AccountingRule", "AccountingRuleDuration", "RuleStartDate"} & set(shipping)
    revenue = [
        (d["InvoiceLineNumber"], d.get("Amount"), d.get("Percent"))
        for d in wire["receivablesInvoiceDistributions"]
        if d["AccountClass"] == "Revenue"
    ]
    # A ruled line's distribution is an account set (percentages); the unruled one keeps its amount.
    assert revenue == [(1, None, Decimal(100)), (2, Decimal("4.99"), None)]


def test_credit_memo_of_a_ruled_invoice_names_the_credit_method_and_no_rule_columns() -> None:
    invoice = _invoice(_item("120.00", **RULE), _shipping("4.99"), invoicing_rule="In Advance")
    memo = _memo(
        invoice,
        dataclasses.replace(invoice.lines[0], amount=Decimal("-120.00"), unit_price=None),
        dataclasses.replace(invoice.lines[1], amount=Decimal("-4.99")),
    )
    lines, dists = _rows(memo, invoice)
    assert lines[0]["CREDIT_METHOD_FOR_ACCT_RULE"] == "PRORATE"
    assert [(d["ACCOUNT_CLASS"], d.get("AMOUNT"), d.get("PERCENT")) for d in dists] == [
        ("REV", None, "100"),
        ("REV", "-4.99", None),
        ("REC", "-124.99", None),
    ]
    assert "CREDIT_METHOD_FOR_ACCT_RULE" not in lines[1]  # shipping had no rule
    for row in lines:
        assert not {
            "INVOICING_RULE_NAME",
            "ACCOUNTING_RULE_NAME",
            "ACCOUNTING_RULE_DURATION",
            "RULE_START_DATE",
        } & set(row)
    lifo = dataclasses.replace(PROFILE, credit_method_for_rules="LIFO")
    assert _rows(memo, invoice, lifo)[0][0]["CREDIT_METHOD_FOR_ACCT_RULE"] == "LIFO"


def test_credit_memo_of_a_tax_inclusive_line_lets_oracle_take_the_tax_out_again() -> None:
    invoice = _invoice(_item("59.99", **VAT))
    memo = _memo(
        invoice, dataclasses.replace(invoice.lines[0], amount=Decimal("-59.99"), unit_price=None)
    )
    lines, dists = _rows(memo, invoice)
    assert (lines[0]["TAX_CODE"], lines[0]["AMOUNT_INCLUDES_TAX_FLAG"]) == ("VAT20", "Y")
    assert lines[0]["AMOUNT"] == "-59.99"
    assert [(d["ACCOUNT_CLASS"], d.get("AMOUNT"), d.get("PERCENT")) for d in dists] == [
        ("REV", None, "100"),
        ("REC", "-59.99", None),
    ]


def test_a_memo_line_credits_the_tax_as_the_invoice_line_it_credits_was_taxed() -> None:
    invoice = _invoice(_item("59.99", **VAT))
    plain = dataclasses.replace(
        invoice.lines[0],
        amount=Decimal("-59.99"),
        unit_price=None,
        tax_classification_code=None,
        amount_includes_tax=False,
    )
    lines, _ = _rows(_memo(invoice, plain), invoice)
    assert (lines[0]["TAX_CODE"], lines[0]["AMOUNT_INCLUDES_TAX_FLAG"]) == ("VAT20", "Y")
    other = dataclasses.replace(plain, tax_classification_code="VAT5", amount_includes_tax=True)
    with pytest.raises(ValueError, match="has tax classification code VAT5, the invoice line 1"):
        credit_memo_rows(_memo(invoice, other), invoice, PROFILE)


def _ai(**changes: object) -> AutoInvoiceLine:
    fields: dict[str, object] = {
        "business_unit": "US1 Business Unit",
        "transaction_source": "Amazon Orders",
        "transaction_type": "Amazon Invoice",
        "key": LineKey("AMAZON ORDERS", (ORDER, "1")),
        "line_type": "LINE",
        "description": "Mug",
        "currency": "EUR",
        "transaction_date": DAY,
        "bill_to_account_number": "AMZ-FR",
        "amount": Decimal("59.99"),
    }
    fields.update(changes)
    return AutoInvoiceLine(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount_includes_tax": True}, "needs a TAX_CODE"),
        ({"accounting_rule": "Immediate"}, "go together"),
        ({"invoicing_rule": "In Advance"}, "go together"),
        ({"credit_method_for_rules": "PRORATE"}, "for credit memo lines"),
        (
            {
                "credits": LineKey("AMAZON ORDERS", (ORDER, "9")),
                "accounting_rule": "Immediate",
                "accounting_rule_duration": 1,
            },
            "leave ACCOUNTING_RULE_DURATION and RULE_START_DATE empty",
        ),
    ],
)
def test_autoinvoice_rows_refuse_what_autoinvoice_rejects(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(FbdiBuildError, match=message):
        _ai(**changes)


def test_ruled_autoinvoice_invoice_row_lands_in_the_rule_columns() -> None:
    row = _ai(
        invoicing_rule="In Arrears",
        accounting_rule="Variable Monthly",
        accounting_rule_duration=6,
        rule_start_date=DAY,
        tax_code="VAT20",
        amount_includes_tax=False,
    ).columns()
    assert (
        row["INVOICING_RULE_NAME"],
        row["ACCOUNTING_RULE_NAME"],
        row["ACCOUNTING_RULE_DURATION"],
        row["RULE_START_DATE"],
        row["AMOUNT_INCLUDES_TAX_FLAG"],
    ) == ("In Arrears", "Variable Monthly", "6", "2026/03/02", "N")
