"""The lost-submission race, as one scenario the e2e tests and the bench both run.

Oracle accepts every ``importBulkData`` POST, runs the import slowly (``ess-slow``: each ESS
state step of that request lasts ``step`` seconds, six steps per import) and the answer never
arrives (``drop-after-commit``). The operator then syncs again at once, while the imports are
still running — or the worker is SIGKILLed right after the lost answer and a new one starts.
The connector must wait the imports out, find what they created and submit nothing twice.

``step`` is configurable so CI can use a short "slow import" (0.9 s) and the bench Oracle's
6 seconds; the connection's import settle time is set just above the import's duration, which is
what an operator sets from what their pod shows (the race is the same at any scale: the re-run
comes while the import is running).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from e2e_support import (
    CONNECTION,
    Books,
    closed_groups,
    refunds,
    running_books,
    shipped_orders,
    small_world,
)

from ml_connector.run.crashpoints import ENV_VAR as CRASH_ENV
from ml_connector.store import KEY_ENV_VAR, ConnectionConfig, get_connection, update_connection
from ml_connector_sim.amazon import AmazonWorld
from ml_connector_sim.amazon import RunningSim as AmazonSim
from ml_connector_sim.oracle import Fault, FaultKind

RUNNER = Path(__file__).with_name("sync_runner.py")
IMPORT_STEPS = 6  # loader → launcher → import: each job waits one step and runs one step
WORLD_ORDERS = 20  # 17 invoices, 2 credit memos (one AutoInvoice file), 8 settlement journals


@dataclass
class Figures:
    """What one run left in Oracle and in the store."""

    duplicate_journals: list[str] = field(default_factory=list)
    duplicate_credit_memos: list[str] = field(default_factory=list)
    interface_rows: int = 0
    journals: int = 0
    credit_memos: int = 0
    expected_journals: int = 0
    expected_credit_memos: int = 0
    unsettled: list[str] = field(default_factory=list)
    imports_submitted: int = 0
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return (
            not self.duplicate_journals
            and not self.duplicate_credit_memos
            and self.interface_rows == 0
            and not self.unsettled
            and self.journals == self.expected_journals
            and self.credit_memos == self.expected_credit_memos
        )


class ManualClock:
    """One clock for the connector and the Oracle pod that only moves when told: the re-run
    then comes while the imports run however loaded the machine is, and nothing sleeps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = datetime.now(UTC)

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


def use_clock(books: Books, clock: ManualClock) -> None:
    books.rt.clock = clock
    books.oracle.context.options.clock = clock
    books.oracle.state.clock = clock


def world() -> AmazonWorld:
    return small_world(WORLD_ORDERS)


def settle_seconds(step: float) -> float:
    """The connection's import settle time: a little longer than one slow import."""
    return IMPORT_STEPS * step + max(0.4, step)


def set_settle(books: Books, seconds: float) -> None:
    """The import settle time; and a short wait for an import within one sync, because on the
    manual clock an import submitted during a sync cannot finish before the clock moves."""
    with books.rt.sessions() as session, session.begin():
        row = get_connection(session, CONNECTION)
        config = ConnectionConfig.model_validate(row.config)
        oracle = config.oracle.model_copy(
            update={"import_settle_seconds": seconds, "import_max_wait": 3.0}
        )
        update_connection(session, row, config=config.model_copy(update={"oracle": oracle}))


def arm_lost_imports(books: Books, step: float, *, lose_answers: bool = True) -> None:
    """Every importBulkData POST lands and runs slowly; its answer is lost (unless told)."""
    books.oracle.add_fault(
        Fault(FaultKind.ESS_SLOW, path="erpintegrations", method="POST", times=None, seconds=step)
    )
    if lose_answers:
        books.oracle.add_fault(
            Fault(FaultKind.DROP_AFTER_COMMIT, path="erpintegrations", method="POST", times=None)
        )


