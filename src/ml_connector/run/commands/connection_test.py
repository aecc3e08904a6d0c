"""`connection test`: can this connection work, in words a finance admin can act on?

Each check is one read-only call. Errors are translated from HTTP into what to do about them
("the app lacks the Finance and Accounting role"), because the person running this is usually
the one who can fix the Seller Central or Oracle setup, not the one who reads status codes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Literal

import typer
from rich.markup import escape
from rich.table import Table

from ml_connector.context import ConnectionContext, Runtime, open_connection, utc_now
from ml_connector.errors import AuthError, ConfigError, ConnectorError, RemoteError
from ml_connector.flow.mapping import MappingError
from ml_connector.remote.amazon.client import SpApiClient
from ml_connector.remote.amazon.marketplaces import marketplace
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
)
from ml_connector.store import ConnectionConfig, NotFoundInStoreError, StoreError

Status = Literal["ok", "failed", "unknown"]
_MARKS = {"ok": "[green]✓[/green]", "failed": "[red]✗[/red]", "unknown": "[yellow]?[/yellow]"}
_AMAZON_ROLES = {
    "listFinancialEventGroups": "Finance and Accounting",
    "searchOrders": "Inventory and Order Tracking",
}


@dataclass(frozen=True)
class Check:
    system: str
    check: str
    status: Status
    message: str


def _remote_reason(exc: ConnectorError) -> str:
    detail = str(exc)
    return detail if len(detail) < 300 else detail[:297] + "..."


def _lwa_failure(region: str, exc: ConnectorError) -> str:
    code = getattr(exc, "code", None)
    if code == "invalid_grant":
        return (
            f"Amazon refused the refresh token for {region}: the seller must authorise the app "
            "again in Seller Central, then store the new token with `ml-connector connection "
            f"set-secret NAME --refresh-token-env {region}=VARIABLE`"
        )
    if code in ("invalid_client", "unauthorized_client"):
        return (
            "Amazon refused the app's LWA client id or client secret: correct amazon.lwa_client_id "
            "with `connection update` or the secret with `connection set-secret NAME "
            "--lwa-client-secret-env VARIABLE`"
        )
    if isinstance(exc, AuthError):
        return f"Amazon refused the app's credentials for {region} ({_remote_reason(exc)})"
    return f"could not reach Amazon's login service ({_remote_reason(exc)})"


def _amazon_read_failure(operation: str, exc: ConnectorError) -> str:
    status = getattr(exc, "status", None)
    if status == 403:
        role = _AMAZON_ROLES.get(operation, "required")
        return f"Amazon refused {operation}: the app lacks the {role} role for this seller"
    if status == 401:
        return f"Amazon refused the access token for {operation}"
    return f"{operation} failed ({_remote_reason(exc)})"


def amazon_checks(region: str, client: SpApiClient, config: ConnectionConfig) -> list[Check]:
    system = f"Amazon {region}"
    try:
        client.tokens.token()
    except ConnectorError as exc:
        return [Check(system, "login", "failed", _lwa_failure(region, exc))]
    checks = [Check(system, "login", "ok", "Amazon accepted the app's credentials (LWA token)")]
    since = utc_now() - timedelta(days=1)
    try:
        next(iter(client.finances.list_financial_event_groups(started_after=since)), None)
        checks.append(
            Check(system, "finances", "ok", "read settlements (listFinancialEventGroups)")
        )
    except ConnectorError as exc:
        failure = _amazon_read_failure("listFinancialEventGroups", exc)
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
        checks.append(Check(system, "orders", "failed", _amazon_read_failure("searchOrders", exc)))
    return checks


def _region_of(marketplace_id: str) -> str | None:
    try:
        return str(marketplace(marketplace_id).region)
    except ConfigError:
        return None


def _oracle_failure(exc: ConnectorError) -> tuple[str, str]:
    """(check name, sentence) for a failed first Oracle read."""
    if isinstance(exc, RemoteError) and exc.operation == "oauth.token":
        if isinstance(exc, AuthError):
            return "login", (
                "Oracle's identity domain refused the client id or secret (or the scope): "
                "check the credentials stored for this connection"
            )
        return "login", f"could not obtain an Oracle token ({_remote_reason(exc)})"
    status = getattr(exc, "status", None)
    if status == 401:
        return "login", "Oracle refused the credentials (401): check the user and its password"
    if status == 403:
        return "invoices", (
            "Oracle refused to list Receivables invoices: the integration user lacks a "
            "Receivables role (e.g. Accounts Receivable Specialist) or data access to the BU"
        )
    return "invoices", f"reading Receivables invoices failed ({_remote_reason(exc)})"


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
        check, sentence = _oracle_failure(exc)
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


def run_checks(rt: Runtime, name: str) -> list[Check]:
    """Every check; an error building the clients becomes a failed check, not a crash."""
    try:
        with open_connection(rt, name) as ctx:
            checks = [mapping_check(ctx)]
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
