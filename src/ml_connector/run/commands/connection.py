"""`connection add|list|show|enable|disable`: the sellers this installation keeps in step.

The non-secret configuration comes from a TOML file so it can live in version control; the
credentials never do (see ``secrets_input``). Everything is validated before anything is stored:
the configuration, the mapping files it points at, and the presence of every credential.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import pydantic
import typer
from rich.table import Table

from ml_connector.context import describe_endpoints, load_mappings
from ml_connector.errors import ConfigError
from ml_connector.flow.mapping import MappingError
from ml_connector.input_files import CONNECTION_CONFIG, InputFileError, parse_toml, read_text, shown
from ml_connector.run.commands.common import (
    USAGE_EXIT,
    JsonOption,
    fail,
    handle_errors,
    iso,
    out,
    print_json,
    runtime,
    validation_lines,
)
from ml_connector.run.commands.connection_test import check_connection
from ml_connector.run.commands.secrets_input import gather_secrets
from ml_connector.store import (
    ConnectionConfig,
    ConnectionRow,
    add_connection,
    connection_config,
    get_connection,
    list_connections,
    put_secret,
    secret_names,
    update_connection,
)

app = typer.Typer(
    help="Add, inspect, test, enable and disable seller connections.", no_args_is_help=True
)
app.command("test")(check_connection)

NameArg = Annotated[str, typer.Argument(help="Connection name, e.g. acme-us.")]


def load_config_file(path: Path) -> ConnectionConfig:
    """Read and validate a connection TOML file; mapping paths are relative to the file.

    The file is refused in one line naming its path when it is not a regular UTF-8 file of at
    most 1 MiB, is not TOML, or nests too deep (`ml_connector.input_files`).
    """
    try:
        data: dict[str, Any] = parse_toml(
            read_text(path, CONNECTION_CONFIG), path, invalid="not valid TOML"
        )
    except InputFileError as exc:
        raise ConfigError(str(exc)) from None
    mappings = data.get("mappings")
    if isinstance(mappings, dict):
        for key in ("catalog", "charges"):
            value = mappings.get(key)
            if isinstance(value, str) and value:
                mappings[key] = _mapping_path(path, key, value)
    try:
        return ConnectionConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        fail("; ".join(validation_lines(exc, shown(path))), code=USAGE_EXIT)


def _mapping_path(config_path: Path, key: str, value: str) -> str:
    """A mapping path from the config file, made absolute against the file's folder."""
    where = f"{shown(config_path)}: mappings.{key}"
    if "\0" in value:
        raise ConfigError(f"{where}: the path contains a NUL character")
    try:
        expanded = Path(value).expanduser()
    except RuntimeError:  # `~someone` with no such user
        raise ConfigError(f"{where}: cannot expand the '~' in {shown(value)!r}") from None
    if expanded.is_absolute():
        return value
    return os.path.abspath(config_path.parent / value)


