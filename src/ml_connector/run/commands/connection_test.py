"""`connection test`: can this connection work, in words a finance admin can act on?

Each check is one read-only call. Errors are translated from HTTP into what to do about them
("the app lacks the Finance and Accounting role"), because the person running this is usually
the one who can fix the Seller Central or Oracle setup, not the one who reads status codes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Literal

import pydantic
import typer
from rich.markup import escape
from rich.table import Table

from ml_connector.context import ConnectionContext, Runtime, open_connection, utc_now
from ml_connector.domain.marketplaces import marketplace as table_marketplace
from ml_connector.errors import ConfigError, ConnectorError
from ml_connector.flow.mapping import MappingError
from ml_connector.flow.mapping.charges import ChargeMapping
from ml_connector.remote.amazon.client import SpApiClient
from ml_connector.remote.amazon.marketplaces import marketplace
from ml_connector.remote.explain import amazon_login_failure, amazon_read_failure, oracle_failure
from ml_connector.remote.http.redact import default_redactor
from ml_connector.remote.oracle.client import FusionClient
from ml_connector.run.commands.common import (
    FAILURE_EXIT,
    ConnectionFlag,
    JsonOption,
    NameArgument,
    connection_name,
    handle_errors,
    out,
    print_json,
    runtime,
    validation_lines,
)
from ml_connector.store import ConnectionConfig, NotFoundInStoreError, StoreError

Status = Literal["ok", "failed", "unknown"]
_MARKS = {"ok": "[green]✓[/green]", "failed": "[red]✗[/red]", "unknown": "[yellow]?[/yellow]"}


@dataclass(frozen=True)
class Check:
    system: str
    check: str
    status: Status
    message: str


def amazon_checks(region: str, client: SpApiClient, config: ConnectionConfig) -> list[Check]:
    system = f"Amazon {region}"
    try:
        client.tokens.token()
    except ConnectorError as exc:
        return [Check(system, "login", "failed", amazon_login_failure(region, exc))]
    checks = [Check(system, "login", "ok", "Amazon accepted the app's credentials (LWA token)")]
    since = utc_now() - timedelta(days=1)
    try:
        next(iter(client.finances.list_financial_event_groups(started_after=since)), None)
        checks.append(
            Check(system, "finances", "ok", "read settlements (listFinancialEventGroups)")
        )
    except ConnectorError as exc:
        failure = amazon_read_failure("listFinancialEventGroups", exc)
        checks.append(Check(system, "finances", "failed", failure))
    markets = [m for m in config.amazon.marketplace_ids if _region_of(m) == region]
    if not markets:
        checks.append(
            Check(system, "orders", "unknown", f"no configured marketplace is in region {region}")
        )
        return checks
    try:
        pages = client.orders.search_pages(
            marketplace_ids=markets, last_updated_after=since, max_results_per_page=1
        )
        next(iter(pages), None)
        checks.append(Check(system, "orders", "ok", "read orders (searchOrders)"))
    except ConnectorError as exc:
        checks.append(Check(system, "orders", "failed", amazon_read_failure("searchOrders", exc)))
    return checks


def _region_of(marketplace_id: str) -> str | None:
    try:
        return str(marketplace(marketplace_id).region)
    except ConfigError:
        return None


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def oracle_checks(fusion: FusionClient, config: ConnectionConfig) -> list[Check]:
    oracle = config.oracle
    try:
        fusion.get(
            "receivablesInvoices",
            {"limit": "1", "onlyData": "true"},
            operation="receivablesInvoices.list",
        )
    except ConnectorError as exc:
        check, sentence = oracle_failure(exc)
        checks = [Check("Oracle", check, "failed", sentence)]
        if check == "invoices":
            checks.insert(0, Check("Oracle", "login", "ok", "Oracle issued an access token"))
        return checks
    checks = [
        Check("Oracle", "login", "ok", "Oracle accepted the connection's credentials"),
        Check("Oracle", "invoices", "ok", "read Receivables invoices (receivablesInvoices)"),
    ]
    query = (
        f"BusinessUnit = {_quoted(oracle.business_unit)} and "
        f"TransactionSource = {_quoted(oracle.invoice_source)}"
    )
    try:
        page = fusion.get(
            "receivablesInvoices",
            {"q": query, "limit": "1", "onlyData": "true"},
            operation="receivablesInvoices.find",
        )
    except ConnectorError as exc:
        checks.append(
            Check("Oracle", "setup", "unknown", f"could not look for existing invoices ({exc})")
        )
        return checks
    items = page.get("items") if isinstance(page, dict) else None
    if items:
        checks.append(
            Check(
                "Oracle",
                "setup",
                "ok",
                f"business unit {oracle.business_unit!r} and source {oracle.invoice_source!r} "
                "already carry invoices",
            )
        )
    else:
        checks.append(
            Check(
                "Oracle",
                "setup",
                "unknown",
                f"no invoice uses business unit {oracle.business_unit!r} with source "
                f"{oracle.invoice_source!r} yet; Oracle checks them on the first post",
            )
        )
    return checks


def mapping_check(ctx: ConnectionContext) -> Check:
    return Check(
        "Mapping",
        "files",
        "ok",
        f"charge mapping and catalog load ({len(ctx.catalog)} SKUs)",
    )


def uncovered_marketplaces(config: ConnectionConfig, mapping: ChargeMapping) -> list[str]:
    """One sentence per configured marketplace the charge mapping names no Oracle customer for:
    every order of it would wait in the review queue (`connection add` refuses them)."""
    return [
        f"amazon.marketplace_ids has {marketplace_id!r}"
        + (f" ({known.name})" if (known := table_marketplace(marketplace_id)) else "")
        + f" but the charge mapping {config.mappings.charges} has no [customers.{marketplace_id}]"
        ": every order of it would be held for review; add its Oracle customer account_number "
        "and site_number there (docs/mapping.md)"
        for marketplace_id in config.amazon.marketplace_ids
        if mapping.customer(marketplace_id) is None
    ]


def customers_check(ctx: ConnectionContext) -> Check:
    problems = uncovered_marketplaces(ctx.config, ctx.mapping)
    if problems:
        return Check("Mapping", "customers", "failed", "; ".join(problems))
    return Check(
        "Mapping", "customers", "ok", "every marketplace has its Oracle customer in [customers]"
    )


def run_checks(rt: Runtime, name: str) -> list[Check]:
    """Every check; an error building the clients becomes a failed check, not a crash."""
    try:
        with open_connection(rt, name) as ctx:
            checks = [mapping_check(ctx), customers_check(ctx)]
            for region, client in ctx.amazon.items():
                checks += amazon_checks(region, client, ctx.config)
            checks += oracle_checks(ctx.fusion, ctx.config)
            return checks
    except MappingError as exc:
        sentence = "mapping files refused: " + "; ".join(exc.problems)
        return [
            Check("Mapping", "files", "failed", sentence),
            Check("Amazon/Oracle", "not tried", "unknown", "fix the mapping files first"),
        ]
    except NotFoundInStoreError as exc:
        if "no connection" in str(exc):
            raise
        return [
            Check("Store", "credentials", "failed", f"{exc}; store it with `connection set-secret`")
        ]
    except pydantic.ValidationError as exc:
        # A row stored before a rule existed (or edited by hand): the words `add` would use.
        lines = validation_lines(exc, "the stored configuration")
        fix = f"; correct it with `ml-connector connection update {name} --config FILE`"
        return [Check("Store", "configuration", "failed", "; ".join(lines) + fix)]
    except (ConfigError, StoreError) as exc:
        return [Check("Store", "configuration", "failed", str(exc))]


def check_connection(
    ctx: typer.Context,
    name: NameArgument = None,
    connection: ConnectionFlag = None,
    as_json: JsonOption = False,
) -> None:
    """Try both sides of a connection with read-only calls and say what works.

    Amazon, per region: login (LWA token), reading settlements and orders (roles).
    Oracle: login, reading Receivables invoices, the configured business unit and
    transaction source. Mapping files: they load. Exit code 1 if anything failed.

    Example: [bold]ml-connector connection test acme-us[/bold]
    """
    handle_errors(_test)(ctx, connection_name(name, connection), as_json)


def _test(ctx: typer.Context, name: str, as_json: bool) -> None:
    with runtime(ctx, require_key=True) as rt:
        checks = run_checks(rt, name)
    failed = [c for c in checks if c.status == "failed"]
    if as_json:
        print_json({"connection": name, "ok": not failed, "checks": [asdict(c) for c in checks]})
    else:
        table = Table("", "system", "check", "what we found", title=f"Connection {name}")
        for c in checks:
            table.add_row(
                _MARKS[c.status], c.system, c.check, escape(default_redactor.text(c.message))
            )
        console = out()
        console.print(table)
        if failed:
            console.print(f"[red]{len(failed)} check(s) failed.[/red]")
        else:
            console.print("[green]Everything we could check works.[/green]")
    if failed:
        raise typer.Exit(FAILURE_EXIT)
