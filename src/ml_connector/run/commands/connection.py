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
from rich.markup import escape
from rich.table import Table
from sqlalchemy import delete, func, select

from ml_connector.context import describe_endpoints, load_mappings
from ml_connector.errors import ConfigError
from ml_connector.flow.mapping import MappingError
from ml_connector.input_files import CONNECTION_CONFIG, InputFileError, parse_toml, read_text, shown
from ml_connector.run import config_reference
from ml_connector.run.commands.common import (
    FAILURE_EXIT,
    USAGE_EXIT,
    ConnectionFlag,
    JsonOption,
    NameArgument,
    connection_name,
    err,
    fail,
    handle_errors,
    iso,
    out,
    print_json,
    runtime,
    validation_lines,
)
from ml_connector.run.commands.connection_test import check_connection, uncovered_marketplaces
from ml_connector.run.commands.secrets_input import (
    gather_chosen_secrets,
    gather_secrets,
    interactive,
    needed_secret_names,
)
from ml_connector.store import (
    ConnectionConfig,
    ConnectionRow,
    StoreError,
    add_connection,
    append_event,
    connection_config,
    get_connection,
    list_connections,
    put_secret,
    secret_names,
    update_connection,
)
from ml_connector.store.connections import (
    delete_connection,
    documents_in_flight,
    find_same_seller,
    mark_connection_removed,
    rename_connection,
    taken_from,
)
from ml_connector.store.leases import held_leases
from ml_connector.store.tables import Document, StoredSecret

app = typer.Typer(
    help="Add, change, test, rename, disable and remove seller connections.",
    no_args_is_help=True,
)
app.command("test")(check_connection)


def load_config_file(path: Path) -> ConnectionConfig:
    """Read and validate a connection TOML file; mapping paths are relative to the file.

    The file is refused in one line naming its path when it is not a regular UTF-8 file of at
    most 1 MiB, is not TOML, or nests too deep (`ml_connector.input_files`).
    """
    return _load_config_file(path)[0]


def _load_config_file(path: Path) -> tuple[ConnectionConfig, list[str]]:
    """The validated configuration and what validation read from it differently (`taken_from`)."""
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
        config = ConnectionConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        fail("; ".join(validation_lines(exc, shown(path))), code=USAGE_EXIT)
    return config, taken_from(data, config)


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


def validated_config(path: Path) -> tuple[ConnectionConfig, list[str]]:
    """A configuration file checked as far as can be without a network call (for `add` and
    `update`): the model (marketplaces against the regions, the Oracle pod, region and identity
    domain), the URLs credentials would go to, the mapping files it names, and an Oracle
    customer in the charge mapping for every marketplace. Each refusal is one line naming the
    setting (exit code 2). Also returns the notes on settings read from another form (a pasted
    pod address), for the caller to say once the command has done its work: a refusal stays the
    one line that names the problem."""
    config, taken = _load_config_file(path)
    # A configured URL that credentials must not go to is refused before anything is stored.
    setting = {"oracle.token_url": "oracle.identity_domain_url"}
    refused = [
        f"{shown(path)}: {setting.get(key, key)}: {text}"
        for key, text in describe_endpoints(config).items()
        if text.startswith("refused")
    ]
    if refused:
        fail("; ".join(refused), code=USAGE_EXIT)
    try:
        mapping, _ = load_mappings(config)
    except MappingError as exc:
        fail("mapping files refused: " + "; ".join(exc.problems), code=USAGE_EXIT)
    uncovered = uncovered_marketplaces(config, mapping)
    if uncovered:
        fail(f"{shown(path)}: " + "; ".join(uncovered), code=USAGE_EXIT)
    return config, list(taken)


def say_notes(notes: list[str]) -> None:
    """What `validated_config` read from another form than the one stored, on stderr."""
    for sentence in notes:
        err().print(f"[cyan]note:[/cyan] {escape(sentence)}", highlight=False)


def _name_taken(row: ConnectionRow) -> str:
    if row.removed_at is not None:
        return (
            f"the name {row.name!r} belongs to a connection removed with its history kept "
            f"(on {row.removed_at:%Y-%m-%d}): bring it back with `ml-connector connection "
            f"restore {row.name}`, or choose another name"
        )
    return (
        f"a connection named {row.name!r} already exists: change it with `ml-connector "
        f"connection update {row.name} --config FILE` or `connection set-secret {row.name}`"
    )


