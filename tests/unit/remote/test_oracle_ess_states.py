"""Every documented ESS state has a verdict; trees are judged by their import job in any shape."""

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
    FusionClient,
    FusionEndpoint,
    ImportFailed,
    ImportStillRunning,
)
from ml_connector.remote.oracle.ess import (
    EssJob,
    EssState,
    Verdict,
    judge,
    parse_job_tree,
    row_rejections,
)
from ml_connector.remote.oracle.imports import ImportNeedsAttention

# Oracle Enterprise Scheduler `oracle.as.scheduler.State` (docs/oracle-setup.md), with the
# verdict each must give. FAILED is what ERP-integration clients report for a failed request.
DOCUMENTED = {
    "WAIT": Verdict.RUNNING,
    "READY": Verdict.RUNNING,
    "RUNNING": Verdict.RUNNING,
    "COMPLETED": Verdict.RUNNING,  # post-processing has commenced: not finished
    "BLOCKED": Verdict.RUNNING,
    "HOLD": Verdict.NEEDS_ATTENTION,
    "CANCELLING": Verdict.RUNNING,
    "EXPIRED": Verdict.FAILED,
    "CANCELLED": Verdict.FAILED,
    "ERROR": Verdict.FAILED,
    "WARNING": Verdict.WARNING,
    "SUCCEEDED": Verdict.SUCCEEDED,
    "PAUSED": Verdict.RUNNING,
    "PENDING_VALIDATION": Verdict.RUNNING,
    "VALIDATION_FAILED": Verdict.FAILED,
    "SCHEDULE_ENDED": Verdict.FAILED,
    "FINISHED": Verdict.SUCCEEDED,
    "ERROR_AUTO_RETRY": Verdict.RUNNING,
    "ERROR_MANUAL_RECOVERY": Verdict.NEEDS_ATTENTION,
    "UNKNOWN": Verdict.NEEDS_ATTENTION,
    "FAILED": Verdict.FAILED,
}


@pytest.mark.parametrize(("text", "verdict"), sorted(DOCUMENTED.items()))
def test_every_documented_state_has_its_verdict(text: str, verdict: Verdict) -> None:
    state = EssState.parse(text)
    assert state.value == text
    assert state.verdict is verdict
    assert EssState.parse(text.lower()).verdict is verdict  # other case, same state


def test_the_enum_holds_exactly_the_documented_states() -> None:
    assert {s.value for s in EssState} == set(DOCUMENTED)


def test_completed_is_not_succeeded_and_unknown_texts_go_to_a_person() -> None:
    assert not EssState.COMPLETED.succeeded
    assert not EssState.COMPLETED.finished
    assert EssState.parse("SOMETHING_NEW") is EssState.UNKNOWN
    assert EssState.parse("SOMETHING_NEW").verdict is Verdict.NEEDS_ATTENTION
    assert EssState.parse(None) is EssState.WAIT  # not reported yet


def _node(name: str, rid: str, status: str, child: Any = None) -> dict[str, Any]:
    node: dict[str, Any] = {"JOBNAME": name, "JOBPATH": "/x", "REQUESTID": rid, "STATUS": status}
    if child is not None:
        node["CHILD"] = child
    return node


def _documented(import_status: str, *, as_list: bool) -> str:
    journal = _node("Journal Import", "3", import_status)
    launcher = _node("Import Journals", "2", "SUCCEEDED", [journal] if as_list else journal)
    loader = _node(
        "Load Interface File for Import",
        "1",
        "SUCCEEDED",
        [_node("Transfer File", "4", "SUCCEEDED"), launcher] if as_list else launcher,
    )
    return json.dumps({"JOBS": loader})


@pytest.mark.parametrize("as_list", [False, True])
def test_documented_child_shape_is_walked_and_judged_by_the_import(as_list: bool) -> None:
    ok = parse_job_tree(_documented("SUCCEEDED", as_list=as_list), "1")
    assert [job.request_id for job in ok.imports()] == ["3"]
    assert judge(ok) is Verdict.SUCCEEDED
    failed = parse_job_tree(_documented("ERROR", as_list=as_list), "1")
    assert failed.state is EssState.SUCCEEDED  # the loader alone would say success
    assert judge(failed) is Verdict.FAILED
    assert [job.name for job in failed.failures()] == ["Journal Import"]
    held = parse_job_tree(_documented("HOLD", as_list=as_list), "1")
    assert judge(held) is Verdict.NEEDS_ATTENTION
    assert [job.request_id for job in held.waiting_for_a_person()] == ["3"]


