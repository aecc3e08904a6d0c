"""FBDI files: the right columns in the right positions, balanced, zipped for importBulkData."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from ml_connector.remote.oracle import (
    AutoInvoiceDistribution,
    AutoInvoiceLine,
    AutoInvoiceParameters,
    FbdiBuildError,
    GlInterfaceLine,
    JournalImportParameters,
    LineKey,
    autoinvoice_files,
    autoinvoice_request,
    gl_interface_csv,
    journal_import_request,
)
from ml_connector.remote.oracle.autoinvoice_columns import DISTRIBUTIONS_COLUMNS, LINES_COLUMNS
from ml_connector.remote.oracle.fbdi_gl import gl_interface_columns

D = Decimal
DAY = dt.date(2026, 3, 31)


def _gl(
    account: str, dr: str | None = None, cr: str | None = None, **kw: object
) -> GlInterfaceLine:
    base: dict[str, object] = {
        "ledger_name": "US Primary Ledger",
        "source": "Amazon Settlements",
        "category": "Amazon Settlement",
        "accounting_date": DAY,
        "currency": "USD",
        "segments": tuple(account.split(".")),
        "batch_name": "AMZ-SETTLEMENT-12345",
        "journal_name": "Settlement 12345 USD",
        "group_id": 12345,
        "entered_dr": D(dr) if dr else None,
        "entered_cr": D(cr) if cr else None,
        "line_description": "settlement 12345",
    }
    base.update(kw)
    return GlInterfaceLine(**base)  # type: ignore[arg-type]


def _rows(data: bytes) -> list[list[str]]:
    assert not data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_embedded_gl_column_order_matches_the_reference(oracle_reference: Path) -> None:
    reference = json.loads((oracle_reference / "gl_interface_columns.json").read_text())
    assert list(gl_interface_columns()) == reference["columns"][:149]
    for name, index in reference["index_of"].items():
        if index < 149:
            assert gl_interface_columns()[index] == name


def test_settlement_journal_lands_in_the_named_columns() -> None:
    data = gl_interface_csv(
        [
            _gl("101.00.10500", dr="10.02"),
            _gl("101.10.61000", dr="3.75"),
            _gl("101.10.61100", dr="3.22"),
            _gl("101.10.61000", cr="1.50"),
            _gl("101.00.21500", dr="1.12"),
            _gl("101.00.12500", cr="16.61", references={21: "12345"}),
        ]
    )
    assert b"\r\n" in data
    rows = _rows(data)
    cols = gl_interface_columns()
    pos = {name: i for i, name in enumerate(cols)}
    assert all(len(row) == 150 and row[-1] == "END" for row in rows)
    first, last = rows[0], rows[-1]
    assert first[pos["STATUS"]] == "NEW"
    assert first[pos["ACCOUNTING_DATE"]] == "2026/03/31"
    assert first[pos["USER_JE_SOURCE_NAME"]] == "Amazon Settlements"
    assert first[pos["SEGMENT1"]] == "101"
    assert first[pos["SEGMENT3"]] == "10500"
    assert first[pos["ENTERED_DR"]] == "10.02"
    assert first[pos["ENTERED_CR"]] == ""
    assert first[pos["REFERENCE1"]] == "AMZ-SETTLEMENT-12345"
    assert first[pos["REFERENCE4"]] == "Settlement 12345 USD"
    assert first[pos["GROUP_ID"]] == "12345"
    assert first[pos["LEDGER_NAME"]] == "US Primary Ledger"
    assert last[pos["ENTERED_CR"]] == "16.61"
    assert last[pos["REFERENCE21"]] == "12345"


def test_unbalanced_journal_is_refused_with_the_difference() -> None:
    with pytest.raises(FbdiBuildError, match=r"off by 0\.01"):
        gl_interface_csv([_gl("101.00.10500", dr="10.02"), _gl("101.00.12500", cr="10.01")])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dr": "1", "cr": "1"},
        {},
        {"dr": "-1"},
        {"dr": "1", "source": "A source name longer than 25"},
        {"dr": "1", "references": {1: "x"}},
        {"dr": "1", "group_id": 0},
    ],
)
def test_bad_gl_rows_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(FbdiBuildError):
        _gl("101.00.10500", **kwargs)  # type: ignore[arg-type]


def test_one_file_carries_one_group_id() -> None:
    with pytest.raises(FbdiBuildError, match="GROUP_ID"):
        gl_interface_csv(
            [
                _gl("101.00.10500", dr="1"),
                _gl("101.00.12500", cr="1"),
                _gl("101.00.10500", dr="1", group_id=2),
                _gl("101.00.12500", cr="1", group_id=2),
            ]
        )


def test_journal_import_request_matches_the_reference_shape(oracle_reference: Path) -> None:
    reference = json.loads(
        (oracle_reference / "erpintegrations_importBulkData_journal_request.json").read_text()
    )["request"]
    csv_bytes = gl_interface_csv([_gl("101.00.10500", dr="5"), _gl("101.00.12500", cr="5")])
    request = journal_import_request(
        "AmazonSettlement_12345.zip",
        csv_bytes,
        JournalImportParameters(
            source="Amazon Settlements", ledger_id="300000046975971", group_id=12345
        ),
    )
    body = request.body()
    assert set(body) == set(reference)
    for key in ("OperationName", "ContentType", "DocumentAccount", "JobName", "CallbackURL"):
        assert body[key] == reference[key]
    assert body["ParameterList"] == "#NULL,Amazon Settlements,300000046975971,12345,N,N,N"
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(body["DocumentContent"])))
    assert archive.namelist() == ["GlInterface.csv"]
    assert archive.read("GlInterface.csv") == csv_bytes
    assert "DocumentContent" not in repr(request)
    again = journal_import_request(
        "AmazonSettlement_12345.zip",
        csv_bytes,
        JournalImportParameters(
            source="Amazon Settlements", ledger_id="300000046975971", group_id=12345
        ),
    )
    assert again.document == request.document  # deterministic bytes


def test_parameter_values_with_commas_or_odd_file_names_are_refused() -> None:
    with pytest.raises(FbdiBuildError):
        JournalImportParameters(source="A,B", ledger_id="1", group_id=1).parameter_list()
    with pytest.raises(FbdiBuildError):
        journal_import_request("../x.zip", b"", JournalImportParameters("S", "1", 1))


# -- AutoInvoice -----------------------------------------------------------------------------


def _fact_sheet_positions(oracle_reference: Path, heading: str) -> dict[int, str]:
    """Positions stated in the fact sheet table under `heading` (single columns and runs)."""
    text = (oracle_reference.parent / "oracle-fbdi.md").read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n### ", 1)[0]
    positions: dict[int, str] = {}
    cell = re.compile(
        r"\|\s*(\d+)(?:[–-](\d+))?\s*\|\s*(?:\*\*)?([A-Z][A-Z0-9_]+)(?:\s*…\s*(\d+))?"
    )
    for match in cell.finditer(section):
        start, end, name, last = match.groups()
        if end is None:
            positions[int(start)] = name
            continue
        first_n = int(re.search(r"(\d+)$", name).group(1))  # type: ignore[union-attr]
        prefix = name[: -len(str(first_n))]
        for offset, pos in enumerate(range(int(start), int(end) + 1)):
            positions[pos] = f"{prefix}{first_n + offset}"
        assert last is None or first_n + int(end) - int(start) == int(last)
    return positions


def test_autoinvoice_lines_column_order_matches_the_fact_sheet(oracle_reference: Path) -> None:
    stated = _fact_sheet_positions(oracle_reference, "### 1.3 `RaInterfaceLinesAll.csv`")
    assert len(stated) > 300
    assert len(LINES_COLUMNS) == 371
    for pos, name in stated.items():
        if pos <= 371:
            assert LINES_COLUMNS[pos - 1] == name, pos


def test_autoinvoice_distribution_column_order_matches_the_fact_sheet(
    oracle_reference: Path,
) -> None:
    stated = _fact_sheet_positions(oracle_reference, "### 1.4 `RaInterfaceDistributionsAll.csv`")
    assert len(stated) > 100
    assert len(DISTRIBUTIONS_COLUMNS) == 140
    for pos, name in stated.items():
        if pos <= 140:
            assert DISTRIBUTIONS_COLUMNS[pos - 1] == name, pos


def _invoice_line(
    key: str, amount: str, qty: str | None = None, price: str | None = None, **kw: object
) -> AutoInvoiceLine:
    base: dict[str, object] = {
        "business_unit": "US1 Business Unit",
        "transaction_source": "Amazon Orders",
        "transaction_type": "Amazon Invoice",
        "key": LineKey("AMAZON", ("111-0000001-0000001", key)),
        "line_type": "LINE",
        "description": f"line {key}",
        "currency": "USD",
        "transaction_date": DAY,
        "bill_to_account_number": "AMZ-US",
        "bill_to_site_number": "AMZ-US-BILL",
        "transaction_number": "111-0000001-0000001",
        "payment_terms": "Immediate",
        "amount": D(amount),
        "quantity": D(qty) if qty else None,
        "unit_selling_price": D(price) if price else None,
    }
    base.update(kw)
    return AutoInvoiceLine(**base)  # type: ignore[arg-type]


def test_invoice_and_credit_memo_rows_land_in_their_positions() -> None:
    invoice_line = _invoice_line("MUG-01", "25.00", "2", "12.50")
    credit = _invoice_line(
        "R1-MUG-01",
        "-12.50",
        "-1",
        "12.50",
        transaction_type="Amazon Credit Memo",
        transaction_number="111-0000001-0000001-R1",
        payment_terms=None,
        credits=invoice_line.key,
        credit_reason="Return",
    )
    dists = [
        AutoInvoiceDistribution(
            "US1 Business Unit", invoice_line.key, "REV", ("101", "10", "40100"), amount=D("25.00")
        ),
        AutoInvoiceDistribution(
            "US1 Business Unit", credit.key, "REV", ("101", "10", "40100"), amount=D("-12.50")
        ),
    ]
    files = autoinvoice_files([invoice_line, credit], dists)
    lines = _rows(files["RaInterfaceLinesAll.csv"])
    assert all(len(row) == 372 and row[-1] == "END" for row in lines)
    inv, cm = lines
    col = {name: i for i, name in enumerate(LINES_COLUMNS)}
    assert inv[col["BU_NAME"]] == "US1 Business Unit"
    assert inv[286] == "US1 Business Unit"
    assert inv[col["BATCH_SOURCE_NAME"]] == "Amazon Orders"
    assert inv[col["TRX_DATE"]] == "2026/03/31"
    assert inv[col["AMOUNT"]] == "25.00"
    assert inv[col["QUANTITY"]] == "2"
    assert inv[col["INTERFACE_LINE_CONTEXT"]] == "AMAZON"
    assert inv[col["INTERFACE_LINE_ATTRIBUTE2"]] == "MUG-01"
    assert inv[col["REFERENCE_LINE_CONTEXT"]] == ""
    assert cm[col["AMOUNT"]] == "-12.50"
    assert cm[col["TERM_NAME"]] == ""
    assert cm[col["REFERENCE_LINE_CONTEXT"]] == "AMAZON"
    assert cm[col["REFERENCE_LINE_ATTRIBUTE1"]] == "111-0000001-0000001"
    assert cm[col["REFERENCE_LINE_ATTRIBUTE2"]] == "MUG-01"
    dist_rows = _rows(files["RaInterfaceDistributionsAll.csv"])
    dcol = {name: i for i, name in enumerate(DISTRIBUTIONS_COLUMNS)}
    assert all(len(row) == 141 for row in dist_rows)
    assert dist_rows[0][dcol["ACCOUNT_CLASS"]] == "REV"
    assert dist_rows[0][dcol["INTERFACE_LINE_ATTRIBUTE2"]] == "MUG-01"
    assert dist_rows[0][dcol["SEGMENT3"]] == "40100"
    assert dist_rows[1][98] == "US1 Business Unit"


def test_autoinvoice_refuses_what_oracle_would_reject() -> None:
    line = _invoice_line("A", "10", "1", "10")
    with pytest.raises(FbdiBuildError, match="its own"):
        autoinvoice_files([line, _invoice_line("A", "5")])
    with pytest.raises(FbdiBuildError, match="QUANTITY"):
        _invoice_line("B", "10", "2", "10")
    with pytest.raises(FbdiBuildError, match="non-zero"):
        _invoice_line("C", "0", credits=line.key)
    # A positive credit line is legal: it gives back a promotion (a negative invoice line).
    assert _invoice_line("D", "2", credits=line.key).amount == D(2)
    orphan = AutoInvoiceDistribution(
        "US1 Business Unit", LineKey("AMAZON", ("x",)), "REV", ("1",), amount=D(1)
    )
    with pytest.raises(FbdiBuildError, match="not in the file"):
        autoinvoice_files([line], [orphan])
    with pytest.raises(FbdiBuildError, match="columns"):
        _invoice_line("D", "1", extra={"NOT_A_COLUMN": "x"})


def test_autoinvoice_request_uses_the_receivables_job_and_24_parameters() -> None:
    files = autoinvoice_files([_invoice_line("A", "10", "1", "10")])
    request = autoinvoice_request(
        "ArAutoinvoiceImport_1.zip",
        files,
        AutoInvoiceParameters("US1 Business Unit", "Amazon Orders", DAY),
    )
    body = request.body()
    assert body["DocumentAccount"] == "fin$/receivables$/import$"
    assert body["JobName"].endswith("autoInvoices,AutoInvoiceImportEss")
    params = body["ParameterList"].split(",")
    assert len(params) == 24
    assert params[:3] == ["US1 Business Unit", "Amazon Orders", "2026-03-31"]
    assert params[22] == "Y"
    names = zipfile.ZipFile(io.BytesIO(request.document)).namelist()
    assert names == ["RaInterfaceLinesAll.csv"]
