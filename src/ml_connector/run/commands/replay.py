"""`replay`, `review resolve` and `reconcile`: look again at what was derived and posted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ml_connector.context import Runtime, open_connection
from ml_connector.flow.reconcile.run import reconcile_connection
from ml_connector.flow.replay import ReplayReport, replay, resolve_reviews
from ml_connector.run.commands.common import (
    JsonOption,
    err,
    fail,
    handle_errors,
    out,
    print_json,
    runtime,
)
from ml_connector.run.commands.sync import print_reconciliation
from ml_connector.store import (
    DocumentState,
    documents_for_amazon_id,
    get_connection,
    list_review_items,
)
from ml_connector.store.tables import ReviewItem

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

    Prints, per document, where it ended (posted with its Oracle id, or why it still waits) and
    "closed N items, M still open". An item number that is not open for the connection is an
    error (exit code 2).

    Example: [bold]ml-connector review resolve -c acme-us --all[/bold]
    """

    def go() -> None:
        if not (item or all_open):
            fail("name review item numbers or use --all", code=2)
        with runtime(ctx, require_key=True) as rt:
            chosen = _chosen_items(rt, connection, item or [], all_open)
            with open_connection(rt, connection) as conn:
                if as_json or not chosen:
                    report, still_open = resolve_reviews(
                        rt, conn, item_ids=item or (), all_open=all_open
                    )
                else:
                    with err().status(f"Replaying {len(chosen)} review item(s)…"):
                        report, still_open = resolve_reviews(
                            rt, conn, item_ids=item or (), all_open=all_open
                        )
            outcome = _outcome(rt, conn.id, chosen)
        if as_json:
            print_json(
                {
                    "posted": report.posted,
                    "items": [i.to_json() for i in report.items],
                    "still_open": still_open,
                    "documents": outcome["documents"],
                    "closed": outcome["closed"],
                    "open": outcome["open"],
                }
            )
            return
        _print_outcome(outcome)
        for line in still_open:
            out().print(f"[yellow]still open:[/yellow] {escape(line)}")
        out().print(
            f"closed {outcome['closed']} item(s), {outcome['open']} still open", highlight=False
        )

    handle_errors(go)()


def _chosen_items(
    rt: Runtime, connection: str, item_ids: list[int], all_open: bool
) -> dict[int, str]:
    """The open items to resolve (number → Amazon id); an unknown or closed number is refused."""
    with rt.sessions() as session:
        conn_id = get_connection(session, connection).id
        open_items = {
            i.id: i.subject_amazon_id for i in list_review_items(session, connection_id=conn_id)
        }
        if all_open:
            return open_items
        for item_id in item_ids:
            if item_id in open_items:
                continue
            found = session.get(ReviewItem, item_id)
            if found is None:
                why = "there is no such item"
            elif found.connection_id != conn_id:
                why = "it belongs to another connection"
            else:
                why = f"it is already closed ({found.resolution or 'resolved'})"
            fail(
                f"review item #{item_id}: {why}; `ml-connector review list -c {connection}` "
                "shows the open ones",
                code=2,
            )
        return {i: open_items[i] for i in item_ids}


def _outcome(rt: Runtime, connection_id: int, chosen: dict[int, str]) -> dict[str, Any]:
    """Where each document of the chosen items' Amazon ids ended, and how many items closed."""
    with rt.sessions() as session:
        still = {i.id for i in list_review_items(session, connection_id=connection_id)}
        documents = [
            {
                "amazon_id": subject,
                "document": doc.idempotency_key,
                "kind": str(doc.kind),
                "state": str(doc.state),
                "oracle_id": doc.oracle_id,
                "oracle_number": doc.oracle_number,
                "error": doc.last_error if doc.state is not DocumentState.POSTED else None,
            }
            for subject in sorted(set(chosen.values()))
            for doc in documents_for_amazon_id(session, subject, connection_id=connection_id)
        ]
    still_open = sum(1 for item_id in chosen if item_id in still)
    return {"documents": documents, "closed": len(chosen) - still_open, "open": still_open}


def _print_outcome(outcome: dict[str, Any]) -> None:
    table = Table("Amazon id", "document", "state", "Oracle id", "note", title="Review resolve")
    for doc in outcome["documents"]:
        state = doc["state"]
        shown = f"[green]{state}[/green]" if state == "posted" else f"[yellow]{state}[/yellow]"
        table.add_row(
            doc["amazon_id"],
            doc["document"],
            shown,
            doc["oracle_id"] or "-",
            escape((doc["error"] or "")[:200]),
        )
    if outcome["documents"]:
        out().print(table)


def reconcile_command(
    ctx: typer.Context,
    connection: ConnectionOption,
    settlement: Annotated[
        list[str] | None, typer.Option("--settlement", help="Only these settlements.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Each Closed settlement: Amazon's total (group and settlement report) against what was
    posted, with the variance by line type, and the four invariants (journal total, report
    total, proceeds = invoices − credit memos, clearing accounts net to zero). Exit code 1 when
    any settlement does not match, 3 when the only ones that do not are `incomplete` (orders
    wait in the review queue).

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
                catalog=conn.catalog,
                policy=conn.policy,
            )
        if as_json:
            print_json({"settlements": rows})
        else:
            print_reconciliation(rows)
        statuses = {str(row.get("status")) for row in rows} - {"matched", "open"}
        if statuses == {"incomplete"}:
            raise typer.Exit(3)
        if statuses:
            raise typer.Exit(1)

    handle_errors(go)()
