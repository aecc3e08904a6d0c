"""Raw records deduplicate overlapping polls; cursors only move forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from ml_connector.store import (
    CursorRewindError,
    RawKind,
    UpsertOutcome,
    advance_cursor,
    get_cursor,
    get_raw_record,
    list_raw_records,
    reset_cursor,
    upsert_raw_record,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ORDER = {"orderId": "111-0000001-0000001", "orderStatus": "Shipped", "total": "30.23"}


def test_first_sight_then_re_reads_then_a_change(session: Session, connection_id: int) -> None:
    amazon_id = ORDER["orderId"]

    def upsert(payload: dict[str, str], at: datetime) -> UpsertOutcome:
        return upsert_raw_record(session, connection_id, RawKind.ORDER, amazon_id, payload, now=at)

    assert upsert(ORDER, T0) is UpsertOutcome.NEW
    reordered = dict(reversed(list(ORDER.items())))
    assert upsert(reordered, T0 + timedelta(minutes=5)) is UpsertOutcome.UNCHANGED
    refunded = {**ORDER, "orderStatus": "Refunded"}
    assert upsert(refunded, T0 + timedelta(minutes=10)) is UpsertOutcome.CHANGED
    session.commit()

    record = get_raw_record(session, connection_id, RawKind.ORDER, amazon_id)
    assert record is not None
    assert record.payload["orderStatus"] == "Refunded"
    assert (record.times_seen, record.times_changed) == (3, 1)
    assert record.first_seen == T0
    assert record.last_seen == record.changed_at == T0 + timedelta(minutes=10)
    assert record.previous_hash is not None
    assert record.previous_hash != record.content_hash


def test_the_same_id_of_another_kind_is_another_record(
    session: Session, connection_id: int
) -> None:
    upsert_raw_record(session, connection_id, RawKind.GROUP, "G-1", {"status": "Open"}, now=T0)
    outcome = upsert_raw_record(
        session, connection_id, RawKind.SETTLEMENT_REPORT, "G-1", {"total": "10.02"}, now=T0
    )
    assert outcome is UpsertOutcome.NEW
    assert len(list_raw_records(session, connection_id, RawKind.GROUP)) == 1


def test_listing_what_changed_since(session: Session, connection_id: int) -> None:
    for index in range(3):
        upsert_raw_record(
            session, connection_id, RawKind.TRANSACTION, f"T-{index}", {"i": index}, now=T0
        )
    later = T0 + timedelta(hours=1)
    upsert_raw_record(session, connection_id, RawKind.TRANSACTION, "T-1", {"i": 9}, now=later)
    upsert_raw_record(session, connection_id, RawKind.TRANSACTION, "T-2", {"i": 2}, now=later)
    changed = list_raw_records(session, connection_id, RawKind.TRANSACTION, changed_since=later)
    assert [record.amazon_id for record in changed] == ["T-1"]


def test_a_cursor_starts_empty_and_moves_forward(session: Session, connection_id: int) -> None:
    assert get_cursor(session, connection_id, "orders") is None
    advance_cursor(session, connection_id, "orders", T0)
    advance_cursor(session, connection_id, "orders", T0)  # same place: fine
    advance_cursor(session, connection_id, "orders", T0 + timedelta(hours=1))
    session.commit()
    assert get_cursor(session, connection_id, "orders") == T0 + timedelta(hours=1)
    assert get_cursor(session, connection_id, "finances") is None


def test_a_cursor_refuses_to_move_back_unless_reset(session: Session, connection_id: int) -> None:
    advance_cursor(session, connection_id, "orders", T0)
    with pytest.raises(CursorRewindError, match="refusing to move it back"):
        advance_cursor(session, connection_id, "orders", T0 - timedelta(seconds=1))
    reset_cursor(session, connection_id, "orders", T0 - timedelta(days=30))
    assert get_cursor(session, connection_id, "orders") == T0 - timedelta(days=30)


def test_a_rolled_back_cursor_was_never_advanced(session: Session, connection_id: int) -> None:
    advance_cursor(session, connection_id, "orders", T0)
    session.commit()
    advance_cursor(session, connection_id, "orders", T0 + timedelta(days=1))
    session.rollback()
    assert get_cursor(session, connection_id, "orders") == T0
