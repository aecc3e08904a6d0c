"""ESS job trees: what the importBulkData request really did, judged by its import child.

The request id importBulkData returns is the interface loader's; the import itself (Journal
Import, Import AutoInvoice) runs as a child or grandchild of it, or as a request of its own that
the launcher only names in its log. A loader can say SUCCEEDED while its import says ERROR, so
an import is judged by the whole tree and, above all, by its import job: while no import job is
visible under a loader or launcher, nothing is known yet.

The tree arrives as a JSON *string* inside `RequestStatus` of the ESSExecutionDetailsRF finder
(reference/oracle-fusion.md §6.3): a `JOBS` object whose children sit under `CHILD` (an object
or a list, at any depth). Older or simulated shapes put them under `JOBS`/`children`; the parser
accepts all of them, case-insensitively.

Every state of Oracle Enterprise Scheduler's `oracle.as.scheduler.State` is classified into one
`Verdict` (docs/oracle-setup.md "ESS request states" has the list with Oracle's descriptions):
COMPLETED means the executable finished and *post-processing has begun*, so it is still running,
not SUCCEEDED; HOLD and ERROR_MANUAL_RECOVERY wait for a person and are reported at once.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "EssJob",
    "EssState",
    "RowRejection",
    "Verdict",
    "judge",
    "log_text_from_zip",
    "parse_job_tree",
    "row_rejections",
]


class Verdict(StrEnum):
    """What a job (or a whole tree) means for the document it imports."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    WARNING = "warning"  # finished, but some rows may have been rejected: read back and see
    FAILED = "failed"
    NEEDS_ATTENTION = "needs_attention"  # waits for a person (held, manual recovery)


class EssState(StrEnum):
    """ESS request states as Oracle Enterprise Scheduler names them, plus FAILED (used by
    ERP-integration clients for a failed request) and UNKNOWN ("unknown or invalid state")."""

    WAIT = "WAIT"
    READY = "READY"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    BLOCKED = "BLOCKED"
    HOLD = "HOLD"
    CANCELLING = "CANCELLING"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    ERROR = "ERROR"
    WARNING = "WARNING"
    SUCCEEDED = "SUCCEEDED"
    PAUSED = "PAUSED"
    PENDING_VALIDATION = "PENDING_VALIDATION"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    SCHEDULE_ENDED = "SCHEDULE_ENDED"
    FINISHED = "FINISHED"
    ERROR_AUTO_RETRY = "ERROR_AUTO_RETRY"
    ERROR_MANUAL_RECOVERY = "ERROR_MANUAL_RECOVERY"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: object) -> EssState:
        """A status text as a state; absent means not reported yet (WAIT), anything else we do
        not know is UNKNOWN (which a person must look at, never "still running" forever)."""
        text = str(value or "").strip().upper().replace(" ", "_")
        if not text:
            return cls.WAIT
        try:
            return cls(text)
        except ValueError:
            return cls.UNKNOWN

    @property
    def verdict(self) -> Verdict:
        return _VERDICTS[self]

    @property
    def finished(self) -> bool:
        return self.verdict in (Verdict.SUCCEEDED, Verdict.WARNING, Verdict.FAILED)

    @property
    def succeeded(self) -> bool:
        return self.verdict is Verdict.SUCCEEDED


_VERDICTS: dict[EssState, Verdict] = {
    EssState.WAIT: Verdict.RUNNING,  # waiting to be dispatched
    EssState.READY: Verdict.RUNNING,  # dispatched, awaiting processing
    EssState.RUNNING: Verdict.RUNNING,
    EssState.COMPLETED: Verdict.RUNNING,  # executable done, post-processing has commenced
    EssState.BLOCKED: Verdict.RUNNING,  # blocked by incompatible requests; runs once they end
    EssState.CANCELLING: Verdict.RUNNING,  # cancelled, awaiting acknowledgement: ends CANCELLED
    EssState.PAUSED: Verdict.RUNNING,  # paused for its sub-requests to complete
    EssState.PENDING_VALIDATION: Verdict.RUNNING,  # submitted, not yet validated
    EssState.ERROR_AUTO_RETRY: Verdict.RUNNING,  # errored, will be retried automatically
    EssState.SUCCEEDED: Verdict.SUCCEEDED,
    EssState.FINISHED: Verdict.SUCCEEDED,  # it and its children finished: the children judge
    EssState.WARNING: Verdict.WARNING,
    EssState.ERROR: Verdict.FAILED,
    EssState.FAILED: Verdict.FAILED,
    EssState.CANCELLED: Verdict.FAILED,
    EssState.EXPIRED: Verdict.FAILED,  # expired before it could be processed
    EssState.VALIDATION_FAILED: Verdict.FAILED,
    EssState.SCHEDULE_ENDED: Verdict.FAILED,  # schedule/expiration reached: it will not run
    EssState.HOLD: Verdict.NEEDS_ATTENTION,  # explicitly held: someone must release it
    EssState.ERROR_MANUAL_RECOVERY: Verdict.NEEDS_ATTENTION,  # needs manual intervention
    EssState.UNKNOWN: Verdict.NEEDS_ATTENTION,  # unknown or invalid: a person must look
}

