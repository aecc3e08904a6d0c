"""The client against a simulator that tells the truth: the documented ESS tree, every rare ESS
state, per-row reasons, FBDI/REST violations rejected the way a pod rejects them, and 3xx."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ml_connector.errors import ValidationError
from ml_connector.remote.http.outcome import RedirectedError
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
    GlInterfaceLine,
    ImportFailed,
    InvoiceCreate,
    InvoiceDistribution,
    InvoiceLine,
    InvoiceLineTaxLine,
    JournalImportParameters,
    LineKey,
    Receivables,
    autoinvoice_files,
    autoinvoice_request,
    gl_interface_csv,
    journal_import_request,
)
from ml_connector.remote.oracle.autoinvoice_columns import LINES_COLUMNS
from ml_connector.remote.oracle.bulk import BulkImportRequest, zip_files
from ml_connector.remote.oracle.ess import EssState, Verdict
from ml_connector.remote.oracle.fbdi_autoinvoice import LINES_CSV
from ml_connector.remote.oracle.fbdi_gl import gl_interface_columns
from ml_connector.remote.oracle.imports import ImportNeedsAttention
from ml_connector_sim.oracle.autoinvoice import TAX_NOT_LINKED
from ml_connector_sim.oracle.context import SimOptions
from ml_connector_sim.oracle.erpintegrations import ESS_STATE_FAULTS
from ml_connector_sim.oracle.faults import Fault, FaultKind
from ml_connector_sim.oracle.server import RunningSim, running_oracle_sim

SCOPE = "urn:opc:resource:consumer::all"
LEDGER_ID = "300000046975971"
DAY = dt.date(2026, 3, 2)
PARAMS = AutoInvoiceParameters("US1 Business Unit", "Amazon Orders", DAY)


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


def _imports(client: FusionClient) -> BulkImports:
    return BulkImports(client, poll_interval=0.02, max_wait=20.0)


def _journal(group: int, batch: str) -> list[GlInterfaceLine]:
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
        "references": {21: str(group)},
    }
    return [
        GlInterfaceLine(segments=("101", "00", "10500"), entered_dr=Decimal("10.02"), **common),
        GlInterfaceLine(segments=("101", "00", "12500"), entered_cr=Decimal("10.02"), **common),
    ]


def _journal_request(group: int, batch: str, **override: str) -> BulkImportRequest:
    """A Journal Import request; `override` sets raw column values (to build violations)."""
    rows = _journal(group, batch)
    if not override:
        csv_bytes = gl_interface_csv(rows)
    else:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        for row in rows:
            values = row.columns() | override
            writer.writerow([values.get(c, "") for c in gl_interface_columns()] + ["END"])
        csv_bytes = out.getvalue().encode()
    params = JournalImportParameters("Amazon Settlements", LEDGER_ID, group)
    return journal_import_request(f"Settlement_{group}.zip", csv_bytes, params)


def _batches(sim: RunningSim, name: str) -> int:
    return sum(b.name == name for b in sim.state.journal_batches)


# -- the documented tree, every rare state ----------------------------------------------------

_EXPECTED = {
    kind: (
        Verdict.NEEDS_ATTENTION
        if final in ("HOLD", "ERROR_MANUAL_RECOVERY", "UNKNOWN")
        else Verdict.SUCCEEDED
        if creates
        else Verdict.FAILED
    )
    for kind, (_running, final, creates) in ESS_STATE_FAULTS.items()
}


@pytest.mark.parametrize("kind", sorted(ESS_STATE_FAULTS, key=str))
def test_every_rare_ess_state_of_the_import_child_is_judged(
    sim: RunningSim, client: FusionClient, kind: FaultKind
) -> None:
    group = 8100 + sorted(ESS_STATE_FAULTS, key=str).index(kind)
    batch = f"AMZ-STATE-{group}"
    sim.add_fault(Fault(kind, path="erpintegrations", method="POST"))
    running, final, _creates = ESS_STATE_FAULTS[kind]
    imports = _imports(client)
    request = _journal_request(group, batch)
    expected = _EXPECTED[kind]
    if expected is Verdict.NEEDS_ATTENTION:
        with pytest.raises(ImportNeedsAttention) as caught:
            imports.import_journals(request, batch_name=batch)
        assert caught.value.states[0].value == final
        assert _batches(sim, batch) == 0
    elif expected is Verdict.FAILED:
        with pytest.raises(ImportFailed) as caught_failed:
            imports.import_journals(request, batch_name=batch)
        assert kind.value in (caught_failed.value.outcome.log_excerpt or "")
        assert _batches(sim, batch) == 0
    else:
        result = imports.import_journals(request, batch_name=batch)
        assert [b.BatchName for b in result.batches] == [batch]
    job = next(j for j in sim.state.ess_jobs if j.definition == "JournalImport" and
               j.log.find(f"group id={group}") >= 0)  # fmt: skip
    assert job.running_status == running


def test_an_import_run_as_its_own_request_is_found_and_judged(
    sim: RunningSim, client: FusionClient
) -> None:
    sim.add_fault(Fault(FaultKind.ESS_DETACHED_IMPORT, path="erpintegrations", method="POST"))
    result = _imports(client).import_journals(
        _journal_request(8201, "AMZ-D-8201"), batch_name="AMZ-D-8201"
    )
    assert [j.name for j in result.outcome.job.imports()] == ["Journal Import"]
    sim.add_fault(Fault(FaultKind.ESS_DETACHED_IMPORT, path="erpintegrations", method="POST"))
    sim.add_fault(Fault(FaultKind.ESS_ERROR_MANUAL_RECOVERY, path="erpintegrations", method="POST"))
    with pytest.raises(ImportNeedsAttention):
        _imports(client).import_journals(
            _journal_request(8202, "AMZ-D-8202"), batch_name="AMZ-D-8202"
        )


# -- FBDI and REST violations, rejected with Oracle's reason per row ----------------------------


def test_journal_rows_without_creation_date_are_rejected_with_the_reason(
    sim: RunningSim, client: FusionClient
) -> None:
    request = _journal_request(8301, "AMZ-V-8301", DATE_CREATED="")
    with pytest.raises(ImportFailed) as caught:
        _imports(client).import_journals(request, batch_name="AMZ-V-8301")
    reasons = caught.value.reasons_for("AMZ-V-8301")
    assert [r.row for r in reasons] == ["1", "2"]
    assert "DATE_CREATED (Journal Entry Creation Date) is empty" in reasons[0].reason
    assert "Journal Entry Creation Date" in str(caught.value)
    assert _batches(sim, "AMZ-V-8301") == 0


def test_a_non_flag_reversal_value_is_rejected(sim: RunningSim, client: FusionClient) -> None:
    request = _journal_request(8302, "AMZ-V-8302", REFERENCE7="12345")  # a group id, not Y/N
    with pytest.raises(ImportFailed) as caught:
        _imports(client).import_journals(request, batch_name="AMZ-V-8302")
    assert "REFERENCE7 must be Y or N; found '12345'" in str(caught.value)
    good = _journal_request(8303, "AMZ-V-8303")
    assert _imports(client).import_journals(good, batch_name="AMZ-V-8303").batches


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


def _dist(line: AutoInvoiceLine, account_class: str, account: str) -> AutoInvoiceDistribution:
    return AutoInvoiceDistribution(
        "US1 Business Unit",
        line.key,
        account_class,  # type: ignore[arg-type]
        tuple(account.split(".")),
        amount=line.amount,
    )


def test_a_linked_tax_line_is_imported_and_an_unlinked_one_rejected(
    sim: RunningSim, client: FusionClient
) -> None:
    order = "111-0000001-0008401"
    item = _ai_line(order, "MUG-01", "25.00")
    tax = _ai_line(order, "TAX-MUG-01", "2.00", line_type="TAX", link_to=item.key)
    files = autoinvoice_files(
        [item, tax], [_dist(item, "REV", "101.10.40100"), _dist(tax, "TAX", "101.00.21600")]
    )
    result = _imports(client).import_autoinvoice(
        autoinvoice_request("Ai_8401.zip", files, PARAMS), transaction_numbers=[order]
    )
    assert [i.TransactionNumber for i in result.invoices] == [order]
    # The same shape without LINK_TO_LINE_*: written by hand (the builder refuses it).
    order = "111-0000001-0008402"
    item = _ai_line(order, "MUG-01", "25.00")
    unlinked = _ai_line(order, "TAX-MUG-01", "2.00", line_type="TAX", link_to=item.key).columns()
    for name in [n for n in unlinked if n.startswith("LINK_TO_LINE")]:
        del unlinked[name]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for values in (item.columns(), unlinked):
        writer.writerow([values.get(c, "") for c in LINES_COLUMNS] + ["END"])
    request = BulkImportRequest(
        "Ai_8402.zip",
        zip_files({LINES_CSV: out.getvalue().encode()}),
        "fin$/receivables$/import$",
        autoinvoice_request("x.zip", files, PARAMS).job_name,
        PARAMS.parameter_list(),
    )
    with pytest.raises(ImportFailed) as caught:
        _imports(client).import_autoinvoice(request, transaction_numbers=[order])
    reasons = caught.value.reasons_for(order)
    assert TAX_NOT_LINKED in [r.reason for r in reasons]
    assert TAX_NOT_LINKED in str(caught.value.for_document(order))
    assert not Receivables(client).find_invoices(transaction_number=order)


def _rest_invoice(order: str, *, tax_as_line: bool) -> dict[str, Any]:
    lines: list[dict[str, Any]] = [
        {"LineNumber": 1, "Description": "MUG-01", "Quantity": 1, "UnitSellingPrice": 25},
    ]
    if tax_as_line:
        lines.append({"LineNumber": 2, "Description": "Sales tax", "Quantity": 1,
                      "UnitSellingPrice": 2})  # fmt: skip
    else:
        lines[0]["receivablesInvoiceLineTaxLines"] = [{"TaxAmount": 2, "TaxLineNumber": 1}]
    tax_dist: dict[str, Any] = {
        "AccountClass": "Tax",
        "AccountCombination": "101.00.21600",
        "Amount": 2,
        "InvoiceLineNumber": 2 if tax_as_line else 1,
    }
    if not tax_as_line:
        tax_dist["DetailedTaxLineNumber"] = 1
    return {
        "BusinessUnit": "US1 Business Unit",
        "TransactionSource": "Amazon Orders",
        "TransactionType": "Amazon Invoice",
        "TransactionNumber": order,
        "TransactionDate": DAY.isoformat(),
        "BillToCustomerNumber": "AMZ-US",
        "BillToSite": "AMZ-US-BILL",
        "InvoiceCurrencyCode": "USD",
        "receivablesInvoiceLines": lines,
        "receivablesInvoiceDistributions": [
            {
                "AccountClass": "Revenue",
                "AccountCombination": "101.10.40100",
                "Amount": 25,
                "InvoiceLineNumber": 1,
            },
            tax_dist,
            {"AccountClass": "Receivable", "AccountCombination": "101.00.12100", "Amount": 27},
        ],
    }


def test_rest_tax_sent_as_an_ordinary_line_is_rejected_and_as_tax_lines_accepted(
    sim: RunningSim, client: FusionClient
) -> None:
    with pytest.raises(ValidationError, match="doesn't match a tax line"):
        client.post(
            "receivablesInvoices",
            _rest_invoice("111-0000001-0008501", tax_as_line=True),
            operation="t",
        )
    body = client.post(
        "receivablesInvoices",
        _rest_invoice("111-0000001-0008502", tax_as_line=False),
        operation="t",
    )
    assert Decimal(str(body["EnteredAmount"])) == Decimal(27)
    # The client's own model builds the accepted form.
    InvoiceCreate(
        BusinessUnit="US1 Business Unit",
        TransactionSource="Amazon Orders",
        TransactionType="Amazon Invoice",
        TransactionNumber="111-0000001-0008503",
        TransactionDate=DAY,
        BillToCustomerNumber="AMZ-US",
        InvoiceCurrencyCode="USD",
        receivablesInvoiceLines=[
            InvoiceLine(
                LineNumber=1,
                Description="MUG-01",
                Quantity=Decimal(1),
                UnitSellingPrice=Decimal(25),
                receivablesInvoiceLineTaxLines=[
                    InvoiceLineTaxLine(TaxAmount=Decimal(2), TaxLineNumber=1)
                ],
            )
        ],
        receivablesInvoiceDistributions=[
            InvoiceDistribution(
                AccountClass="Tax",
                AccountCombination="101.00.21600",
                Amount=Decimal(2),
                InvoiceLineNumber=1,
                DetailedTaxLineNumber=1,
            )
        ],
    )


# -- redirects ------------------------------------------------------------------------------------


def test_an_oracle_lookup_answered_by_a_redirect_fails_and_nothing_is_created(
    sim: RunningSim, client: FusionClient
) -> None:
    order = "111-0000001-0008601"
    body = _rest_invoice(order, tax_as_line=False)
    before = len(sim.state.invoices)
    sim.add_fault(Fault(FaultKind.REDIRECT, path="receivablesInvoices", method="GET"))
    receivables = Receivables(client)
    with pytest.raises(RedirectedError) as caught:
        receivables.find_invoices(transaction_number=order)
    assert caught.value.location is not None
    assert caught.value.location.endswith("/oam/server/obrareq.cgi?…")
    assert "/oam/server/obrareq.cgi" in str(caught.value)
    assert len(sim.state.invoices) == before
    sim.add_fault(Fault(FaultKind.REDIRECT, path="erpintegrations", method="GET"))
    with pytest.raises(RedirectedError):
        _imports(client).job_state("5000001")  # a status poll is not "no status"
    assert body  # the payload was never sent


def test_an_amazon_call_answered_by_a_redirect_fails_naming_the_location() -> None:
    amazon = pytest.importorskip("ml_connector_sim.amazon")
    from ml_connector.remote.amazon.auth import LwaCredentials
    from ml_connector.remote.amazon.client import SpApiClient

    world = amazon.generate_world(amazon.GeneratorParams(seed=3, orders=5, days=3))
    options = amazon.SimOptions(time_scale=1000.0, faults=amazon.parse_faults("redirect=1"))
    with amazon.running_amazon_sim(world, options) as running:
        client = SpApiClient(
            seller_id=world.selling_partner_id,
            region="NA",
            credentials=LwaCredentials("amzn1.application-oa2-client.sim", "s", "Atzr|sim-na"),
            base_url=running.region_url("na"),
            lwa_url=running.token_url,
            retry=RetryPolicy(base_delay=0.01, max_delay=0.05, rng=random.Random(1)),
        )
        with pytest.raises(RedirectedError) as caught:
            client.call(
                "getMarketplaceParticipations", "GET", "/sellers/v1/marketplaceParticipations"
            )
    assert caught.value.location == "https://sellercentral.amazon.com/ap/signin?…"


def test_the_simulator_can_show_every_documented_ess_state() -> None:
    shown = {"WAIT", "RUNNING", "SUCCEEDED", "ERROR"}  # the ordinary chain
    for running, final, _creates in ESS_STATE_FAULTS.values():
        shown |= {running, *([final] if final else [])}
    assert shown == {s.value for s in EssState} - {"FAILED"}  # FAILED: clients' word, not ESS's


def test_a_warning_import_that_created_nothing_says_why(client: FusionClient) -> None:
    csv_bytes = gl_interface_csv(_journal(8701, "AMZ-W-8701"))
    params = JournalImportParameters("Amazon Settlements", LEDGER_ID, 8799)  # no such group
    request = journal_import_request("Settlement_8701.zip", csv_bytes, params)
    with pytest.raises(ImportFailed) as caught:
        _imports(client).import_journals(request, batch_name="AMZ-W-8701")
    assert caught.value.outcome.verdict is Verdict.WARNING
    assert "no journal batch named 'AMZ-W-8701'" in str(caught.value)
    assert "No rows in GL_INTERFACE match the parameters" in str(caught.value)