def figures_of(books: Books, started: float) -> Figures:
    state = books.oracle.state
    batches = Counter(b.name for b in state.journal_batches)
    memos = Counter(t.number for t in state.credit_memos)
    return Figures(
        duplicate_journals=sorted(n for n, c in batches.items() if c > 1),
        duplicate_credit_memos=sorted(n for n, c in memos.items() if c > 1),
        interface_rows=len(state.interface_errors),
        journals=len(batches),
        credit_memos=len(memos),
        expected_journals=len(closed_groups(books.world)),
        expected_credit_memos=len(refunds(books.world)),
        unsettled=[f"{d.idempotency_key}={d.state.value}" for d in books.unsettled()],
        imports_submitted=sum(
            1 for job in state.ess_jobs if job.parent_id is None and "Loader" in job.definition
        ),
        seconds=round(time.monotonic() - started, 2),
    )


def settle(books: Books, step: float, *, budget: float, clock: ManualClock | None = None) -> None:
    """Sync again (as the scheduler would) until nothing is in flight or the budget is spent,
    then let every ESS request Oracle holds finish, so a late duplicate would be counted."""
    deadline = time.monotonic() + budget
    while books.unsettled() and time.monotonic() < deadline:
        if clock is None:
            time.sleep(max(0.2, step))
        else:
            clock.advance(settle_seconds(step) + 0.1)  # past the settle time at once
        books.sync()
    state = books.oracle.state
    if clock is not None:
        clock.advance(3600)
    while time.monotonic() < deadline:
        last = max((job.done_at() for job in state.ess_jobs), default=None)
        if last is None or state.clock() >= last:
            break
        time.sleep(0.1)


def rerun_at_once(
    workdir: Path,
    amazon_world: AmazonWorld,
    database_url: str,
    step: float,
    amazon: AmazonSim,
    *,
    clock: ManualClock | None = None,
) -> tuple[Figures, Figures]:
    """Lost answers, then an immediate second sync; returns (after the re-run, at the end).

    With ``clock`` (which the Amazon simulator must share) the connector, Amazon and Oracle run
    on one clock that stands still until the settling syncs move it; otherwise on real time."""
    with running_books(workdir, amazon_world, database_url, leave_out=0, amazon=amazon) as books:
        if clock is not None:
            use_clock(books, clock)
        set_settle(books, settle_seconds(step))
        started = time.monotonic()
        arm_lost_imports(books, step)
        books.sync()
        books.oracle.faults.clear()
        books.sync()  # the operator's re-run, while every import is still running
        after_rerun = figures_of(books, started)
        settle(books, step, budget=settle_seconds(step) * 4 + 30, clock=clock)
        return after_rerun, figures_of(books, started)


def killed_after_lost_answer(
    workdir: Path,
    amazon_world: AmazonWorld,
    database_url: str,
    step: float,
    amazon: AmazonSim,
    *,
    point: str = "post.journals.unconfirmed",
) -> Figures:
    """Lost answers, the worker SIGKILLed at ``point``; a new worker syncs at once.

    At ``post.<label>.submitted`` the answer arrived but the worker died before recording it:
    the same "may have landed" for the next worker, so no answer is dropped there."""
    with running_books(workdir, amazon_world, database_url, leave_out=0, amazon=amazon) as books:
        set_settle(books, settle_seconds(step))
        started = time.monotonic()
        arm_lost_imports(books, step, lose_answers=".submitted" not in point)
        env = {**os.environ, KEY_ENV_VAR: books.master_key, CRASH_ENV: point}
        crashed = subprocess.run(
            [sys.executable, str(RUNNER), database_url, CONNECTION],
            env=env,
            cwd=workdir,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if crashed.returncode != -signal.SIGKILL:
            raise AssertionError(
                f"{point}: exit {crashed.returncode}, not SIGKILL; "
                f"stderr: {crashed.stderr.decode(errors='replace')[-800:]}"
            )
        books.oracle.faults.clear()
        books.sync()  # the new worker, at once: recovery finds the documents `sending`
        settle(books, step, budget=settle_seconds(step) * 4 + 10)
        return figures_of(books, started)


def expected_invoices(amazon_world: AmazonWorld) -> int:
    return len(shipped_orders(amazon_world))
