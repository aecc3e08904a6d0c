"""`sync`, `backfill` and `run`: move Amazon's books into Oracle, once or on a schedule."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ml_connector.context import Runtime, open_connection
from ml_connector.flow.extract.planner import plan_backfill
from ml_connector.pipeline import Busy, SyncReport, run_cycle
from ml_connector.pipeline import Progress as ProgressFn
from ml_connector.run.commands.common import (
    ConnectionFlag,
    JsonOption,
    NameArgument,
    connection_name,
    fail,
    handle_errors,
    out,
    print_json,
    runtime,
)
from ml_connector.run.scheduler import Scheduler
from ml_connector.store import connection_config, get_connection, list_connections


def report_json(report: SyncReport) -> dict[str, Any]:
    """The `sync --json` object (docs/cli.md); ``ok`` and ``exit_code`` as `exit_code` says."""
    code = exit_code([report])
    return {
        "ok": code == EXIT_OK,
        "exit_code": code,
        "connection": report.connection,
        "started": report.started.isoformat(),
        "finished": report.finished.isoformat() if report.finished else None,
        "counts": report.counts(),
        "planned": report.plan.planned,
        "held": report.plan.held,
        "posted": report.post.posted,
        "found_existing_in_oracle": report.post.found_existing,
        "rejected": report.post.rejected,
        "retry": report.post.retry,
        "unconfirmed": report.post.unconfirmed,
        "waiting_on_import": report.post.waiting_on_import,
        "left_for_next_cycle": report.post.left_for_next_cycle,
        "oracle_unreachable": report.post.oracle_unreachable,
        "region_failures": dict(report.region_failures),
        "oracle_refused": report.post.oracle_refused,
        "regions_refused": sorted(report.regions_refused),
        "clamped": report.orders.clamped,
        "unreadable_records": report.plan.invalid
        + report.orders.unidentified
        + report.finances.unidentified,
        "waiting_for_review": report.plan.waiting,
        "settlements": report.reconciliation,
    }


def print_report(report: SyncReport) -> None:
    counts = report.counts()
    table = Table("step", "result", title=f"Sync of {report.connection}")
    table.add_row("orders fetched (new or changed)", str(counts["orders_fetched"]))
    table.add_row("transactions fetched", str(counts["transactions_fetched"]))
    table.add_row("documents planned", _pairs(report.plan.planned))
    table.add_row("held (review queue or waiting)", _pairs(report.plan.held))
    table.add_row("posted to Oracle", _pairs(report.post.posted))
    table.add_row("found already in Oracle", str(report.post.found_existing))
    table.add_row("rejected by Oracle", str(report.post.rejected))
    table.add_row("to retry", str(report.post.retry))
    if report.post.unconfirmed:
        table.add_row("sent, answer lost (looked up next cycle)", str(report.post.unconfirmed))
    if report.post.waiting_on_import:
        table.add_row("waiting for an Oracle import to finish", str(report.post.waiting_on_import))
    unreadable = report.plan.invalid + report.orders.unidentified + report.finances.unidentified
    table.add_row("Amazon records we cannot read (held)", str(unreadable))
    table.add_row("waiting in the review queue", str(report.plan.waiting))
    out().print(table)
    for clamp in report.orders.clamped:
        out().print(f"[yellow]history limit:[/yellow] {clamp}")
    print_reconciliation(report.reconciliation)
    for line in attention_lines(report):
        out().print(f"[yellow]{escape(line)}[/yellow]", highlight=False)


def attention_lines(report: SyncReport) -> list[str]:
    """What a cycle could not do, one plain line each: Amazon regions not read, documents left
    for the next cycle (Oracle unreachable), posts whose answer was lost, imports still running."""
    lines = [f"region {region} not synced: {why}" for region, why in report.region_failures.items()]
    post = report.post
    left = f"{post.left_for_next_cycle} documents left for the next cycle"
    if post.oracle_unreachable:
        reason = post.oracle_unreachable
        lines.append(reason if "left for the next cycle" in reason else f"{reason}: {left}")
    elif post.left_for_next_cycle:
        lines.append(left)
    if post.oracle_refused:
        name = report.connection
        lines.append(
            "Oracle refused the credentials: no later cycle gets past that. Store the right "
            f"secret with `ml-connector connection set-secret {name} --oracle-secret-env "
            "VARIABLE` (`--oracle-private-key-file FILE` for jwt_assertion), then check it with "
            f"`ml-connector connection test {name}`"
        )
    if post.unconfirmed:
        lines.append(
            f"{post.unconfirmed} documents sent without an answer from Oracle: the next cycle "
            "looks each up before sending it again"
        )
    if post.waiting_on_import:
        lines.append(
            f"{post.waiting_on_import} documents wait for an Oracle import that may still create "
            "them: the next cycle checks"
        )
    return lines


_INVARIANTS = (
    ("journal_total", "journal"),
    ("report_total", "report"),
    ("proceeds", "proceeds"),
    ("clearing", "clearing"),
    ("cogs", "COGS"),  # only for a connection that books COGS
)


def _mark(value: Any) -> str:
    return {True: "✓", False: "✗"}.get(value, "-")


def _invariant_marks(row: dict[str, Any]) -> str:
    invariants = row.get("invariants")
    if not isinstance(invariants, dict):
        return "-"
    return " ".join(
        f"{label} {_mark((invariants.get(key) or {}).get('holds'))}"
        for key, label in _INVARIANTS
        if key != "cogs" or key in invariants
    )


def _order_lines(row: dict[str, Any], limit: int = 5) -> list[str]:
    proceeds = (row.get("invariants") or {}).get("proceeds") or {}
    orders = proceeds.get("orders") or []
    lines = []
    for order in orders[:limit]:
        items = ", ".join(f"#{ref['id']}" for ref in order.get("review_items") or [])
        lines.append(
            f"  {order['order_id']}: {order['cause']}, Amazon {order['amazon']}, books "
            f"{order['books']}" + (f" (review {items})" if items else "")
        )
    # An order can differ on several lines (its sale and its refund): count orders, not lines.
    shown = {order["order_id"] for order in orders[:limit]}
    more = len({order["order_id"] for order in orders} - shown)
    if more:
        lines.append(f"  … and {more} more orders (--json lists them all)")
    return lines


def print_reconciliation(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Table(
        "settlement",
        "currency",
        "status",
        "Amazon total",
        "report total",
        "posted",
        "variance",
        "invariants",
        "orders held",
        title="Reconciliation",
    )
    for row in rows:
        status = str(row.get("status"))
        colour = "green" if status == "matched" else "yellow"
        table.add_row(
            str(row.get("settlement_id")),
            str(row.get("currency", "")),
            f"[{colour}]{status}[/{colour}]",
            str(row.get("amazon_total")),
            str(
                row.get("report_total")
                or ("settlement report not found" if row.get("report_missing") else "-")
            ),
            str(row.get("posted_total") or "-"),
            str(row.get("variance") or "-"),
            _invariant_marks(row),
            str(row.get("held_orders") or "-"),
        )
    out().print(table)
    for row in rows:
        if row.get("status") in ("matched", "open"):
            continue
        out().print(f"[yellow]{escape(str(row.get('settlement_id')))}[/yellow]:", highlight=False)
        for note in row.get("notes") or []:
            out().print(f"  {escape(str(note))}", highlight=False)
        for line in _order_lines(row):
            out().print(escape(line), highlight=False)


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in sorted(counts.items())) or "0"


def run_with_progress(rt: Runtime, name: str, *, since: datetime | None, show: bool) -> SyncReport:
    """One cycle with a progress bar per stream (orders, settlements, documents posted)."""
    with open_connection(rt, name) as ctx:
        if not show:
            return run_cycle(rt, ctx, since=since)
        columns = (
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=out(), transient=False) as progress:
            tasks: dict[str, Any] = {}

            def step(stream: str, n: int) -> None:
                if stream not in tasks:
                    tasks[stream] = progress.add_task(stream.replace("_", " "), total=None)
                progress.advance(tasks[stream], n)

            callback: ProgressFn = step
            return run_cycle(rt, ctx, since=since, progress=callback)


def sync(
    ctx: typer.Context,
    name: NameArgument = None,
    connection: ConnectionFlag = None,
    as_json: JsonOption = False,
) -> None:
    """Run one cycle now: fetch from Amazon, plan, post to Oracle, reconcile.

    Safe to run at any time and as often as you like: what is already in Oracle is never
    posted again. Example: [bold]ml-connector sync acme-us[/bold]
    """
    handle_errors(lambda: _sync(ctx, connection_name(name, connection), None, as_json))()


def backfill(
    ctx: typer.Context,
    since: Annotated[
        datetime,
        typer.Option("--since", help="Read Amazon history from this date (UTC), e.g. 2026-01-01."),
    ],
    name: NameArgument = None,
    connection: ConnectionFlag = None,
    orders_per_day: Annotated[
        float,
        typer.Option("--orders-per-day", help="Your rough order volume, to cost the two paths."),
    ] = 100.0,
    plan_only: Annotated[
        bool, typer.Option("--plan-only", help="Print the plan (calls and time) and stop.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Read history from --since (clamped to what Amazon keeps: two years, JP/AU/SG from 2016).

    First prints what each way of reading costs: searchOrders pages (0.0056 requests/s) against
    one all-orders report, with call counts and durations, and which the planner picks.
    Example: [bold]ml-connector backfill acme-us --since 2026-01-01 --orders-per-day 1000[/bold]
    """
    when = since.replace(tzinfo=since.tzinfo or UTC)

    def go() -> None:
        chosen = connection_name(name, connection)
        with runtime(ctx) as rt, rt.sessions() as session:
            config = connection_config(get_connection(session, chosen))
        plan = plan_backfill(
            since=when,
            marketplace_ids=config.amazon.marketplace_ids,
            orders_per_day=orders_per_day,
            now=datetime.now(UTC),
        )
        if plan_only:
            if as_json:
                print_json(
                    {
                        "chosen": plan.chosen,
                        "reason": plan.reason,
                        "search_calls": plan.search.total_calls,
                        "report_calls": plan.report.total_calls,
                        "search_seconds": plan.search.seconds,
                        "report_seconds": plan.report.seconds,
                    }
                )
            else:
                out().print(plan.describe())
            return
        if not as_json:
            out().print(plan.describe())
        _sync(ctx, chosen, when, as_json)

    handle_errors(go)()


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the cycle is, so it unwinds as Ctrl-C does."""


# `timeout`, systemd and `docker stop` send SIGTERM: ended like Ctrl-C, the cycle's `finally`
# closes its run and releases the lease (else it is held until it expires, 10 minutes later).
SIGTERM_EXIT = 128 + signal.SIGTERM


@contextmanager
def _sigterm_as_interrupt(connection: str) -> Iterator[None]:
    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the cleanup
        raise _Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except _Terminated:
        fail(f"sync of {connection!r} stopped by SIGTERM; its lease is released", code=SIGTERM_EXIT)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _sync(ctx: typer.Context, connection: str, since: datetime | None, as_json: bool) -> None:
    with _sigterm_as_interrupt(connection), runtime(ctx, require_key=True) as rt:
        try:
            report = run_with_progress(rt, connection, since=since, show=not as_json)
        except Busy as exc:
            fail(str(exc))
    if as_json:
        print_json(report_json(report))
    else:
        print_report(report)
    raise typer.Exit(exit_code([report]))


# Documented in docs/cli.md ("Exit codes"): cron and schedulers alert on these. 2 (configuration
# or input) comes from common.handle_errors, before or instead of a cycle.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_HELD = 3
EXIT_PARTIAL = 4


def is_partial(report: SyncReport) -> bool:
    """The cycle could not post or read everything: documents to retry, without a confirmed
    answer, waiting for an import, left for the next cycle (Oracle unreachable), or an Amazon
    region that could not be read."""
    post = report.post
    return bool(
        post.retry
        or post.unconfirmed
        or post.waiting_on_import
        or post.left_for_next_cycle
        or post.oracle_unreachable
        or report.region_failures
    )


def is_refused(report: SyncReport) -> bool:
    """Oracle or Amazon (a region) refused the credentials: no later cycle heals that, someone
    must set a secret (the summary's line names the command)."""
    return report.post.oracle_refused or bool(report.regions_refused)


def exit_code(reports: list[SyncReport]) -> int:
    """The most urgent of the cycles' codes: 1 when Oracle rejected something or a credential
    was refused (Oracle's, or a region's); 4 when documents are left to retry or a region could
    not be reached (partial, an outage heals); 3 when the cycle finished but records or
    documents wait in the review queue; 0 when everything was posted and nothing waits
    (`reconcile` says whether each settlement ties, with exit codes of its own)."""
    if any(report.post.rejected or is_refused(report) for report in reports):
        return EXIT_FAILED
    if any(is_partial(report) for report in reports):
        return EXIT_PARTIAL
    if any(report.plan.waiting for report in reports):
        return EXIT_HELD
    return EXIT_OK


def run(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run every connection that is due once, then exit.")
    ] = False,
    metrics_port: Annotated[
        str | None,
        typer.Option(
            "--metrics-port",
            envvar="ML_CONNECTOR_METRICS_PORT",
            help="Serve Prometheus /metrics on this port (127.0.0.1) or HOST:PORT.",
            show_envvar=True,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="With --once: one JSON object (every cycle's report, the failed ones) on stdout.",
        ),
    ] = False,
) -> None:
    """Poll every enabled connection at its cadence until stopped (SIGTERM/SIGINT stop cleanly).

    Orders are polled every 10 minutes and finances every 15 by default (set per connection);
    one cycle per connection at a time, across any number of `run` processes sharing the
    database. Example: [bold]ml-connector run[/bold]
    """
    if as_json and not once:
        fail("--json needs --once: a running `run` prints one line per cycle", code=2)
    handle_errors(_run)(ctx, once, metrics_port, as_json)


