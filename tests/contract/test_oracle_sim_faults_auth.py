"""Faults, tokens and setup files of the Oracle simulator."""

from __future__ import annotations

import base64
import io
import json
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ml_connector_sim.oracle import (
    Fault,
    FaultKind,
    RunningSim,
    SetupError,
    SimOptions,
    TenantSetup,
    default_setup,
    load_setup,
    parse_fault,
    running_oracle_sim,
)
from ml_connector_sim.oracle.journal_import import GL_INTERFACE_COLUMNS

SCOPE = "urn:opc:resource:consumer::all"


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


def token(sim: RunningSim, **form: str) -> httpx.Response:
    data = {"grant_type": "client_credentials", "scope": SCOPE, **form}
    return httpx.post(sim.token_url, data=data, auth=("app", "secret"))


def invoice(number: str) -> dict[str, object]:
    return {
        "BusinessUnit": "US1 Business Unit",
        "TransactionSource": "Amazon Orders",
        "TransactionType": "Amazon Invoice",
        "TransactionNumber": number,
        "TransactionDate": "2026-11-03",
        "BillToCustomerNumber": "AMZ-US",
        "receivablesInvoiceLines": [{"Description": "MUG", "Quantity": 1, "UnitSellingPrice": 5}],
    }


def test_token_expires_after_3600_seconds(sim: RunningSim, clock: Clock) -> None:
    body = token(sim).json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    url = sim.rest_url + "/receivablesInvoices"
    assert httpx.get(url, headers=headers).status_code == 200
    clock.now += timedelta(seconds=3601)
    assert httpx.get(url, headers=headers).status_code == 401


def test_token_refusals(sim: RunningSim) -> None:
    assert token(sim, scope="urn:other").json()["error"] == "invalid_scope"
    assert token(sim, grant_type="password").json()["error"] == "unsupported_grant_type"
    missing = httpx.post(sim.token_url, data={"grant_type": "client_credentials", "scope": SCOPE})
    assert missing.status_code == 401


