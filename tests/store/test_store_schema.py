"""The schema: migrations match the models, run anywhere, and protect what they promise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ml_connector.store import (
    DocumentKind,
    RawKind,
    get_raw_record,
    make_engine,
    migrate,
    plan_document,
    sqlite_url,
    upsert_raw_record,
)
from ml_connector.store.db import current_revision, head_revision, normalize_url
from ml_connector.store.tables import Base


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrate_is_repeatable_and_reaches_head(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == head_revision() is not None


def test_migrations_ship_inside_the_package() -> None:
    migrations = files("ml_connector.store.migrations")
    assert migrations.joinpath("env.py").is_file()
    assert migrations.joinpath("script.py.mako").is_file()
    assert any(p.name.startswith("0001") for p in migrations.joinpath("versions").iterdir())


def test_a_fresh_database_has_no_revision_until_migrated(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "new.db"))
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "with space & odd?.db"))
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "with space & odd?.db").exists()
    engine.dispose()


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


def test_rows_must_belong_to_an_existing_connection(session: Session) -> None:
    with pytest.raises(IntegrityError):
        upsert_raw_record(session, 999, RawKind.ORDER, "111-1", {"a": 1})
    session.rollback()


def test_datetimes_come_back_aware_utc(session: Session, connection_id: int) -> None:
    paris = timezone(timedelta(hours=2))
    seen = datetime(2026, 3, 1, 14, 30, tzinfo=paris)
    upsert_raw_record(session, connection_id, RawKind.ORDER, "111-1", {"a": 1}, now=seen)
    session.commit()
    session.expire_all()
    record = get_raw_record(session, connection_id, RawKind.ORDER, "111-1")
    assert record is not None
    assert record.first_seen == seen
    assert record.first_seen.tzinfo is UTC
    assert record.first_seen.hour == 12


def test_naive_datetimes_are_refused(session: Session, connection_id: int) -> None:
    naive = datetime(2026, 3, 1, 12, 0)
    with pytest.raises(Exception, match="naive datetime"):
        upsert_raw_record(session, connection_id, RawKind.ORDER, "111-1", {}, now=naive)
    session.rollback()


def test_money_in_payloads_stays_exact(session: Session, connection_id: int) -> None:
    payload = {"amount": Decimal("0.10"), "total": Decimal("30.23")}
    document, _ = plan_document(
        session, connection_id, "inv:111-1", DocumentKind.INVOICE, "111-1", payload
    )
    session.commit()
    session.expire_all()
    assert document.payload == {"amount": "0.10", "total": "30.23"}


def test_the_database_refuses_to_rewrite_the_audit_trail(
    session: Session, connection_id: int
) -> None:
    from ml_connector.store import append_event

    append_event(session, connection_id, "fetched", amazon_ids=["111-1"])
    session.commit()
    for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_links"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
