"""The polling loop behind `ml-connector run`.

Amazon has no webhooks for money, so each connection is polled at its cadence: orders (default
every 10 minutes) and finances (every 15). A stream is due when its last run started at least one
cadence ago; due streams of a connection run together in one cycle. The connection's lease (see
``pipeline.run_cycle``) keeps two `run` processes from syncing the same seller at once, so any
number of them may share one database.

Unattended, three things keep it going without a person:

* a connection whose cycle fails is tried again after 1 minute, then 2, 4, 8 … (one plain line on
  stderr each time), at most 30 minutes apart for a configuration error (a broken config or
  mapping file, a refused credential) and at most one cadence apart for anything else (Amazon or
  Oracle down); the other connections keep their own cadence. A success resets it.
* before every tick the store's key-check row is compared with the master key held: after a
  `key rotate` by another process the key is read again (key file or environment variable), so
  the next cycle opens the re-sealed secrets instead of failing until a restart.
* `/metrics` (``--metrics-port``) serves the per-connection series of ``run/metrics.py``.

SIGTERM or SIGINT asks the loop to stop: the cycle in progress finishes (every document it started
is resolved) and the loop exits; nothing is cut off half-way on purpose.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from types import FrameType

import structlog
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ml_connector.context import Runtime, open_connection
from ml_connector.errors import AuthError, ConfigError
from ml_connector.flow.mapping.errors import MappingError
from ml_connector.input_files import InputFileError
from ml_connector.observability import Metrics
from ml_connector.observability import metrics as default_metrics
from ml_connector.pipeline import Busy, SyncReport, run_cycle
from ml_connector.remote.explain import describe_failure
from ml_connector.remote.http.redact import default_redactor
from ml_connector.run.metrics import audit_mark, document_outcomes, metrics_server
from ml_connector.store import (
    Cadences,
    RunStatus,
    connection_config,
    get_connection,
    list_connections,
)
from ml_connector.store.errors import NotFoundInStoreError, StoreError
from ml_connector.store.tables import ConnectionRow, Run

_log = structlog.get_logger(__name__)

STREAMS = ("orders", "finances")
IDLE_CHECK = timedelta(seconds=30)
FIRST_RETRY = timedelta(minutes=1)
CONFIG_RETRY_CAP = timedelta(minutes=30)
# `key rotate` commits the re-sealed secrets, then renames the key file a moment later: a tick
# that lands in between waits this long for the file before it reports a key problem.
KEY_SWAP_WAIT = timedelta(seconds=2)

Line = Callable[[str], None]


def _stdout(line: str) -> None:
    print(line, file=sys.stdout, flush=True)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def retry_delay(failures: int, cap: timedelta) -> timedelta:
    """How long a connection rests after its ``failures``-th failure in a row: 1 min, doubling,
    at most ``cap``."""
    return min(FIRST_RETRY * (1 << min(failures - 1, 20)), cap)


def is_config_problem(exc: BaseException) -> bool:
    """Errors a person must fix (config, mapping file, master key, a missing or refused
    credential): retrying soon cannot help, so they rest up to `CONFIG_RETRY_CAP`."""
    return isinstance(
        exc,
        ConfigError
        | AuthError
        | MappingError
        | InputFileError
        | PydanticValidationError
        | NotFoundInStoreError,
    )


def _version() -> str:
    try:
        return package_version("ml-connector")
    except PackageNotFoundError:  # a source tree that was never installed
        return "(version unknown: not installed)"


def _minutes(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    return f"{minutes} min"


@dataclass
class _Failing:
    failures: int
    retry_at: datetime


class Scheduler:
    """Runs due cycles until stopped; ``say`` gets the start line and notices (stdout),
    ``warn`` one line per failure (stderr)."""

    def __init__(
        self,
        rt: Runtime,
        *,
        stop: threading.Event | None = None,
        idle: timedelta = IDLE_CHECK,
        metrics: Metrics = default_metrics,
        say: Line = _stdout,
        warn: Line = _stderr,
    ) -> None:
        self._rt = rt
        self._stop = stop or threading.Event()
        self._idle = idle
        self._metrics = metrics
        self._say = say
        self._warn = warn
        self._failing: dict[str, _Failing] = {}
        self._key_problem: str | None = None
        #: `run --once`: a failure is said without a "next try" that will never come.
        self._once = False

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
                every = _cadences(row)
                streams = []
                for stream in STREAMS:
                    previous = _last_start(session, row.id, stream)
                    if previous is None or now - previous >= every[stream]:
                        streams.append(stream)
                if streams:
                    plan[row.name] = tuple(streams)
        return plan

    def start_line(self, metrics_url: str | None = None) -> str:
        """One line: version, the connections `run` polls and how often, the database (no
        password), the master key id and where ``/metrics`` is served."""
        with self._rt.sessions() as session:
            rows = list_connections(session, enabled_only=True)
            polled = ", ".join(
                f"{row.name} (orders every {_minutes(every['orders'])}, finances every "
                f"{_minutes(every['finances'])})"
                for row in rows
                for every in (_cadences(row),)
            )
        url = self._rt.engine.url
        # The backend without the driver the engine added (sqlite+pysqlite → sqlite), as given.
        database = url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)
        key = self._rt.keyring.primary.key_id if self._rt.keyring else "none"
        return (
            f"ml-connector {_version()} run: {len(rows)} connection(s): "
            f"{polled or 'none enabled'}; database {database}; master key {key}; metrics "
            f"{metrics_url or 'off (--metrics-port to serve them)'}"
        )

    def tick(self, on_report: Callable[[SyncReport], None] | None = None) -> int:
        """Run every due connection once (those resting after a failure wait for their time);
        returns how many cycles ran."""
        if not self._key_ready():
            return 0
        ran = 0
        now = self._rt.clock()
        for name, streams in self.due(now).items():
            if self._stop.is_set():
                break
            failing = self._failing.get(name)
            if failing is not None and now < failing.retry_at:
                continue
            try:
                report = self._cycle(name, streams)
            except Busy:
                continue
            except Exception as exc:  # one seller's failure must not stop the others
                self._failed(name, exc)
                continue
            if self._failing.pop(name, None) is not None:
                self._say(f"{name}: synced again after the failures above")
            ran += 1
            if on_report:
                on_report(report)
        return ran

    def loop(
        self, *, once: bool = False, on_report: Callable[[SyncReport], None] | None = None
    ) -> None:
        self._once = once
        while not self._stop.is_set():
            self.tick(on_report)
            if once:
                return
            self._stop.wait(self._idle.total_seconds())

    def run(
        self,
        *,
        once: bool = False,
        on_report: Callable[[SyncReport], None] | None = None,
        metrics_address: str | None = None,
    ) -> None:
        """What `ml-connector run` does: serve ``/metrics`` when an address is given
        (``PORT`` or ``HOST:PORT``; ``ConfigError`` when it cannot listen), print the start
        line, then `loop`."""
        with ExitStack() as stack:
            url = None
            if metrics_address:
                url = stack.enter_context(
                    metrics_server(metrics_address, self._rt.sessions, self._metrics)
                )
            self._say(self.start_line(url))
            self.loop(once=once, on_report=on_report)

    def _cycle(self, name: str, streams: tuple[str, ...]) -> SyncReport:
        with open_connection(self._rt, name) as ctx:
            with self._rt.sessions() as session:
                mark = audit_mark(session)
            try:
                report = run_cycle(self._rt, ctx, streams=streams, scheduled=True)
            except Busy:
                raise
            except Exception:
                self._count_documents(name, ctx.id, mark)
                raise
            self._count_documents(name, ctx.id, mark)
            return report

    def _count_documents(self, name: str, connection_id: int, mark: int) -> None:
        try:
            with self._rt.sessions() as session:
                outcomes = document_outcomes(session, connection_id, after=mark)
        except SQLAlchemyError as exc:  # a metric is not worth failing a finished cycle for
            _log.warning("run.metrics_not_counted", connection=name, error=type(exc).__name__)
            return
        self._metrics.cycle_documents(name, outcomes)

    def _failed(self, name: str, exc: Exception) -> None:
        self._metrics.cycle_failed(name)
        now = self._rt.clock()
        previous = self._failing.get(name)
        failures = 1 if previous is None else previous.failures + 1
        shortest, by_cadence = self._cadence_view(name, now)
        cap = CONFIG_RETRY_CAP if is_config_problem(exc) else min(CONFIG_RETRY_CAP, shortest)
        retry_at = now + retry_delay(failures, cap)
        self._failing[name] = _Failing(failures, retry_at)
        # A failed cycle that recorded its run also waits for its cadence: say the later time.
        next_try = max(retry_at, by_cadence)
        # The words `sync` and `connection test` use for the same failure (remote/explain.py).
        message = default_redactor.text(describe_failure(exc, connection=name))
        _log.info("run.cycle_failed", connection=name, failures=failures, error=message)
        later = f"; next try in {_minutes(next_try - now)}, at {next_try:%H:%M} UTC"
        self._warn(
            f"{name}: sync failed ({failures} in a row): {message}{'' if self._once else later}"
        )

    def _cadence_view(self, name: str, now: datetime) -> tuple[timedelta, datetime]:
        """The connection's shortest cadence, and when its cadence makes it due next (`now`
        for a stream never run); the defaults when it cannot be read (removed meanwhile)."""
        try:
            with self._rt.sessions() as session:
                row = get_connection(session, name)
                every = _cadences(row)
                times = []
                for stream in STREAMS:
                    previous = _last_start(session, row.id, stream)
                    times.append(now if previous is None else previous + every[stream])
        except (StoreError, SQLAlchemyError):
            defaults = Cadences()
            return timedelta(minutes=min(defaults.orders_minutes, defaults.finances_minutes)), now
        return min(every.values()), min(times)

    def _key_ready(self) -> bool:
        """Reload a rotated master key; False (one line, said once) when it cannot be."""
        waited = timedelta()
        while True:
            try:
                rotated = self._rt.reload_rotated_key()
                break
            except ConfigError as exc:
                if waited >= KEY_SWAP_WAIT or self._stop.is_set():
                    line = f"master key: {exc}; no connection is synced until it is fixed"
                    if line != self._key_problem:
                        self._warn(line)
                        self._key_problem = line
                    return False
                step = timedelta(milliseconds=250)
                self._stop.wait(step.total_seconds())
                waited += step
        self._key_problem = None
        if rotated is not None:
            _log.info("run.key_reloaded", key_id=rotated)
            self._say(f"master key rotated: now using key {rotated} (read again before this cycle)")
        return True


def _cadences(row: ConnectionRow) -> dict[str, timedelta]:
    """Each stream's cadence; a stored config that no longer validates keeps the defaults here
    (opening the connection then fails, once per back-off step, saying why)."""
    try:
        cadences = connection_config(row).cadences
    except PydanticValidationError:
        cadences = Cadences()
    return {
        "orders": timedelta(minutes=cadences.orders_minutes),
        "finances": timedelta(minutes=cadences.finances_minutes),
    }


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
