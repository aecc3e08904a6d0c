"""The few statements that must be spelled differently on SQLite and PostgreSQL.

Both databases support ``INSERT ... ON CONFLICT DO NOTHING``; using it means two workers that
race to create the same row both succeed, and both then read the single winner.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["insert_or_ignore", "is_postgresql"]


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_or_ignore(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless a unique constraint already holds one; True when we inserted it."""
    insert: Any = postgresql.insert if is_postgresql(session) else sqlite.insert
    # RETURNING says reliably whether a row went in: drivers disagree on ``rowcount`` here.
    statement = (
        insert(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key)
    )
    return session.execute(statement).first() is not None
