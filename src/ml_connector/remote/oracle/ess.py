"""ESS job trees: what the importBulkData request really did.

The parent request only loads the file; the import itself runs in child (and grandchild) jobs.
A parent can say SUCCEEDED while its import child says ERROR, so a bulk import is judged by the
whole tree: it succeeded only if every job did. The tree arrives as a JSON *string* inside
`RequestStatus` of the ESSExecutionDetailsRF finder (reference/oracle-fusion.md §6.3); the parser
is tolerant about key case and where children sit, because the shape is not documented.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["EssJob", "EssState", "log_text_from_zip", "parse_job_tree"]


class EssState(StrEnum):
    WAIT = "WAIT"
    READY = "READY"
    RUNNING = "RUNNING"
    BLOCKED = "BLOCKED"
    HOLD = "HOLD"
    PAUSED = "PAUSED"
    SUCCEEDED = "SUCCEEDED"
    WARNING = "WARNING"
    ERROR = "ERROR"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: object) -> EssState:
        text = str(value or "").strip().upper()
        if text == "COMPLETED":
            return cls.SUCCEEDED
        try:
            return cls(text)
        except ValueError:
            return cls.UNKNOWN

    @property
    def finished(self) -> bool:
        return self in _FINISHED

    @property
    def succeeded(self) -> bool:
        return self is EssState.SUCCEEDED


_FINISHED = {
    EssState.SUCCEEDED,
    EssState.WARNING,
    EssState.ERROR,
    EssState.FAILED,
    EssState.CANCELLED,
    EssState.EXPIRED,
}


@dataclass(frozen=True, slots=True)
class EssJob:
    request_id: str
    name: str
    state: EssState
    children: tuple[EssJob, ...] = field(default=())

    def walk(self) -> Iterator[EssJob]:
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def finished(self) -> bool:
        return all(job.state.finished for job in self.walk())

    @property
    def succeeded(self) -> bool:
        return all(job.state.succeeded for job in self.walk())

    def failures(self) -> list[EssJob]:
        return [job for job in self.walk() if job.state.finished and not job.state.succeeded]


def _lower(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in mapping.items()}


def _first(data: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in data and data[name] not in (None, ""):
            return data[name]
    return None


def _job(raw: Mapping[str, Any]) -> EssJob:
    data = _lower(raw)
    kids_raw = _first(data, "jobs", "children", "childjobs", "job")
    kids: list[Any]
    if isinstance(kids_raw, list):
        kids = kids_raw
    elif isinstance(kids_raw, Mapping):
        kids = [kids_raw]
    else:
        kids = []
    name = _first(data, "jobname", "name", "definition", "jobdefinition", "displayname")
    return EssJob(
        request_id=str(_first(data, "requestid", "reqstid", "request_id", "id") or ""),
        name=str(name or ""),
        state=EssState.parse(_first(data, "status", "state", "requeststatus")),
        children=tuple(_job(kid) for kid in kids if isinstance(kid, Mapping)),
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
            if parent is None:
                return EssJob(request_id, "", _worst(jobs), tuple(jobs))
            return parent
        if isinstance(root, Mapping):
            job = _job(root)
            return job if job.request_id else EssJob(request_id, job.name, job.state, job.children)
    return EssJob(request_id, "", EssState.UNKNOWN)


def _worst(jobs: list[EssJob]) -> EssState:
    states = [job.state for job in jobs]
    for state in (EssState.ERROR, EssState.FAILED, EssState.CANCELLED, EssState.WARNING):
        if state in states:
            return state
    if states and all(s is EssState.SUCCEEDED for s in states):
        return EssState.SUCCEEDED
    return EssState.RUNNING if states else EssState.UNKNOWN


def log_text_from_zip(document: bytes, *, limit: int = 4000) -> str:
    """The tail of the `.log` files (then `.out`) in an ESSJobExecutionDetailsRF zip: the tail
    is where ESS writes the error that stopped the job."""
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
