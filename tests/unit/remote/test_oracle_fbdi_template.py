"""The files the poster builds match the templates in ../shared/reference with the required
columns filled: Journal Import (creation date, REFERENCE7 as the reversal flag) and AutoInvoice
(required columns, tax lines linked to their line); REST tax rides on the line it taxes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.documents import (
    CreditMemoDoc,
    CustomerRef,
    InvoiceDoc,
    InvoiceLine,
    JournalDoc,
    JournalLine,
    LineKind,
)
from ml_connector.flow.post.oracle_docs import (
    PostingProfile,
    credit_memo_rows,
    invoice_payload,
    journal_rows,
)
from ml_connector.remote.oracle import autoinvoice_files, gl_interface_csv
from ml_connector.remote.oracle.autoinvoice_columns import DISTRIBUTIONS_COLUMNS, LINES_COLUMNS
from ml_connector.remote.oracle.fbdi_autoinvoice import DISTRIBUTIONS_CSV, LINES_CSV
from ml_connector.remote.oracle.fbdi_gl import REQUIRED_COLUMNS, FbdiBuildError, GlInterfaceLine

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
CUSTOMER = CustomerRef("AMZ-US", "AMZ-US-BILL")


def _account(natural: str) -> AccountCombination:
    return AccountCombination((("company", "101"), ("cost_center", "10"), ("account", natural)))


def _line(number: int, kind: LineKind, amount: str, natural: str) -> InvoiceLine:
    quantity = 2 if kind is LineKind.ITEM else None
    description = f"{kind.value} MUG-01"
    return InvoiceLine(
        number, kind, description, Decimal(amount), _account(natural), "MUG-01", quantity
    )


INVOICE = InvoiceDoc(
    key="invoice:111-0000001-0000001",  # type: ignore[arg-type]
    transaction_number="111-0000001-0000001",
    amazon_order_id="111-0000001-0000001",  # type: ignore[arg-type]
    marketplace_id="ATVPDKIKX0DER",  # type: ignore[arg-type]
    customer=CUSTOMER,
    currency="USD",
    transaction_date=DAY,
    accounting_date=DAY,
    receivable_account=_account("12100"),
    lines=(
        _line(1, LineKind.ITEM, "25.00", "40100"),
        _line(2, LineKind.SHIPPING, "4.99", "40200"),
        _line(3, LineKind.TAX, "2.40", "21600"),
    ),
)
MEMO = CreditMemoDoc(
    key="credit_memo:111-0000001-0000001:R1",  # type: ignore[arg-type]
    transaction_number="CM-111-0000001-0000001",
    invoice_key=INVOICE.key,
    invoice_number=INVOICE.transaction_number,
    amazon_order_id=INVOICE.amazon_order_id,
    refund_id="R1",
    refund_transaction_id="T1",
    customer=CUSTOMER,
    currency="USD",
    transaction_date=DAY,
    accounting_date=DAY,
    receivable_account=_account("12100"),
    reason="Refund",
    lines=(
        _line(1, LineKind.ITEM, "-12.50", "40100"),
        _line(2, LineKind.TAX, "-1.20", "21600"),
    ),
)
JOURNAL = JournalDoc(
    key="journal:G-77",  # type: ignore[arg-type]
    batch_name="AMZ-SETTLEMENT-12345",
    group_id="G-77",  # type: ignore[arg-type]
    settlement_id="12345",  # type: ignore[arg-type]
    ledger="US Primary Ledger",
    legal_entity=None,
    source="Amazon Settlements",
    category="Amazon Settlement",
    accounting_date=DAY,
    currency="USD",
    lines=(
        JournalLine(_account("10500"), Decimal("10.02"), Decimal(0), "cash", "r"),
        JournalLine(_account("12500"), Decimal(0), Decimal("10.02"), "receivable", "r"),
    ),
)


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_journal_import_rows_fill_every_required_template_column(oracle_reference: Path) -> None:
    template = json.loads((oracle_reference / "gl_interface_columns.json").read_text())["columns"]
    columns = template[:149]  # the 150th entry is the trailing END marker column
    assert "DATE_CREATED" in REQUIRED_COLUMNS  # the template's "Journal Entry Creation Date"
    for row in _rows(gl_interface_csv(journal_rows(JOURNAL, PROFILE))):
        assert len(row) == len(columns) + 1
        assert row[-1] == "END"
        values = dict(zip(columns, row, strict=False))
        for name in REQUIRED_COLUMNS:
            assert values[name], f"{name} is empty"
        assert values["LEDGER_ID"] or values["LEDGER_NAME"]
        assert values["DATE_CREATED"] == "2026/03/02"
        assert values["REFERENCE7"] in ("Y", "N")  # the reverse-journal flag, nothing else
        assert values["REFERENCE7"] == "N"
        assert values["REFERENCE6"] == "12345"
        assert values["REFERENCE21"] == "12345"
        assert values["REFERENCE22"] == "G-77"  # the event group id, in a free-text column


def test_the_reversal_columns_cannot_carry_free_text() -> None:
    base = JOURNAL
    row = journal_rows(base, PROFILE)[0]
    for number in (7, 8, 9):
        with pytest.raises(FbdiBuildError, match="REFERENCE7/8/9"):
            GlInterfaceLine(
                ledger_name=row.ledger_name,
                source=row.source,
                category=row.category,
                accounting_date=row.accounting_date,
                currency=row.currency,
                segments=row.segments,
                batch_name=row.batch_name,
                journal_name=row.journal_name,
                group_id=row.group_id,
                entered_dr=Decimal(1),
                references={number: "G-77"},
            )


def _required(oracle_reference: Path, heading: str) -> set[str]:
    text = (oracle_reference.parent / "oracle-fbdi.md").read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"([A-Z][A-Z0-9_]+)\s*\(r\)", section))


def test_autoinvoice_files_fill_the_required_columns_and_link_tax(oracle_reference: Path) -> None:
    lines, dists = credit_memo_rows(MEMO, INVOICE, PROFILE)
    files = autoinvoice_files(lines, dists)
    line_required = _required(oracle_reference, "### 1.3 `RaInterfaceLinesAll.csv`")
    dist_required = _required(oracle_reference, "### 1.4 `RaInterfaceDistributionsAll.csv`")
    assert {"BU_NAME", "BATCH_SOURCE_NAME", "LINE_TYPE", "DESCRIPTION"} <= line_required
    assert {"BU_NAME", "ACCOUNT_CLASS"} <= dist_required
    rows = [dict(zip(LINES_COLUMNS, r, strict=False)) for r in _rows(files[LINES_CSV])]
    for row in rows:
        for name in line_required:
            assert row[name], f"{name} is empty"
    for raw in _rows(files[DISTRIBUTIONS_CSV]):
        dist = dict(zip(DISTRIBUTIONS_COLUMNS, raw, strict=False))
        for name in dist_required:
            assert dist[name], f"{name} is empty"
    item, tax = rows
    assert (item["LINE_TYPE"], tax["LINE_TYPE"]) == ("LINE", "TAX")
    for n in range(1, 16):
        assert tax[f"LINK_TO_LINE_ATTRIBUTE{n}"] == item[f"INTERFACE_LINE_ATTRIBUTE{n}"]
    assert tax["LINK_TO_LINE_CONTEXT"] == item["INTERFACE_LINE_CONTEXT"]
    assert item["LINK_TO_LINE_CONTEXT"] == ""
    # Both name the invoice's item line: on the invoice, tax is a child of that line.
    assert tax["REFERENCE_LINE_ATTRIBUTE2"] == item["REFERENCE_LINE_ATTRIBUTE2"] == "1"


def test_an_unlinked_tax_line_cannot_be_written() -> None:
    lines, _ = credit_memo_rows(MEMO, INVOICE, PROFILE)
    with pytest.raises(FbdiBuildError, match="must link to the line it taxes"):
        type(lines[1])(**{**{f: getattr(lines[1], f) for f in lines[1].__slots__}, "link_to": None})


def test_rest_invoice_sends_tax_as_tax_lines_of_the_item_line() -> None:
    body = invoice_payload(INVOICE, PROFILE).wire()
    lines = body["receivablesInvoiceLines"]
    assert [line["LineNumber"] for line in lines] == [1, 2]  # no ordinary tax line
    assert lines[0]["receivablesInvoiceLineTaxLines"] == [
        {"TaxAmount": Decimal("2.40"), "TaxLineNumber": 1}
    ]
    assert "receivablesInvoiceLineTaxLines" not in lines[1]
    tax = [d for d in body["receivablesInvoiceDistributions"] if d["AccountClass"] == "Tax"]
    assert tax == [
        {
            "AccountClass": "Tax",
            "AccountCombination": "101.10.21600",
            "Amount": Decimal("2.40"),
            "InvoiceLineNumber": 1,
            "DetailedTaxLineNumber": 1,
        }
    ]
    dists = body["receivablesInvoiceDistributions"]
    receivable = [d for d in dists if d["AccountClass"] == "Receivable"]
    assert receivable[0]["Amount"] == Decimal("32.39")
