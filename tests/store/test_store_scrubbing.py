"""Issue 9, scope 1: the rows a person reads later never keep a registered secret value."""

from __future__ import annotations

from urllib.parse import quote_plus

from sqlalchemy import Engine, select

from ml_connector.remote.http.redact import MASK, Redactor
from ml_connector.scrub import install_store_scrubbing
from ml_connector.store import ReviewKind, append_event, finish_run, make_sessionmaker, start_run
from ml_connector.store.kinds import RunStatus
from ml_connector.store.review import open_review_item
from ml_connector.store.tables import AuditEvent, ReviewItem, Run

TOKEN = "Atzr|IwEBIscrub-test-refresh-token-0123456789"


def test_runs_review_items_and_audit_details_are_scrubbed(
    engine: Engine, connection_id: int
) -> None:
    redactor = Redactor()
    redactor.add_secret(TOKEN)
    sessions = make_sessionmaker(engine)
    install_store_scrubbing(sessions, redactor)
    echoed = "refresh_token=" + quote_plus(TOKEN)
    with sessions() as session, session.begin():
        run = start_run(session, connection_id, "orders")
        finish_run(session, run, RunStatus.FAILED, error=f"AuthError: {echoed}")
        open_review_item(
            session,
            connection_id,
            ReviewKind.ORACLE_REJECTED,
            "111-0000000-0000001",
            reason=f"Oracle said {echoed}",
            details={"body": echoed, "amount": "12.00"},
        )
        append_event(session, connection_id, "rejected", details={"note": echoed[:40]})
    with sessions() as session:
        texts = [
            str(session.scalars(select(Run.error)).one()),
            str([(i.reason, i.details) for i in session.scalars(select(ReviewItem))]),
            str([e.details for e in session.scalars(select(AuditEvent))]),
        ]
    for text in texts:
        assert MASK in text
        assert "IwEBIscrub" not in text
    assert "'amount': '12.00'" in texts[1]
