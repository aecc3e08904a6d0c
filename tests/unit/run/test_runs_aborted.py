"""Issue 9, scope 6: a cycle that died leaves its run `running`; the next cycle for that
connection closes it as `aborted`, at the time it was last seen."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ml_connector.store import RunStatus, claim_lease, finish_run, start_run
from ml_connector.store.runs import abort_dead_runs, run_seen
from ml_connector.store.tables import Run

Factory = Callable[..., Any]


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_the_next_cycle_closes_a_dead_run_as_aborted(sim_seller: Factory) -> None:
    seller = sim_seller(orders=20)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    started = datetime.now(UTC) - timedelta(hours=1)
    seen = started + timedelta(minutes=7)
    with seller.rt.sessions() as session, session.begin():
        owner = f"{socket.gethostname()}:{dead.pid}"
        lease = claim_lease(session, seller.connection_id, "sync", owner, timedelta(minutes=10))
        assert lease is not None
        stale = start_run(session, seller.connection_id, "orders+finances", now=started)
        run_seen(session, stale.id, now=seen)
        stale_id = stale.id
    report = seller.sync()
    assert sum(report.post.posted.values()) > 0
    with seller.rt.sessions() as session:
        runs = {run.id: run for run in session.scalars(select(Run).order_by(Run.id))}
    closed = runs[stale_id]
    assert closed.status is RunStatus.ABORTED
    assert _as_utc(closed.finished_at) == seen  # type: ignore[arg-type]
    assert closed.error is not None
    assert seen.isoformat() in closed.error
    assert "last seen" in closed.error
    newest = runs[max(runs)]
    assert newest.id != stale_id
    assert newest.status is RunStatus.SUCCEEDED
    assert [r.status for r in runs.values()].count(RunStatus.RUNNING) == 0


def test_a_clean_cycle_leaves_nothing_to_abort(sim_seller: Factory) -> None:
    seller = sim_seller(orders=10)
    seller.sync()
    seller.sync()
    with seller.rt.sessions() as session:
        statuses = list(session.scalars(select(Run.status)))
    assert statuses == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]


def test_a_presumed_dead_cycle_that_finishes_records_its_real_outcome(sim_seller: Factory) -> None:
    seller = sim_seller(orders=5)
    now = datetime.now(UTC)
    with seller.rt.sessions() as session, session.begin():
        run = start_run(session, seller.connection_id, "orders", now=now)
        assert [r.id for r in abort_dead_runs(session, seller.connection_id, now=now)] == [run.id]
        assert run.status is RunStatus.ABORTED
        finish_run(session, run, RunStatus.SUCCEEDED, counts={"posted": 1}, now=now)
        assert run.status is RunStatus.SUCCEEDED
