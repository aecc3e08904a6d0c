"""The last net before the store: what a person reads later is scrubbed of secret values.

Remote errors are redacted where they are built, but a message can reach the store by other
roads (an exception's text, a note composed from a response). Every session of a runtime runs
this before it flushes: the error and note columns of runs, documents, review items and new audit
events pass through the process's redactor, so a credential never lands in a row a page or a
report shows. Payloads that are sent to Oracle are never touched.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from ml_connector.remote.http.redact import Redactor, default_redactor
from ml_connector.store.tables import AuditEvent, Document, ReviewItem, Run

__all__ = ["install_store_scrubbing", "scrub_row"]

# Columns a person reads: never an id or an amount, only texts and notes.
_COLUMNS: dict[type[Any], tuple[str, ...]] = {
    Run: ("error",),
    Document: ("last_error",),
    ReviewItem: ("reason", "details", "resolution"),
    AuditEvent: ("details",),
}


_TABLE_COLUMNS = {str(cls.__tablename__): columns for cls, columns in _COLUMNS.items()}


def scrub_row(row: object, redactor: Redactor = default_redactor) -> None:
    """Scrub the readable columns of one row in place (unchanged values are not re-assigned)."""
    for column in _COLUMNS.get(type(row), ()):
        value = getattr(row, column, None)
        if value is None:
            continue
        cleaned = redactor.values(value)
        if cleaned != value:
            setattr(row, column, cleaned)


def install_store_scrubbing(
    sessions: sessionmaker[Session], redactor: Redactor = default_redactor
) -> None:
    """Scrub every new or changed row of those tables before each flush of ``sessions``."""

    def before_flush(session: Session, _context: Any, _instances: Any) -> None:
        for row in session.new:
            scrub_row(row, redactor)
        for row in session.dirty:
            if not isinstance(row, AuditEvent):  # the audit trail is append-only
                scrub_row(row, redactor)

    def do_orm_execute(state: ORMExecuteState) -> Any:
        # Core INSERTs run through the session (insert-or-ignore of review items) skip flush.
        statement = state.statement
        table = getattr(statement, "table", None)
        columns = _TABLE_COLUMNS.get(getattr(table, "name", ""), ())
        if not state.is_insert or not columns or not isinstance(statement, Insert):
            return None
        given = statement.compile().params
        updates = {}
        for column in columns:
            value = given.get(column)
            if value is not None:
                cleaned = redactor.values(value)
                if cleaned != value:
                    updates[column] = cleaned
        if not updates:
            return None
        return state.invoke_statement(statement=statement.values(**updates))

    event.listen(sessions, "before_flush", before_flush)
    event.listen(sessions, "do_orm_execute", do_orm_execute)
