"""No credential leaks: not into a log line, an audit row, a review item, a stored document or
the raw bytes of the SQLite file — including on the error paths (token expiry at both sides,
Oracle 503s, a dropped connection after Oracle committed, an Oracle rejection).
"""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from e2e_support import CONNECTION, Books, running_books, small_world
from sqlalchemy import select

from ml_connector.observability import configure_logging
from ml_connector.remote.http.redact import default_redactor
from ml_connector.store import get_connection
from ml_connector.store.secrets import (
    LWA_CLIENT_SECRET,
    ORACLE_CLIENT_SECRET,
    put_secret,
    refresh_token_name,
)
from ml_connector.store.tables import (
    AuditEvent,
    ConnectionRow,
    Document,
    RawRecord,
    ReviewItem,
    Run,
)
from ml_connector_sim.oracle import parse_fault


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Every structlog and stdlib log line, JSON, at debug, through the product's redactor."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging(json=True, level="debug", redactor=default_redactor, stream=stream)
    try:
        yield stream
    finally:
        root.handlers, _ = saved
        root.setLevel(saved[1])
        structlog.reset_defaults()


def _fresh_secrets(books: Books) -> dict[str, str]:
    """Replace the demo's well-known secrets with random ones only this test knows."""
    values = {
        LWA_CLIENT_SECRET: "lwa-" + secrets.token_urlsafe(24),
        ORACLE_CLIENT_SECRET: "ora-" + secrets.token_urlsafe(24),
        **{refresh_token_name(r): "Atzr|" + secrets.token_urlsafe(40) for r in ("NA", "EU", "FE")},
    }
    with books.rt.sessions() as session, session.begin():
        row = get_connection(session, CONNECTION)
        for name, value in values.items():
            put_secret(session, books.rt.require_keyring(), row.id, name, value)
    return values


def _issued_tokens(books: Books) -> set[str]:
    amazon = set(books.amazon.context.tokens)
    oracle = set(getattr(books.oracle.context.identity, "_grants", {}))
    return amazon | oracle


def _stored_texts(books: Books) -> list[str]:
    texts: list[str] = []
    with books.rt.sessions() as session:
        for event in session.scalars(select(AuditEvent)):
            texts.append(
                json.dumps(
                    [
                        event.action,
                        event.details,
                        event.amazon_request_id,
                        event.oracle_request_id,
                        event.amazon_ids,
                        event.oracle_ids,
                    ],
                    default=str,
                )
            )
        for item in session.scalars(select(ReviewItem)):
            texts.append(json.dumps([item.reason, item.details, item.resolution], default=str))
        for doc in session.scalars(select(Document)):
            texts.append(json.dumps([doc.payload, doc.last_error], default=str))
        for run in session.scalars(select(Run)):
            texts.append(json.dumps([run.counts, run.error], default=str))
        for raw in session.scalars(select(RawRecord)):
            texts.append(json.dumps(raw.payload, default=str))
        for conn in session.scalars(select(ConnectionRow)):
            texts.append(json.dumps(conn.config, default=str))
    return texts


def test_no_secret_in_logs_audit_review_documents_or_database_file(
    tmp_path: Path, log_stream: io.StringIO
) -> None:
    world = small_world(60)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with running_books(tmp_path, world, url, leave_out=1) as books:
        configured = _fresh_secrets(books)
        tokens: set[str] = set()
        for spec in ("503@receivablesInvoicesx3", "drop-after-commit@receivablesInvoicesx1"):
            books.oracle.add_fault(parse_fault(spec))
        first = books.sync()
        tokens |= _issued_tokens(books)
        # Both sides revoke every access token mid-life: the connector must re-authenticate.
        books.amazon.context.expire_all_tokens()
        books.oracle.expire_tokens()
        books.oracle.add_fault(parse_fault("503@erpintegrationsx2"))
        books.sync()
        tokens |= _issued_tokens(books)
        books.sync()
        tokens |= _issued_tokens(books)
        books.rt.close()  # checkpoint the WAL into the file

        assert sum(first.post.posted.values()) > 0
        assert books.unsettled() == []
        assert len(tokens) >= 4  # Amazon: one per region at least; Oracle: one per run
        forbidden = {*configured.values(), *tokens}
        logs = log_stream.getvalue()
        assert logs.count("\n") > 500  # debug lines of every HTTP call are in the capture
        assert "spapi.call" in logs
        assert "oracle.call" in logs
        for text in [logs, *_stored_texts(books)]:
            for secret in forbidden:
                assert secret not in text, "a credential leaked"
            assert "Bearer " not in text
            assert "Atza|" not in text
            assert "Atzr|" not in text
        files = [p for p in tmp_path.iterdir() if p.name.startswith("store.db")]
        raw = b"".join(p.read_bytes() for p in files)
        assert len(raw) > 100_000
        for secret in forbidden:
            assert secret.encode() not in raw, "a credential is in the database file in clear"
        assert b"Atza|" not in raw
        assert b"Atzr|" not in raw
