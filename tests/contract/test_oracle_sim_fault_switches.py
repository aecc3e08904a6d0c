"""The simulator's fault switches: probabilistic faults per path, 5xx before and after the
commit, and ESS requests that run slowly one request at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from test_oracle_sim_faults_auth import Clock, _balanced_zip, invoice

from ml_connector_sim.oracle import (
    Fault,
    FaultKind,
    RunningSim,
    SimOptions,
    parse_fault,
    running_oracle_sim,
)
from ml_connector_sim.oracle.faults import FaultBook


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Iterator[RunningSim]:
    with running_oracle_sim(options=SimOptions(clock=clock)) as running:
        yield running


def test_percent_in_a_spec_makes_a_standing_probabilistic_fault() -> None:
    standing = parse_fault("drop-after-commit%2@erpintegrations")
    assert (standing.kind, standing.percent, standing.times, standing.path) == (
        FaultKind.DROP_AFTER_COMMIT,
        2.0,
        None,
        "erpintegrations",
    )
    counted = parse_fault("ess-slow=1.5%20@erpintegrationsx3")
    assert (counted.seconds, counted.percent, counted.times) == (1.5, 20.0, 3)
    assert parse_fault("500-after-commit@receivablesInvoices").kind is FaultKind.ERROR_AFTER_COMMIT
    with pytest.raises(ValueError, match="percentage"):
        parse_fault("429%lots")
    with pytest.raises(ValueError, match="between 0 and 100"):
        parse_fault("429%150")


def test_probabilistic_fault_hits_about_its_share_and_repeats_with_a_seed() -> None:
    def draws(seed: int) -> list[bool]:
        book = FaultBook([Fault(FaultKind.HTTP_429, path="erp", times=None, percent=30)], seed=seed)
        return [
            book.take({FaultKind.HTTP_429}, "GET", "/x/erpintegrations") is not None
            for _ in range(1000)
        ]

    first = draws(5)
    assert 230 <= sum(first) <= 370
    assert draws(5) == first
    assert draws(6) != first
    book = FaultBook([Fault(FaultKind.HTTP_429, path="erp", times=None, percent=30)], seed=1)
    assert all(
        book.take({FaultKind.HTTP_429}, "GET", "/receivablesInvoices") is None for _ in range(50)
    )


def test_a_share_of_requests_on_one_path_is_refused(sim: RunningSim) -> None:
    sim.faults.reseed(3)
    sim.add_fault(Fault(FaultKind.HTTP_503, path="receivablesInvoices", times=None, percent=50))
    url = sim.rest_url + "/receivablesInvoices"
    statuses = [httpx.get(url, auth=("u", "p")).status_code for _ in range(40)]
    assert 8 <= statuses.count(503) <= 32
    assert set(statuses) == {200, 503}
    other = sim.rest_url + "/journalBatches"
    assert all(httpx.get(other, auth=("u", "p")).status_code == 200 for _ in range(10))


def test_500_before_the_handler_creates_nothing(sim: RunningSim) -> None:
    sim.add_fault(parse_fault("500@receivablesInvoices"))
    url = sim.rest_url + "/receivablesInvoices"
    refused = httpx.post(url, json=invoice("E500-1"), auth=("u", "p"))
    assert refused.status_code == 500
    assert sim.state.invoices == []


def test_500_after_commit_answers_an_error_for_a_document_that_exists(sim: RunningSim) -> None:
    sim.add_fault(parse_fault("500-after-commit@receivablesInvoices"))
    url = sim.rest_url + "/receivablesInvoices"
    answered = httpx.post(url, json=invoice("E500-2"), auth=("u", "p"))
    assert answered.status_code == 500
    assert [t.number for t in sim.state.invoices] == ["E500-2"]
    assert sim.faults.fired[FaultKind.ERROR_AFTER_COMMIT] == 1


def _journal_import(sim: RunningSim) -> int:
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
    assert response.status_code == 201, response.text
    return int(response.json()["ReqstId"])


def test_ess_slow_slows_only_the_requests_of_the_call_it_hits(
    sim: RunningSim, clock: Clock
) -> None:
    sim.add_fault(parse_fault("ess-slow=10@erpintegrationsx1"))
    slow = _journal_import(sim)
    quick = _journal_import(sim)
    clock.now += timedelta(seconds=30)  # a normal chain takes 6 one-second steps
    assert sim.state.job_status(quick) == "SUCCEEDED"
    slow_jobs = [j for j in sim.state.ess_jobs if j.request_id >= slow and j.request_id < quick]
    assert slow_jobs, "the slow call filed no ESS request"
    assert all(j.step == timedelta(seconds=10) for j in slow_jobs)
    assert any(j.status(clock.now) in ("WAIT", "RUNNING") for j in slow_jobs)
    clock.now += timedelta(seconds=31)
    assert all(j.status(clock.now) not in ("WAIT", "RUNNING") for j in slow_jobs)
