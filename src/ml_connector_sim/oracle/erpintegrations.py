"""``erpintegrations``: importBulkData submits an ESS job chain; the RF finders report on it.

The chain is the one seen on pods: the interface loader (the request id the POST returns) runs
first; the import launcher and the import itself are its descendants. Every job walks
WAIT → RUNNING → final on the simulator's clock, so a parent can report SUCCEEDED while its
child is still running or has failed — which is why clients must look at the children.

ESSExecutionDetailsRF answers in the documented shape: ``{"JOBS": {JOBNAME, JOBPATH,
REQUESTID, STATUS, CHILD}}`` where ``CHILD`` is one object, or a list when a job has several
children. Fault switches make the import child report any rare ESS state (``ess-hold``,
``ess-error-manual-recovery``, ``ess-completed``... see ``ESS_STATE_FAULTS``) or run as a
request of its own that only the launcher's log names (``ess-detached-import``).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ml_connector_sim.oracle.autoinvoice import AUTOINVOICE_JOB, run_autoinvoice_job
from ml_connector_sim.oracle.context import SimContext
from ml_connector_sim.oracle.errors import OracleError, framework_version
from ml_connector_sim.oracle.faults import FaultKind
from ml_connector_sim.oracle.journal_import import read_gl_interface, run_journal_import
from ml_connector_sim.oracle.query import adf_response, collection, parse_finder
from ml_connector_sim.oracle.receivables_rest import read_json
from ml_connector_sim.oracle.state import EssJob, EssStatus, SimState

LOADER = (
    "/oracle/apps/ess/financials/commonModules/shared/common/interfaceLoader",
    "InterfaceLoaderController",
    "Load Interface File for Import",
)
JOURNAL_JOB = "JournalImportLauncher"
FINDERS = {
    "ESSJobStatusRF": {"requestId"},
    "ESSExecutionDetailsRF": {"requestId", "fileType"},
    "ESSJobExecutionDetailsRF": {"requestId", "fileType"},
}


# fault -> (state while the import child runs, its final state or None to keep the import's
# own verdict, whether the import's documents are still created)
ESS_STATE_FAULTS: dict[FaultKind, tuple[EssStatus, EssStatus | None, bool]] = {
    FaultKind.ESS_READY: ("READY", None, True),
    FaultKind.ESS_COMPLETED: ("COMPLETED", None, True),
    FaultKind.ESS_BLOCKED: ("BLOCKED", None, True),
    FaultKind.ESS_PAUSED: ("PAUSED", None, True),
    FaultKind.ESS_PENDING_VALIDATION: ("PENDING_VALIDATION", None, True),
    FaultKind.ESS_ERROR_AUTO_RETRY: ("ERROR_AUTO_RETRY", None, True),
    FaultKind.ESS_WARNING: ("RUNNING", "WARNING", True),
    FaultKind.ESS_FINISHED: ("RUNNING", "FINISHED", True),
    FaultKind.ESS_CANCELLING: ("CANCELLING", "CANCELLED", False),
    FaultKind.ESS_CANCELLED: ("RUNNING", "CANCELLED", False),
    FaultKind.ESS_EXPIRED: ("WAIT", "EXPIRED", False),
    FaultKind.ESS_VALIDATION_FAILED: ("PENDING_VALIDATION", "VALIDATION_FAILED", False),
    FaultKind.ESS_SCHEDULE_ENDED: ("WAIT", "SCHEDULE_ENDED", False),
    FaultKind.ESS_HOLD: ("HOLD", "HOLD", False),
    FaultKind.ESS_ERROR_MANUAL_RECOVERY: ("RUNNING", "ERROR_MANUAL_RECOVERY", False),
    FaultKind.ESS_UNKNOWN: ("UNKNOWN", "UNKNOWN", False),
}
IMPORT_DEFINITIONS = ("JournalImport", AUTOINVOICE_JOB)


@dataclass
class StepResult:
    """One job of the chain as the import logic decided it."""

    package: str
    definition: str
    display_name: str
    status: EssStatus
    log: str
    output: str = ""
    running_status: EssStatus = "RUNNING"
    detached: bool = False  # runs as a request of its own, not as its launcher's child


def _bad(text: str, code: str = "SIM_ERPINT_INVALID") -> OracleError:
    return OracleError.one(400, text, code)


def _unzip(content: str) -> dict[str, str]:
    try:
        raw = base64.b64decode(content, validate=True)
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return {
                name.rsplit("/", 1)[-1]: archive.read(name).decode("utf-8-sig")
                for name in archive.namelist()
                if not name.endswith("/")
            }
    except (binascii.Error, zipfile.BadZipFile, UnicodeDecodeError, KeyError) as exc:
        raise ValueError(
            f"The file couldn't be read as a zip of UTF-8 CSV files ({exc})."
        ) from None


def submit(ctx: SimContext, payload: dict[str, Any], path: str) -> int:
    """Create the job chain for one importBulkData call and return the parent request id."""
    job_name = str(payload.get("JobName") or "")
    package, _, definition = job_name.partition(",")
    if definition not in (JOURNAL_JOB, AUTOINVOICE_JOB):
        raise _bad(
            f"The job {job_name} isn't supported by this simulator. Use JournalImportLauncher"
            " or AutoInvoiceImportEss."
        )
    params = [p.strip() for p in str(payload.get("ParameterList") or "").split(",")]
    state: SimState = ctx.state
    force_error = ctx.faults.take({FaultKind.ESS_CHILD_ERROR}, "POST", path) is not None
    with state.locked():
        ids = [state.new_request_id() for _ in range(3)]
        load_log = [
            f"Load Interface File for Import: request {ids[0]}",
            f"File: {payload.get('FileName')}, account: {payload.get('DocumentAccount')}",
        ]
        try:
            files = _unzip(str(payload.get("DocumentContent") or ""))
        except ValueError as exc:
            _add_chain(
                ctx,
                ids,
                [StepResult(*LOADER, "ERROR", "\n".join([*load_log, str(exc)]))],
                None,
                params,
            )
            return ids[0]
        load_log.append(f"Files loaded: {', '.join(sorted(files)) or '(none)'}")
        if definition == JOURNAL_JOB:
            steps, commit = _journal_steps(ctx, files, params, ids, load_log)
        else:
            steps, commit = run_autoinvoice_job(ctx, files, params, ids, load_log, package)
        if force_error and len(steps) > 1:
            last = steps[-1]
            steps[-1] = StepResult(
                last.package,
                last.definition,
                last.display_name,
                "ERROR",
                last.log + "\nERROR: the job ended in error (simulated fault: "
                "ess-child-error). No documents were created.",
                last.output,
            )
            commit = None
        steps, commit = _apply_ess_faults(ctx, path, steps, commit)
        _add_chain(ctx, ids, steps, commit, params)
    return ids[0]


def _apply_ess_faults(
    ctx: SimContext, path: str, steps: list[StepResult], commit: Any
) -> tuple[list[StepResult], Any]:
    """The import child's state and placement as the armed ESS fault switches say."""
    index = next((i for i, s in enumerate(steps) if s.definition in IMPORT_DEFINITIONS), None)
    if index is None:
        return steps, commit
    step = steps[index]
    fault = ctx.faults.take(set(ESS_STATE_FAULTS), "POST", path)
    if fault is not None:
        running, final, creates = ESS_STATE_FAULTS[fault.kind]
        step.running_status = running
        if final is not None:
            step.status = final
            step.log += f"\nThe request ended {final} (simulated fault: {fault.kind.value})."
        if not creates:
            commit = None
            step.log += " No documents were created."
    if ctx.faults.take({FaultKind.ESS_DETACHED_IMPORT}, "POST", path) is not None:
        step.detached = True
    return steps, commit