def test_deep_nesting_and_the_simulators_old_shape_are_read() -> None:
    deep: dict[str, Any] = _node("Import AutoInvoice", "9", "WARNING")
    for depth in range(8, 0, -1):
        deep = _node(f"step {depth}", str(depth), "SUCCEEDED", deep)
    tree = parse_job_tree(json.dumps({"JOBS": deep}), "1")
    assert [j.request_id for j in tree.imports()] == ["9"]
    assert judge(tree) is Verdict.WARNING
    old = {
        "JOBS": {
            "JOBNAME": "Load Interface File for Import",
            "REQUESTID": "1",
            "STATUS": "SUCCEEDED",
            "JOBS": [{"JOBNAME": "Journal Import", "REQUESTID": "2", "STATUS": "ERROR"}],
        }
    }
    assert judge(parse_job_tree(json.dumps(old), "1")) is Verdict.FAILED


def test_a_launcher_without_its_import_is_not_judged_yet() -> None:
    tree = parse_job_tree(json.dumps({"JOBS": _node("Import Journals", "2", "SUCCEEDED")}), "2")
    assert judge(tree) is Verdict.RUNNING
    grafted = tree.with_child("2", EssJob("7", "Journal Import", EssState.SUCCEEDED))
    assert judge(grafted) is Verdict.SUCCEEDED


def test_row_rejections_read_both_report_formats() -> None:
    text = "\n".join(
        [
            "Journal Import Execution Report",
            "Row 3 | Batch AMZ-SETTLEMENT-7 | EF04 The account 1.2.3 isn't a valid combination.",
            "Row AMAZON ORDERS|CM-9|1||: The tax line must be linked. [AMAZON ORDERS|CM-9|1]",
            "Lines rejected: 1",
        ]
    )
    rows = row_rejections(text)
    assert [(r.row, r.document) for r in rows] == [
        ("3", "AMZ-SETTLEMENT-7"),
        ("AMAZON ORDERS|CM-9|1||", "CM-9"),
    ]
    assert rows[0].reason.startswith("EF04 The account")
    assert rows[1].invalid_value == "AMAZON ORDERS|CM-9|1"


REQUEST = BulkImportRequest(
    file_name="Settlement_1.zip",
    document=b"PK-zip",
    document_account="fin$/generalLedger$/import$",
    job_name="/oracle/apps/ess/financials/generalLedger/programs/common,JournalImportLauncher",
    parameter_list="#NULL,Amazon Settlements,300000046975971,1,N,N,N",
)


class TreeEss:
    """A pod whose tree is given; the import can be detached (named in the launcher's log)."""

    def __init__(self, import_status: str, *, detached: bool = False, report: str = "") -> None:
        self.import_status = import_status
        self.detached = detached
        self.report = report
        self.requests: list[str] = []

    def _tree(self, rid: str) -> dict[str, Any]:
        journal = _node("Journal Import", "5003", self.import_status)
        if rid == "5003":
            return {"JOBS": journal}
        launcher = _node("Import Journals", "5002", "SUCCEEDED", None if self.detached else journal)
        return {"JOBS": _node("Load Interface File for Import", "5001", "SUCCEEDED", launcher)}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        finder = request.url.params.get("finder", "")
        self.requests.append(f"{request.method} {finder}")
        if request.method == "POST":
            return httpx.Response(201, json={"ReqstId": "5001"})
        if request.url.path.endswith("journalBatches"):
            items = [{"JeBatchId": 300000000000500, "BatchName": "AMZ-1"}]
            return httpx.Response(200, json={"items": items, "hasMore": False})
        rid = finder.split("requestId=")[1].split(",")[0]
        if finder.startswith("ESSJobStatusRF"):
            return httpx.Response(200, json={"items": [{"RequestStatus": "SUCCEEDED"}]})
        if finder.startswith("ESSExecutionDetailsRF"):
            status = json.dumps(self._tree(rid))
            return httpx.Response(200, json={"items": [{"RequestStatus": status}]})
        text = "Submitted Journal Import request 5003." if rid == "5002" else self.report
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{rid}.log", text)
        content = base64.b64encode(buffer.getvalue()).decode()
        return httpx.Response(200, json={"items": [{"DocumentContent": content}]})