@app.command("add")
def add(
    ctx: typer.Context,
    name: NameArg,
    config: Annotated[
        Path, typer.Option("--config", help="Non-secret settings as TOML (see docs/cli.md).")
    ],
    lwa_client_secret_env: Annotated[
        str | None,
        typer.Option(help="Environment variable holding the LWA client secret."),
    ] = None,
    refresh_token_env: Annotated[
        list[str] | None,
        typer.Option(help="REGION=VARIABLE holding that region's refresh token; repeatable."),
    ] = None,
    oracle_secret_env: Annotated[
        str | None,
        typer.Option(help="Environment variable holding the Oracle client secret (or password)."),
    ] = None,
    oracle_private_key_file: Annotated[
        Path | None,
        typer.Option(help="PEM private key for oracle.auth = jwt_assertion."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Store a new connection: validated settings plus encrypted credentials.

    Credentials come from environment variables named by the options, or are prompted for with
    hidden input when run at a terminal. They are never accepted as option values.

    Example:
    [bold]ml-connector connection add acme-us --config acme-us.toml
    --lwa-client-secret-env LWA_SECRET --refresh-token-env NA=AMZ_NA_TOKEN
    --oracle-secret-env ORACLE_SECRET[/bold]
    """
    handle_errors(_add)(
        ctx,
        name,
        config,
        lwa_client_secret_env,
        refresh_token_env or [],
        oracle_secret_env,
        oracle_private_key_file,
        as_json,
    )


def _add(
    ctx: typer.Context,
    name: str,
    config_path: Path,
    lwa_client_secret_env: str | None,
    refresh_token_env: list[str],
    oracle_secret_env: str | None,
    oracle_private_key_file: Path | None,
    as_json: bool,
) -> None:
    config = load_config_file(config_path)
    # A configured URL that credentials must not go to is refused before anything is stored.
    urls = {"amazon"}
    if config.oracle.base_url:
        urls.add("oracle.base_url")
    if config.oracle.identity_domain_url.startswith(("http://", "https://")):
        urls.add("oracle.token_url")
    refused = [
        f"{key}: {text}"
        for key, text in describe_endpoints(config).items()
        if text.startswith("refused") and (key in urls or key.startswith("amazon."))
    ]
    if refused:
        fail("; ".join(refused), code=USAGE_EXIT)
    try:
        load_mappings(config)
    except MappingError as exc:
        fail("mapping files refused: " + "; ".join(exc.problems), code=USAGE_EXIT)
    with runtime(ctx, require_key=True) as rt:
        keyring = rt.require_keyring()
        with rt.sessions() as session:
            # Refuse a duplicate name before asking for credentials the user would retype.
            if any(row.name == name for row in list_connections(session)):
                fail(f"a connection named {name!r} already exists", code=USAGE_EXIT)
        secrets = gather_secrets(
            config,
            lwa_client_secret_env=lwa_client_secret_env,
            refresh_token_envs=refresh_token_env,
            oracle_secret_env=oracle_secret_env,
            oracle_private_key_file=oracle_private_key_file,
        )
        with rt.sessions() as session, session.begin():
            row = add_connection(session, name, config)
            for secret_name, value in secrets.items():
                put_secret(session, keyring, row.id, secret_name, value)
            connection_id = row.id
    stored = sorted(secrets)
    if as_json:
        print_json({"name": name, "id": connection_id, "secrets": stored})
        return
    out().print(
        f"[green]✓[/green] added connection {name!r}: regions {', '.join(config.amazon.regions)}, "
        f"{len(config.amazon.marketplace_ids)} marketplace(s), {len(stored)} credentials "
        f"stored encrypted. Next: [bold]ml-connector connection test {name}[/bold]",
        highlight=False,
    )


def _summary(row: ConnectionRow) -> dict[str, Any]:
    """List columns read from the raw JSON, so one hand-edited row cannot hide the others."""
    cfg: dict[str, Any] = row.config or {}
    amazon = cfg.get("amazon") or {}
    oracle = cfg.get("oracle") or {}
    return {
        "name": row.name,
        "enabled": row.enabled,
        "regions": list(amazon.get("regions") or []),
        "marketplaces": list(amazon.get("marketplace_ids") or []),
        "pod": oracle.get("base_url") or f"{oracle.get('pod')} ({oracle.get('region')})",
        "updated_at": iso(row.updated_at),
    }


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every connection with its Amazon regions, marketplaces, Oracle pod and status.

    Example: [bold]ml-connector connection list --json[/bold]
    """
    handle_errors(_list)(ctx, as_json)


def _list(ctx: typer.Context, as_json: bool) -> None:
    with runtime(ctx) as rt, rt.sessions() as session:
        rows = [_summary(row) for row in list_connections(session)]
    if as_json:
        print_json({"connections": rows})
        return
    if not rows:
        out().print("No connections yet. Add one with [bold]ml-connector connection add[/bold].")
        return
    table = Table("name", "regions", "marketplaces", "Oracle pod", "enabled", title="Connections")
    for row in rows:
        table.add_row(
            row["name"],
            ", ".join(row["regions"]),
            ", ".join(row["marketplaces"]),
            row["pod"],
            "[green]yes[/green]" if row["enabled"] else "[red]no[/red]",
        )
    out().print(table)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list):
        return [(prefix, ", ".join(str(v) for v in value))]
    return [(prefix, "" if value is None else str(value))]


@app.command("show")
def show(ctx: typer.Context, name: NameArg, as_json: JsonOption = False) -> None:
    """One connection's settings and the *names* of its stored credentials (never the values).

    Example: [bold]ml-connector connection show acme-us[/bold]
    """
    handle_errors(_show)(ctx, name, as_json)


def _show(ctx: typer.Context, name: str, as_json: bool) -> None:
    with runtime(ctx) as rt, rt.sessions() as session:
        row = get_connection(session, name)
        names = secret_names(session, row.id)
        config = dict(row.config or {})
        enabled = row.enabled
        try:
            endpoints = describe_endpoints(connection_config(row))
        except pydantic.ValidationError:
            endpoints = {"endpoints": "unknown: the stored configuration does not validate"}
    if as_json:
        print_json(
            {
                "name": name,
                "enabled": enabled,
                "config": config,
                "secrets": names,
                "endpoints": endpoints,
            }
        )
        return
    table = Table(
        "setting", "value", title=f"Connection {name} ({'enabled' if enabled else 'disabled'})"
    )
    for key, value in _flatten(config):
        table.add_row(key, value)
    for key, value in endpoints.items():
        table.add_row(f"→ {key}", value)
    console = out()
    console.print(table)
    console.print(f"Stored credentials: {', '.join(names) or 'none'}", highlight=False)


def _set_enabled(ctx: typer.Context, name: str, enabled: bool, as_json: bool) -> None:
    with runtime(ctx) as rt, rt.sessions() as session, session.begin():
        update_connection(session, get_connection(session, name), enabled=enabled)
    word = "enabled" if enabled else "disabled"
    if as_json:
        print_json({"name": name, "enabled": enabled})
    else:
        out().print(f"[green]✓[/green] connection {name!r} {word}", highlight=False)


@app.command("disable")
def disable(ctx: typer.Context, name: NameArg, as_json: JsonOption = False) -> None:
    """Stop syncing a connection (its data and credentials are kept).

    Example: [bold]ml-connector connection disable acme-us[/bold]
    """
    handle_errors(_set_enabled)(ctx, name, False, as_json)


@app.command("enable")
def enable(ctx: typer.Context, name: NameArg, as_json: JsonOption = False) -> None:
    """Resume syncing a disabled connection.

    Example: [bold]ml-connector connection enable acme-us[/bold]
    """
    handle_errors(_set_enabled)(ctx, name, True, as_json)
