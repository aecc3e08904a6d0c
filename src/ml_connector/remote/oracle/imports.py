"""Bulk imports through `erpintegrations`: submit, wait (bounded), judge, read back.

An import is done only when (1) every ESS job in the tree — the loader *and* its import children
— succeeded and (2) the documents it should have created can be read back (journal batches by
batch name, invoices by number). Anything else is a failure carrying Oracle's log excerpt, never
a success. A poll that runs out of time is not a failure: it raises `ImportStillRunning` with
the request id so the caller can resume waiting later instead of importing twice.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict

from ml_connector.errors import RemoteError, TransientError, ValidationError
from ml_connector.remote.oracle.bulk import BulkImportRequest
from ml_connector.remote.oracle.client import FusionClient
from ml_connector.remote.oracle.ess import EssJob, EssState, log_text_from_zip, parse_job_tree
from ml_connector.remote.oracle.payloads import CreditMemo, Invoice, OracleId
from ml_connector.remote.oracle.receivables import Receivables

__all__ = [
    "AutoInvoiceResult",
    "BulkImports",
    "ImportFailed",
    "ImportOutcome",
    "ImportStillRunning",
    "JournalBatch",
    "JournalImportResult",
]

ERP_INTEGRATIONS = "erpintegrations"
JOURNAL_BATCHES = "journalBatches"
_BATCH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,99}")
_log = structlog.get_logger(__name__)


class JournalBatch(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    JeBatchId: OracleId
    BatchName: str
    Status: str | None = None
    RunningTotalAccountedDr: Decimal | None = None
    RunningTotalAccountedCr: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """The finished job tree of one importBulkData request, with the log of what failed."""

    request_id: str
    job: EssJob
    log_excerpt: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.job.succeeded


class ImportFailed(ValidationError):
    """Oracle refused the file or part of it; `outcome.log_excerpt` says why."""

    def __init__(self, message: str, outcome: ImportOutcome) -> None:
        super().__init__(message, operation="erpintegrations.import")
        self.outcome = outcome
        self.request_id = outcome.request_id


class ImportStillRunning(TransientError):
    """The job tree had not finished when the wait budget ran out; wait again later."""

    def __init__(self, request_id: str, state: EssState) -> None:
        super().__init__(
            f"ESS request {request_id} still {state.value}", operation="erpintegrations.wait"
        )
        self.request_id = request_id
        self.state = state


@dataclass(frozen=True, slots=True)
class JournalImportResult:
    outcome: ImportOutcome
    batches: list[JournalBatch] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AutoInvoiceResult:
    outcome: ImportOutcome
    invoices: list[Invoice | CreditMemo] = field(default_factory=list)


class BulkImports:
    """importBulkData and ESS polling for one pod."""

    def __init__(
        self,
        client: FusionClient,
        *,
        poll_interval: float = 10.0,
        max_wait: float = 1800.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._interval = poll_interval
        self._max_wait = max_wait
        self._sleep = sleep
        self._monotonic = monotonic

    # -- single calls -----------------------------------------------------------------------

    def submit(self, request: BulkImportRequest) -> str:
        """POST importBulkData once; returns the ESS request id (`ReqstId`)."""
        body = self._client.post(
            ERP_INTEGRATIONS, request.body(), operation="erpintegrations.importBulkData"
        )
        request_id = body.get("ReqstId") if isinstance(body, dict) else None
        if request_id in (None, "", -1, "-1"):
            raise RemoteError(
                "importBulkData answered without a request id",
                operation="erpintegrations.importBulkData",
            )
        _log.info("oracle.import.submitted", request_id=str(request_id), job=request.job_name)
        return str(request_id)

    def job_state(self, request_id: str) -> EssState:
        item = self._finder_item(f"ESSJobStatusRF;requestId={_numeric(request_id)}", "status")
        return EssState.parse(item.get("RequestStatus") if item else None)

    def job_tree(self, request_id: str) -> EssJob:
        item = self._finder_item(
            f"ESSExecutionDetailsRF;requestId={_numeric(request_id)}", "executionDetails"
        )
        return parse_job_tree(item.get("RequestStatus") if item else None, request_id)

    def job_log(self, request_id: str) -> str | None:
        item = self._finder_item(
            f"ESSJobExecutionDetailsRF;requestId={_numeric(request_id)},fileType=ALL", "log"
        )
        content = item.get("DocumentContent") if item else None
        if not content:
            return None
        try:
            raw = base64.b64decode(str(content), validate=False)
        except (binascii.Error, ValueError):
            return str(content)[-4000:]
        return log_text_from_zip(raw)

    def _finder_item(self, finder: str, what: str) -> dict[str, Any] | None:
        body = self._client.get(
            ERP_INTEGRATIONS, {"finder": finder}, operation=f"erpintegrations.{what}"
        )
        items = body.get("items") if isinstance(body, dict) else None
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return items[0]
        return None

    # -- waiting ------------------------------------------------------------------------------

    def wait(self, request_id: str, *, max_wait: float | None = None) -> ImportOutcome:
        """Poll until the whole job tree has finished (bounded); fetch logs of failed jobs."""
        deadline = self._monotonic() + (self._max_wait if max_wait is None else max_wait)
        state = self.job_state(request_id)
        while not state.finished:
            self._pause(deadline, request_id, state)
            state = self.job_state(request_id)
        tree = self.job_tree(request_id)
        while not tree.finished:
            self._pause(deadline, request_id, EssState.RUNNING)
            tree = self.job_tree(request_id)
        if state is not EssState.SUCCEEDED and tree.state.succeeded:
            # The status finder and the tree disagree: trust the worse of the two.
            tree = EssJob(tree.request_id, tree.name, state, tree.children)
        outcome = ImportOutcome(request_id, tree)
        if not outcome.succeeded:
            outcome = ImportOutcome(request_id, tree, self._failure_log(tree))
        _log.info(
            "oracle.import.finished",
            request_id=request_id,
            succeeded=outcome.succeeded,
            jobs=[(job.name, job.state.value) for job in tree.walk()],
        )
        return outcome

    def _pause(self, deadline: float, request_id: str, state: EssState) -> None:
        remaining = deadline - self._monotonic()
        if remaining <= 0:
            raise ImportStillRunning(request_id, state)
        self._sleep(min(self._interval, remaining))

    def _failure_log(self, tree: EssJob) -> str:
        parts: list[str] = []
        failed = tree.failures() or [tree]
        # A WARNING import keeps its per-row verdicts in its children's output (the execution
        # report), so their files are read too.
        related = [*failed, *(kid for job in failed for kid in job.children)]
        for job in dict.fromkeys(related):
            label = f"{job.name or 'job'} {job.request_id} {job.state.value}"
            try:
                text = self.job_log(job.request_id) if job.request_id else None
            except RemoteError as exc:
                text = f"(log unavailable: {exc.message})"
            parts.append(f"[{label}]\n{text or '(no log)'}")
        return "\n".join(parts)[-8000:]

    # -- whole imports ------------------------------------------------------------------------

    def find_journal_batches(self, batch_name: str) -> list[JournalBatch]:
        if not _BATCH_NAME.fullmatch(batch_name) or " and " in batch_name.lower():
            raise ValueError(f"batch name {batch_name!r} cannot be looked up safely")
        items = self._client.iter_items(
            JOURNAL_BATCHES, {"q": f"BatchName='{batch_name}'"}, operation="journalBatches.find"
        )
        batches = [JournalBatch.model_validate(item) for item in items]
        return [batch for batch in batches if batch.BatchName == batch_name]

    def import_journals(
        self, request: BulkImportRequest, *, batch_name: str, request_id: str | None = None
    ) -> JournalImportResult:
        """Submit (or resume waiting on `request_id`), wait, and read the batch back."""
        rid = request_id or self.submit(request)
        outcome = self.wait(rid)
        if not outcome.succeeded:
            raise ImportFailed(_failure_text("journal import", outcome), outcome)
        batches = self.find_journal_batches(batch_name)
        if not batches:
            missing = ImportOutcome(rid, outcome.job, self._failure_log(outcome.job))
            raise ImportFailed(
                f"journal import {rid} finished but no journal batch named {batch_name!r} exists",
                missing,
            )
        return JournalImportResult(outcome, batches)

    def import_autoinvoice(
        self,
        request: BulkImportRequest,
        *,
        transaction_numbers: Sequence[str],
        request_id: str | None = None,
    ) -> AutoInvoiceResult:
        """Submit (or resume), wait, and read every expected transaction back by number."""
        rid = request_id or self.submit(request)
        outcome = self.wait(rid)
        if not outcome.succeeded:
            raise ImportFailed(_failure_text("AutoInvoice import", outcome), outcome)
        receivables = Receivables(self._client)
        found: list[Invoice | CreditMemo] = []
        missing: list[str] = []
        for number in transaction_numbers:
            # AutoInvoice creates invoices and credit memos; each is read back where it lives.
            matches: Sequence[Invoice | CreditMemo] = receivables.find_invoices(
                transaction_number=number
            ) or receivables.find_credit_memos(transaction_number=number)
            if matches:
                found.extend(matches)
            else:
                missing.append(number)
        if missing:
            raise ImportFailed(
                f"AutoInvoice import {rid} finished but {len(missing)} transaction(s) were not "
                f"created: {', '.join(missing[:10])}",
                ImportOutcome(rid, outcome.job, self._failure_log(outcome.job)),
            )
        return AutoInvoiceResult(outcome, found)


def _numeric(request_id: str) -> str:
    if not request_id.isdigit():
        raise ValueError(f"ESS request id {request_id!r} is not numeric")
    return request_id


def _failure_text(what: str, outcome: ImportOutcome) -> str:
    failed = ", ".join(
        f"{job.name or job.request_id}={job.state.value}" for job in outcome.job.failures()
    )
    lines = [
        line.strip()
        for line in (outcome.log_excerpt or "").splitlines()
        if line.strip() and not line.startswith(("[", "=="))  # our job labels, file banners
    ]
    # Oracle's own reason is the last ERROR line; the execution report after it only counts rows.
    errors = [line for line in lines if "ERROR" in line.upper()]
    chosen = errors[-1] if errors else (lines[-1] if lines else "")
    hint = f": {chosen[:300]}" if chosen else ""
    return f"{what} {outcome.request_id} failed ({failed or outcome.job.state.value}){hint}"
