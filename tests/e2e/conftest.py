"""End-to-end fixtures: both simulators on real loopback sockets, a store, one seller connection.

Every test gets its own Oracle simulator (its ledger is what the test counts) and its own store;
the Amazon world is small (60-100 orders) and generated from a fixed seed, so figures repeat.
PostgreSQL tests get a database of their own, created for the test and dropped after it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

PG_URL = os.environ.get("ML_CONNECTOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    url = make_url(PG_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        dbname="postgres",
        autocommit=True,
        connect_timeout=3,
    )


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test only; dropped afterwards."""
    try:
        with _pg_admin():
            pass
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {make_url(PG_URL).host}:5432 ({exc})")
    name = f"mlc_e2e_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with _pg_admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL: a SQLite file in the test's directory, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    return url