def _run(ctx: typer.Context, once: bool, metrics_port: str | None, as_json: bool) -> None:
    with runtime(ctx, require_key=True) as rt:
        with rt.sessions() as session:
            names = [row.name for row in list_connections(session, enabled_only=True)]
        if not names:
            fail("no enabled connection: add one with `ml-connector connection add`")
        failures: list[str] = []

        def warn(line: str) -> None:
            # A failed cycle (or an unusable master key): `run --once` exits 1 for it.
            failures.append(line)
            print(line, file=sys.stderr, flush=True)

        def say(line: str) -> None:
            # Under --json stdout carries the one object only.
            print(line, file=sys.stderr if as_json else sys.stdout, flush=True)

        scheduler = Scheduler(rt, say=say, warn=warn)
        scheduler.install_signal_handlers()
        reports: list[SyncReport] = []

        def on_report(report: SyncReport) -> None:
            if once:  # only --once needs them (its exit code); `run` keeps none
                reports.append(report)
            if not as_json:
                out().print(escape(_one_line(report)), highlight=False)

        scheduler.run(once=once, on_report=on_report, metrics_address=metrics_port)
    if once:
        code = EXIT_FAILED if failures else exit_code(reports)
        if as_json:
            print_json(
                {
                    "ok": code == EXIT_OK,
                    "exit_code": code,
                    "cycles": [report_json(report) for report in reports],
                    "failures": failures,
                }
            )
        raise typer.Exit(code)


def _one_line(report: SyncReport) -> str:
    counts = report.counts()
    line = (
        f"{report.connection}: posted {counts['posted']}, held {counts['held']}, "
        f"rejected {counts['rejected']}, retry {counts['retry']}, "
        f"waiting for review {report.plan.waiting}"
    )
    return "; ".join([line, *attention_lines(report)])
