"""FBDI Journal Import and AutoInvoice through erpintegrations, with ESS job trees and logs."""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ml_connector_sim.oracle import RunningSim, SimOptions, running_oracle_sim
from ml_connector_sim.oracle.journal_import import GL_INTERFACE_COLUMNS

JOURNAL_JOB = "/oracle/apps/ess/financials/generalLedger/programs/common,JournalImportLauncher"
AI_JOB = "/oracle/apps/ess/financials/receivables/transactions/autoInvoices,AutoInvoiceImportEss"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Iterator[RunningSim]:
    with running_oracle_sim(options=SimOptions(clock=clock)) as running:
        yield running


@pytest.fixture
def client(sim: RunningSim) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.rest_url, auth=("user", "pw")) as c:
        yield c


def _zip(files: dict[str, str]) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return base64.b64encode(buffer.getvalue()).decode()


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def gl_row(account: str, dr: str = "", cr: str = "", **extra: str) -> list[str]:
    values = {
        "STATUS": "NEW",
        "LEDGER_ID": "300000046975971",
        "ACCOUNTING_DATE": "2026/11/15",
        "USER_JE_SOURCE_NAME": "Amazon Settlements",
        "USER_JE_CATEGORY_NAME": "Amazon Settlement",
        "CURRENCY_CODE": "USD",
        "DATE_CREATED": "2026/11/15",
        "ACTUAL_FLAG": "A",
        "ENTERED_DR": dr,
        "ENTERED_CR": cr,
        "GROUP_ID": "77",
        "REFERENCE1": "AMZ-SETTLEMENT-12345",
        "REFERENCE4": "Settlement 12345",
        "REFERENCE10": f"line {account}",
        "REFERENCE21": "12345",
        **extra,
    }
    for i, seg in enumerate(account.split("."), start=1):
        values[f"SEGMENT{i}"] = seg
    return [values.get(c, "") for c in GL_INTERFACE_COLUMNS] + ["END"]