# Job definitions / display names (reference/oracle-fusion.md §6.2, oracle-fbdi.md §2.2).
_LOADERS = ("interfaceloadercontroller", "load interface file for import")
_LAUNCHERS = ("journalimportlauncher", "import journals")
_IMPORTS = (
    "journalimport",
    "journal import",
    "autoinvoiceimportess",
    "import autoinvoice",
    "autoinvoicemasteress",
    "import receivables transactions using autoinvoice",
)


@dataclass(frozen=True, slots=True)
class EssJob:
    request_id: str
    name: str
    state: EssState
    children: tuple[EssJob, ...] = field(default=())
    definition: str = ""

    def walk(self) -> Iterator[EssJob]:
        yield self
        for child in self.children:
            yield from child.walk()

    def _is(self, names: tuple[str, ...]) -> bool:
        return any(
            label.strip().lower() in names for label in (self.definition, self.name) if label
        )

    @property
    def is_import(self) -> bool:
        """The job that turns interface rows into documents (Journal Import, AutoInvoice)."""
        return self._is(_IMPORTS)

    @property
    def is_launcher(self) -> bool:
        """A job that only submits the import (Import Journals launcher, interface loader)."""
        return self._is(_LAUNCHERS) or self._is(_LOADERS)

    def imports(self) -> list[EssJob]:
        return [job for job in self.walk() if job.is_import]

    @property
    def verdict(self) -> Verdict:
        return judge(self)

    @property
    def finished(self) -> bool:
        return self.verdict in (Verdict.SUCCEEDED, Verdict.WARNING, Verdict.FAILED)

    @property
    def succeeded(self) -> bool:
        return self.verdict is Verdict.SUCCEEDED

    def failures(self) -> list[EssJob]:
        """Jobs that ended failed or with a warning (whose reports say which rows failed)."""
        return [
            job for job in self.walk() if job.state.verdict in (Verdict.FAILED, Verdict.WARNING)
        ]

    def waiting_for_a_person(self) -> list[EssJob]:
        return [job for job in self.walk() if job.state.verdict is Verdict.NEEDS_ATTENTION]

    def with_child(self, parent_id: str, child: EssJob) -> EssJob:
        """This tree with `child` added under the job `parent_id` (an import the launcher
        submitted as a request of its own)."""
        kids = tuple(kid.with_child(parent_id, child) for kid in self.children)
        if self.request_id == parent_id:
            kids = (*kids, child)
        return EssJob(self.request_id, self.name, self.state, kids, self.definition)


def judge(tree: EssJob) -> Verdict:
    """The verdict of a whole tree.

    A job waiting for a person decides at once; otherwise anything running means running; a
    loader or launcher whose import job is not (yet) in the tree is still running; then the
    worst finished state wins.
    """
    verdicts = [job.state.verdict for job in tree.walk()]
    if Verdict.NEEDS_ATTENTION in verdicts:
        return Verdict.NEEDS_ATTENTION
    if Verdict.RUNNING in verdicts:
        return Verdict.RUNNING
    if Verdict.FAILED in verdicts:
        return Verdict.FAILED
    if not tree.imports() and any(job.is_launcher for job in tree.walk()):
        return Verdict.RUNNING  # the import is submitted after its launcher: not judged yet
    if Verdict.WARNING in verdicts:
        return Verdict.WARNING
    return Verdict.SUCCEEDED


def _lower(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in mapping.items()}


