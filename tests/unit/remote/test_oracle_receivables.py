"""Invoices and credit memos are created at most once, whatever the network does."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError as PayloadError

from ml_connector.errors import ConflictError, ConnectionFailedError, ServerError, ValidationError
from ml_connector.remote.http.redact import Redactor
from ml_connector.remote.http.retry import RetryPolicy
from ml_connector.remote.oracle import (
    BasicAuth,
    CreditMemoCreate,
    CreditMemoLine,
    Flexfield,
    FusionClient,
    FusionEndpoint,
    InvoiceCreate,
    InvoiceDistribution,
    InvoiceLine,
    Receivables,
)

ORDER = "111-0000001-0000001"


def worked_example(
    number: str | None = ORDER, cross_reference: str | None = ORDER
) -> InvoiceCreate:
    """DESIGN.md §4: MUG-01 x 2, shipping, promotion, facilitator tax; total 30.23."""
    lines = [
        InvoiceLine(
            LineNumber=1,
            Description="MUG-01 Mug",
            Quantity=Decimal(2),
            UnitSellingPrice=Decimal("12.50"),
        ),
        InvoiceLine(
            LineNumber=2,
            Description="Shipping",
            Quantity=Decimal(1),
            UnitSellingPrice=Decimal("4.99"),
        ),
        InvoiceLine(
            LineNumber=3,
            Description="Promotion",
            Quantity=Decimal(1),
            UnitSellingPrice=Decimal("-2.00"),
        ),
        InvoiceLine(
            LineNumber=4,
            Description="Marketplace facilitator tax",
            Quantity=Decimal(1),
            UnitSellingPrice=Decimal("2.24"),
        ),
    ]
    dists = [
        InvoiceDistribution(
            AccountClass="Revenue",
            AccountCombination="101.10.40100",
            Amount=Decimal("25.00"),
            InvoiceLineNumber=1,
        ),
        InvoiceDistribution(
            AccountClass="Revenue",
            AccountCombination="101.10.40200",
            Amount=Decimal("4.99"),
            InvoiceLineNumber=2,
        ),
        InvoiceDistribution(
            AccountClass="Revenue",
            AccountCombination="101.10.40900",
            Amount=Decimal("-2.00"),
            InvoiceLineNumber=3,
        ),
        InvoiceDistribution(
            AccountClass="Revenue",
            AccountCombination="101.00.21500",
            Amount=Decimal("2.24"),
            InvoiceLineNumber=4,
        ),
        InvoiceDistribution(
            AccountClass="Receivable", AccountCombination="101.00.12100", Amount=Decimal("30.23")
        ),
    ]
    return InvoiceCreate(
        BusinessUnit="US1 Business Unit",
        TransactionSource="Amazon Orders",
        TransactionType="Amazon Invoice",
        TransactionNumber=number,
        TransactionDate=dt.date(2026, 3, 2),
        AccountingDate=dt.date(2026, 3, 2),
        BillToCustomerNumber="AMZ-US",
        BillToSite="AMZ-US-BILL",
        InvoiceCurrencyCode="USD",
        ConversionRateType="Corporate",
        CrossReference=cross_reference,
        PaymentTerms="Immediate",
        receivablesInvoiceLines=lines,
        receivablesInvoiceDistributions=dists,
        receivablesInvoiceDFF=[
            Flexfield(context="AMAZON", segments={"marketplace": "ATVPDKIKX0DER"})
        ],
    )


class FakeReceivables:
    """Just enough of receivablesInvoices to test the at-most-once loop."""

    def __init__(self, faults: list[str]) -> None:
        self.faults = faults
        self.invoices: list[dict[str, Any]] = []
        self.posts = 0
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.posts += 1
            body = json.loads(request.content)
            self.bodies.append(body)
            fault = self.faults.pop(0) if self.faults else "ok"
            if fault == "5xx-before":
                return httpx.Response(502, text="Bad Gateway")
            if fault == "timeout-before":
                raise httpx.ConnectTimeout("connect", request=request)
            if any(
                inv["TransactionNumber"] == body.get("TransactionNumber") for inv in self.invoices
            ):
                return httpx.Response(
                    400,
                    json={
                        "title": "Bad Request",
                        "o:errorDetails": [
                            {
                                "detail": "This transaction number already exists.",
                                "o:errorCode": "SIM_DUP",
                            }
                        ],
                    },
                )
            invoice = {**body, "CustomerTransactionId": 300000000000001 + len(self.invoices)}
            self.invoices.append(invoice)
            if fault == "drop-after":
                raise httpx.RemoteProtocolError("Server disconnected", request=request)
            return httpx.Response(201, json=invoice)
        finder = request.url.params.get("finder", "")
        q = request.url.params.get("q", "")
        matches = [
            inv
            for inv in self.invoices
            if (finder and f"TransactionNumber={inv['TransactionNumber']}" in finder)
            or (q and f"CrossReference='{inv.get('CrossReference')}'" == q)
        ]
        return httpx.Response(200, json={"items": matches, "count": len(matches), "hasMore": False})


def _receivables(fake: FakeReceivables) -> Receivables:
    client = FusionClient(
        FusionEndpoint.from_base_url("http://127.0.0.1:8000"),
        BasicAuth("u", "pw-123456", redactor=Redactor()),
        http=httpx.Client(transport=httpx.MockTransport(fake)),
        retry=RetryPolicy(sleep=lambda s: None),
    )
    return Receivables(client, sleep=lambda s: None)


def test_deep_post_carries_lines_distributions_and_dff_with_oracle_names() -> None:
    fake = FakeReceivables([])
    outcome = _receivables(fake).create_or_find_invoice(worked_example())
    assert outcome.created
    assert outcome.document.CustomerTransactionId == "300000000000001"
    body = fake.bodies[0]
    assert body["TransactionNumber"] == ORDER
    assert body["TransactionDate"] == "2026-03-02"
    assert body["receivablesInvoiceLines"][0] == {
        "LineNumber": 1,
        "Description": "MUG-01 Mug",
        "Quantity": 2,
        "UnitSellingPrice": 12.5,
    }
    assert body["receivablesInvoiceDistributions"][-1] == {
        "AccountClass": "Receivable",
        "AccountCombination": "101.00.12100",
        "Amount": 30.23,
    }
    assert body["receivablesInvoiceDFF"] == [
        {"marketplace": "ATVPDKIKX0DER", "__FLEX_Context": "AMAZON"}
    ]
    assert body["InvoiceStatus"] == "Complete"


@pytest.mark.parametrize("fault", ["drop-after"])
def test_connection_dropped_after_commit_returns_the_existing_invoice(fault: str) -> None:
    fake = FakeReceivables([fault])
    outcome = _receivables(fake).create_or_find_invoice(worked_example())
    assert not outcome.created
    assert outcome.document.TransactionNumber == ORDER
    assert len(fake.invoices) == 1
    assert fake.posts == 1


@pytest.mark.parametrize("fault", ["5xx-before", "timeout-before"])
def test_failure_before_commit_is_looked_up_then_created(fault: str) -> None:
    fake = FakeReceivables([fault])
    outcome = _receivables(fake).create_or_find_invoice(worked_example())
    assert outcome.created
    assert len(fake.invoices) == 1
    assert fake.posts == 2


def test_lookup_by_cross_reference_when_there_is_no_number() -> None:
    fake = FakeReceivables(["drop-after"])
    outcome = _receivables(fake).create_or_find_invoice(worked_example(number=None))
    assert not outcome.created
    assert len(fake.invoices) == 1


def test_duplicate_rejection_for_our_own_earlier_invoice_is_found_not_raised() -> None:
    fake = FakeReceivables([])
    receivables = _receivables(fake)
    receivables.create_invoice(worked_example())
    outcome = receivables.create_or_find_invoice(worked_example())
    assert not outcome.created
    assert len(fake.invoices) == 1


def test_number_held_by_another_document_is_a_conflict() -> None:
    fake = FakeReceivables([])
    receivables = _receivables(fake)
    receivables.create_invoice(worked_example(cross_reference="222-0000000-0000000"))
    with pytest.raises(ConflictError, match="CrossReference"):
        receivables.create_or_find_invoice(worked_example())


def test_persistent_outage_raises_the_transient_error_after_bounded_attempts() -> None:
    fake = FakeReceivables(["5xx-before"] * 10)
    with pytest.raises(ServerError):
        _receivables(fake).create_or_find_invoice(worked_example())
    assert fake.posts == 3
    assert fake.invoices == []


def test_plain_create_is_never_retried() -> None:
    fake = FakeReceivables(["timeout-before"])
    with pytest.raises(ConnectionFailedError):
        _receivables(fake).create_invoice(worked_example())
    assert fake.posts == 1


def test_real_validation_errors_reach_the_caller() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(400, text="The customer bill-to site you entered doesn't exist.")
        return httpx.Response(200, json={"items": [], "hasMore": False})

    client = FusionClient(
        FusionEndpoint.from_base_url("http://127.0.0.1:8000"),
        BasicAuth("u", "pw-123456"),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(ValidationError, match="bill-to site you entered doesn't exist"):
        Receivables(client).create_or_find_invoice(worked_example())


def test_payload_model_refuses_mistakes_before_oracle_sees_them() -> None:
    good = worked_example().model_dump()
    bad = dict(good)
    bad["receivablesInvoiceDistributions"] = [
        *good["receivablesInvoiceDistributions"][:-1],
        {**good["receivablesInvoiceDistributions"][-1], "Amount": Decimal("30.00")},
    ]
    with pytest.raises(PayloadError, match="Receivable"):
        InvoiceCreate.model_validate(bad)
    with pytest.raises(PayloadError):
        InvoiceCreate.model_validate({**good, "PaymentTermsName": "Immediate"})
    with pytest.raises(PayloadError):
        InvoiceCreate.model_validate({**good, "InvoiceCurrencyCode": "usd"})
    with pytest.raises(ValueError, match="neither"):
        _ = worked_example(number=None, cross_reference=None).lookup_key


def test_keys_that_would_change_the_query_are_refused() -> None:
    fake = FakeReceivables([])
    with pytest.raises(ValueError, match="id-like"):
        _receivables(fake).find_invoices(cross_reference="x' or CrossReference like '%")


def test_on_account_credit_memo_is_created_once() -> None:
    calls: list[str] = []
    memos: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path.rsplit('/', 1)[-1]}")
        if request.method == "POST":
            memo = {
                **json.loads(request.content),
                "CustomerTransactionId": 300000000000099,
                "EnteredAmount": -12.5,
            }
            memos.append(memo)
            raise httpx.ReadTimeout("lost", request=request)
        q = request.url.params["q"]
        items = [m for m in memos if f"TransactionNumber='{m['TransactionNumber']}'" == q]
        return httpx.Response(200, json={"items": items, "hasMore": False})

    client = FusionClient(
        FusionEndpoint.from_base_url("http://127.0.0.1:8000"),
        BasicAuth("u", "pw-123456"),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    memo = CreditMemoCreate(
        BusinessUnit="US1 Business Unit",
        TransactionSource="Amazon Orders",
        TransactionType="Amazon Credit Memo",
        TransactionNumber="R1-111-0000001-0001",
        TransactionDate=dt.date(2026, 3, 9),
        BillToCustomerNumber="AMZ-US",
        BillToSite="AMZ-US-BILL",
        CreditMemoCurrency="USD",
        CrossReference=ORDER,
        receivablesCreditMemoLines=[
            CreditMemoLine(
                LineNumber=1,
                LineDescription="MUG-01 refund",
                LineQuantityCredit=Decimal(1),
                UnitSellingPrice=Decimal("-12.50"),
            )
        ],
    )
    outcome = Receivables(client, sleep=lambda s: None).create_or_find_credit_memo(memo)
    assert not outcome.created
    assert outcome.document.EnteredAmount == Decimal("-12.5")
    assert calls == ["POST receivablesCreditMemos", "GET receivablesCreditMemos"]