def _journal_steps(
    ctx: SimContext, files: dict[str, str], params: list[str], ids: list[int], load_log: list[str]
) -> tuple[list[StepResult], Any]:
    package = "/oracle/apps/ess/financials/generalLedger/programs/common"
    csv_name = next((n for n in files if n.lower().endswith(".csv")), None)
    if csv_name is None:
        return [
            StepResult(
                *LOADER,
                "ERROR",
                "\n".join(
                    [
                        *load_log,
                        "No GL_INTERFACE CSV file (e.g. GlInterface.csv) was found in the zip.",
                    ]
                ),
            )
        ], None
    rows = read_gl_interface(files[csv_name])
    load_log.append(f"{len(rows)} rows loaded into GL_INTERFACE from {csv_name}.")
    loader = StepResult(*LOADER, "SUCCEEDED", "\n".join(load_log))
    padded = [*params, "", "", "", ""]
    source, ledger_id, group_id = padded[1], padded[2], padded[3]
    ledger = ctx.setup.ledger_by_id(ledger_id)
    launch_log = f"Import Journals launcher: parameters {','.join(params)}"
    if source not in ctx.setup.general_ledger.journal_sources:
        return [
            loader,
            StepResult(
                package,
                JOURNAL_JOB,
                "Import Journals",
                "ERROR",
                f"{launch_log}\nThe journal source {source!r} doesn't exist.",
            ),
        ], None
    if ledger is None:
        return [
            loader,
            StepResult(
                package,
                JOURNAL_JOB,
                "Import Journals",
                "ERROR",
                f"{launch_log}\nThe ledger id {ledger_id!r} doesn't exist.",
            ),
        ], None
    result = run_journal_import(
        ctx.setup,
        ctx.state,
        rows,
        source=source,
        ledger=ledger,
        group_id=group_id,
        request_id=ids[2],
    )
    return [
        loader,
        StepResult(
            package,
            JOURNAL_JOB,
            "Import Journals",
            "SUCCEEDED",
            f"{launch_log}\nSubmitted Journal Import request {ids[2]}.",
        ),
        StepResult(
            package,
            "JournalImport",
            "Journal Import",
            result.status,  # type: ignore[arg-type]
            result.log,
            result.output,
        ),
    ], result.commit


