"""`review list` and `review dismiss`: what waits for a person, grouped by the thing to fix.

Many items share one cause (one unmapped SKU holds every order that sold it; one closed period
rejects every invoice dated in it), so the queue is also shown by cause: a SKU, a breakdown path,
a transaction type, an Oracle error code, a field Amazon sent unreadable. Resolving items needs
the pipeline (a replay), so `review resolve` lives with `sync`/`replay`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ml_connector.flow.mapping.catalog import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from ml_connector.run.commands.common import (
    USAGE_EXIT,
    JsonOption,
    age,
    fail,
    handle_errors,
    iso,
    out,
    print_json,
    runtime,
)
from ml_connector.store import (
    ReviewKind,
    StoreError,
    get_connection,
    list_connections,
    list_review_items,
)
from ml_connector.store.review import dismiss_review_item
from ml_connector.store.tables import ReviewItem

app = typer.Typer(help="The review queue: what the connector could not post on its own.")

ConnectionFilter = Annotated[
    str | None, typer.Option("--connection", "-c", help="Only this connection.")
]

# Oracle's message codes: AR_BU_NOT_FOUND, AR-857798, SIM_CLOSED_PERIOD, Journal Import's EU02.
_ORACLE_CODE = re.compile(r"\b(?:[A-Z]{2,}(?:[_-][A-Z0-9]+)+|E[A-Z]\d{2})\b")
# What differs between two items with the same cause: ids, request ids, numbers, dates.
_VOLATILE = (
    (re.compile(r"(?i)\b(request[ _-]?id|ecid|ess request|requestid)\b[\s:=#]*[\w.:-]+"), r"\1 …"),
    (re.compile(r"\b\d{3}-\d{7}-\d{7}\b"), "…"),  # Amazon order ids
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "…"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?\b"), "…"),
    (re.compile(r"#\d+"), "#…"),
    (re.compile(r"\b\d{5,}\b"), "…"),
)


@dataclass
class Cause:
    """One thing to fix and the open items it holds."""

    kind: str
    what: str  # sku, breakdown, transaction_type, oracle_error, field, marketplace, reason
    value: str
    text: str
    item_ids: list[int] = field(default_factory=list)
    subjects: set[str] = field(default_factory=set)
    connections: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "what": self.what,
            "value": self.value,
            "cause": self.text,
            "items": len(self.item_ids),
            "item_ids": self.item_ids,
            # The Amazon records held (orders, transactions, groups), and how many.
            "records": len(self.subjects),
            "amazon_ids": sorted(self.subjects),
            "connections": sorted(self.connections),
        }


def strip_volatile(text: str) -> str:
    """A reason without what differs between items of one cause (ids, request ids, dates)."""
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if isinstance(v, str | int) and str(v)]
    return []


def causes_of(item: ReviewItem) -> list[tuple[str, str, str]]:
    """(what, value, text) for each thing to fix that holds ``item`` (one or more)."""
    details: dict[str, Any] = item.details if isinstance(item.details, dict) else {}
    kind = item.kind
    if kind is ReviewKind.UNMAPPED_SKU:
        skus = _strings(details.get("items"))
        if skus:
            return [("sku", sku, f"SKU {sku} is not in the catalog mapping") for sku in skus]
    if kind is ReviewKind.UNKNOWN_FEE_TYPE:
        paths = _strings(details.get("items"))
        if paths:
            return [
                ("breakdown", path, f"breakdown {path} is not in the charge mapping")
                for path in paths
            ]
    transaction_type = details.get("transaction_type")
    if isinstance(transaction_type, str) and transaction_type:
        text = f"transaction type {transaction_type!r} is not one we know"
        return [("transaction_type", transaction_type, text)]
    if kind is ReviewKind.INVALID_DATA and isinstance(details.get("field"), str):
        record = str(details.get("record") or "record")
        where = f"{record}.{details['field']}"
        reason = strip_volatile(str(details.get("reason") or item.reason))
        return [("field", where, f"{where}: {reason}")]
    if kind is ReviewKind.ORACLE_REJECTED:
        code = _ORACLE_CODE.search(item.reason)
        if code:
            return [("oracle_error", code.group(0), strip_volatile(item.reason))]
    if details.get("code") == "missing_vat":
        found = _strings(details.get("items"))
        if found:
            marketplace, *keys = found
            text = (
                f"marketplace {marketplace} prices include VAT and the charge mapping has no "
                f"{' / '.join(keys) or '[vat] entry'} for it"
            )
            return [("vat", marketplace, text)]
    if details.get("code") == "missing_customer":
        for marketplace in _strings(details.get("items")):
            text = f"no Oracle customer configured for marketplace {marketplace}"
            return [("marketplace", marketplace, text)]
    text = strip_volatile(item.reason)
    return [("reason", text, text)]


def group_causes(items: Iterable[ReviewItem], names: dict[int, str]) -> list[Cause]:
    """The things to fix, the one holding the most Amazon ids first."""
    causes: dict[tuple[str, str, str], Cause] = {}
    for item in items:
        for what, value, text in causes_of(item):
            key = (str(item.kind), what, value)
            cause = causes.setdefault(key, Cause(str(item.kind), what, value, text))
            cause.item_ids.append(item.id)
            cause.subjects.add(item.subject_amazon_id)
            cause.connections.add(names.get(item.connection_id, str(item.connection_id)))
    return sorted(causes.values(), key=lambda c: (-len(c.subjects), c.kind, c.value))


def missing_sku_rows(causes: list[Cause]) -> str:
    """Catalog mapping CSV (header + one row per missing SKU) with the accounts left to fill."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    writer.writerow(columns)
    for cause in causes:
        if cause.what == "sku":
            writer.writerow([cause.value, *([""] * (len(columns) - 1))])
    return buffer.getvalue()