def _imports(fake: TreeEss) -> BulkImports:
    client = FusionClient(
        FusionEndpoint.from_base_url("http://127.0.0.1:8000"),
        BasicAuth("u", "pw-123456", redactor=Redactor()),
        http=httpx.Client(transport=httpx.MockTransport(fake)),
        retry=RetryPolicy(sleep=lambda s: None),
    )
    slept: list[float] = []
    return BulkImports(client, poll_interval=5.0, max_wait=60.0, sleep=slept.append)


def test_a_held_import_surfaces_within_one_poll_and_is_never_resubmitted() -> None:
    fake = TreeEss("HOLD")
    with pytest.raises(ImportNeedsAttention) as caught:
        _imports(fake).import_journals(REQUEST, batch_name="AMZ-1")
    assert isinstance(caught.value, ImportStillRunning)  # in flight: never submit again
    assert caught.value.request_id == "5001"
    assert caught.value.states == [EssState.HOLD]
    assert "Journal Import 5003 HOLD" in caught.value.message
    assert sum(r.startswith("GET ESSExecutionDetailsRF") for r in fake.requests) == 1
    assert sum(r.startswith("POST") for r in fake.requests) == 1


def test_an_import_submitted_as_its_own_request_is_found_through_the_launcher_log() -> None:
    ok = _imports(TreeEss("SUCCEEDED", detached=True)).import_journals(REQUEST, batch_name="AMZ-1")
    assert [job.request_id for job in ok.outcome.job.imports()] == ["5003"]
    report = "Row 2 | Batch AMZ-1 | EF04 The account 101.99.00000 isn't a valid combination."
    with pytest.raises(ImportFailed) as caught:
        _imports(TreeEss("ERROR", detached=True, report=report)).import_journals(
            REQUEST, batch_name="AMZ-1"
        )
    assert "EF04 The account 101.99.00000 isn't a valid combination." in str(caught.value)
    assert [r.document for r in caught.value.reasons_for("AMZ-1")] == ["AMZ-1"]


def test_a_partial_rejection_is_told_per_document() -> None:
    report = "\n".join(
        [
            "Row 2 | Batch AMZ-1 | EF04 The account 1.1.1 isn't a valid combination.",
            "Row 5 | Batch AMZ-2 | EU02 This journal entry is unbalanced.",
        ]
    )
    with pytest.raises(ImportFailed) as caught:
        _imports(TreeEss("ERROR", report=report)).import_journals(REQUEST, batch_name="AMZ-1")
    whole = str(caught.value)
    assert "EF04" in whole
    assert "EU02" in whole
    mine = str(caught.value.for_document("AMZ-2"))
    assert "EU02 This journal entry is unbalanced." in mine
    assert "EF04" not in mine


class NoImportEss(TreeEss):
    """The loader and launcher finish, and no import job ever shows up."""

    def _tree(self, rid: str) -> dict[str, Any]:
        launcher = _node("Import Journals", "5002", "SUCCEEDED")
        return {"JOBS": _node("Load Interface File for Import", "5001", "SUCCEEDED", launcher)}


def test_a_launcher_whose_import_never_appears_goes_to_a_person_after_the_budget() -> None:
    fake = NoImportEss("SUCCEEDED")
    client = FusionClient(
        FusionEndpoint.from_base_url("http://127.0.0.1:8000"),
        BasicAuth("u", "pw-123456", redactor=Redactor()),
        http=httpx.Client(transport=httpx.MockTransport(fake)),
        retry=RetryPolicy(sleep=lambda s: None),
    )
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    imports = BulkImports(
        client, poll_interval=5.0, max_wait=30.0, sleep=sleep, monotonic=lambda: now[0]
    )
    with pytest.raises(ImportNeedsAttention, match="no import job appeared"):
        imports.import_journals(REQUEST, batch_name="AMZ-1")
    with pytest.raises(ImportStillRunning) as peek:  # a zero-budget peek only says "running"
        imports.wait("5001", max_wait=0)
    assert not isinstance(peek.value, ImportNeedsAttention)
