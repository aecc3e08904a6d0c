"""`replay`, `review resolve` and `reconcile`: look again at what was derived and posted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ml_connector.context import open_connection
from ml_connector.flow.reconcile.run import reconcile_connection
from ml_connector.flow.replay import ReplayReport, replay, resolve_reviews
from ml_connector.run.commands.common import (
    JsonOption,
    fail,
    handle_errors,
    out,
    print_json,
    runtime,
)
from ml_connector.run.commands.sync import print_reconciliation

ConnectionOption = Annotated[
    str, typer.Option("--connection", "-c", help="Connection name (see `connection list`).")
]


def _print_replay(report: ReplayReport) -> None:
    title = "Replay (dry run: nothing was changed)" if report.dry_run else "Replay"
    table = Table("Amazon id", "document", "state", "action", "why / what differs", title=title)
    for item in report.items:
        detail = "; ".join(item.changes[:3]) or item.reason
        table.add_row(item.amazon_id, item.key, item.state or "-", item.action, escape(detail))
    out().print(table)
    if not report.dry_run:
        out().print(
            f"posted to Oracle: {report.posted} · to retry (Oracle unreachable or busy): "
            f"{report.retry} · rejected by Oracle: {report.rejected}"
        )


def replay_command(
    ctx: typer.Context,
    connection: ConnectionOption,
    order_id: Annotated[
        list[str] | None, typer.Argument(help="Amazon order id(s) to re-derive.")
    ] = None,
    settlement: Annotated[
        list[str] | None,
        typer.Option("--settlement", help="Settlement id or financial event group id."),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option("--since", help="Every order fetched or changed since this date (UTC)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run/--apply",
            help="Show what would change (default) or do it: plan what is missing, re-send what "
            "Oracle rejected. Posted documents are never changed.",
        ),
    ] = True,
    correct: Annotated[
        bool,
        typer.Option(
            "--correct",
            help="For posted documents that differ: post the correction (a credit memo plus a "
            "new invoice, or a reversing journal plus a new journal). Posted documents are never "
            "edited.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-derive documents from the stored Amazon records with today's mapping.

    Examples: [bold]ml-connector replay -c acme-us 111-1234567-1234567[/bold] (dry run) ·
    [bold]ml-connector replay -c acme-us --settlement 12345678901 --apply[/bold] ·
    [bold]ml-connector replay -c acme-us 111-1234567-1234567 --apply --correct[/bold]
    """

    def go() -> None:
        if not (order_id or settlement or since):
            fail("name an order id, --settlement ID or --since DATE", code=2)
        when = since.replace(tzinfo=since.tzinfo or UTC) if since else None
        with runtime(ctx, require_key=True) as rt, open_connection(rt, connection) as conn:
            report = replay(
                rt,
                conn,
                order_ids=order_id or (),
                settlement_ids=settlement or (),
                since=when,
                dry_run=dry_run,
                correct=correct,
            )
        if as_json:
            print_json(
                {
                    "dry_run": report.dry_run,
                    "posted": report.posted,
                    "retry": report.retry,
                    "rejected": report.rejected,
                    "items": [i.to_json() for i in report.items],
                }
            )
        else:
            _print_replay(report)

    handle_errors(go)()


def resolve_command(
    ctx: typer.Context,
    connection: ConnectionOption,
    item: Annotated[list[int] | None, typer.Argument(help="Review item number(s).")] = None,
    all_open: Annotated[
        bool, typer.Option("--all", help="Every open item of the connection.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """After fixing the cause (mapping file, Oracle setup), replay just the items under review.

    Example: [bold]ml-connector review resolve -c acme-us --all[/bold]
    """

    def go() -> None:
        if not (item or all_open):
            fail("name review item numbers or use --all", code=2)
        with runtime(ctx, require_key=True) as rt, open_connection(rt, connection) as conn:
            report, still_open = resolve_reviews(rt, conn, item_ids=item or (), all_open=all_open)
        if as_json:
            print_json(
                {
                    "posted": report.posted,
                    "items": [i.to_json() for i in report.items],
                    "still_open": still_open,
                }
            )
            return
        _print_replay(report)
        for line in still_open:
            out().print(f"[yellow]still open:[/yellow] {escape(line)}")

    handle_errors(go)()


def reconcile_command(
    ctx: typer.Context,
    connection: ConnectionOption,
    settlement: Annotated[
        list[str] | None, typer.Option("--settlement", help="Only these settlements.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Each Closed settlement: Amazon's total (group and settlement report) against what was
    posted, with the variance by line type. Exit code 1 when any settlement does not match.

    Example: [bold]ml-connector reconcile -c acme-us[/bold]
    """

    def go() -> None:
        with runtime(ctx, require_key=True) as rt, open_connection(rt, connection) as conn:
            rows = reconcile_connection(
                rt.sessions,
                conn.id,
                conn.mapping,
                now=rt.clock(),
                only=set(settlement) if settlement else None,
            )
        if as_json:
            print_json({"settlements": rows})
        else:
            print_reconciliation(rows)
        if any(row.get("status") not in ("matched", "open") for row in rows):
            raise typer.Exit(1)

    handle_errors(go)()