def import_bulk(client: httpx.Client, job: str, params: str, files: dict[str, str]) -> str:
    response = client.post(
        "/erpintegrations",
        json={
            "OperationName": "importBulkData",
            "DocumentContent": _zip(files),
            "ContentType": "zip",
            "FileName": "import.zip",
            "DocumentAccount": "fin$/generalLedger$/import$",
            "JobName": job,
            "ParameterList": params,
            "CallbackURL": "#NULL",
            "NotificationCode": "10",
            "JobOptions": "ExtractFileType=ALL",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["ReqstId"])


def status(client: httpx.Client, request_id: str) -> str:
    items = client.get(
        "/erpintegrations", params={"finder": f"ESSJobStatusRF;requestId={request_id}"}
    ).json()["items"]
    return str(items[0]["RequestStatus"])


def tree(client: httpx.Client, request_id: str) -> dict[str, Any]:
    item = client.get(
        "/erpintegrations", params={"finder": f"ESSExecutionDetailsRF;requestId={request_id}"}
    ).json()
    return dict(json.loads(item["items"][0]["RequestStatus"])["JOBS"])


def descendants(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The job and its descendants; children sit under CHILD, one object or a list."""
    kids = node.get("CHILD", [])
    kids = [kids] if isinstance(kids, dict) else kids
    return [node] + [d for child in kids for d in descendants(child)]


def log_of(client: httpx.Client, request_id: str) -> str:
    item = client.get(
        "/erpintegrations",
        params={"finder": f"ESSJobExecutionDetailsRF;requestId={request_id},fileType=LOG"},
    ).json()
    raw = base64.b64decode(item["items"][0]["DocumentContent"])
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return archive.read(f"{request_id}.log").decode()


PARAMS = "#NULL,Amazon Settlements,300000046975971,77,N,N,N"


def test_balanced_journal_moves_through_states_and_creates_a_batch(
    client: httpx.Client, sim: RunningSim, clock: Clock
) -> None:
    rows = [
        gl_row("101.00.10500", dr="10.02"),
        gl_row("101.00.61000", dr="3.75"),
        gl_row("101.00.12500", cr="13.77"),
    ]
    request_id = import_bulk(client, JOURNAL_JOB, PARAMS, {"GlInterface.csv": _csv(rows)})
    assert status(client, request_id) == "WAIT"
    clock.now += timedelta(seconds=1.5)
    assert status(client, request_id) == "RUNNING"
    assert sim.state.journal_batches == []
    clock.now += timedelta(seconds=10)
    jobs = descendants(tree(client, request_id))
    assert [j["STATUS"] for j in jobs] == ["SUCCEEDED"] * 3
    found = client.get(
        "/journalBatches",
        params={"q": "BatchName=AMZ-SETTLEMENT-12345", "expand": "journalHeaders"},
    ).json()
    assert found["count"] == 1
    journal = found["items"][0]["journalHeaders"][0]
    assert journal["Reference21"] == "12345"
    assert [line["AccountCombination"] for line in journal["journalLines"]] == [
        "101.00.10500",
        "101.00.61000",
        "101.00.12500",
    ]


def test_unbalanced_journal_fails_the_child_while_the_parent_succeeds(
    client: httpx.Client, sim: RunningSim, clock: Clock
) -> None:
    rows = [gl_row("101.00.10500", dr="10.00"), gl_row("101.00.12500", cr="9.99")]
    request_id = import_bulk(client, JOURNAL_JOB, PARAMS, {"GlInterface.csv": _csv(rows)})
    clock.now += timedelta(seconds=60)
    assert status(client, request_id) == "SUCCEEDED"
    jobs = descendants(tree(client, request_id))
    assert jobs[-1]["STATUS"] == "ERROR"
    assert "EU02" in log_of(client, jobs[-1]["REQUESTID"])
    assert sim.state.journal_batches == []


def test_unknown_account_and_closed_period_are_reported(client: httpx.Client, clock: Clock) -> None:
    rows = [
        gl_row("101.00.99999", dr="1"),
        gl_row("101.00.12500", cr="1", ACCOUNTING_DATE="2023/01/01"),
    ]
    request_id = import_bulk(client, JOURNAL_JOB, PARAMS, {"GlInterface.csv": _csv(rows)})
    clock.now += timedelta(seconds=60)
    log = log_of(client, descendants(tree(client, request_id))[-1]["REQUESTID"])
    assert "EF04" in log
    assert "EP01" in log


def test_corrupt_zip_fails_the_parent(client: httpx.Client, clock: Clock) -> None:
    response = client.post(
        "/erpintegrations",
        json={
            "OperationName": "importBulkData",
            "DocumentContent": "bm90IGEgemlw",
            "FileName": "x.zip",
            "JobName": JOURNAL_JOB,
            "ParameterList": PARAMS,
        },
    )
    clock.now += timedelta(seconds=60)
    assert status(client, str(response.json()["ReqstId"])) == "ERROR"


def ai_line(
    number: str,
    key: str,
    amount: str,
    trx_type: str = "Amazon Invoice",
    ref: str = "",
    ref_key: str = "",
) -> list[str]:
    row = [""] * 372
    cells = {
        2: "Amazon Orders",
        3: trx_type,
        4: "" if ref else "IMMEDIATE",
        5: "2026/11/03",
        6: "2026/11/03",
        7: number,
        19: "AMZ-US",
        20: "AMZ-US-BILL",
        26: "LINE",
        27: "MUG-01",
        28: "USD",
        29: "User",
        31: "1",
        32: amount,
        37: "AMAZON",
        38: number,
        39: key,
        287: "US1 Business Unit",
        372: "END",
    }
    if ref:
        cells.update({130: "AMAZON", 131: ref, 132: ref_key})
    for pos, value in cells.items():
        row[pos - 1] = value
    return row


def ai_dist(number: str, key: str, account: str, amount: str) -> list[str]:
    row = [""] * 141
    for pos, value in {
        2: "REV",
        3: amount,
        6: "AMAZON",
        7: number,
        8: key,
        99: "US1 Business Unit",
        141: "END",
    }.items():
        row[pos - 1] = value
    for i, seg in enumerate(account.split(".")):
        row[21 + i] = seg
    return row


AI_PARAMS = "US1 Business Unit,Amazon Orders,2026-11-03," + ",".join(["#NULL"] * 19) + ",Y,#NULL"


def test_autoinvoice_creates_invoice_then_credit_memo_applied_to_it(
    client: httpx.Client, sim: RunningSim, clock: Clock
) -> None:
    files = {
        "RaInterfaceLinesAll.csv": _csv(
            [ai_line("111-1", "1", "25.00"), ai_line("111-1", "2", "4.99")]
        ),
        "RaInterfaceDistributionsAll.csv": _csv([ai_dist("111-1", "1", "101.10.40100", "25.00")]),
    }
    import_bulk(client, AI_JOB, AI_PARAMS, files)
    clock.now += timedelta(seconds=60)
    [inv] = sim.state.invoices
    assert (inv.number, str(inv.amount)) == ("111-1", "29.99")
    cm_line = ai_line("CM-111-1", "cm1", "-12.50", "Amazon Credit Memo", ref="111-1", ref_key="1")
    cm_files = {"RaInterfaceLinesAll.csv": _csv([cm_line])}
    request_id = import_bulk(client, AI_JOB, AI_PARAMS, cm_files)
    clock.now += timedelta(seconds=120)
    assert [j["STATUS"] for j in descendants(tree(client, request_id))] == ["SUCCEEDED"] * 3
    [cm] = sim.state.credit_memos
    assert cm.applied_to == inv.transaction_id
    balance = client.get(f"/receivablesInvoices/{inv.transaction_id}").json()
    assert balance["InvoiceBalanceAmount"] == pytest.approx(29.99 - 12.50)


def test_autoinvoice_rejects_a_resent_line_key_and_unknown_customer(
    client: httpx.Client, sim: RunningSim, clock: Clock
) -> None:
    files = {"RaInterfaceLinesAll.csv": _csv([ai_line("222-1", "1", "10.00")])}
    import_bulk(client, AI_JOB, AI_PARAMS, files)
    clock.now += timedelta(seconds=60)
    again = import_bulk(client, AI_JOB, AI_PARAMS, files)
    bad = ai_line("333-1", "1", "10.00")
    bad[18] = "AMZ-ZZ"
    import_bulk(client, AI_JOB, AI_PARAMS, {"RaInterfaceLinesAll.csv": _csv([bad])})
    clock.now += timedelta(seconds=60)
    assert len(sim.state.invoices) == 1
    assert descendants(tree(client, again))[1]["STATUS"] == "WARNING"
    texts = [e.message_text for e in sim.state.interface_errors]
    assert any("unique combination" in t for t in texts)
    assert any("valid bill-to customer account number" in t for t in texts)


def test_autoinvoice_unknown_source_fails_the_import_job(
    client: httpx.Client, clock: Clock
) -> None:
    request_id = import_bulk(
        client,
        AI_JOB,
        "US1 Business Unit,Nope,2026-11-03",
        {"RaInterfaceLinesAll.csv": _csv([ai_line("9", "9", "1")])},
    )
    clock.now += timedelta(seconds=60)
    jobs = descendants(tree(client, request_id))
    assert (jobs[0]["STATUS"], jobs[1]["STATUS"]) == ("SUCCEEDED", "ERROR")
    assert "reference set association" in log_of(client, jobs[1]["REQUESTID"])
