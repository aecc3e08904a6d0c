"""`key generate` and `key rotate`: master key handling that never prints a key.

A key only ever goes to a 0600 file: a key on a terminal ends up in scroll-back, screen shares and
CI logs. Rotation re-seals every secret in one database transaction *before* the key file is
swapped, and keeps the previous file as ``<file>.old`` until the new key has opened every secret,
so an interruption at any point leaves a key that can still open the database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ml_connector.context import default_key_file
from ml_connector.errors import ConfigError
from ml_connector.run.commands.common import (
    JsonOption,
    fail,
    global_options,
    handle_errors,
    out,
    print_json,
    runtime,
)
from ml_connector.store import (
    KEY_ENV_VAR,
    Keyring,
    MasterKey,
    generate_master_key,
    get_secret,
    list_connections,
    load_master_key,
    rotate_keys,
    secret_names,
    write_key_file,
)

app = typer.Typer(
    help="Create and rotate the master key that encrypts stored credentials.",
    no_args_is_help=True,
)


@app.command("generate")
def generate(
    out_file: Annotated[
        Path, typer.Option("--out", help="Where to write the new key (must not exist yet).")
    ],
    as_json: JsonOption = False,
) -> None:
    """Write a new random master key to a file with mode 0600; the key itself is never printed.

    Example: [bold]ml-connector key generate --out /secure/new-master.key[/bold]
    """
    if out_file.exists():
        fail(f"{out_file} already exists; choose another path (keys are never overwritten)", code=2)
    write_key_file(out_file, generate_master_key())
    key_id = load_master_key(environ={}, key_file=out_file).key_id
    if as_json:
        print_json({"key_file": str(out_file), "key_id": key_id})
    else:
        out().print(f"[green]✓[/green] wrote a new master key to {out_file} (key id {key_id})")


def _read_new_key(path: Path) -> MasterKey:
    try:
        return load_master_key(environ={}, key_file=path)
    except ConfigError as exc:
        raise ConfigError(f"--new-key-file: {exc}") from None


def _verify_all(ctx: typer.Context, keyring: Keyring) -> int:
    """Open every stored secret with ``keyring``; proves the rotation is complete."""
    opened = 0
    with runtime(ctx) as rt, rt.sessions() as session:
        for row in list_connections(session):
            for name in secret_names(session, row.id):
                get_secret(session, keyring, row.id, name)
                opened += 1
    return opened


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file",
            help="Use the key in this file (from `key generate`); default: generate one.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-encrypt every stored credential under a new master key, then swap the key file.

    The old key file is kept as [italic]<key file>.old[/italic] until every secret has been opened
    with the new key. With ML_CONNECTOR_MASTER_KEY set, give --new-key-file and then put that
    file's content into the variable.

    Example: [bold]ml-connector key rotate[/bold]   or
    [bold]ml-connector key rotate --new-key-file /secure/new-master.key[/bold]
    """
    handle_errors(_rotate)(ctx, new_key_file, as_json)


def _rotate(ctx: typer.Context, new_key_file: Path | None, as_json: bool) -> None:
    from_env = bool(os.environ.get(KEY_ENV_VAR, "").strip())
    key_file = global_options(ctx).key_file or default_key_file()
    if from_env and new_key_file is None:
        fail(
            f"the master key comes from {KEY_ENV_VAR}: give --new-key-file "
            "(create one with `ml-connector key generate --out FILE`)",
            code=2,
        )
    if not from_env and not key_file.exists():
        fail(f"no key file at {key_file}: run `ml-connector init` first", code=2)
    staged = key_file.with_name(key_file.name + ".new")
    created_staged = False
    if new_key_file is not None:
        new = _read_new_key(new_key_file)
    elif staged.exists():
        # A rotation was interrupted after staging: finish it with the same key.
        new = _read_new_key(staged)
    else:
        write_key_file(staged, generate_master_key())
        created_staged = True
        new = _read_new_key(staged)
    try:
        with runtime(ctx, require_key=True) as rt, rt.sessions() as session, session.begin():
            old = rt.require_keyring().primary
            changed = rotate_keys(session, old, new) if old.key_id != new.key_id else 0
    except BaseException:
        if created_staged:
            staged.unlink(missing_ok=True)
        raise
    if not from_env:
        _swap_key_file(key_file, staged, new, new_key_file)
    opened = _verify_all(ctx, Keyring(new))
    backup = key_file.with_name(key_file.name + ".old")
    if not from_env:
        backup.unlink(missing_ok=True)
    result = {
        "old_key_id": old.key_id,
        "new_key_id": new.key_id,
        "re_encrypted": changed,
        "verified": opened,
        "key_file": None if from_env else str(key_file),
    }
    if as_json:
        print_json(result)
        return
    console = out()
    console.print(
        f"[green]✓[/green] re-encrypted {changed} secret(s) from key {old.key_id} to "
        f"{new.key_id}; all {opened} open with the new key",
        highlight=False,
    )
    if from_env:
        console.print(
            f"[yellow]![/yellow] now set {KEY_ENV_VAR} to the content of {new_key_file}: "
            "the old key no longer opens the stored secrets",
            highlight=False,
        )
        # A process cannot see another's environment change: it must be started again.
        console.print(
            f"[yellow]![/yellow] running `run` processes read {KEY_ENV_VAR} only when they "
            "start: restart them with the new key",
            highlight=False,
        )
    else:
        console.print(f"[green]✓[/green] {key_file} now holds the new key", highlight=False)
        # Scheduler._key_ready compares the store's key check with the key it holds each tick.
        console.print(
            "running `run` processes pick up the new key before their next cycle",
            highlight=False,
        )


def _swap_key_file(key_file: Path, staged: Path, new: MasterKey, source: Path | None) -> None:
    """Old file → ``.old``, new key → the key file path, each step atomic (rename)."""
    if source is not None:
        staged.unlink(missing_ok=True)
        write_key_file(staged, new.to_text())
    backup = key_file.with_name(key_file.name + ".old")
    if key_file.exists():
        backup.unlink(missing_ok=True)
        os.link(key_file, backup)
    os.replace(staged, key_file)