def _same_seller(row: ConnectionRow, config: ConnectionConfig) -> str:
    amazon = config.amazon
    first = connection_config(row).amazon
    both_named = "default" not in (amazon.seller_id, first.seller_id)
    if both_named:
        seller = f"Amazon seller {first.seller_id!r}"
        hint = " (a different seller needs its own amazon.seller_id)"
    else:
        # One side without a selling partner id: only the LWA app tells whose books these are.
        unnamed = "this configuration" if amazon.seller_id == "default" else f"{row.name!r}"
        seller = (
            f"the Amazon seller of LWA app {amazon.lwa_client_id!r} ({unnamed} sets no "
            "amazon.seller_id)"
        )
        hint = (
            " (if these are two sellers of one LWA app, set amazon.seller_id in both, "
            f"`connection update {row.name}` first)"
        )
    bu = config.oracle.business_unit
    removed = " (removed with its history kept)" if row.removed_at is not None else ""
    return (
        f"connection {row.name!r}{removed} already keeps the books of {seller} "
        f"in Oracle business unit {bu!r}; a second connection would post the same documents "
        f"again. Change that one instead: `ml-connector connection update {row.name} --config "
        f"FILE`, `connection set-secret {row.name}`"
        + (f" (after `connection restore {row.name}`)" if removed else "")
        + hint
    )


@app.command("add")
def add(
    ctx: typer.Context,
    config: Annotated[
        Path, typer.Option("--config", help="Non-secret settings as TOML (see docs/cli.md).")
    ],
    name: NameArgument = None,
    connection: ConnectionFlag = None,
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
        connection_name(name, connection),
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
    config, notes = validated_config(config_path)
    with runtime(ctx, require_key=True) as rt:
        keyring = rt.require_keyring()
        with rt.sessions() as session:
            # Refuse a duplicate name before asking for credentials the user would retype.
            for row in list_connections(session, include_removed=True):
                if row.name == name:
                    fail(_name_taken(row), code=USAGE_EXIT)
            same = find_same_seller(session, config)
            if same is not None:
                fail(_same_seller(same, config), code=USAGE_EXIT)
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
    say_notes(notes)
    if as_json:
        print_json({"name": name, "id": connection_id, "secrets": stored})
        return
    out().print(
        f"[green]✓[/green] added connection {name!r}: regions {', '.join(config.amazon.regions)}, "
        f"{len(config.amazon.marketplace_ids)} marketplace(s), {len(stored)} credentials "
        f"stored encrypted. Next: [bold]ml-connector connection test {name}[/bold]",
        highlight=False,
    )


@app.command("reference")
def reference(
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the Markdown to this file instead of the screen."),
    ] = None,
) -> None:
    """Print the configuration reference (every setting of the TOML file `add` reads, with its
    type, default and meaning), rendered from the configuration model: docs/configuration.md.

    Example: [bold]ml-connector connection reference --out docs/configuration.md[/bold]
    """
    text = config_reference.render()
    if out_file is None:
        typer.echo(text, nl=False)
        return
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {shown(out_file)}: {exc.strerror or exc}", code=FAILURE_EXIT)
    out().print(f"[green]✓[/green] wrote {escape(shown(out_file))}", highlight=False)


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
def show(
    ctx: typer.Context,
    name: NameArgument = None,
    connection: ConnectionFlag = None,
    as_json: JsonOption = False,
) -> None:
    """One connection's settings and the *names* of its stored credentials (never the values).

    Example: [bold]ml-connector connection show acme-us[/bold]
    """
    handle_errors(_show)(ctx, connection_name(name, connection), as_json)


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
def disable(
    ctx: typer.Context,
    name: NameArgument = None,
    connection: ConnectionFlag = None,
    as_json: JsonOption = False,
) -> None:
    """Stop syncing a connection (its data and credentials are kept).

    Example: [bold]ml-connector connection disable acme-us[/bold]
    """
    handle_errors(_set_enabled)(ctx, connection_name(name, connection), False, as_json)


