"""`ml-connector demo`: the whole product on the embedded default, in one command."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import func, select

from ml_connector.context import ConnectionContext, Runtime, open_connection
from ml_connector.run import demo as embedded
from ml_connector.run.commands.common import JsonOption, handle_errors, out, print_json
from ml_connector.run.commands.sync import print_report
from ml_connector.store import (
    MasterKey,
    RawKind,
    generate_master_key,
    list_review_items,
    make_engine,
    make_sessionmaker,
    migrate,
    write_key_file,
)
from ml_connector.store.secrets import Keyring
from ml_connector.store.tables import RawRecord

NAME = "demo"


def duplicates_in_oracle(ctx: ConnectionContext) -> int:
    """Documents Oracle holds more than once (by number, or batch name): must always be 0."""
    duplicates = 0
    for resource in ("receivablesInvoices", "receivablesCreditMemos"):
        numbers = Counter(
            str(item.get("TransactionNumber"))
            for item in ctx.fusion.iter_items(
                resource, {"fields": "TransactionNumber"}, operation=f"{resource}.list"
            )
        )
        duplicates += sum(count - 1 for count in numbers.values() if count > 1)
    batches = Counter(
        str(item.get("BatchName"))
        for item in ctx.fusion.iter_items(
            "journalBatches", {"fields": "BatchName"}, operation="journalBatches.list"
        )
    )
    return duplicates + sum(count - 1 for count in batches.values() if count > 1)


def _orders_by_marketplace(rt: Runtime, connection_id: int) -> dict[str, int]:
    with rt.sessions() as session:
        payloads = session.scalars(
            select(RawRecord.payload).where(
                RawRecord.connection_id == connection_id, RawRecord.kind == RawKind.ORDER
            )
        )
        found = Counter(embedded.marketplace_of(payload) or "(none)" for payload in payloads)
    return dict(sorted(found.items()))


def _not_read(coverage: embedded.Coverage | None, read: dict[str, int]) -> dict[str, int]:
    """The scenario's orders per marketplace that the sync did not store: never silent."""
    if coverage is None:
        return {}
    missing = {m: n - read.get(m, 0) for m, n in coverage.orders.items()}
    return {m: n for m, n in sorted(missing.items()) if n > 0}


def _summary(
    rt: Runtime, ctx: ConnectionContext, report: Any, coverage: embedded.Coverage | None
) -> dict[str, Any]:
    with rt.sessions() as session:
        orders = session.scalar(
            select(func.count())
            .select_from(RawRecord)
            .where(RawRecord.connection_id == ctx.id, RawRecord.kind == RawKind.ORDER)
        )
        review = list_review_items(session, connection_id=ctx.id)
    by_marketplace = _orders_by_marketplace(rt, ctx.id)
    return {
        "orders": int(orders or 0),
        "marketplaces": list(ctx.config.amazon.marketplace_ids),
        "orders_by_marketplace": by_marketplace,
        "orders_not_read": _not_read(coverage, by_marketplace),
        "marketplaces_not_covered": list(coverage.unknown) if coverage else [],
        "invoices_posted": report.post.posted.get("invoice", 0),
        "credit_memos_posted": report.post.posted.get("credit_memo", 0),
        "journals_posted": report.post.posted.get("journal", 0),
        "review_items": len(review),
        "review": [
            {"kind": str(item.kind), "subject": item.subject_amazon_id, "reason": item.reason}
            for item in review
        ],
        "rejected": report.post.rejected,
        "duplicates_in_oracle": duplicates_in_oracle(ctx),
        "settlements": [
            {
                "settlement_id": row["settlement_id"],
                "currency": row.get("currency"),
                "status": row.get("status"),
                "amazon_total": row.get("amazon_total"),
                "report_total": row.get("report_total"),
                "posted_total": row.get("posted_total"),
                "variance": row.get("variance"),
                "held_orders": row.get("held_orders", 0),
                "notes": row.get("notes", []),
            }
            for row in report.reconciliation
        ],
    }


