"""One sync cycle for one connection — the table of contents of the whole product.

    extract (Amazon → raw records) → plan (normalize + accounting → outbox | review queue)
    → post (outbox → Oracle, exactly once) → reconcile (settlement totals vs what was posted)

Each stage commits its own small transactions; a crash anywhere leaves the store in a state the
next cycle continues from (raw records are upserts, plans are keyed, posts are looked up first).
A lease per connection makes sure only one worker runs a cycle for it at a time.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from ml_connector.context import ConnectionContext, Runtime, open_connection
from ml_connector.domain.marketplaces import marketplace
from ml_connector.errors import ConfigError
from ml_connector.flow.extract.pull import PullSummary, pull_finances, pull_orders
from ml_connector.flow.extract.settled_orders import pull_settled_orders
from ml_connector.flow.plan import Planner, PlanSummary
from ml_connector.flow.post.poster import Poster, PosterSettings, PostSummary
from ml_connector.flow.reconcile.run import reconcile_connection
from ml_connector.observability import metrics
from ml_connector.store import (
    LeaseToken,
    RunStatus,
    claim_lease,
    expire_lease,
    finish_run,
    heartbeat,
    lease_owner,
    release_lease,
    start_run,
)
from ml_connector.store.connections import marketplace_problem
from ml_connector.store.runs import abort_dead_runs, run_seen
from ml_connector.store.tables import Run

_log = structlog.get_logger(__name__)

Progress = Callable[[str, int], None]
# Renewed between stages; a worker that dies loses it within this time, or at once when it
# died on this host (its process id is gone).
LEASE_TTL = timedelta(minutes=10)


class Busy(Exception):
    """Another worker holds this connection's lease; this cycle is skipped, not failed."""


@dataclass
class SyncReport:
    connection: str
    started: datetime
    finished: datetime | None = None
    orders: PullSummary = field(default_factory=PullSummary)
    finances: PullSummary = field(default_factory=PullSummary)
    plan: PlanSummary = field(default_factory=PlanSummary)
    post: PostSummary = field(default_factory=PostSummary)
    reconciliation: list[dict[str, Any]] = field(default_factory=list)
    #: Amazon regions that could not be read this cycle → one plain line why (refused refresh
    #: token, unreachable host); the other regions were synced.
    region_failures: dict[str, str] = field(default_factory=dict)
    #: Those of ``region_failures`` whose credentials Amazon refused (``PullSummary``).
    regions_refused: set[str] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {
            "orders_fetched": self.orders.new.get("order", 0) + self.orders.changed.get("order", 0),
            "transactions_fetched": self.finances.new.get("transaction", 0),
            "planned": sum(self.plan.planned.values()),
            "held": sum(self.plan.held.values()),
            "posted": sum(self.post.posted.values()),
            "rejected": self.post.rejected,
            "retry": self.post.retry,
        }


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_local_owner(owner: str | None) -> bool:
    """True when the lease owner is a process of this host that no longer exists."""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _claim(rt: Runtime, connection_id: int, now: datetime) -> LeaseToken | None:
    with rt.sessions() as session, session.begin():
        lease = claim_lease(session, connection_id, "sync", worker_name(), LEASE_TTL, now=now)
        if lease is not None:
            return lease
        owner = lease_owner(session, connection_id, "sync")
        if _dead_local_owner(owner) and owner is not None:
            _log.warning("sync.lease.reclaimed", owner=owner)
            expire_lease(session, connection_id, "sync", owner, now=now)
            return claim_lease(session, connection_id, "sync", worker_name(), LEASE_TTL, now=now)
        return None


def regions_and_marketplaces(ctx: ConnectionContext) -> dict[str, list[str]]:
    """Marketplace ids grouped by the SP-API region whose refresh token can read them.

    `connection add` refuses the same problems with the same words (``marketplace_problem``);
    this is for a stored row that somehow still has one.
    """
    grouped: dict[str, list[str]] = {region: [] for region in ctx.config.amazon.regions}
    for marketplace_id in ctx.config.amazon.marketplace_ids:
        # Skipping a marketplace silently would leave its orders out of the books unnoticed.
        problem = marketplace_problem(marketplace_id, list(grouped))
        known = marketplace(marketplace_id)
        if problem is not None or known is None:
            raise ConfigError(f"connection {ctx.name!r}: amazon.marketplace_ids: {problem}")
        grouped[known.region].append(marketplace_id)
    return grouped


def planner_for(rt: Runtime, ctx: ConnectionContext) -> Planner:
    return Planner(
        rt.sessions,
        ctx.id,
        ctx.mapping,
        ctx.catalog,
        policy=ctx.policy,
        marketplaces=frozenset(ctx.config.amazon.marketplace_ids),
    )


def poster_for(rt: Runtime, ctx: ConnectionContext) -> Poster:
    settings = PosterSettings(
        concurrency=ctx.config.cadences.post_concurrency,
        import_settle=timedelta(seconds=ctx.config.oracle.import_settle_seconds),
    )
    return Poster(
        rt.sessions,
        ctx.id,
        ctx.profile,
        ctx.receivables,
        ctx.imports,
        clock=rt.clock,
        settings=settings,
    )


