"""Bulk imports through `erpintegrations`: submit, wait (bounded), judge, read back.

An import is done only when (1) its ESS tree — the loader *and* its import job, however nested
or submitted — succeeded and (2) the documents it should have created can be read back (journal
batches by batch name, invoices by number). Anything else is a failure quoting Oracle's reason
for each rejected row, never a success. A poll that runs out of time is not a failure: it raises
`ImportStillRunning` with the request id so the caller can resume waiting later instead of
importing twice. A job that waits for a person (held, manual recovery, unknown state) raises
`ImportNeedsAttention` at once: a kind of "still running" (the import may still land, so it must
never be submitted again) that the caller reports for review instead of polling forever.
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
from ml_connector.remote.oracle.ess import (
    EssJob,
    EssState,
    RowRejection,
    Verdict,
    log_text_from_zip,
    parse_job_tree,
    row_rejections,
)
from ml_connector.remote.oracle.payloads import CreditMemo, Invoice, OracleId
from ml_connector.remote.oracle.receivables import Receivables

__all__ = [
    "AutoInvoiceResult",
    "BulkImports",
    "ImportFailed",
    "ImportNeedsAttention",
    "ImportOutcome",
    "ImportStillRunning",
    "JournalBatch",
    "JournalImportResult",
]

ERP_INTEGRATIONS = "erpintegrations"
JOURNAL_BATCHES = "journalBatches"
_BATCH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,99}")
_SUBMITTED = re.compile(r"request(?:\s+id)?\s*[:=]?\s*(\d{1,18})", re.IGNORECASE)
_FULL_LOG = 200_000
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
    rejections: tuple[RowRejection, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.job.succeeded

    @property
    def verdict(self) -> Verdict:
        return self.job.verdict


class ImportFailed(ValidationError):
    """Oracle refused the file or part of it; `outcome.rejections` quotes Oracle's reason for
    each rejected row and `outcome.log_excerpt` holds the logs."""

    def __init__(self, message: str, outcome: ImportOutcome, *, what: str = "import") -> None:
        super().__init__(message, operation="erpintegrations.import")
        self.outcome = outcome
        self.request_id = outcome.request_id
        self.what = what

    def reasons_for(self, document: str) -> list[RowRejection]:
        """The rejected rows of one document (journal batch name or transaction number)."""
        return [r for r in self.outcome.rejections if r.document == document]

    def for_document(self, document: str) -> ImportFailed:
        """The same failure told for one document of the file: its own rows' reasons first
        (all reasons when the report does not say which document a row belongs to)."""
        own = self.reasons_for(document)
        if not own:
            return self
        message = _failure_text(self.what, self.outcome, own, document=document)
        return ImportFailed(message, self.outcome, what=self.what)


class ImportStillRunning(TransientError):
    """The job tree had not finished when the wait budget ran out; wait again later."""

    def __init__(self, request_id: str, state: EssState) -> None:
        super().__init__(
            f"ESS request {request_id} still {state.value}", operation="erpintegrations.wait"
        )
        self.request_id = request_id
        self.state = state


class ImportNeedsAttention(ImportStillRunning):
    """An ESS job of the import waits for a person (HOLD, ERROR_MANUAL_RECOVERY, an unknown
    state). The import may still land once someone acts, so — like `ImportStillRunning` — the
    documents stay in flight on this request id and must never be submitted again; unlike it,
    the caller reports `message` for review at once instead of just waiting."""

    def __init__(self, request_id: str, jobs: list[EssJob], *, reason: str | None = None) -> None:
        super().__init__(request_id, jobs[0].state if jobs else EssState.UNKNOWN)
        named = ", ".join(
            f"{job.name or job.definition or 'job'} {job.request_id} {job.state.value}"
            for job in jobs
        )
        why = reason or f"waits for a person in Oracle ({named})"
        self.message = (
            f"ESS request {request_id} {why}: release or recover it in Scheduled Processes; "
            "the connector keeps waiting on this request"
        )
        self.args = (self.message,)
        self.jobs = jobs
        self.states = [job.state for job in jobs]


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
        """The tree under `request_id`; an import its launcher submitted as a request of its own
        (named only in the launcher's log) is fetched and put under the launcher."""
        tree = self._tree(request_id)
        if tree.imports():
            return tree
        known = {job.request_id for job in tree.walk()}
        for launcher in [j for j in tree.walk() if j.is_launcher and j.state.finished]:
            try:
                text = self.job_log(launcher.request_id, limit=_FULL_LOG) or ""
            except RemoteError:
                continue
            for rid in dict.fromkeys(_SUBMITTED.findall(text)):
                if rid in known:
                    continue
                known.add(rid)
                child = self._tree(rid)
                if child.imports():
                    tree = tree.with_child(launcher.request_id, child)
        return tree

    def _tree(self, request_id: str) -> EssJob:
        item = self._finder_item(
            f"ESSExecutionDetailsRF;requestId={_numeric(request_id)}", "executionDetails"
        )
        return parse_job_tree(item.get("RequestStatus") if item else None, request_id)

    def job_log(self, request_id: str, *, limit: int = 4000) -> str | None:
        item = self._finder_item(
            f"ESSJobExecutionDetailsRF;requestId={_numeric(request_id)},fileType=ALL", "log"
        )
        content = item.get("DocumentContent") if item else None
        if not content:
            return None
        try:
            raw = base64.b64decode(str(content), validate=False)
        except (binascii.Error, ValueError):
            return str(content)[-limit:]
        return log_text_from_zip(raw, limit=limit)

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
        """Poll until the job tree has a verdict (bounded); read the reports of failed jobs.

        Raises `ImportNeedsAttention` as soon as a job waits for a person, `ImportStillRunning`
        when the budget runs out.
        """
        budget = self._max_wait if max_wait is None else max_wait
        deadline = self._monotonic() + budget
        state = self.job_state(request_id)
        while not state.finished:
            if state.verdict is Verdict.NEEDS_ATTENTION:
                raise ImportNeedsAttention(request_id, [EssJob(request_id, "", state)])
            self._pause(deadline, request_id, state)
            state = self.job_state(request_id)
        tree = self.job_tree(request_id)
        while tree.verdict in (Verdict.RUNNING, Verdict.NEEDS_ATTENTION):
            if tree.verdict is Verdict.NEEDS_ATTENTION:
                raise ImportNeedsAttention(request_id, tree.waiting_for_a_person())
            try:
                self._pause(deadline, request_id, EssState.RUNNING)
            except ImportStillRunning:
                if budget > 0 and _import_missing(tree):
                    # A whole wait budget with every job done and no import job in sight: it
                    # was never submitted, or Oracle shows it where we cannot see. Ask a person.
                    raise ImportNeedsAttention(
                        request_id,
                        list(tree.walk()),
                        reason="finished loading but no import job appeared in its tree or "
                        "its launcher's log",
                    ) from None
                raise
            tree = self.job_tree(request_id)
        if _rank(state) > _rank(tree.state) and tree.state.succeeded:
            # The status finder and the tree disagree: trust the worse of the two.
            tree = EssJob(tree.request_id, tree.name, state, tree.children, tree.definition)
        outcome = ImportOutcome(request_id, tree)
        if not outcome.succeeded:
            outcome = self._with_reports(outcome)
        _log.info(
            "oracle.import.finished",
            request_id=request_id,
            verdict=outcome.verdict.value,
            jobs=[(job.name, job.state.value) for job in tree.walk()],
            rejected_rows=len(outcome.rejections),
        )
        return outcome

    def _with_reports(self, outcome: ImportOutcome) -> ImportOutcome:
        log, rejections = self._failure_log(outcome.job)
        return ImportOutcome(outcome.request_id, outcome.job, log, tuple(rejections))

    def _pause(self, deadline: float, request_id: str, state: EssState) -> None:
        remaining = deadline - self._monotonic()
        if remaining <= 0:
            raise ImportStillRunning(request_id, state)
        self._sleep(min(self._interval, remaining))

    def _failure_log(self, tree: EssJob) -> tuple[str, list[RowRejection]]:
        parts: list[str] = []
        rejections: list[RowRejection] = []
        failed = tree.failures() or [tree]
        # The import's per-row verdicts are in its execution report, a child job's output, so
        # the children of every failed or warned job are read too.
        related = [*failed, *(kid for job in failed for kid in job.walk())]
        for job in dict.fromkeys(related):
            label = f"{job.name or 'job'} {job.request_id} {job.state.value}"
            try:
                text = self.job_log(job.request_id, limit=_FULL_LOG) if job.request_id else None
            except RemoteError as exc:
                text = f"(log unavailable: {exc.message})"
            rejections.extend(r for r in row_rejections(text or "") if r not in rejections)
            parts.append(f"[{label}]\n{(text or '(no log)')[-4000:]}")
        return "\n".join(parts)[-8000:], rejections

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
        if outcome.verdict is not Verdict.SUCCEEDED and outcome.verdict is not Verdict.WARNING:
            # A WARNING import finished: what it created is read back below, document by
            # document, and only what is missing fails (with its rows' reasons).
            raise ImportFailed(
                _failure_text("journal import", outcome, outcome.rejections),
                outcome,
                what="journal import",
            )
        batches = self.find_journal_batches(batch_name)
        if not batches:
            missing = outcome if outcome.log_excerpt else self._with_reports(outcome)
            raise ImportFailed(
                f"journal import {rid} finished but no journal batch named {batch_name!r} exists"
                + _reasons(missing, missing.rejections),
                missing,
                what="journal import",
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
        if outcome.verdict is not Verdict.SUCCEEDED and outcome.verdict is not Verdict.WARNING:
            # A WARNING import finished: what it created is read back below, document by
            # document, and only what is missing fails (with its rows' reasons).
            raise ImportFailed(
                _failure_text("AutoInvoice import", outcome, outcome.rejections),
                outcome,
                what="AutoInvoice import",
            )
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
            reported = outcome if outcome.log_excerpt else self._with_reports(outcome)
            raise ImportFailed(
                f"AutoInvoice import {rid} finished but {len(missing)} transaction(s) were not "
                f"created: {', '.join(missing[:10])}" + _reasons(reported, reported.rejections),
                reported,
                what="AutoInvoice import",
            )
        return AutoInvoiceResult(outcome, found)


def _numeric(request_id: str) -> str:
    if not request_id.isdigit():
        raise ValueError(f"ESS request id {request_id!r} is not numeric")
    return request_id


_RANKS = {Verdict.SUCCEEDED: 0, Verdict.WARNING: 1, Verdict.FAILED: 2}


def _import_missing(tree: EssJob) -> bool:
    """Every job finished, yet no import job: only a launcher or loader ran."""
    return not tree.imports() and all(job.state.finished for job in tree.walk())


def _rank(state: EssState) -> int:
    return _RANKS.get(state.verdict, 0)


def _quoted(rejections: Sequence[RowRejection], limit: int = 10) -> str:
    if not rejections:
        return ""
    shown = "; ".join(r.quote()[:300] for r in rejections[:limit])
    more = f" (and {len(rejections) - limit} more)" if len(rejections) > limit else ""
    return f". Oracle rejected {shown}{more}"


_COUNT_LINE = re.compile(r"\b\d+\s+error\(s\)|\berrors? in \d+ of\b", re.IGNORECASE)


def _failure_text(
    what: str,
    outcome: ImportOutcome,
    rejections: Sequence[RowRejection],
    *,
    document: str | None = None,
) -> str:
    failed = ", ".join(
        f"{job.name or job.request_id}={job.state.value}" for job in outcome.job.failures()
    )
    head = f"{what} {outcome.request_id} failed ({failed or outcome.job.state.value})"
    if document:
        head += f" for {document}"
    return head + _reasons(outcome, rejections)


def _reasons(outcome: ImportOutcome, rejections: Sequence[RowRejection]) -> str:
    """Oracle's reason per rejected row, or else the log line that best says why."""
    if rejections:
        return _quoted(rejections)
    lines = [
        line.strip()
        for line in (outcome.log_excerpt or "").splitlines()
        if line.strip() and not line.startswith(("[", "=="))  # our job labels, file banners
    ]
    # Without per-row verdicts, Oracle's own reason is the last ERROR line that is not a count.
    errors = [line for line in lines if "ERROR" in line.upper() and not _COUNT_LINE.search(line)]
    chosen = errors[-1] if errors else (lines[-1] if lines else "")
    return f": {chosen[:300]}" if chosen else ""
