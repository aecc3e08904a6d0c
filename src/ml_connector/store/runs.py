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

__all__ = ["finish_run", "last_run", "list_runs", "start_run"]


def start_run(
    session: Session, connection_id: int, stream: str, *, now: datetime | None = None
) -> Run:
    run = Run(
        connection_id=connection_id,
        stream=stream,
        started_at=now or utcnow(),
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
    """Close a run once; ``error`` is a short, already-redacted description."""
    if run.status is not RunStatus.RUNNING:
        raise IllegalTransitionError(f"run #{run.id} already finished as {run.status}")
    if status is RunStatus.RUNNING:
        raise IllegalTransitionError("a run cannot finish as running")
    run.status = status
    run.counts = dict(counts or {})
    run.error = error
    run.finished_at = now or utcnow()
    session.flush()
    return run


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