def _add_chain(
    ctx: SimContext, ids: list[int], steps: list[StepResult], commit: Any, params: list[str]
) -> None:
    now = ctx.options.clock()
    step = timedelta(seconds=ctx.options.ess_step_seconds * ctx.options.time_scale)
    parent: EssJob | None = None
    for depth, (request_id, result) in enumerate(zip(ids, steps, strict=False)):
        if result.detached and parent is not None:
            parent.log += f"\nSubmitted {result.display_name} as request {request_id}."
        attached = parent if parent is not None and not result.detached else None
        job = EssJob(
            request_id,
            result.package,
            result.definition,
            result.display_name,
            attached.request_id if attached else None,
            depth,
            now,
            step,
            result.status,
            result.log,
            result.output,
            ",".join(params),
            running_status=result.running_status,
        )
        ctx.state.jobs[request_id] = job
        if attached is not None:
            attached.children.append(request_id)
        parent = job
    if parent is not None and commit is not None:
        parent.on_complete = commit


def _tree(state: SimState, job: EssJob) -> dict[str, Any]:
    """One job in the documented ESSExecutionDetailsRF shape (children under ``CHILD``)."""
    node: dict[str, Any] = {
        "JOBNAME": job.display_name,
        "JOBPATH": job.package,
        "REQUESTID": str(job.request_id),
        "STATUS": job.status(state.clock()),
    }
    children = [_tree(state, state.jobs[c]) for c in job.children]
    if len(children) == 1:
        node["CHILD"] = children[0]
    elif children:
        node["CHILD"] = children
    return node


def _log_zip(job: EssJob, file_type: str) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if file_type in ("ALL", "LOG"):
            archive.writestr(f"{job.request_id}.log", job.log)
        if file_type in ("ALL", "OUT") and job.output:
            archive.writestr(f"{job.request_id}.out", job.output)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def erpintegrations_router(ctx: SimContext) -> APIRouter:
    router = APIRouter()

    @router.post("/erpintegrations", include_in_schema=False)
    async def post(request: Request) -> Response:
        payload = await read_json(request)
        operation = payload.get("OperationName")
        if operation != "importBulkData":
            raise _bad(f"The operation {operation} isn't supported by this simulator.")
        for key in ("DocumentContent", "JobName", "FileName"):
            if not payload.get(key):
                raise OracleError.one(
                    400,
                    f"You must provide a value for the attribute {key}.",
                    "FND_CMN_REQ_ATTRIB_API_SERV",
                    key,
                )
        request_id = submit(ctx, payload, request.url.path)
        body = {k: v for k, v in payload.items() if k != "DocumentContent"}
        body.update({"DocumentContent": None, "ReqstId": str(request_id), "RequestStatus": None})
        return adf_response(
            body, 201, headers={"REST-Framework-Version": str(framework_version(request))}
        )

    @router.get("/erpintegrations", include_in_schema=False)
    async def get(request: Request) -> Response:
        finder = request.query_params.get("finder")
        if not finder:
            raise _bad(
                "Use one of the finders ESSJobStatusRF, ESSExecutionDetailsRF or "
                "ESSJobExecutionDetailsRF."
            )
        name, variables = parse_finder(finder, FINDERS)
        raw_id = variables.get("requestId", "")
        items: list[dict[str, Any]] = []
        with ctx.state.locked() as state:
            job = state.jobs.get(int(raw_id)) if raw_id.isdigit() else None
            if job is not None:
                status = job.status(state.clock())
                item: dict[str, Any] = {
                    "OperationName": name,
                    "ReqstId": str(job.request_id),
                    "RequestStatus": status,
                    "JobName": f"{job.package},{job.definition}",
                }
                if name == "ESSExecutionDetailsRF":
                    item["RequestStatus"] = json.dumps({"JOBS": _tree(state, job)})
                elif name == "ESSJobExecutionDetailsRF":
                    file_type = variables.get("fileType", "ALL").upper()
                    item.update(
                        {
                            "FileType": file_type,
                            "DocumentName": f"{job.request_id}.zip",
                            "ContentType": "zip",
                            "DocumentContent": _log_zip(job, file_type),
                        }
                    )
                items.append(item)
        return adf_response(collection(request, items, name="erpintegrations"), item=False)

    return router