def run_cycle(
    rt: Runtime,
    ctx: ConnectionContext,
    *,
    since: datetime | None = None,
    streams: tuple[str, ...] = ("orders", "finances"),
    progress: Progress | None = None,
    scheduled: bool = False,
) -> SyncReport:
    """extract → plan → post → reconcile, for a connection already opened (``scheduled``: a
    cycle of the poller, which lists settlements only on their cadence)."""
    now = rt.clock()
    report = SyncReport(connection=ctx.name, started=now)
    initial_start = now - timedelta(days=ctx.config.cadences.initial_history_days)
    claimed = _claim(rt, ctx.id, now)
    if claimed is None:
        raise Busy(f"connection {ctx.name!r} is being synced by another worker")
    lease: LeaseToken = claimed
    with rt.sessions() as session, session.begin():
        for dead in abort_dead_runs(session, ctx.id, now=now):
            _log.warning("sync.run.aborted", connection=ctx.name, run=dead.id, error=dead.error)
        run = start_run(session, ctx.id, "+".join(streams), now=now)

    def beat() -> None:
        nonlocal lease
        with rt.sessions() as session, session.begin():
            lease = heartbeat(session, lease, LEASE_TTL, now=rt.clock())
            run_seen(session, run.id, now=rt.clock())

    status, error = RunStatus.FAILED, None
    try:
        if "orders" in streams:
            report.orders = pull_orders(
                rt.sessions,
                ctx.id,
                ctx.amazon,
                regions_and_marketplaces(ctx),
                now=now,
                initial_start=initial_start,
                since=since,
                progress=progress,
                connection=ctx.name,
            )
        beat()
        if "finances" in streams:
            report.finances = pull_finances(
                rt.sessions,
                ctx.id,
                ctx.amazon,
                now=now,
                initial_start=initial_start,
                since=since,
                # The poller lists groups and settlement reports on the settlements cadence; a
                # cycle run by hand (`sync`, `backfill`) lists them every time.
                list_every=(
                    timedelta(minutes=ctx.config.cadences.settlements_minutes)
                    if scheduled
                    else None
                ),
                progress=progress,
                connection=ctx.name,
            )
            # Orders the settlements pay for but the order listing did not reach (shipped
            # before the first sync's history): read by id, so their invoices are planned.
            pull_settled_orders(rt.sessions, ctx.id, ctx.amazon, now=now, summary=report.orders)
        # A region Amazon would not serve was left out (its watermarks kept); the others go on.
        for pulled in (report.orders, report.finances):
            for region, line in pulled.region_failures.items():
                if region not in report.region_failures and region in pulled.regions_refused:
                    report.regions_refused.add(region)
                report.region_failures.setdefault(region, line)
        beat()
        report.plan = planner_for(rt, ctx).plan_all()
        beat()
        report.post = poster_for(rt, ctx).post_all(progress=progress)
        beat()
        report.reconciliation = reconcile_connection(
            rt.sessions, ctx.id, ctx.mapping, now=now, catalog=ctx.catalog, policy=ctx.policy
        )
        status, error = _outcome(report, regions=len(ctx.amazon))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        report.finished = rt.clock()
        with rt.sessions() as session, session.begin():
            # `run` was loaded by an earlier session: fetch it into this one before changing it.
            current = session.get(Run, run.id)
            assert current is not None
            finish_run(
                session, current, status, counts=report.counts(), error=error, now=report.finished
            )
            release_lease(session, lease, now=report.finished)
        metrics.sync_duration.labels(stream="+".join(streams)).observe(
            (report.finished - report.started).total_seconds()
        )
        _log.info("sync.finished", connection=ctx.name, status=status.value, **report.counts())
    return report


def _outcome(report: SyncReport, *, regions: int) -> tuple[RunStatus, str | None]:
    """How a cycle that ran to its end is recorded: failed when no region could be read and
    nothing was posted; partial when a region, or documents (rejected, to retry, sent without
    an answer, waiting on an import, left by the circuit breaker), wait; else succeeded. The
    error names why, in the reports' own lines."""
    reasons = [
        f"region {region} not synced: {why}" for region, why in report.region_failures.items()
    ]
    if report.post.oracle_unreachable:
        reasons.append(report.post.oracle_unreachable)
    error = "; ".join(reasons) or None
    posted = sum(report.post.posted.values())
    if regions and len(report.region_failures) >= regions and not posted:
        return RunStatus.FAILED, error
    post = report.post
    waiting = post.retry or post.unconfirmed or post.waiting_on_import or post.left_for_next_cycle
    if reasons or post.rejected or waiting:
        return RunStatus.PARTIAL, error
    return RunStatus.SUCCEEDED, None


def sync_connection(
    rt: Runtime,
    name: str,
    *,
    since: datetime | None = None,
    streams: tuple[str, ...] = ("orders", "finances"),
    progress: Progress | None = None,
) -> SyncReport:
    """Open the connection's clients and run one cycle."""
    with open_connection(rt, name) as ctx:
        return run_cycle(rt, ctx, since=since, streams=streams, progress=progress)
