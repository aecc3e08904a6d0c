"""The Oracle simulator's tax engine and revenue rules: tax classification codes compute the tax
of a line (inclusive or on top), rules are checked together, and a credit memo of a ruled
invoice line needs a credit method. Over real HTTP, and through the connector's own client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.documents import CustomerRef, InvoiceDoc, InvoiceLine, LineKind
from ml_connector.flow.post.oracle_docs import PostingProfile, invoice_payload
from ml_connector.remote.http.redact import Redactor
from ml_connector.remote.http.retry import RetryPolicy
from ml_connector.remote.oracle import (
    AutoInvoiceDistribution,
    AutoInvoiceLine,
    AutoInvoiceParameters,
    BulkImports,
    ClientCredentialsAuth,
    FusionClient,
    FusionEndpoint,
    ImportFailed,
    LineKey,
    Receivables,
    autoinvoice_files,
    autoinvoice_request,
)
from ml_connector.remote.oracle.autoinvoice_columns import LINES_COLUMNS
from ml_connector_sim.oracle import RunningSim, default_setup, running_oracle_sim
from ml_connector_sim.oracle.autoinvoice import LINE_POS
from ml_connector_sim.oracle.context import SimOptions
from ml_connector_sim.oracle.tax_rules import line_tax

DAY = dt.date(2026, 3, 2)
REST_VERSION_4 = {"REST-Framework-Version": "4"}


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with running_oracle_sim(options=SimOptions(time_scale=0.01)) as running:
        yield running


@pytest.fixture
def http(sim: RunningSim) -> Iterator[httpx.Client]:
    token = httpx.post(
        sim.token_url,
        data={"grant_type": "client_credentials", "scope": "urn:opc:resource:consumer::all"},
        auth=("ml-connector", "secret"),
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", **REST_VERSION_4}
    with httpx.Client(base_url=sim.rest_url, headers=headers) as c:
        yield c


@pytest.fixture
def fusion(sim: RunningSim) -> Iterator[FusionClient]:
    transport = httpx.Client(timeout=10.0)
    auth = ClientCredentialsAuth(
        token_url=sim.token_url,
        client_id="ml-connector",
        client_secret="sim-secret-1",
        scope="urn:opc:resource:consumer::all",
        http=transport,
        redactor=Redactor(),
    )
    with FusionClient(
        FusionEndpoint.from_base_url(sim.base_url),
        auth,
        http=transport,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
    ) as client:
        yield client
    transport.close()


def _body(number: str, lines: list[dict[str, Any]], **header: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "BusinessUnit": "US1 Business Unit",
        "TransactionSource": "Amazon Orders",
        "TransactionType": "Amazon Invoice",
        "TransactionNumber": number,
        "TransactionDate": DAY.isoformat(),
        "BillToCustomerNumber": "AMZ-US",
        "InvoiceCurrencyCode": "USD",
        "receivablesInvoiceLines": lines,
    }
    body.update(header)
    return body


def _line(number: int, amount: str, **fields: Any) -> dict[str, Any]:
    return {"LineNumber": number, "Description": "Mug", "LineAmount": amount, **fields}


def _revenue(line: int, **share: Any) -> dict[str, Any]:
    return {
        "AccountClass": "Revenue",
        "AccountCombination": "101.10.40100",
        "InvoiceLineNumber": line,
        **share,
    }


def _error(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 400, response.text
    detail = response.json()["o:errorDetails"][0]
    return detail["o:errorCode"], detail["detail"]


def test_tax_inclusive_line_books_net_revenue_and_the_computed_tax(
    http: httpx.Client,
) -> None:
    body = _body(
        "SIM-TAX-0001",
        [_line(1, "59.99", TaxClassificationCode="VAT20", LineAmountIncludesTax="Y")],
        receivablesInvoiceDistributions=[
            _revenue(1, Percent=100),
            {"AccountClass": "Receivable", "AccountCombination": "101.00.12100", "Amount": 59.99},
        ],
    )
    created = http.post("/receivablesInvoices", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["EnteredAmount"] == pytest.approx(59.99)
    read = http.get(
        f"/receivablesInvoices/{created.json()['CustomerTransactionId']}",
        params={"expand": "all"},
    ).json()
    line = read["receivablesInvoiceLines"]["items"][0]
    tax_line = line["receivablesInvoiceLineTaxLines"]["items"][0]
    assert (tax_line["TaxAmount"], tax_line["TaxableAmount"]) == (10.0, 49.99)
    assert tax_line["TaxInclusiveIndicator"] == "Y"
    dists = {
        (d["AccountClass"], d["AccountCombination"]): d["Amount"]
        for d in read["receivablesInvoiceDistributions"]["items"]
    }
    assert dists == {
        ("Revenue", "101.10.40100"): 49.99,
        ("Tax", "101.00.21600"): 10.0,
        ("Receivable", "101.00.12100"): 59.99,
    }


def test_tax_exclusive_code_adds_the_tax_on_top(http: httpx.Client) -> None:
    body = _body(
        "SIM-TAX-0002",
        [_line(1, "50.00", TaxClassificationCode="VAT20", LineAmountIncludesTax="N")],
    )
    created = http.post("/receivablesInvoices", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["EnteredAmount"] == pytest.approx(60.00)


@pytest.mark.parametrize(
    ("line", "code", "text"),
    [
        (
            {"TaxClassificationCode": "VAT99", "LineAmountIncludesTax": "Y"},
            "SIM_ZX_TAX_CLASSIFICATION_INVALID",
            "The tax classification code VAT99 on line 1 isn't valid.",
        ),
        (
            {"LineAmountIncludesTax": "Y"},
            "SIM_ZX_INCLUSIVE_WITHOUT_CODE",
            "Line 1 includes tax in its amount but has no tax classification code to calculate "
            "that tax.",
        ),
        (
            {"TaxClassificationCode": "VAT20", "LineAmountIncludesTax": "Maybe"},
            "SIM_ZX_INCLUSIVE_FLAG_INVALID",
            "The value Maybe of LineAmountIncludesTax on line 1 isn't valid. Enter Y or N.",
        ),
    ],
)
def test_tax_coding_oracle_cannot_compute_is_refused_and_not_stored(
    http: httpx.Client, sim: RunningSim, line: dict[str, Any], code: str, text: str
) -> None:
    before = len(sim.state.transactions)
    response = http.post(
        "/receivablesInvoices", json=_body("SIM-TAX-0003", [_line(1, "59.99", **line)])
    )
    assert _error(response) == (code, text)
    assert len(sim.state.transactions) == before


def test_gross_revenue_amount_on_a_tax_inclusive_line_is_refused(http: httpx.Client) -> None:
    body = _body(
        "SIM-TAX-0004",
        [_line(1, "59.99", TaxClassificationCode="VAT20", LineAmountIncludesTax="Y")],
        receivablesInvoiceDistributions=[_revenue(1, Amount=59.99)],
    )
    code, text = _error(http.post("/receivablesInvoices", json=body))
    assert code == "SIM_AR_REV_DIST_TOTAL"
    assert "total 59.99, but the line's revenue is 49.99 after tax of 10.00 (VAT20)" in text


@pytest.mark.parametrize(
    ("header", "line", "code", "text"),
    [
        (
            {},
            {"AccountingRule": "12 Months Fixed"},
            "SIM_AR_INVOICING_RULE_REQUIRED",
            "Line 1 has the revenue scheduling rule 12 Months Fixed, so the transaction needs "
            "an invoicing rule.",
        ),
        (
            {"InvoicingRule": "In Advance"},
            {},
            "SIM_AR_ACCOUNTING_RULE_REQUIRED",
            "The transaction has the invoicing rule In Advance, so its lines need a revenue "
            "scheduling rule.",
        ),
        (
            {"InvoicingRule": "Sometimes"},
            {"AccountingRule": "12 Months Fixed"},
            "SIM_AR_INVOICING_RULE_INVALID",
            "The invoicing rule Sometimes doesn't exist.",
        ),
        (
            {"InvoicingRule": "In Advance"},
            {"AccountingRule": "Fortnightly"},
            "SIM_AR_ACCOUNTING_RULE_INVALID",
            "The revenue scheduling rule Fortnightly on line 1 doesn't exist.",
        ),
        (
            {"InvoicingRule": "In Arrears"},
            {"AccountingRule": "Variable Monthly"},
            "SIM_AR_RULE_DURATION_REQUIRED",
            "The revenue scheduling rule Variable Monthly on line 1 has a variable schedule: "
            "enter its number of periods (AccountingRuleDuration).",
        ),
    ],
)
def test_rules_are_checked_together(
    http: httpx.Client, header: dict[str, Any], line: dict[str, Any], code: str, text: str
) -> None:
    body = _body("SIM-RULE-0001", [_line(1, "120.00", **line)], **header)
    assert _error(http.post("/receivablesInvoices", json=body)) == (code, text)


def test_ruled_invoice_is_created_with_its_rules(http: httpx.Client) -> None:
    line = _line(
        1,
        "120.00",
        AccountingRule="Variable Monthly",
        AccountingRuleDuration=6,
        RuleStartDate=DAY.isoformat(),
    )
    body = _body("SIM-RULE-0002", [line], InvoicingRule="In Arrears")
    created = http.post("/receivablesInvoices", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["InvoicingRule"] == "In Arrears"
    read = http.get(
        f"/receivablesInvoices/{created.json()['CustomerTransactionId']}",
        params={"expand": "receivablesInvoiceLines"},
    ).json()
    stored = read["receivablesInvoiceLines"]["items"][0]
    assert (stored["AccountingRule"], stored["AccountingRuleDuration"]) == ("Variable Monthly", 6)


def test_rounding_follows_the_currency() -> None:
    setup = default_setup()
    yen, _ = line_tax(setup, 1, "VAT10", "Y", Decimal(1099), "JPY")
    euro, _ = line_tax(setup, 1, "VAT5.5", "Y", Decimal("10.00"), "EUR")
    assert yen is not None
    assert (yen.tax, yen.revenue) == (Decimal(100), Decimal(999))  # 1099 × 10/110 = 99.9…
    assert euro is not None
    assert (euro.tax, euro.revenue) == (Decimal("0.52"), Decimal("9.48"))  # 10 × 5.5/105.5


def _account(natural: str) -> AccountCombination:
    return AccountCombination((("company", "101"), ("cost_center", "10"), ("account", natural)))


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


def test_connector_posts_a_vat_inclusive_eur_invoice_oracle_splits(
    fusion: FusionClient, sim: RunningSim
) -> None:
    order = "402-0000001-0000001"
    vat = {"tax_classification_code": "VAT20", "amount_includes_tax": True}
    doc = InvoiceDoc(
        key=f"invoice:{order}",  # type: ignore[arg-type]
        transaction_number=order,
        amazon_order_id=order,  # type: ignore[arg-type]
        marketplace_id="A13V1IB3VIYZZH",  # type: ignore[arg-type]
        customer=CustomerRef("AMZ-FR", "AMZ-FR-BILL"),
        currency="EUR",
        transaction_date=DAY,
        accounting_date=DAY,
        receivable_account=_account("12100"),
        lines=(
            InvoiceLine(
                1, LineKind.ITEM, "Mug", Decimal("59.99"), _account("40100"), "MUG-01",
                1, Decimal("59.99"), **vat,  # type: ignore[arg-type]
            ),
            InvoiceLine(
                2, LineKind.SHIPPING, "Shipping", Decimal("4.99"), _account("40200"), "MUG-01",
                **vat,  # type: ignore[arg-type]
            ),
        ),
    )  # fmt: skip
    outcome = Receivables(fusion).create_or_find_invoice(invoice_payload(doc, PROFILE))
    assert outcome.created
    assert outcome.document.EnteredAmount == Decimal("64.98")
    stored = next(t for t in sim.state.transactions.values() if t.number == order)
    booked = sorted(
        (d["AccountClass"], d["AccountCombination"], d["Amount"]) for d in stored.distributions
    )
    # 59.99 × 20/120 = 9.998… → 10.00 and 4.99 × 20/120 = 0.8316… → 0.83, both on the rate's
    # tax account; revenue is what is left of each gross amount.
    assert booked == [
        ("Receivable", "101.10.12100", Decimal("64.98")),
        ("Revenue", "101.10.40100", Decimal("49.99")),
        ("Revenue", "101.10.40200", Decimal("4.16")),
        ("Tax", "101.00.21600", Decimal("0.83")),
        ("Tax", "101.00.21600", Decimal("10.00")),
    ]


def test_connector_posts_a_ruled_invoice_oracle_accepts(
    fusion: FusionClient, sim: RunningSim
) -> None:
    order = "111-0000008-0000001"
    doc = InvoiceDoc(
        key=f"invoice:{order}",  # type: ignore[arg-type]
        transaction_number=order,
        amazon_order_id=order,  # type: ignore[arg-type]
        marketplace_id="ATVPDKIKX0DER",  # type: ignore[arg-type]
        customer=CustomerRef("AMZ-US", "AMZ-US-BILL"),
        currency="USD",
        transaction_date=DAY,
        accounting_date=DAY,
        receivable_account=_account("12100"),
        lines=(
            InvoiceLine(
                1, LineKind.ITEM, "Warranty", Decimal("120.00"), _account("40100"), "WAR-12",
                1, Decimal("120.00"), accounting_rule="12 Months Fixed",
            ),
        ),
        invoicing_rule="In Advance",
    )  # fmt: skip
    outcome = Receivables(fusion).create_or_find_invoice(invoice_payload(doc, PROFILE))
    assert outcome.created
    stored = next(t for t in sim.state.transactions.values() if t.number == order)
    assert stored.header["InvoicingRule"] == "In Advance"
    assert (stored.lines[0]["AccountingRule"], stored.lines[0]["RuleStartDate"]) == (
        "12 Months Fixed",
        DAY.isoformat(),
    )
    revenue = [d for d in stored.distributions if d["AccountClass"] == "Revenue"]
    assert [(d["Percent"], d["Amount"]) for d in revenue] == [(100, Decimal("120.00"))]


def _ai(order: str, item: str, amount: str, **kw: Any) -> AutoInvoiceLine:
    base: dict[str, Any] = {
        "business_unit": "US1 Business Unit",
        "transaction_source": "Amazon Orders",
        "transaction_type": "Amazon Invoice",
        "key": LineKey("AMAZON", (order, item)),
        "line_type": "LINE",
        "description": item,
        "currency": "USD",
        "transaction_date": DAY,
        "bill_to_account_number": "AMZ-US",
        "bill_to_site_number": "AMZ-US-BILL",
        "transaction_number": order,
        "amount": Decimal(amount),
    }
    base.update(kw)
    return AutoInvoiceLine(**base)


def _import(fusion: FusionClient, name: str, lines: list[AutoInvoiceLine], **kw: Any) -> Any:
    dists: list[AutoInvoiceDistribution] = kw.pop("dists", [])
    request = autoinvoice_request(
        name,
        autoinvoice_files(lines, dists),
        AutoInvoiceParameters("US1 Business Unit", "Amazon Orders", DAY),
    )
    return BulkImports(fusion, poll_interval=0.02, max_wait=20.0).import_autoinvoice(
        request, transaction_numbers=[lines[0].transaction_number or ""]
    )


def test_credit_memo_of_a_ruled_invoice_line_needs_a_credit_method(fusion: FusionClient) -> None:
    order = "111-0000009-0000001"
    ruled = _ai(
        order, "SUB-12", "120.00", invoicing_rule="In Advance", accounting_rule="12 Months Fixed"
    )
    assert [i.TransactionNumber for i in _import(fusion, "Ruled_1.zip", [ruled]).invoices] == [
        order
    ]
    credit = {
        "transaction_type": "Amazon Credit Memo",
        "credits": ruled.key,
        "transaction_number": "CM-111-0000009-01",
    }
    without = _ai(order, "R1-SUB-12", "-120.00", **credit)
    with pytest.raises(ImportFailed) as refused:
        _import(fusion, "Ruled_1cm.zip", [without])
    assert (
        "The credited transaction line has a revenue scheduling rule: enter PRORATE, LIFO or "
        "UNIT in CREDIT_METHOD_FOR_ACCT_RULE." in (refused.value.outcome.log_excerpt or "")
    )
    prorated = _ai(order, "R2-SUB-12", "-120.00", credit_method_for_rules="PRORATE", **credit)
    _import(fusion, "Ruled_2cm.zip", [prorated])
    assert Receivables(fusion).find_credit_memos(transaction_number="CM-111-0000009-01")


def test_autoinvoice_credit_of_a_tax_inclusive_line_takes_the_tax_out(
    fusion: FusionClient, sim: RunningSim
) -> None:
    order = "111-0000009-0000002"
    vat = {"tax_code": "VAT20", "amount_includes_tax": True}
    line = _ai(order, "MUG-01", "59.99", **vat)
    rev = ("101", "10", "40100")
    share = {"percent": Decimal(100)}
    _import(
        fusion,
        "Vat_1.zip",
        [line],
        dists=[AutoInvoiceDistribution("US1 Business Unit", line.key, "REV", rev, **share)],
    )
    credit = _ai(
        order,
        "R1-MUG-01",
        "-59.99",
        transaction_type="Amazon Credit Memo",
        transaction_number="CM-111-0000009-02",
        credits=line.key,
        **vat,
    )
    _import(
        fusion,
        "Vat_1cm.zip",
        [credit],
        dists=[AutoInvoiceDistribution("US1 Business Unit", credit.key, "REV", rev, **share)],
    )
    memo = next(t for t in sim.state.transactions.values() if t.number == "CM-111-0000009-02")
    booked = sorted((d["AccountClass"], d["Amount"]) for d in memo.distributions)
    assert booked == [("Revenue", Decimal("-49.99")), ("Tax", Decimal("-10.00"))]
    assert memo.amount == Decimal("-59.99")


def test_simulator_reads_the_tax_and_rule_columns_where_the_connector_writes_them() -> None:
    """Both spell the template's positions independently (oracle-fbdi.md §1.3)."""
    for name, position in LINE_POS.items():
        assert LINES_COLUMNS[position - 1] == name, name
