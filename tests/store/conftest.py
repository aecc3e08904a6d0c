"""Store fixtures: every test gets a freshly migrated database, SQLite or PostgreSQL.

PostgreSQL: one database per pytest worker (random name, so xdist workers never collide),
migrated once and emptied around every test, which is far cheaper than a database per test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from ml_connector.store import (
    AmazonSettings,
    ConnectionConfig,
    MappingFiles,
    OracleSettings,
    add_connection,
    make_engine,
    make_sessionmaker,
    migrate,
    sqlite_url,
)
from ml_connector.store.tables import Base

PG_URL = os.environ.get("ML_CONNECTOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    url = make_url(PG_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        dbname=url.database,
        autocommit=True,
        connect_timeout=3,
    )


def pg_url_for(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def create_pg_database() -> str:
    name = f"mlc_store_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return name


def drop_pg_database(name: str) -> None:
    with _admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    """One migrated database per pytest worker; tests empty it afterwards (see ``engine``)."""
    try:
        with _admin():
            pass
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {make_url(PG_URL).host}:5432 ({exc})")
    name = create_pg_database()
    engine = make_engine(pg_url_for(name))
    migrate(engine)
    yield engine
    engine.dispose()
    drop_pg_database(name)


def _empty(engine: Engine) -> None:
    # The test role is a superuser: "replica" mode skips the append-only triggers, and
    # DELETE on a few rows is much faster than TRUNCATE.
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        sqlite_engine = make_engine(sqlite_url(tmp_path / "store.db"))
        migrate(sqlite_engine)
        yield sqlite_engine
        sqlite_engine.dispose()
        return
    shared: Engine = request.getfixturevalue("pg_engine")
    _empty(shared)
    yield shared


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as open_session:
        yield open_session


@pytest.fixture
def config() -> ConnectionConfig:
    return ConnectionConfig(
        amazon=AmazonSettings(
            regions=["NA"], marketplace_ids=["ATVPDKIKX0DER"], lwa_client_id="amzn1.app.client"
        ),
        oracle=OracleSettings(
            pod="acme-test",
            region="us2",
            identity_domain_url="https://idcs-acme.identity.oraclecloud.com",
            client_id="oracle-client",
            scope="urn:opc:resource:fa:instanceid=1urn:opc:resource:consumer::all",
            business_unit="US1 Business Unit",
            ledger="US Primary Ledger",
            legal_entity="US1 Legal Entity",
            invoice_source="AMAZON",
            invoice_transaction_type="Amazon Invoice",
            credit_memo_transaction_type="Amazon Credit Memo",
            journal_source="Amazon",
            journal_category="Settlement",
            ledger_id="300000046975971",
            customer_accounts={"ATVPDKIKX0DER": "10010"},
        ),
        mappings=MappingFiles(catalog=Path("catalog.yaml"), charges=Path("charges.yaml")),
    )


@pytest.fixture
def connection_id(session: Session, config: ConnectionConfig) -> int:
    row = add_connection(session, "seller-one", config)
    session.commit()
    return row.id
