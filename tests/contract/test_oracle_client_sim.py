"""The Oracle client against the Oracle simulator on a real loopback socket, every operation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ml_connector.errors import AuthError, ConflictError, ConnectionFailedError, ValidationError
from ml_connector.remote.http.redact import Redactor
from ml_connector.remote.http.retry import RetryPolicy
from ml_connector.remote.oracle import (
    AutoInvoiceDistribution,
    AutoInvoiceLine,
    AutoInvoiceParameters,
    BulkImports,
    ClientCredentialsAuth,
    CreditMemoCreate,
    CreditMemoLine,
    FusionClient,
    FusionEndpoint,
    GlInterfaceLine,
    ImportFailed,
    InvoiceCreate,
    InvoiceDistribution,
    InvoiceLine,
    JournalImportParameters,
    JwtUserAssertionAuth,
    LineKey,
    Receivables,
    autoinvoice_files,
    autoinvoice_request,
    gl_interface_csv,
    journal_import_request,
)
from ml_connector_sim.oracle.context import SimOptions
from ml_connector_sim.oracle.faults import Fault, FaultKind
from ml_connector_sim.oracle.server import RunningSim, running_oracle_sim
from ml_connector_sim.oracle.tenant import default_setup

SCOPE = "urn:opc:resource:consumer::all"
LEDGER_ID = "300000046975971"
DAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with running_oracle_sim(options=SimOptions(time_scale=0.01)) as running:
        yield running


@pytest.fixture
def client(sim: RunningSim) -> Iterator[FusionClient]:
    http = httpx.Client(timeout=10.0)
    auth = ClientCredentialsAuth(
        token_url=sim.token_url,
        client_id="ml-connector",
        client_secret="sim-secret-1",
        scope=SCOPE,
        http=http,
        redactor=Redactor(),
    )
    with FusionClient(
        FusionEndpoint.from_base_url(sim.base_url),
        auth,
        http=http,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
    ) as fusion:
        yield fusion
    http.close()


def _invoice(order_id: str, **changes: Any) -> InvoiceCreate:
    fields: dict[str, Any] = {
        "BusinessUnit": "US1 Business Unit",
        "TransactionSource": "Amazon Orders",
        "TransactionType": "Amazon Invoice",
        "TransactionNumber": order_id,
        "TransactionDate": DAY,
        "AccountingDate": DAY,
        "BillToCustomerNumber": "AMZ-US",
        "BillToSite": "AMZ-US-BILL",
        "InvoiceCurrencyCode": "USD",
        "CrossReference": order_id,
        "PaymentTerms": "IMMEDIATE",
        "receivablesInvoiceLines": [
            InvoiceLine(
                LineNumber=1,
                Description="MUG-01",
                Quantity=Decimal(2),
                UnitSellingPrice=Decimal("12.50"),
            ),
            InvoiceLine(
                LineNumber=2,
                Description="Shipping",
                Quantity=Decimal(1),
                UnitSellingPrice=Decimal("4.99"),
            ),
        ],
        "receivablesInvoiceDistributions": [
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
                AccountClass="Receivable",
                AccountCombination="101.00.12100",
                Amount=Decimal("29.99"),
            ),
        ],
    }
    fields.update(changes)
    return InvoiceCreate(**fields)


def _held(sim: RunningSim, number: str) -> int:
    return sum(1 for t in sim.state.transactions.values() if t.number == number)


def test_invoice_is_created_and_found_by_number_and_cross_reference(client: FusionClient) -> None:
    receivables = Receivables(client)
    outcome = receivables.create_or_find_invoice(_invoice("111-0000001-0000011"))
    assert outcome.created
    assert outcome.document.EnteredAmount == Decimal("29.99")
    by_number = receivables.find_invoices(transaction_number="111-0000001-0000011")
    by_ref = receivables.find_invoices(cross_reference="111-0000001-0000011")
    assert [i.CustomerTransactionId for i in by_number] == [outcome.document.CustomerTransactionId]
    assert by_ref == by_number
    assert (
        receivables.get_invoice(outcome.document.CustomerTransactionId).TransactionNumber
        == "111-0000001-0000011"
    )
    again = receivables.create_or_find_invoice(_invoice("111-0000001-0000011"))
    assert not again.created
    assert again.document.CustomerTransactionId == outcome.document.CustomerTransactionId


def test_dropped_connection_after_commit_finds_the_one_invoice(
    sim: RunningSim, client: FusionClient
) -> None:
    sim.add_fault(Fault(FaultKind.DROP_AFTER_COMMIT, path="receivablesInvoices", method="POST"))
    receivables = Receivables(client, sleep=lambda s: None)
    with pytest.raises(ConnectionFailedError):
        receivables.create_invoice(_invoice("111-0000001-0000012"))
    assert _held(sim, "111-0000001-0000012") == 1
    sim.add_fault(Fault(FaultKind.DROP_AFTER_COMMIT, path="receivablesInvoices", method="POST"))
    outcome = receivables.create_or_find_invoice(_invoice("111-0000001-0000013"))
    assert not outcome.created
    assert outcome.document.TransactionNumber == "111-0000001-0000013"
    assert _held(sim, "111-0000001-0000013") == 1


def test_503_before_commit_is_created_after_a_look_up(
    sim: RunningSim, client: FusionClient
) -> None:
    sim.add_fault(Fault(FaultKind.HTTP_503, path="receivablesInvoices", method="POST"))
    outcome = Receivables(client, sleep=lambda s: None).create_or_find_invoice(
        _invoice("111-0000001-0000014")
    )
    assert outcome.created
    assert _held(sim, "111-0000001-0000014") == 1


def test_get_survives_a_429_storm(sim: RunningSim, client: FusionClient) -> None:
    sim.add_fault(Fault(FaultKind.HTTP_429, path="receivablesInvoices", method="GET", times=2))
    assert Receivables(client).find_invoices(transaction_number="999-0000000-0000000") == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"BusinessUnit": "Nowhere BU"}, "business unit"),
        ({"TransactionSource": "No Such Source"}, "transaction source"),
        ({"BillToCustomerNumber": "NOBODY"}, "bill-to customer"),
        ({"BillToSite": "NO-SITE"}, "bill-to site"),
        ({"InvoiceCurrencyCode": "XYZ"}, "currenc"),
        ({"PaymentTerms": "NEVER"}, "payment terms"),
        ({"InvoiceStatus": "Incomplete"}, "complete invoice"),
        ({"TransactionDate": dt.date(2019, 1, 1), "AccountingDate": dt.date(2019, 1, 1)}, "period"),
    ],
)
def test_validation_errors_reach_the_caller_with_oracles_message(
    client: FusionClient, changes: dict[str, Any], message: str
) -> None:
    number = f"VAL-{abs(hash(message)) % 10**8:08d}"
    with pytest.raises(ValidationError) as caught:
        Receivables(client).create_or_find_invoice(_invoice(number, **changes))
    assert message.lower() in caught.value.message.lower()
    assert caught.value.status == 400
    assert caught.value.request_id


def test_unknown_account_is_a_validation_error(client: FusionClient) -> None:
    dists = [
        InvoiceDistribution(
            AccountClass="Revenue",
            AccountCombination="999.99.99999",
            Amount=Decimal("25.00"),
            InvoiceLineNumber=1,
        ),
        InvoiceDistribution(
            AccountClass="Revenue",
            AccountCombination="101.10.40200",
            Amount=Decimal("4.99"),
            InvoiceLineNumber=2,
        ),
    ]
    with pytest.raises(ValidationError, match=r"999\.99\.99999"):
        Receivables(client).create_invoice(
            _invoice("VAL-ACCOUNT-1", receivablesInvoiceDistributions=dists)
        )


def test_duplicate_number_for_another_order_is_a_conflict(client: FusionClient) -> None:
    receivables = Receivables(client)
    receivables.create_invoice(_invoice("111-0000001-0000015"))
    with pytest.raises(ConflictError):
        receivables.create_or_find_invoice(
            _invoice("111-0000001-0000015", CrossReference="OTHER-ORDER")
        )


def test_on_account_credit_memo(sim: RunningSim, client: FusionClient) -> None:
    memo = CreditMemoCreate(
        BusinessUnit="US1 Business Unit",
        TransactionSource="Amazon Orders",
        TransactionType="Amazon Credit Memo",
        TransactionNumber="CM-111-0000001-0016",
        TransactionDate=DAY,
        BillToCustomerNumber="AMZ-US",
        BillToSite="AMZ-US-BILL",
        CreditMemoCurrency="USD",
        CrossReference="111-0000001-0000016",
        receivablesCreditMemoLines=[
            CreditMemoLine(
                LineNumber=1,
                LineDescription="MUG-01 refund",
                LineQuantityCredit=Decimal(1),
                UnitSellingPrice=Decimal("-12.50"),
            )
        ],
    )
    sim.add_fault(Fault(FaultKind.DROP_AFTER_COMMIT, path="receivablesCreditMemos", method="POST"))
    outcome = Receivables(client, sleep=lambda s: None).create_or_find_credit_memo(memo)
    assert not outcome.created
    assert outcome.document.EnteredAmount == Decimal("-12.50")
    assert _held(sim, "CM-111-0000001-0016") == 1


def _journal(group: int, batch: str, cash: str = "10.02") -> list[GlInterfaceLine]:
    common: dict[str, Any] = {
        "ledger_name": "US Primary Ledger",
        "ledger_id": LEDGER_ID,
        "source": "Amazon Settlements",
        "category": "Amazon Settlement",
        "accounting_date": DAY,
        "currency": "USD",
        "batch_name": batch,
        "journal_name": f"{batch} USD",
        "group_id": group,
    }
    return [
        GlInterfaceLine(segments=("101", "00", "10500"), entered_dr=Decimal(cash), **common),
        GlInterfaceLine(segments=("101", "10", "61000"), entered_dr=Decimal("3.75"), **common),
        GlInterfaceLine(
            segments=("101", "00", "12500"), entered_cr=Decimal(cash) + Decimal("3.75"), **common
        ),
    ]


def _imports(client: FusionClient) -> BulkImports:
    return BulkImports(client, poll_interval=0.02, max_wait=20.0)


def test_journal_import_is_read_back_by_batch_name(client: FusionClient) -> None:
    request = journal_import_request(
        "Settlement_7001.zip",
        gl_interface_csv(_journal(7001, "AMZ-SETTLEMENT-7001")),
        JournalImportParameters(source="Amazon Settlements", ledger_id=LEDGER_ID, group_id=7001),
    )
    result = _imports(client).import_journals(request, batch_name="AMZ-SETTLEMENT-7001")
    assert result.outcome.succeeded
    assert len(list(result.outcome.job.walk())) >= 2
    assert [b.BatchName for b in result.batches] == ["AMZ-SETTLEMENT-7001"]


def test_journal_import_whose_child_fails_is_failed_with_the_log(
    sim: RunningSim, client: FusionClient
) -> None:
    sim.add_fault(Fault(FaultKind.ESS_CHILD_ERROR, path="erpintegrations", method="POST"))
    request = journal_import_request(
        "Settlement_7002.zip",
        gl_interface_csv(_journal(7002, "AMZ-SETTLEMENT-7002")),
        JournalImportParameters(source="Amazon Settlements", ledger_id=LEDGER_ID, group_id=7002),
    )
    with pytest.raises(ImportFailed) as caught:
        _imports(client).import_journals(request, batch_name="AMZ-SETTLEMENT-7002")
    outcome = caught.value.outcome
    assert outcome.job.state.value == "SUCCEEDED"  # the parent alone says success
    assert outcome.job.failures()
    assert "ess-child-error" in (outcome.log_excerpt or "")
    assert _imports(client).find_journal_batches("AMZ-SETTLEMENT-7002") == []


def test_journal_import_with_unknown_source_fails_with_oracles_reason(client: FusionClient) -> None:
    request = journal_import_request(
        "Settlement_7003.zip",
        gl_interface_csv(_journal(7003, "AMZ-SETTLEMENT-7003")),
        JournalImportParameters(source="Not A Source", ledger_id=LEDGER_ID, group_id=7003),
    )
    with pytest.raises(ImportFailed, match="Not A Source"):
        _imports(client).import_journals(request, batch_name="AMZ-SETTLEMENT-7003")


def _ai_line(order: str, item: str, amount: str, **kw: Any) -> AutoInvoiceLine:
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
        "payment_terms": "IMMEDIATE",
        "amount": Decimal(amount),
    }
    base.update(kw)
    return AutoInvoiceLine(**base)


def test_autoinvoice_invoice_then_credit_memo_against_it(client: FusionClient) -> None:
    order = "111-0000001-0000021"
    line = _ai_line(
        order, "MUG-01", "25.00", quantity=Decimal(2), unit_selling_price=Decimal("12.50")
    )
    files = autoinvoice_files(
        [line],
        [
            AutoInvoiceDistribution(
                "US1 Business Unit",
                line.key,
                "REV",
                ("101", "10", "40100"),
                amount=Decimal("25.00"),
            )
        ],
    )
    params = AutoInvoiceParameters("US1 Business Unit", "Amazon Orders", DAY)
    result = _imports(client).import_autoinvoice(
        autoinvoice_request("ArAutoinvoiceImport_21.zip", files, params),
        transaction_numbers=[order],
    )
    assert [i.TransactionNumber for i in result.invoices] == [order]
    credit = _ai_line(
        order,
        "R1-MUG-01",
        "-12.50",
        transaction_type="Amazon Credit Memo",
        transaction_number="CM-111-0000001-0021",
        payment_terms=None,
        credits=line.key,
        quantity=Decimal(-1),
        unit_selling_price=Decimal("12.50"),
    )
    cm_files = autoinvoice_files([credit])
    imports = _imports(client)
    rid = imports.submit(autoinvoice_request("ArAutoinvoiceImport_21cm.zip", cm_files, params))
    outcome = imports.wait(rid)
    assert outcome.succeeded, outcome.log_excerpt
    assert Receivables(client).find_credit_memos(transaction_number="CM-111-0000001-0021")


def test_autoinvoice_rejected_rows_are_a_failure_with_the_report(client: FusionClient) -> None:
    line = _ai_line("111-0000001-0000022", "MUG-01", "25.00", bill_to_account_number="NOBODY")
    request = autoinvoice_request(
        "ArAutoinvoiceImport_22.zip",
        autoinvoice_files([line]),
        AutoInvoiceParameters("US1 Business Unit", "Amazon Orders", DAY),
    )
    with pytest.raises(ImportFailed) as caught:
        _imports(client).import_autoinvoice(request, transaction_numbers=["111-0000001-0000022"])
    assert "NOBODY" in (caught.value.outcome.log_excerpt or "")


def test_expired_token_is_refreshed_transparently(sim: RunningSim, client: FusionClient) -> None:
    Receivables(client).find_invoices(transaction_number="999-0000000-0000001")
    sim.expire_tokens()
    assert Receivables(client).find_invoices(transaction_number="999-0000000-0000001") == []


def test_jwt_user_assertion_against_the_identity_domain() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    setup = default_setup()
    setup = setup.model_copy(
        update={"auth": setup.auth.model_copy(update={"jwt_public_key_pem": public.decode()})}
    )
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with running_oracle_sim(setup) as sim, httpx.Client() as http:

        def fusion(key_pem: bytes) -> FusionClient:
            auth = JwtUserAssertionAuth(
                token_url=sim.token_url,
                client_id="ml-connector",
                client_secret="sim-secret-1",
                scope=SCOPE,
                username="AMAZON.INTEGRATION",
                private_key_pem=key_pem,
                key_id="mlc",
                http=http,
                redactor=Redactor(),
            )
            return FusionClient(FusionEndpoint.from_base_url(sim.base_url), auth, http=http)

        assert (
            Receivables(fusion(pem)).find_invoices(transaction_number="999-0000000-0000002") == []
        )
        with pytest.raises(AuthError, match="signature"):
            Receivables(fusion(other)).find_invoices(transaction_number="999-0000000-0000002")