def _jwt(key: rsa.RSAPrivateKey, claims: dict[str, object]) -> str:
    def enc(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = enc(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k"}).encode())
    body = enc(json.dumps(claims).encode())
    sig = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{enc(sig)}"


def test_jwt_assertion_checked_for_expiry_and_signature(clock: Clock) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    setup = default_setup()
    setup = setup.model_copy(
        update={"auth": setup.auth.model_copy(update={"jwt_public_key_pem": pem})}
    )
    now = int(clock.now.timestamp())
    claims = {
        "iss": "app",
        "sub": "fin.user",
        "aud": "https://identity.oraclecloud.com/",
        "iat": now,
        "exp": now + 300,
    }
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    with running_oracle_sim(setup, SimOptions(clock=clock)) as sim:
        ok = token(sim, grant_type=grant, assertion=_jwt(key, claims))
        assert ok.status_code == 200
        forged = token(sim, grant_type=grant, assertion=_jwt(other, claims))
        assert forged.json()["error"] == "invalid_grant"
        expired = token(sim, grant_type=grant, assertion=_jwt(key, {**claims, "exp": now - 1}))
        assert "expired" in expired.json()["error_description"]


def test_strict_auth_only_accepts_registered_clients() -> None:
    setup = TenantSetup.model_validate(
        default_setup().model_dump(mode="json", by_alias=True)
        | {"auth": {"strict": True, "clients": [{"client_id": "app", "client_secret": "secret"}]}}
    )
    with running_oracle_sim(setup) as sim:
        assert token(sim).status_code == 200
        wrong = httpx.post(
            sim.token_url,
            data={"grant_type": "client_credentials", "scope": SCOPE},
            auth=("app", "nope"),
        )
        assert wrong.status_code == 401
        assert "nope" not in repr(setup)


def test_429_and_503_then_recovery(sim: RunningSim) -> None:
    sim.add_fault(Fault(FaultKind.HTTP_429, path="receivablesInvoices", seconds=2))
    sim.add_fault(parse_fault("503@receivablesInvoices"))
    url = sim.rest_url + "/receivablesInvoices"
    first = httpx.get(url, auth=("u", "p"))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert httpx.get(url, auth=("u", "p")).status_code == 503
    assert httpx.get(url, auth=("u", "p")).status_code == 200


def test_slow_fault_delays_the_response(sim: RunningSim) -> None:
    sim.add_fault(parse_fault("slow=0.3@receivablesInvoices"))
    started = time.monotonic()
    httpx.get(sim.rest_url + "/receivablesInvoices", auth=("u", "p"))
    assert time.monotonic() - started >= 0.3


def test_dropped_after_commit_leaves_exactly_one_invoice(sim: RunningSim) -> None:
    httpx.post(f"{sim.base_url}/__sim/faults", json=["drop-after-commit@receivablesInvoices"])
    with pytest.raises(httpx.TransportError):
        httpx.post(sim.rest_url + "/receivablesInvoices", json=invoice("DROP-1"), auth=("u", "p"))
    retry = httpx.post(
        sim.rest_url + "/receivablesInvoices", json=invoice("DROP-1"), auth=("u", "p")
    )
    assert retry.status_code == 400
    found = httpx.get(
        sim.rest_url + "/receivablesInvoices",
        params={"q": "TransactionNumber=DROP-1"},
        auth=("u", "p"),
    ).json()
    assert found["count"] == 1
    assert len(sim.state.invoices) == 1


def test_fault_admin_endpoint_lists_and_clears(sim: RunningSim) -> None:
    added = httpx.post(f"{sim.base_url}/__sim/faults", json={"kind": "503", "times": None})
    assert added.json()[0]["kind"] == "503"
    assert httpx.delete(f"{sim.base_url}/__sim/faults").status_code == 204
    assert httpx.get(f"{sim.base_url}/__sim/faults").json() == []
    assert httpx.post(f"{sim.base_url}/__sim/faults", json=["bogus"]).status_code == 400


def test_default_setup_matches_the_team_contract() -> None:
    setup = default_setup()
    assert setup.chart_of_accounts.is_valid_combination(["101", "20", "61600"])
    assert not setup.chart_of_accounts.is_valid_combination(["101", "40", "61600"])
    assert setup.customer("AMZ-DE", None).party_name == "Amazon.de"  # type: ignore[union-attr]
    assert len(setup.open_period_names()) == 48
    assert setup.period_name(datetime(2026, 11, 1).date()) == "Nov-26"


def test_bad_setup_file_names_file_and_field(tmp_path: Path) -> None:
    data = default_setup().model_dump(mode="json", by_alias=True)
    data["business_units"][0]["ledger"] = "Nope Ledger"
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SetupError, match=r"tenant\.json.*business_units\[0\]\.ledger"):
        load_setup(path)
    path.write_text("{")
    with pytest.raises(SetupError, match="not valid JSON"):
        load_setup(path)


def test_closed_period_in_setup_is_enforced(tmp_path: Path) -> None:
    data = default_setup().model_dump(mode="json", by_alias=True)
    data["auth"]["clients"] = []
    data["periods"]["closed"] = ["Nov-26"]
    path = tmp_path / "closed.json"
    path.write_text(json.dumps(data))
    with running_oracle_sim(load_setup(path)) as sim:
        refused = httpx.post(
            sim.rest_url + "/receivablesInvoices", json=invoice("P-1"), auth=("u", "p")
        )
        assert refused.status_code == 400
        assert "Nov-26" in refused.text


def _balanced_zip() -> str:
    rows = []
    for account, dr, cr in (("101.00.10500", "5", ""), ("101.00.12500", "", "5")):
        values = {
            "STATUS": "NEW",
            "ACCOUNTING_DATE": "2026/11/15",
            "ACTUAL_FLAG": "A",
            "USER_JE_SOURCE_NAME": "Amazon Settlements",
            "CURRENCY_CODE": "USD",
            "USER_JE_CATEGORY_NAME": "Amazon Settlement",
            "ENTERED_DR": dr,
            "ENTERED_CR": cr,
            "REFERENCE1": "B1",
        }
        values.update({f"SEGMENT{i}": seg for i, seg in enumerate(account.split("."), 1)})
        rows.append(",".join(values.get(c, "") for c in GL_INTERFACE_COLUMNS))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("GlInterface.csv", "\n".join(rows))
    return base64.b64encode(buffer.getvalue()).decode()


def test_ess_child_error_fault_fails_child_but_not_parent(sim: RunningSim, clock: Clock) -> None:
    sim.add_fault(parse_fault("ess-child-error"))
    response = httpx.post(
        sim.rest_url + "/erpintegrations",
        auth=("u", "p"),
        json={
            "OperationName": "importBulkData",
            "FileName": "x.zip",
            "DocumentContent": _balanced_zip(),
            "JobName": "/oracle/apps/ess/financials/generalLedger/programs/common,"
            "JournalImportLauncher",
            "ParameterList": "#NULL,Amazon Settlements,300000046975971,ALL,N,N,N",
        },
    )
    clock.now += timedelta(seconds=60)
    parent = int(response.json()["ReqstId"])
    jobs = sim.state.ess_jobs
    assert sim.state.job_status(parent) == "SUCCEEDED"
    assert [j for j in jobs if j.parent_id is not None][-1].final_status == "ERROR"
    assert sim.state.journal_batches == []
