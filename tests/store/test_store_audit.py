"""The audit trail: append-only, secret-free, and searchable by any id on either side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from ml_connector.store import (
    AuditAction,
    AuditRefusedError,
    DocumentKind,
    Secret,
    append_event,
    bind,
    timeline,
)

T0 = datetime(2026, 5, 1, tzinfo=UTC)
ORDER, SETTLEMENT, INVOICE_ID = "111-0000001-0000001", "G-7788", "300000123"


def _story(session: Session, connection_id: int) -> None:
    append_event(
        session,
        connection_id,
        AuditAction.FETCHED,
        amazon_ids=[ORDER],
        amazon_request_id="amz-req-1",
        at=T0,
    )
    append_event(
        session,
        connection_id,
        AuditAction.POSTED,
        amazon_ids=[ORDER],
        oracle_ids=[INVOICE_ID],
        oracle_request_id="ecid-9",
        details={"number": "AMZ-111", "amount": "30.23"},
        at=T0 + timedelta(minutes=2),
    )
    append_event(
        session,
        connection_id,
        "applied_receipt",
        oracle_ids=[INVOICE_ID],
        at=T0 + timedelta(minutes=3),
    )
    append_event(
        session,
        connection_id,
        AuditAction.RECONCILED,
        amazon_ids=[SETTLEMENT, ORDER],
        at=T0 + timedelta(days=1),
    )
    append_event(session, connection_id, AuditAction.FETCHED, amazon_ids=["111-other"], at=T0)


def test_timeline_by_order_settlement_or_oracle_id(session: Session, connection_id: int) -> None:
    _story(session, connection_id)
    session.commit()
    by_order = timeline(session, ORDER, follow_bindings=False)
    assert [e.action for e in by_order] == ["fetched", "posted", "reconciled"]
    assert by_order[1].oracle_ids == [INVOICE_ID]
    assert by_order[1].oracle_request_id == "ecid-9"
    assert by_order[0].amazon_request_id == "amz-req-1"
    assert [e.action for e in timeline(session, SETTLEMENT)] == ["reconciled"]
    assert [e.action for e in timeline(session, INVOICE_ID)] == ["posted", "applied_receipt"]
    assert timeline(session, "nothing-here") == []


def test_timeline_follows_bindings_to_the_other_side(session: Session, connection_id: int) -> None:
    _story(session, connection_id)
    bind(session, connection_id, DocumentKind.INVOICE, ORDER, INVOICE_ID)
    actions = [e.action for e in timeline(session, ORDER, connection_id=connection_id)]
    assert actions == ["fetched", "posted", "applied_receipt", "reconciled"]


def test_events_cannot_be_changed_or_deleted(session: Session, connection_id: int) -> None:
    event = append_event(session, connection_id, AuditAction.HELD, amazon_ids=[ORDER])
    session.commit()
    event.action = "posted"
    with pytest.raises(AuditRefusedError, match="append-only"):
        session.flush()
    session.rollback()
    session.delete(event)
    with pytest.raises(AuditRefusedError, match="append-only"):
        session.flush()
    session.rollback()
    assert [e.action for e in timeline(session, ORDER)] == ["held"]


@pytest.mark.parametrize(
    "details",
    [
        {"client_secret": "x"},
        {"request": {"headers": {"Authorization": "Bearer abc"}}},
        {"calls": [{"ok": True}, {"refresh_token": "Atzr|1"}]},
        {"note": Secret("hidden")},
    ],
)
def test_details_that_look_like_secrets_are_refused(
    session: Session, connection_id: int, details: dict[str, object]
) -> None:
    with pytest.raises(AuditRefusedError) as caught:
        append_event(session, connection_id, AuditAction.REJECTED, details=details)
    assert "Atzr|1" not in str(caught.value)
    assert "Bearer abc" not in str(caught.value)
    assert "hidden" not in str(caught.value)


def test_actions_are_snake_case_words(session: Session, connection_id: int) -> None:
    with pytest.raises(AuditRefusedError, match="snake_case"):
        append_event(session, connection_id, "Posted!")