@app.command("enable")
def enable(
    ctx: typer.Context,
    name: NameArgument = None,
    connection: ConnectionFlag = None,
    as_json: JsonOption = False,
) -> None:
    """Resume syncing a disabled connection.

    Example: [bold]ml-connector connection enable acme-us[/bold]
    """
    handle_errors(_set_enabled)(ctx, connection_name(name, connection), True, as_json)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(setting, before, after) for every setting that differs, in setting order."""
    old, new = dict(_flatten(before)), dict(_flatten(after))
    return [
        (key, old.get(key, "(unset)"), new.get(key, "(unset)"))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _orphaning(before: dict[str, Any], after: ConnectionConfig) -> list[str]:
    """Changes that would leave the connection's documents under another seller's name."""
    amazon = before.get("amazon") or {}
    oracle = before.get("oracle") or {}
    problems = []
    if amazon.get("seller_id", "default") != after.amazon.seller_id:
        problems.append(
            f"amazon.seller_id {amazon.get('seller_id')!r} → {after.amazon.seller_id!r}"
        )
    gone = sorted(set(amazon.get("marketplace_ids") or []) - set(after.amazon.marketplace_ids))
    if gone:
        problems.append(f"marketplace(s) {', '.join(gone)} removed")
    for key in ("business_unit", "pod", "region", "base_url", "ledger_id"):
        if oracle.get(key) != getattr(after.oracle, key):
            problems.append(f"oracle.{key} {oracle.get(key)!r} → {getattr(after.oracle, key)!r}")
    return problems


@app.command("update")
def update(
    ctx: typer.Context,
    config: Annotated[
        Path, typer.Option("--config", help="The complete new settings as TOML, as for `add`.")
    ],
    name: NameArgument = None,
    connection: ConnectionFlag = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would change.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Accept a change of seller, marketplaces or Oracle business unit, pod or "
            "ledger although documents were already posted under the old ones.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Replace a connection's settings with a new TOML file, validated as `add` validates it.

    Prints every setting that changes. Credentials are kept: change them with `set-secret`. A
    change that would leave posted documents under another seller, marketplace or business unit
    is refused unless --force.

    Example: [bold]ml-connector connection update acme-us --config acme-us.toml --dry-run[/bold]
    """
    handle_errors(_update)(ctx, connection_name(name, connection), config, dry_run, force, as_json)


def _update(
    ctx: typer.Context, name: str, path: Path, dry_run: bool, force: bool, as_json: bool
) -> None:
    new, notes = validated_config(path)
    after = new.model_dump(mode="json")
    with runtime(ctx) as rt, rt.sessions() as session, session.begin():
        row = get_connection(session, name)
        if row.removed_at is not None:
            fail(f"connection {name!r} was removed: `connection restore {name}` first", code=2)
        before = dict(row.config or {})
        changes = _diff(before, after)
        same = find_same_seller(session, new, exclude_id=row.id)
        if same is not None:
            fail(_same_seller(same, new), code=USAGE_EXIT)
        documents = session.scalar(
            select(func.count()).select_from(Document).where(Document.connection_id == row.id)
        )
        orphaning = _orphaning(before, new) if documents else []
        if orphaning and not force:
            fail(
                f"connection {name!r} has {documents} document(s) posted or planned under its "
                f"current settings; {'; '.join(orphaning)} would leave them behind. If this "
                "corrects a mistake for the same seller, repeat with --force",
                code=USAGE_EXIT,
            )
        missing = sorted(set(needed_secret_names(new)) - set(secret_names(session, row.id)))
        if changes and not dry_run:
            update_connection(session, row, config=new)
            append_event(
                session,
                row.id,
                "connection_updated",
                details={"changed": [key for key, _, _ in changes], "forced": bool(orphaning)},
            )
    say_notes(notes)
    if as_json:
        print_json(
            {
                "name": name,
                "dry_run": dry_run,
                "updated": bool(changes) and not dry_run,
                "changes": [{"setting": k, "before": b, "after": a} for k, b, a in changes],
                "missing_secrets": missing,
            }
        )
        return
    console = out()
    if not changes:
        console.print(f"Nothing to change: {shown(path)} matches connection {name!r}.")
    else:
        table = Table("setting", "before", "after", title=f"Changes to {name}")
        for key, before_value, after_value in changes:
            table.add_row(key, before_value, after_value)
        console.print(table)
        word = "would be updated (dry run: nothing stored)" if dry_run else "updated"
        console.print(f"[green]✓[/green] connection {name!r} {word}", highlight=False)
    for secret in missing:
        console.print(
            f"[yellow]missing credential[/yellow] {secret}: store it with "
            f"[bold]ml-connector connection set-secret {name}[/bold] (see --help)",
            highlight=False,
        )


