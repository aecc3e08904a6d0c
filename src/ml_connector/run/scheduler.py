"""The polling loop behind `ml-connector run`.

Amazon has no webhooks for money, so each connection is polled at its cadence: orders (default
every 10 minutes) and finances (every 15). A stream is due when its last run started at least one
cadence ago; due streams of a connection run together in one cycle. The connection's lease (see
``pipeline.run_cycle``) keeps two `run` processes from syncing the same seller at once, so any
number of them may share one database.

SIGTERM or SIGINT asks the loop to stop: the cycle in progress finishes (every document it started
is resolved) and the loop exits; nothing is cut off half-way on purpose.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from ml_connector.context import Runtime, open_connection
from ml_connector.pipeline import Busy, SyncReport, run_cycle
from ml_connector.store import RunStatus, connection_config, list_connections
from ml_connector.store.tables import Run

_log = structlog.get_logger(__name__)

STREAMS = ("orders", "finances")
IDLE_CHECK = timedelta(seconds=30)


class Scheduler:
    def __init__(self, rt: Runtime, *, stop: threading.Event | None = None) -> None:
        self._rt = rt
        self._stop = stop or threading.Event()

    def install_signal_handlers(self) -> None:
        def request_stop(signum: int, _frame: FrameType | None) -> None:
            _log.info("run.stop_requested", signal=signal.Signals(signum).name)
            self._stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    def stop(self) -> None:
        self._stop.set()

    def due(self, now: datetime) -> dict[str, tuple[str, ...]]:
        """Connection name → the streams whose cadence has elapsed since their last run."""
        plan: dict[str, tuple[str, ...]] = {}
        with self._rt.sessions() as session:
            for row in list_connections(session, enabled_only=True):
                cadences = connection_config(row).cadences
                every = {
                    "orders": timedelta(minutes=cadences.orders_minutes),
                    "finances": timedelta(minutes=cadences.finances_minutes),
                }
                streams = []
                for stream in STREAMS:
                    previous = _last_start(session, row.id, stream)
                    if previous is None or now - previous >= every[stream]:
                        streams.append(stream)
                if streams:
                    plan[row.name] = tuple(streams)
        return plan

    def tick(self, on_report: Callable[[SyncReport], None] | None = None) -> int:
        """Run every due connection once; returns how many cycles ran."""
        ran = 0
        for name, streams in self.due(self._rt.clock()).items():
            if self._stop.is_set():
                break
            try:
                with open_connection(self._rt, name) as ctx:
                    report = run_cycle(self._rt, ctx, streams=streams)
            except Busy:
                continue
            except Exception as exc:  # one seller's failure must not stop the others
                _log.error("run.cycle_failed", connection=name, error=str(exc))
                continue
            ran += 1
            if on_report:
                on_report(report)
        return ran

    def loop(
        self, *, once: bool = False, on_report: Callable[[SyncReport], None] | None = None
    ) -> None:
        while not self._stop.is_set():
            self.tick(on_report)
            if once:
                return
            self._stop.wait(IDLE_CHECK.total_seconds())


def _last_start(session: Session, connection_id: int, stream: str) -> datetime | None:
    """When a cycle including `stream` last started (runs record streams joined by '+')."""
    starts = session.scalars(
        select(Run.started_at)
        .where(Run.connection_id == connection_id, Run.stream.contains(stream))
        .where(Run.status != RunStatus.RUNNING)
        .order_by(Run.started_at.desc())
        .limit(1)
    ).all()
    return starts[0] if starts else None
