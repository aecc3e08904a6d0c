"""The simulated ledger: invoices, credit memos, journal batches and ESS jobs, in memory.

All mutation happens under one re-entrant lock, so concurrent requests (uvicorn runs sync
handlers in a thread pool) see a consistent ledger. ESS jobs are time-driven: their state is a
pure function of the clock, and a job's documents become visible only when its import job
finishes, which ``advance`` applies lazily on every read.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from ml_connector_sim.oracle.faults import ess_step_override

TransactionKind = Literal["invoice", "credit_memo"]


@dataclass
class Transaction:
    """A Receivables invoice or credit memo as Fusion stores it."""

    transaction_id: int
    kind: TransactionKind
    business_unit: str
    source: str
    transaction_type: str
    number: str
    transaction_date: date
    accounting_date: date
    customer_number: str
    customer_name: str
    party_id: int
    site: str
    currency: str
    status: str
    header: dict[str, Any]
    lines: list[dict[str, Any]]
    distributions: list[dict[str, Any]]
    children: dict[str, list[dict[str, Any]]]
    created_at: datetime
    request_id: int | None = None
    applied_to: int | None = None
    credited: Decimal = Decimal(0)
    version: int = 1
    updated_at: datetime | None = None

    @property
    def amount(self) -> Decimal:
        return sum((Decimal(line["_amount"]) for line in self.lines), Decimal(0))


@dataclass
class JournalLine:
    number: int
    segments: list[str]
    account: str
    entered_dr: Decimal | None
    entered_cr: Decimal | None
    accounted_dr: Decimal | None
    accounted_cr: Decimal | None
    description: str
    references: dict[str, str]


@dataclass
class Journal:
    header_id: int
    name: str
    description: str
    ledger: str
    category: str
    source: str
    currency: str
    period: str
    accounting_date: date
    conversion: dict[str, str]
    lines: list[JournalLine]
    references: dict[str, str]


@dataclass
class JournalBatch:
    batch_id: int
    name: str
    description: str
    source: str
    period: str
    group_id: str
    request_id: int
    created_at: datetime
    journals: list[Journal]
    status: str = "Unposted"


# Oracle Enterprise Scheduler request states (docs/oracle-setup.md "ESS request states").
EssStatus = Literal[
    "WAIT",
    "READY",
    "RUNNING",
    "COMPLETED",
    "BLOCKED",
    "HOLD",
    "CANCELLING",
    "EXPIRED",
    "CANCELLED",
    "ERROR",
    "WARNING",
    "SUCCEEDED",
    "PAUSED",
    "PENDING_VALIDATION",
    "VALIDATION_FAILED",
    "SCHEDULE_ENDED",
    "FINISHED",
    "ERROR_AUTO_RETRY",
    "ERROR_MANUAL_RECOVERY",
    "UNKNOWN",
]


@dataclass
class EssJob:
    """One ESS request. ``depth`` orders the chain: parent 0, its child 1, grandchild 2."""

    request_id: int
    package: str
    definition: str
    display_name: str
    parent_id: int | None
    depth: int
    submitted_at: datetime
    step: timedelta
    final_status: EssStatus
    log: str
    output: str
    parameters: str = ""
    on_complete: Callable[[], None] | None = None
    children: list[int] = field(default_factory=list)
    running_status: EssStatus = "RUNNING"  # what the job reports while it runs

    def running_at(self) -> datetime:
        return self.submitted_at + self.step * (2 * self.depth + 1)

    def done_at(self) -> datetime:
        return self.submitted_at + self.step * (2 * self.depth + 2)

    def status(self, now: datetime) -> EssStatus:
        if now < self.running_at():
            return "WAIT"
        if now < self.done_at():
            return self.running_status
        return self.final_status


class EssJobBook(dict[int, EssJob]):
    """The pod's ESS requests by id. A request filed while an ``ess-slow`` fault handles the
    call gets that fault's step length, so only the requests of the hit call run slowly."""

    def __setitem__(self, request_id: int, job: EssJob) -> None:
        step = ess_step_override()
        if step is not None:
            job.step = timedelta(seconds=step)
        super().__setitem__(request_id, job)


@dataclass(frozen=True)
class InterfaceError:
    """A row left in RA_INTERFACE_LINES_ALL with its RA_INTERFACE_ERRORS_ALL message."""

    request_id: int
    interface_line_key: str
    message_text: str
    invalid_value: str


class SimState:
    """The pod's memory. Tests read it through ``RunningSim.state`` to count documents."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._trx_ids = itertools.count(300100170000001)
        self._line_ids = itertools.count(300100171000001)
        self._batch_ids = itertools.count(300100172000001)
        self._header_ids = itertools.count(300100173000001)
        self._request_ids = itertools.count(5000001)
        self.transactions: dict[int, Transaction] = {}
        self.batches: dict[int, JournalBatch] = {}
        self.jobs: dict[int, EssJob] = EssJobBook()
        self.interface_errors: list[InterfaceError] = []
        self.next_numbers: dict[str, int] = {}
        self.used_line_keys: set[tuple[str, ...]] = set()

    @contextmanager
    def locked(self) -> Iterator[SimState]:
        with self.lock:
            self.advance()
            yield self

    def new_transaction_id(self) -> int:
        return next(self._trx_ids)

    def new_line_id(self) -> int:
        return next(self._line_ids)

    def new_batch_id(self) -> int:
        return next(self._batch_ids)

    def new_header_id(self) -> int:
        return next(self._header_ids)

    def new_request_id(self) -> int:
        return next(self._request_ids)

    def advance(self) -> None:
        """Apply the effects of every job whose end time has passed (in request-id order)."""
        now = self.clock()
        with self.lock:
            for job in sorted(self.jobs.values(), key=lambda j: j.request_id):
                if job.on_complete is not None and now >= job.done_at():
                    action, job.on_complete = job.on_complete, None
                    action()

    # -- read access for tests and the demo ------------------------------------------------

    @property
    def invoices(self) -> list[Transaction]:
        with self.locked():
            return [t for t in self.transactions.values() if t.kind == "invoice"]

    @property
    def credit_memos(self) -> list[Transaction]:
        with self.locked():
            return [t for t in self.transactions.values() if t.kind == "credit_memo"]

    @property
    def journal_batches(self) -> list[JournalBatch]:
        with self.locked():
            return list(self.batches.values())

    @property
    def ess_jobs(self) -> list[EssJob]:
        with self.locked():
            return list(self.jobs.values())

    def job_status(self, request_id: int) -> EssStatus:
        with self.locked():
            return self.jobs[request_id].status(self.clock())

    def number_in_use(self, source: str, number: str) -> bool:
        return any(t.source == source and t.number == number for t in self.transactions.values())