@app.command("set-secret")
def set_secret(
    ctx: typer.Context,
    name: NameArgument = None,
    connection: ConnectionFlag = None,
    lwa_client_secret_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the new LWA client secret.")
    ] = None,
    refresh_token_env: Annotated[
        list[str] | None,
        typer.Option(help="REGION=VARIABLE holding that region's new refresh token; repeatable."),
    ] = None,
    oracle_secret_env: Annotated[
        str | None,
        typer.Option(help="Environment variable holding the new Oracle client secret/password."),
    ] = None,
    oracle_private_key_file: Annotated[
        Path | None, typer.Option(help="New PEM private key for oracle.auth = jwt_assertion.")
    ] = None,
    ask: Annotated[
        list[str] | None,
        typer.Option(
            "--ask", help="Prompt (hidden input) for: lwa, oracle, or a region (NA, EU, FE)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Replace stored credentials: a region's refresh token, the LWA or the Oracle secret, the
    Oracle private key. The others are kept.

    As with `add`, values come from environment variables or files named by the options, or from
    a hidden prompt (--ask); never as option values.

    Examples: [bold]ml-connector connection set-secret acme-us --refresh-token-env
    EU=AMZ_EU_TOKEN[/bold] · [bold]ml-connector connection set-secret acme-us --ask oracle[/bold]
    """
    handle_errors(_set_secret)(
        ctx,
        connection_name(name, connection),
        lwa_client_secret_env,
        refresh_token_env or [],
        oracle_secret_env,
        oracle_private_key_file,
        ask or [],
        as_json,
    )


def _set_secret(
    ctx: typer.Context,
    name: str,
    lwa_client_secret_env: str | None,
    refresh_token_env: list[str],
    oracle_secret_env: str | None,
    oracle_private_key_file: Path | None,
    ask: list[str],
    as_json: bool,
) -> None:
    with runtime(ctx, require_key=True) as rt:
        keyring = rt.require_keyring()
        with rt.sessions() as session:
            row = get_connection(session, name)
            if row.removed_at is not None:
                fail(f"connection {name!r} was removed: `connection restore {name}` first", code=2)
            config = connection_config(row)
            connection_id = row.id
        secrets = gather_chosen_secrets(
            config,
            lwa_client_secret_env=lwa_client_secret_env,
            refresh_token_envs=refresh_token_env,
            oracle_secret_env=oracle_secret_env,
            oracle_private_key_file=oracle_private_key_file,
            ask=ask,
        )
        with rt.sessions() as session, session.begin():
            for secret_name, value in secrets.items():
                put_secret(session, keyring, connection_id, secret_name, value)
            append_event(
                session, connection_id, "credentials_replaced", details={"names": sorted(secrets)}
            )
    if as_json:
        print_json({"name": name, "replaced": sorted(secrets)})
        return
    out().print(
        f"[green]✓[/green] replaced {', '.join(sorted(secrets))} of connection {name!r} "
        f"(stored encrypted). Next: [bold]ml-connector connection test {name}[/bold]",
        highlight=False,
    )


@app.command("rename")
def rename(
    ctx: typer.Context,
    first: Annotated[str, typer.Argument(metavar="NAME", help="The connection's name now.")],
    second: Annotated[
        str | None, typer.Argument(metavar="NEW_NAME", help="The new name.", show_default=False)
    ] = None,
    connection: ConnectionFlag = None,
    as_json: JsonOption = False,
) -> None:
    """Give a connection a new name; its documents, credentials and audit trail stay with it.

    Examples: [bold]ml-connector connection rename acme acme-us[/bold] ·
    [bold]ml-connector connection rename -c acme acme-us[/bold]
    """
    old: str = connection if connection is not None and second is None else first
    new: str | None = first if connection is not None and second is None else second
    old = connection_name(old, connection)
    if new is None:
        fail("name the new name: `connection rename NAME NEW_NAME`", code=USAGE_EXIT)
    handle_errors(_rename)(ctx, old, new, as_json)


def _rename(ctx: typer.Context, name: str, new_name: str, as_json: bool) -> None:
    with runtime(ctx) as rt, rt.sessions() as session, session.begin():
        row = get_connection(session, name)
        for other in list_connections(session, include_removed=True):
            if other.name == new_name and other.id != row.id:
                fail(_name_taken(other), code=USAGE_EXIT)
        try:
            rename_connection(session, row, new_name)
        except StoreError as exc:
            fail(str(exc), code=USAGE_EXIT)
        append_event(session, row.id, "connection_renamed", details={"from": name, "to": new_name})
    if as_json:
        print_json({"name": new_name, "renamed_from": name})
    else:
        out().print(f"[green]✓[/green] connection {name!r} is now {new_name!r}", highlight=False)


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: NameArgument = None,
    connection: ConnectionFlag = None,
    keep_history: Annotated[
        bool,
        typer.Option(
            "--keep-history",
            help="Delete only the credentials: keep the documents, their Oracle ids and the "
            "Amazon records (`connection restore` brings the connection back).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove a connection. Refused while documents are on their way to Oracle or a sync runs.

    Without --keep-history its credentials, Amazon records, documents, bindings and review items
    are deleted and the name and seller are free again; the audit trail is append-only and stays
    (findable with `audit show`). With --keep-history only the credentials are deleted. Oracle is
    never changed.

    Example: [bold]ml-connector connection remove acme-old --keep-history --yes[/bold]
    """
    handle_errors(_remove)(ctx, connection_name(name, connection), keep_history, yes, as_json)


def _remove(ctx: typer.Context, name: str, keep_history: bool, yes: bool, as_json: bool) -> None:
    with runtime(ctx) as rt, rt.sessions() as session, session.begin():
        row = get_connection(session, name)
        if row.removed_at is not None and keep_history:
            fail(f"connection {name!r} was already removed (history kept)", code=USAGE_EXIT)
        running = held_leases(session, row.id)
        if running:
            fail(
                f"a sync of connection {name!r} is running ({'; '.join(running)}): "
                f"`connection disable {name}`, wait for it to end (a sync that died without "
                "releasing its lease holds it until then), then remove",
                code=FAILURE_EXIT,
            )
        flight = documents_in_flight(session, row.id)
        if flight:
            counts = ", ".join(f"{count} {state}" for state, count in sorted(flight.items()))
            fail(
                f"connection {name!r} has {sum(flight.values())} document(s) on their way to "
                f"Oracle ({counts}): let `ml-connector sync -c {name}` finish them (or "
                "`review list` them), then remove",
                code=FAILURE_EXIT,
            )
        if not yes:
            what = (
                "its credentials (history kept)"
                if keep_history
                else "its credentials, Amazon records and documents (the audit trail stays)"
            )
            if not interactive():
                fail(f"removing {name!r} deletes {what}: add --yes to confirm", code=USAGE_EXIT)
            if not typer.confirm(f"Remove connection {name!r} and {what}?", default=False):
                raise typer.Exit(FAILURE_EXIT)
        if keep_history:
            session.execute(delete(StoredSecret).where(StoredSecret.connection_id == row.id))
            mark_connection_removed(session, row)
            append_event(session, row.id, "connection_removed", details={"keep_history": True})
            deleted: dict[str, int] = {}
        else:
            deleted = delete_connection(session, row)
    if as_json:
        print_json({"name": name, "keep_history": keep_history, "deleted": deleted})
        return
    if keep_history:
        out().print(
            f"[green]✓[/green] removed connection {name!r}: credentials deleted, audit trail and "
            f"documents kept (`connection restore {name}` brings it back)",
            highlight=False,
        )
    else:
        rows = ", ".join(f"{count} {table}" for table, count in sorted(deleted.items()))
        out().print(
            f"[green]✓[/green] removed connection {name!r}"
            + (f": deleted {rows}" if rows else "")
            + "; the audit trail stays (append-only)",
            highlight=False,
        )


@app.command("restore")
def restore(
    ctx: typer.Context,
    name: NameArgument = None,
    connection: ConnectionFlag = None,
    as_json: JsonOption = False,
) -> None:
    """Bring back a connection removed with --keep-history (disabled, without credentials).

    Example: [bold]ml-connector connection restore acme-old[/bold]
    """
    handle_errors(_restore)(ctx, connection_name(name, connection), as_json)


def _restore(ctx: typer.Context, name: str, as_json: bool) -> None:
    with runtime(ctx) as rt, rt.sessions() as session, session.begin():
        row = get_connection(session, name)
        if row.removed_at is None:
            fail(f"connection {name!r} is not removed", code=USAGE_EXIT)
        row.removed_at = None
        update_connection(session, row)
        append_event(session, row.id, "connection_restored")
    if as_json:
        print_json({"name": name, "restored": True, "enabled": False})
        return
    out().print(
        f"[green]✓[/green] restored connection {name!r} (disabled). Next: [bold]ml-connector "
        f"connection set-secret {name} …[/bold], then [bold]connection enable {name}[/bold]",
        highlight=False,
    )
