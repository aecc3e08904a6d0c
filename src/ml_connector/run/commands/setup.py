"""`init`: everything a fresh machine needs before the first `connection add`.

It is idempotent on purpose: operators put it in provisioning scripts and run it again after an
upgrade to bring the schema forward, so it never replaces an existing key.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from sqlalchemy import Engine, make_url

from ml_connector.context import default_database_url, default_key_file, home
from ml_connector.run.commands.common import (
    JsonOption,
    global_options,
    handle_errors,
    out,
    print_json,
    safe_url,
)
from ml_connector.store import (
    KEY_ENV_VAR,
    generate_master_key,
    load_master_key,
    make_engine,
    make_sessionmaker,
    migrate,
    write_key_file,
)
from ml_connector.store.db import current_revision
from ml_connector.store.key_check import expected_key_id, require_store_key


def _sqlite_parent(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database).parent


def _ensure_dir(path: Path) -> bool:
    if path.is_dir():
        return False
    path.mkdir(parents=True, mode=0o700)
    return True


def _key_step(key_file: Path) -> tuple[str, str]:
    """Create the key file unless a key already exists; returns (what happened, key id)."""
    if os.environ.get(KEY_ENV_VAR, "").strip():
        return f"using the master key from {KEY_ENV_VAR} (no key file written)", (
            load_master_key().key_id
        )
    if key_file.exists():
        key = load_master_key(environ={}, key_file=key_file)
        return f"kept the existing key file {key_file}", key.key_id
    _ensure_dir(key_file.parent)
    write_key_file(key_file, generate_master_key())
    key = load_master_key(environ={}, key_file=key_file)
    return f"created the key file {key_file} (mode 0600) - back it up", key.key_id


def _key_check_step(engine: Engine, key_file: Path) -> str:
    """Record which key the store belongs to, or refuse a key that is not the store's."""
    key = load_master_key(key_file=key_file)
    with make_sessionmaker(engine)() as session, session.begin():
        known = expected_key_id(session)
        require_store_key(session, key)
    if known is None:
        return f"recorded master key {key.key_id} as this store's key (key check)"
    return f"master key {key.key_id} opens this store"


def init(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Create the home directory and master key, and bring the database schema up to date.

    Safe to run again: an existing key is never replaced, migrations only move forward.

    Example: [bold]ML_CONNECTOR_HOME=/srv/ml-connector ml-connector init[/bold]
    """
    handle_errors(_init)(ctx, as_json)


def _init(ctx: typer.Context, as_json: bool) -> None:
    options = global_options(ctx)
    steps: list[str] = []
    home_dir = home()
    if _ensure_dir(home_dir):
        steps.append(f"created the home directory {home_dir}")
    else:
        steps.append(f"home directory {home_dir} already exists")
    key_note, key_id = _key_step(options.key_file or default_key_file())
    steps.append(key_note)
    url = options.database_url or default_database_url()
    parent = _sqlite_parent(url)
    if parent is not None and _ensure_dir(parent):
        steps.append(f"created the database directory {parent}")
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        migrate(engine)
        after = current_revision(engine)
        steps.append(_key_check_step(engine, options.key_file or default_key_file()))
    finally:
        engine.dispose()
    if before == after:
        steps.append(f"database {safe_url(url)} is already at schema {after}")
    else:
        steps.append(f"migrated database {safe_url(url)} from {before or 'empty'} to {after}")
    if as_json:
        print_json(
            {
                "home": str(home_dir),
                "key_id": key_id,
                "database": safe_url(url),
                "schema": after,
                "steps": steps,
            }
        )
        return
    console = out()
    for step in steps:
        console.print(f"[green]✓[/green] {step}", highlight=False)
    console.print(f"Master key id: {key_id}. Next: [bold]ml-connector connection add --help[/bold]")
