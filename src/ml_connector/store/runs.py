"""Run history: one row per (connection, stream) cycle, for the dashboard and `sync` output."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ml_connector.store.columns import utcnow
from ml_connector.store.errors import IllegalTransitionError
from ml_connector.store.kinds import RunStatus
from ml_connector.store.tables import Run

__all__ = ["abort_dead_runs", "finish_run", "last_run", "list_runs", "run_seen", "start_run"]


def start_run(
    session: Session, connection_id: int, stream: str, *, now: datetime | None = None
) -> Run:
    at = now or utcnow()
    run = Run(
        connection_id=connection_id,
        stream=stream,
        started_at=at,
        last_seen_at=at,
        status=RunStatus.RUNNING,
        counts={},
    )
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session,
    run: Run,
    status: RunStatus,
    *,
    counts: Mapping[str, int] | None = None,
    error: str | None = None,
    now: datetime | None = None,
) -> Run:
    """Close a run once; ``error`` is a short, already-redacted description.

    A run closed as aborted by a later cycle may still be finished by its own cycle, which was
    alive after all: its real outcome replaces the presumption."""
    if run.status not in (RunStatus.RUNNING, RunStatus.ABORTED):
        raise IllegalTransitionError(f"run #{run.id} already finished as {run.status}")
    if status is RunStatus.RUNNING:
        raise IllegalTransitionError("a run cannot finish as running")
    run.status = status
    run.counts = dict(counts or {})
    run.error = error
    run.finished_at = now or utcnow()
    run.last_seen_at = run.finished_at
    session.flush()
    return run


def run_seen(session: Session, run_id: int, *, now: datetime | None = None) -> None:
    """The cycle of ``run_id`` is alive (called at each heartbeat)."""
    run = session.get(Run, run_id)
    if run is not None and run.status is RunStatus.RUNNING:
        run.last_seen_at = now or utcnow()
        session.flush()


def abort_dead_runs(
    session: Session, connection_id: int, *, now: datetime | None = None
) -> list[Run]:
    """Close every run of the connection still marked running as aborted, at the time it was
    last seen. Only the holder of the connection's lease calls this, before it starts its own
    run: any other running row belongs to a cycle that died (killed, host lost)."""
    dead = list(
        session.scalars(
            select(Run)
            .where(Run.connection_id == connection_id, Run.status == RunStatus.RUNNING)
            .order_by(Run.id)
        )
    )
    for run in dead:
        seen = run.last_seen_at or run.started_at
        run.status = RunStatus.ABORTED
        run.finished_at = seen
        run.error = (
            f"aborted: the cycle stopped without closing its run; last seen {seen.isoformat()}"
            + (f", closed by the cycle at {now.isoformat()}" if now is not None else "")
        )
    session.flush()
    return dead


def list_runs(
    session: Session,
    *,
    connection_id: int | None = None,
    stream: str | None = None,
    limit: int = 50,
) -> list[Run]:
    """Newest first."""
    query = select(Run)
    if connection_id is not None:
        query = query.where(Run.connection_id == connection_id)
    if stream is not None:
        query = query.where(Run.stream == stream)
    return list(session.scalars(query.order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)))


def last_run(
    session: Session, connection_id: int, stream: str, *, status: RunStatus | None = None
) -> Run | None:
    query = select(Run).where(Run.connection_id == connection_id, Run.stream == stream)
    if status is not None:
        query = query.where(Run.status == status)
    return session.scalar(query.order_by(Run.started_at.desc(), Run.id.desc()).limit(1))