def _first(data: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in data and data[name] not in (None, ""):
            return data[name]
    return None


_CHILD_KEYS = ("child", "children", "childjobs", "childrequests", "jobs", "job")


def _job(raw: Mapping[str, Any]) -> EssJob:
    data = _lower(raw)
    kids: list[Any] = []
    for key in _CHILD_KEYS:
        value = data.get(key)
        if isinstance(value, list):
            kids.extend(value)
        elif isinstance(value, Mapping):
            kids.append(value)
    name = _first(data, "jobname", "name", "displayname")
    definition = _first(data, "definition", "jobdefinition", "jobdefname")
    return EssJob(
        request_id=str(_first(data, "requestid", "reqstid", "request_id", "id") or ""),
        name=str(name or ""),
        state=EssState.parse(_first(data, "status", "state", "requeststatus")),
        children=tuple(_job(kid) for kid in kids if isinstance(kid, Mapping)),
        definition=str(definition or ""),
    )


def parse_job_tree(request_status: Any, request_id: str) -> EssJob:
    """The job tree from an ESSExecutionDetailsRF item's `RequestStatus` (string or object)."""
    value = request_status
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return EssJob(request_id, "", EssState.parse(value))
    if isinstance(value, Mapping):
        top = _lower(value)
        root = top.get("jobs", value)
        if isinstance(root, list):
            jobs = [_job(item) for item in root if isinstance(item, Mapping)]
            parent = next((j for j in jobs if j.request_id == request_id), None)
            if parent is not None:
                others = tuple(j for j in jobs if j is not parent)
                return EssJob(
                    parent.request_id,
                    parent.name,
                    parent.state,
                    (*parent.children, *others),
                    parent.definition,
                )
            return EssJob(request_id, "", _worst(jobs), tuple(jobs))
        if isinstance(root, Mapping):
            job = _job(root)
            if job.request_id:
                return job
            return EssJob(request_id, job.name, job.state, job.children, job.definition)
    if value is None:
        return EssJob(request_id, "", EssState.WAIT)
    return EssJob(request_id, "", EssState.UNKNOWN)


def _worst(jobs: list[EssJob]) -> EssState:
    """A state for a synthetic root over sibling jobs (the tree's verdict comes from them)."""
    states = [job.state for job in jobs]
    if not states:
        return EssState.UNKNOWN
    for verdict in (Verdict.NEEDS_ATTENTION, Verdict.FAILED, Verdict.RUNNING, Verdict.WARNING):
        for state in states:
            if state.verdict is verdict:
                return state
    return EssState.SUCCEEDED


def log_text_from_zip(document: bytes, *, limit: int = 4000) -> str:
    """The `.log` files (then `.out`) in an ESSJobExecutionDetailsRF zip, keeping the tail
    when long: the tail is where ESS writes the error that stopped the job."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(document))
    except zipfile.BadZipFile:
        text = document.decode("utf-8", errors="replace")
        return text[-limit:]
    with archive:
        names = sorted(archive.namelist(), key=lambda n: (not n.endswith(".log"), n))
        parts = [
            f"== {name} ==\n" + archive.read(name).decode("utf-8", errors="replace").strip()
            for name in names
            if not name.endswith("/")
        ]
    text = "\n".join(parts)
    return text[-limit:]


@dataclass(frozen=True, slots=True)
class RowRejection:
    """One row an import rejected, in Oracle's words: `row` is how the report names it (a row
    number, or an AutoInvoice line key `CONTEXT|ATTRIBUTE1|...`), `document` the batch name or
    transaction number it belongs to when the report says so, `reason` Oracle's message."""

    row: str
    reason: str
    invalid_value: str = ""
    document: str = ""

    def quote(self) -> str:
        value = f" [{self.invalid_value}]" if self.invalid_value else ""
        return f"row {self.row}: {self.reason}{value}"


# "Row <key>: <reason> [<invalid value>]" (AutoInvoice execution report),
# "Row <n> | Batch <name> | <reason>" and "ERROR <row> <reason>" (Journal Import report).
_AI_ROW = re.compile(
    r"^\s*Row\s+(?P<row>[^:|]+(?:\|[^:|]*)*):\s+(?P<reason>.+?)(?:\s+\[(?P<value>[^\]]*)\])?\s*$"
)
_GL_ROW = re.compile(
    r"^\s*Row\s+(?P<row>\d+)\s*\|\s*Batch\s+(?P<batch>[^|]*?)\s*\|\s*(?P<reason>\S.*)$"
)
_ERROR_ROW = re.compile(r"^\s*ERROR\s+(?P<row>\d+)\s+(?P<reason>\S.*)$")


def row_rejections(text: str) -> list[RowRejection]:
    """The per-row reasons in an execution report or log, in report order, without repeats."""
    found: dict[tuple[str, str], RowRejection] = {}
    for line in text.splitlines():
        if (match := _GL_ROW.match(line)) is not None:
            rejection = RowRejection(
                match["row"], match["reason"].strip(), document=match["batch"].strip()
            )
        elif (match := _AI_ROW.match(line)) is not None:
            parts = match["row"].split("|")
            rejection = RowRejection(
                match["row"],
                match["reason"].strip(),
                (match["value"] or "").strip(),
                document=parts[1] if len(parts) > 1 else "",
            )
        elif (match := _ERROR_ROW.match(line)) is not None:
            rejection = RowRejection(match["row"], match["reason"].strip())
        else:
            continue
        found.setdefault((rejection.row, rejection.reason), rejection)
    return list(found.values())
