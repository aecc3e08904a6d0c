"""`review list`: what waits for a person, oldest first, with the reason in plain words.

Resolving items needs the pipeline (a replay), so `review resolve` lives with `sync`/`replay`.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ml_connector.run.commands.common import (
    JsonOption,
    age,
    handle_errors,
    iso,
    out,
    print_json,
    runtime,
)
from ml_connector.store import ReviewKind, get_connection, list_connections, list_review_items

app = typer.Typer(help="The review queue: what the connector could not post on its own.")


@app.command("list")
def list_items(
    ctx: typer.Context,
    connection: Annotated[
        str | None, typer.Option("--connection", help="Only this connection.")
    ] = None,
    kind: Annotated[ReviewKind | None, typer.Option("--kind", help="Only this kind.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Open review items with their reason and how long they have waited.

    Example: [bold]ml-connector review list --connection acme-us --kind unmapped_sku[/bold]
    """
    handle_errors(_list)(ctx, connection, kind, as_json)


def _list(
    ctx: typer.Context, connection: str | None, kind: ReviewKind | None, as_json: bool
) -> None:
    with runtime(ctx) as rt, rt.sessions() as session:
        names = {row.id: row.name for row in list_connections(session)}
        connection_id = get_connection(session, connection).id if connection else None
        items = list_review_items(session, connection_id=connection_id, kind=kind)
    rows: list[dict[str, Any]] = [
        {
            "id": item.id,
            "connection": names.get(item.connection_id, str(item.connection_id)),
            "kind": str(item.kind),
            "subject": item.subject_amazon_id,
            "reason": item.reason,
            "details": item.details,
            "created_at": iso(item.created_at),
            "age": age(item.created_at),
        }
        for item in items
    ]
    if as_json:
        print_json({"items": rows})
        return
    if not rows:
        out().print("[green]Nothing waits for review.[/green]")
        return
    table = Table("#", "connection", "kind", "Amazon id", "reason", "waiting", title="Review queue")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["connection"],
            row["kind"],
            row["subject"],
            escape(row["reason"]),
            row["age"],
        )
    out().print(table)
    _print_causes(rows)


def _print_causes(rows: list[dict[str, Any]]) -> None:
    """Many items usually share one cause (one unmapped SKU holds every order that sold it):
    list the causes, so the finance team fixes one mapping line instead of reading 50 rows."""
    causes = Counter((row["kind"], row["reason"]) for row in rows)
    if len(causes) == len(rows):
        return
    table = Table("items", "kind", "cause to fix", title="By cause")
    for (kind, reason), count in causes.most_common():
        table.add_row(str(count), kind, escape(reason))
    out().print(table)