def demo(
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated seller.")] = 7,
    orders: Annotated[int, typer.Option("--orders", help="Orders to generate.")] = 500,
    days: Annotated[int, typer.Option("--days", help="Days of history to generate.")] = 30,
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", help="An Amazon scenario file instead of a generated seller."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="Your catalog mapping CSV instead of the derived one."),
    ] = None,
    charges: Annotated[
        Path | None,
        typer.Option(
            "--charges", help="Your charge/fee mapping (TOML or YAML) instead of the example."
        ),
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Keep the demo's database and files in this folder."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run everything on the embedded default and print a summary and a reconciliation.

    Starts the Amazon and Oracle simulators on loopback, a temporary SQLite database and a
    generated seller (amazon.com, .ca, .co.uk, .de and .co.jp; FBA and MFN; refunds; fees;
    Closed and Open settlements), maps its catalog leaving one SKU out on purpose, and runs one
    full sync. Examples: [bold]ml-connector demo[/bold] ·
    [bold]ml-connector demo --orders 2000 --json[/bold] ·
    [bold]ml-connector demo --scenario my-seller.json --mapping catalog.csv --charges
    charges.toml[/bold]. With a scenario the connection covers the scenario's marketplaces; the
    orders of a marketplace it cannot read are reported, never dropped.
    """

    def go() -> None:
        with tempfile.TemporaryDirectory(prefix="ml-connector-demo-") as tmp:
            workdir = keep or Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            _run_demo(
                workdir, keep is not None, seed, orders, days, scenario, mapping, charges, as_json
            )

    handle_errors(go)()


def _run_demo(
    workdir: Path,
    keep: bool,
    seed: int,
    orders: int,
    days: int,
    scenario: Path | None,
    mapping: Path | None,
    charges_file: Path | None,
    as_json: bool,
) -> None:
    from ml_connector.run.commands.sync import run_with_progress

    if not as_json:
        out().print("[bold]Starting the Amazon and Oracle simulators on 127.0.0.1…[/bold]")
    with embedded.simulators(
        workdir, seed=seed, orders=orders, days=days, scenario=scenario
    ) as endpoints:
        catalog, charges, left_out = embedded.prepare_mappings(
            workdir, mapping=mapping, charges=charges_file
        )
        coverage = embedded.scenario_coverage(scenario) if scenario is not None else None
        if coverage is not None and charges_file is None:
            # The example mapping names customers for the generated seller's marketplaces only.
            embedded.add_missing_customers(charges, coverage.covered)
        engine = make_engine(f"sqlite:///{workdir / 'ml-connector.db'}")
        migrate(engine)
        key_text = generate_master_key()
        if keep:
            # Laid out like ML_CONNECTOR_HOME, so every other command can inspect the demo.
            write_key_file(workdir / "master.key", key_text)
        rt = Runtime(
            engine=engine,
            sessions=make_sessionmaker(engine),
            keyring=Keyring(MasterKey.from_text(key_text)),
        )
        try:
            with rt.sessions() as session, session.begin():
                config = embedded.simulator_config(
                    endpoints,
                    catalog=catalog,
                    charges=charges,
                    marketplaces_by_region=coverage.marketplaces if coverage else None,
                )
                embedded.add_simulator_connection(session, rt.require_keyring(), NAME, config)
            if not as_json and left_out:
                out().print(
                    f"Catalog mapping written with [yellow]{', '.join(left_out)}[/yellow] left "
                    "out on purpose: its orders will wait in the review queue."
                )
            report = run_with_progress(rt, NAME, since=None, show=not as_json)
            with open_connection(rt, NAME) as ctx:
                summary = _summary(rt, ctx, report, coverage)
        finally:
            rt.close()
    if as_json:
        print_json(summary)
        return
    print_report(report)
    out().print(
        f"orders {summary['orders']} · invoices {summary['invoices_posted']} · credit memos "
        f"{summary['credit_memos_posted']} · journals {summary['journals_posted']} · review "
        f"items {summary['review_items']} · rejected {summary['rejected']} · duplicates in "
        f"Oracle {summary['duplicates_in_oracle']}"
    )
    for marketplace_id, count in summary["orders_not_read"].items():
        out().print(
            f"[yellow]not read:[/yellow] {count} order(s) of the scenario from marketplace "
            f"{marketplace_id}"
            + (
                ", a marketplace this product does not know"
                if marketplace_id in summary["marketplaces_not_covered"]
                else ""
            ),
            highlight=False,
        )
    if keep:
        out().print(
            f"Kept in {workdir}: try [bold]ML_CONNECTOR_HOME={workdir} ml-connector review list"
            "[/bold] or [bold]audit show <order id>[/bold]."
        )