@app.command("list")
def list_items(
    ctx: typer.Context,
    connection: ConnectionFilter = None,
    kind: Annotated[ReviewKind | None, typer.Option("--kind", help="Only this kind.")] = None,
    missing_skus: Annotated[
        bool,
        typer.Option(
            "--missing-skus",
            help="Print the SKUs missing from the catalog mapping as CSV rows (header "
            "included) with the accounts left empty, ready to fill in and append.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Open review items with their reason and how long they have waited, then the same items
    grouped by the thing to fix (SKU, breakdown, transaction type, Oracle error, field).

    Examples: [bold]ml-connector review list -c acme-us --kind unmapped_sku[/bold] ·
    [bold]ml-connector review list -c acme-us --missing-skus > missing.csv[/bold]
    """
    handle_errors(_list)(ctx, connection, kind, missing_skus, as_json)


def _list(
    ctx: typer.Context,
    connection: str | None,
    kind: ReviewKind | None,
    missing_skus: bool,
    as_json: bool,
) -> None:
    with runtime(ctx) as rt, rt.sessions() as session:
        names = {row.id: row.name for row in list_connections(session, include_removed=True)}
        connection_id = get_connection(session, connection).id if connection else None
        if missing_skus:
            kind = ReviewKind.UNMAPPED_SKU
        items = list_review_items(session, connection_id=connection_id, kind=kind)
        causes = group_causes(items, names)
        session.expunge_all()
    if missing_skus:
        skus = [c for c in causes if c.what == "sku"]
        if as_json:
            print_json(
                {
                    "missing_skus": [
                        {
                            "sku": c.value,
                            "records": len(c.subjects),
                            "amazon_ids": sorted(c.subjects),
                            "item_ids": c.item_ids,
                        }
                        for c in skus
                    ]
                }
            )
        else:
            typer.echo(missing_sku_rows(skus), nl=False)
        return
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
        print_json({"items": rows, "causes": [c.to_json() for c in causes]})
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
    console = out()
    console.print(table)
    by_cause = Table("Amazon ids", "items", "kind", "to fix", "cause", title="By cause")
    for cause in causes:
        by_cause.add_row(
            str(len(cause.subjects)),
            str(len(cause.item_ids)),
            cause.kind,
            f"{cause.what.replace('_', ' ')} {escape(cause.value)}"
            if cause.what != "reason"
            else "-",
            escape(cause.text),
        )
    console.print(by_cause)
    if any(c.what == "sku" for c in causes):
        console.print(
            "Missing SKUs as catalog rows to fill in: [bold]ml-connector review list "
            "--missing-skus[/bold]",
            highlight=False,
        )


@app.command("dismiss")
def dismiss(
    ctx: typer.Context,
    item: Annotated[list[int], typer.Argument(help="Review item number(s), from `review list`.")],
    note: Annotated[
        str, typer.Option("--note", help="Why nothing is to be done (kept in the audit trail).")
    ],
    connection: ConnectionFilter = None,
    as_json: JsonOption = False,
) -> None:
    """Close items without a fix, when a person decided nothing is to be done (e.g. a change
    Amazon made after posting that finance accepts). The note goes to the audit trail.

    Example: [bold]ml-connector review dismiss 42 --note "refund booked by hand in Oracle"[/bold]
    """
    handle_errors(_dismiss)(ctx, item, note, connection, as_json)


def _dismiss(
    ctx: typer.Context, item_ids: list[int], note: str, connection: str | None, as_json: bool
) -> None:
    if not note.strip():
        fail("--note: say why the item needs no fix (it goes to the audit trail)", code=2)
    closed: list[dict[str, Any]] = []
    with runtime(ctx) as rt, rt.sessions() as session, session.begin():
        only = get_connection(session, connection).id if connection else None
        for item_id in item_ids:
            try:
                item = dismiss_review_item(session, item_id, note)
            except StoreError as exc:
                fail(f"{exc}; nothing was dismissed", code=USAGE_EXIT)
            if only is not None and item.connection_id != only:
                fail(
                    f"review item #{item_id} belongs to another connection; nothing was dismissed",
                    code=USAGE_EXIT,
                )
            closed.append(
                {"id": item.id, "kind": str(item.kind), "subject": item.subject_amazon_id}
            )
    if as_json:
        print_json({"dismissed": closed, "note": note.strip()})
        return
    for entry in closed:
        out().print(
            f"[green]✓[/green] dismissed #{entry['id']} ({entry['kind']}, {entry['subject']})",
            highlight=False,
        )
