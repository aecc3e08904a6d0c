"""`audit show`: the whole story of one Amazon or Oracle id, both sides side by side.

Any id works (order, transaction, settlement, idempotency key, Oracle id or number) because the
person asking usually holds only one of them: an auditor has the Oracle invoice, support has the
Amazon order.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ml_connector.run.commands.common import (
    FAILURE_EXIT,
    JsonOption,
    handle_errors,
    iso,
    out,
    print_json,
    runtime,
)
from ml_connector.store import bindings_for, get_connection, list_connections, timeline

app = typer.Typer(help="The audit trail: every step taken for an Amazon or Oracle id.")


@app.command("show")
def show(
    ctx: typer.Context,
    any_id: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="Amazon order/settlement/transaction id, idempotency key or Oracle id.",
        ),
    ],
    connection: Annotated[
        str | None, typer.Option("--connection", "-c", help="Only this connection.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The timeline of one id: fetched, mapped, held, posted, rejected, reconciled.

    Exit code 1 when nothing mentions the id.

    Example: [bold]ml-connector audit show 113-4567890-1234567[/bold]
    """
    handle_errors(_show)(ctx, any_id, connection, as_json)


def _show(ctx: typer.Context, any_id: str, connection: str | None, as_json: bool) -> None:
    with runtime(ctx) as rt, rt.sessions() as session:
        names = {row.id: row.name for row in list_connections(session)}
        connection_id = get_connection(session, connection).id if connection else None
        links = [
            {
                "connection": names.get(b.connection_id, str(b.connection_id)),
                "kind": str(b.kind),
                "amazon_id": b.amazon_id,
                "oracle_id": b.oracle_id,
                "oracle_number": b.oracle_number,
            }
            for b in bindings_for(session, any_id, connection_id=connection_id)
        ]
        events: list[dict[str, Any]] = [
            {
                "id": e.id,
                "at": iso(e.at),
                "connection": names.get(e.connection_id, str(e.connection_id)),
                "action": e.action,
                "amazon_ids": [link.value for link in e.links if link.side == "amazon"],
                "oracle_ids": [link.value for link in e.links if link.side == "oracle"],
                "amazon_request_id": e.amazon_request_id,
                "oracle_request_id": e.oracle_request_id,
                "details": e.details,
            }
            for e in timeline(session, any_id, connection_id=connection_id)
        ]
    if as_json:
        print_json({"id": any_id, "bindings": links, "events": events})
    else:
        _print_human(any_id, links, events)
    if not events and not links:
        raise typer.Exit(FAILURE_EXIT)


def _print_human(any_id: str, links: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    console = out()
    if not events and not links:
        console.print(f"[yellow]No audit event mentions {escape(any_id)}.[/yellow]")
        return
    for link in links:
        number = f" (number {link['oracle_number']})" if link["oracle_number"] else ""
        console.print(
            f"{link['kind']}: Amazon {escape(link['amazon_id'])} ↔ Oracle "
            f"{escape(link['oracle_id'])}{escape(number)} [{escape(link['connection'])}]",
            highlight=False,
        )
    table = Table(
        "when (UTC)",
        "action",
        "Amazon ids",
        "Oracle ids",
        "request ids",
        "details",
        title=f"Audit trail for {escape(any_id)}",
    )
    for e in events:
        requests = [
            f"amazon {e['amazon_request_id']}" if e["amazon_request_id"] else "",
            f"oracle {e['oracle_request_id']}" if e["oracle_request_id"] else "",
        ]
        table.add_row(
            (e["at"] or "")[:19].replace("T", " "),
            e["action"],
            escape("\n".join(e["amazon_ids"])),
            escape("\n".join(e["oracle_ids"])),
            escape("\n".join(r for r in requests if r)),
            escape(json.dumps(e["details"], sort_keys=True, default=str)) if e["details"] else "",
        )
    console.print(table)
