"""Engines, sessions and schema upgrades for SQLite (default) and PostgreSQL (scale-out).

Sessions come from here but are never committed here: the orchestrating layer owns every
transaction, so a cursor, the raw records it produced and their audit rows commit together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.store.columns import dump_json
from ml_connector.store.errors import DatabaseUrlError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "alembic_config",
    "current_revision",
    "head_revision",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "normalize_url",
    "sqlite_url",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
# Any constant works; it only has to be the same in every worker that migrates at start-up.
_MIGRATION_LOCK_ID = 0x6D6C_6301
_SUPPORTED = "supported: sqlite:///PATH (the default) and postgresql://USER@HOST/DATABASE"


def sqlite_url(path: Path) -> URL:
    """A SQLite URL for a file path, built by SQLAlchemy so odd characters cannot leak in."""
    return URL.create("sqlite+pysqlite", database=str(path))


def normalize_url(url: str | URL) -> URL:
    """Pick the installed driver: plain ``postgresql://`` means psycopg 3, not psycopg2.

    Raises ``DatabaseUrlError`` (one line, never the password) for text that is not a URL or a
    URL of another database than SQLite or PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The text itself is not repeated: it may hold a password.
        raise DatabaseUrlError(f"the database URL is not a URL ({_SUPPORTED})") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql", "postgres"):
        raise DatabaseUrlError(
            f"the database URL {parsed.render_as_string(hide_password=True)!r} is for "
            f"{parsed.get_backend_name()!r}, which ml-connector does not support ({_SUPPORTED})"
        )
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+pysqlite")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets the dashboard read while a sync writes; foreign keys are off unless asked for.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """An engine with the pragmas and JSON handling the store relies on.

    Raises ``DatabaseUrlError`` for a URL the store cannot open (``normalize_url``) or whose
    driver is not installed; an unreachable server fails only at the first connection.
    """
    parsed = normalize_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "json_serializer": dump_json}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:  # e.g. postgresql+psycopg2://
        raise DatabaseUrlError(
            f"the database URL {parsed.render_as_string(hide_password=True)!r} names the driver "
            f"{parsed.get_driver_name()!r}, which is not installed ({exc}; {_SUPPORTED})"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose loaded rows stay readable after the caller commits."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configured in code, so migrations run from an installed package (no .ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema; safe to call at every start, from many workers at once."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
        command.upgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (``None`` before the first ``migrate``)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
