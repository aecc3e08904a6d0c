"""Bulk imports are judged by the whole ESS job tree and read back, with bounded waiting."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

import httpx
import pytest

from ml_connector.remote.http.redact import Redactor
from ml_connector.remote.http.retry import RetryPolicy
from ml_connector.remote.oracle import (
    BasicAuth,
    BulkImportRequest,
    BulkImports,
    EssState,
    FusionClient,
    FusionEndpoint,
    ImportFailed,
    ImportStillRunning,
)
from ml_connector.remote.oracle.ess import parse_job_tree

REQUEST = BulkImportRequest(
    file_name="Settlement_1.zip",
    document=b"PK-zip",
    document_account="fin$/generalLedger$/import$",
    job_name="/oracle/apps/ess/financials/generalLedger/programs/common,JournalImportLauncher",
    parameter_list="#NULL,Amazon Settlements,300000046975971,1,N,N,N",
)


class FakeEss:
    """A parent loader with one import child; states advance one step per status poll."""

    def __init__(self, child_final: str = "SUCCEEDED", *, batches: int = 1, polls: int = 2) -> None:
        self.child_final = child_final
        self.batches = batches
        self.polls_until_done = polls
        self.status_polls = 0
        self.requests: list[str] = []

    def _tree(self) -> dict[str, Any]:
        done = self.status_polls >= self.polls_until_done
        child = self.child_final if done else "RUNNING"
        return {
            "JOBS": {
                "JOBNAME": "Load Interface File for Import",
                "REQUESTID": "5001",
                "STATUS": "SUCCEEDED" if done else "RUNNING",
                "JOBS": [
                    {"JOBNAME": "Journal Import", "REQUESTID": "5002", "STATUS": child, "JOBS": []}
                ],
            }
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rsplit("/", 1)[-1]
        self.requests.append(
            f"{request.method} {path} "
            + request.url.params.get("finder", request.url.params.get("q", ""))
        )
        if request.method == "POST":
            body = json.loads(request.content)
            assert body["OperationName"] == "importBulkData"
            return httpx.Response(201, json={"ReqstId": "5001"})
        if path == "journalBatches":
            items = [
                {"JeBatchId": 300000000000500 + i, "BatchName": "AMZ-1", "Status": "Unposted"}
                for i in range(self.batches)
            ]
            return httpx.Response(200, json={"items": items, "hasMore": False})
        finder = request.url.params["finder"]
        if finder.startswith("ESSJobStatusRF"):
            self.status_polls += 1
            done = self.status_polls >= self.polls_until_done
            return httpx.Response(
                200,
                json={
                    "items": [
                        {"ReqstId": "5001", "RequestStatus": "SUCCEEDED" if done else "RUNNING"}
                    ]
                },
            )
        if finder.startswith("ESSExecutionDetailsRF"):
            return httpx.Response(
                200, json={"items": [{"RequestStatus": json.dumps(self._tree())}]}
            )
        assert finder.startswith("ESSJobExecutionDetailsRF;requestId=")
        assert finder.endswith(",fileType=ALL")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(
                "5002.log", "Journal Import started\nEF04 The journal is not balanced.\nERROR"
            )
        return httpx.Response(
            200, json={"items": [{"DocumentContent": base64.b64encode(buffer.getvalue()).decode()}]}
        )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _imports(fake: FakeEss, clock: Clock, max_wait: float = 100.0) -> BulkImports:
    client = FusionClient(
        FusionEndpoint.from_base_url("http://127.0.0.1:8000"),
        BasicAuth("u", "pw-123456", redactor=Redactor()),
        http=httpx.Client(transport=httpx.MockTransport(fake)),
        retry=RetryPolicy(sleep=lambda s: None),
    )
    return BulkImports(
        client, poll_interval=5.0, max_wait=max_wait, sleep=clock.sleep, monotonic=clock
    )


def test_successful_journal_import_is_read_back_by_batch_name() -> None:
    fake, clock = FakeEss(), Clock()
    result = _imports(fake, clock).import_journals(REQUEST, batch_name="AMZ-1")
    assert result.outcome.succeeded
    assert result.outcome.request_id == "5001"
    assert [b.JeBatchId for b in result.batches] == ["300000000000500"]
    assert clock.slept == [5.0]
    assert "GET journalBatches BatchName='AMZ-1'" in fake.requests


def test_parent_succeeded_but_child_failed_is_a_failure_with_the_log() -> None:
    fake, clock = FakeEss(child_final="ERROR"), Clock()
    with pytest.raises(ImportFailed) as caught:
        _imports(fake, clock).import_journals(REQUEST, batch_name="AMZ-1")
    outcome = caught.value.outcome
    assert not outcome.succeeded
    assert outcome.job.state is EssState.SUCCEEDED  # the parent alone would have fooled us
    assert [job.name for job in outcome.job.failures()] == ["Journal Import"]
    assert "EF04 The journal is not balanced." in (outcome.log_excerpt or "")
    assert "Journal Import=ERROR" in str(caught.value)
    assert not any("journalBatches" in r for r in fake.requests)


def test_succeeded_jobs_without_the_batch_are_not_success() -> None:
    with pytest.raises(ImportFailed, match="no journal batch named"):
        _imports(FakeEss(batches=0), Clock()).import_journals(REQUEST, batch_name="AMZ-1")


def test_waiting_is_bounded_and_resumable() -> None:
    fake, clock = FakeEss(polls=100), Clock()
    imports = _imports(fake, clock, max_wait=12.0)
    with pytest.raises(ImportStillRunning) as caught:
        imports.import_journals(REQUEST, batch_name="AMZ-1")
    assert caught.value.request_id == "5001"
    assert clock.now == 12.0
    fake.polls_until_done = fake.status_polls + 1
    result = imports.import_journals(REQUEST, batch_name="AMZ-1", request_id="5001")
    assert result.outcome.succeeded
    assert sum(r.startswith("POST") for r in fake.requests) == 1


def test_job_tree_parser_accepts_list_and_nested_shapes() -> None:
    tree = parse_job_tree(
        json.dumps(
            {
                "JOBS": [
                    {"REQUESTID": "1", "STATUS": "SUCCEEDED"},
                    {"REQUESTID": "2", "STATUS": "ERROR"},
                ]
            }
        ),
        "9",
    )
    assert not tree.succeeded
    assert tree.state is EssState.ERROR
    assert parse_job_tree("RUNNING", "9").state is EssState.RUNNING
    assert parse_job_tree(None, "9").state is EssState.WAIT  # not reported yet, still to be polled
    assert not parse_job_tree(None, "9").finished
