"""The outbox: idempotent planning and a state machine that cannot be argued with."""

from __future__ import annotations

from itertools import product

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ml_connector.store import (
    TRANSITIONS,
    Document,
    DocumentKind,
    DocumentState,
    IdempotencyConflictError,
    IllegalTransitionError,
    StaleStateError,
    count_by_state,
    documents_for_amazon_id,
    get_document,
    list_documents,
    make_sessionmaker,
    plan_document,
    transition,
)

S = DocumentState
ORDER_ID = "111-0000001-0000001"


def _plan(session: Session, connection_id: int, key: str = f"invoice:{ORDER_ID}") -> Document:
    document, _ = plan_document(
        session, connection_id, key, DocumentKind.INVOICE, ORDER_ID, {"total": "30.23"}
    )
    return document


def test_planning_twice_returns_the_first_document(session: Session, connection_id: int) -> None:
    first, created = plan_document(
        session, connection_id, "k1", DocumentKind.INVOICE, ORDER_ID, {"total": "30.23"}
    )
    again, created_again = plan_document(
        session, connection_id, "k1", DocumentKind.INVOICE, ORDER_ID, {"total": "99.99"}
    )
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert again.payload == {"total": "30.23"}  # a re-plan never silently changes a document
    assert first.state is S.PLANNED
    assert first.attempts == 0


def test_a_key_reused_for_another_source_is_refused(session: Session, connection_id: int) -> None:
    _plan(session, connection_id, "k1")
    with pytest.raises(IdempotencyConflictError, match="k1"):
        plan_document(session, connection_id, "k1", DocumentKind.JOURNAL, "G-1", {})


def test_the_happy_path_records_attempts_and_the_oracle_id(
    session: Session, connection_id: int
) -> None:
    document = _plan(session, connection_id)
    transition(session, document, S.SENDING)
    session.commit()  # `sending` is durable before the POST
    transition(session, document, S.RETRY, error="HTTP 503 from Oracle")
    transition(session, document, S.SENDING)
    transition(session, document, S.POSTED, oracle_id="300000123", oracle_number="AMZ-111")
    session.commit()
    session.expire_all()
    stored = get_document(session, document.id)
    assert stored is not None
    assert (stored.state, stored.attempts, stored.oracle_id, stored.oracle_number) == (
        S.POSTED,
        2,
        "300000123",
        "AMZ-111",
    )
    assert stored.last_error is None


def test_every_edge_outside_the_machine_is_refused(session: Session, connection_id: int) -> None:
    document = _plan(session, connection_id)
    for source, target in product(DocumentState, DocumentState):
        if target in TRANSITIONS[source]:
            continue
        document.state = source
        with pytest.raises(IllegalTransitionError, match=f"{source} → {target}"):
            transition(session, document, target, oracle_id="1", error="why")
    session.rollback()


def test_posted_is_final(session: Session, connection_id: int) -> None:
    document = _plan(session, connection_id)
    transition(session, document, S.SENDING)
    transition(session, document, S.POSTED, oracle_id="300000123")
    for target in DocumentState:
        with pytest.raises(IllegalTransitionError):
            transition(session, document, target, oracle_id="2", error="x")


def test_posting_needs_an_oracle_id_and_failures_need_a_reason(
    session: Session, connection_id: int
) -> None:
    document = _plan(session, connection_id)
    transition(session, document, S.SENDING)
    with pytest.raises(IllegalTransitionError, match="without an Oracle id"):
        transition(session, document, S.POSTED)
    with pytest.raises(IllegalTransitionError, match="needs a reason"):
        transition(session, document, S.REJECTED)
    assert document.state is S.SENDING


def test_replay_after_rejection_carries_the_new_payload(
    session: Session, connection_id: int
) -> None:
    document = _plan(session, connection_id)
    transition(session, document, S.SENDING)
    transition(session, document, S.REJECTED, error="AR-855: invalid account 101.10.49999")
    assert document.last_error is not None
    assert "AR-855" in document.last_error
    transition(session, document, S.PLANNED, payload={"total": "30.23", "fixed": True})
    assert document.payload == {"total": "30.23", "fixed": True}
    assert document.last_error is None


def test_waiting_documents_are_planned_once_unblocked(session: Session, connection_id: int) -> None:
    held, _ = plan_document(
        session,
        connection_id,
        "credit:111-2",
        DocumentKind.CREDIT_MEMO,
        "111-2",
        {},
        waiting_reason="invoice for 111-2 not posted yet",
    )
    assert held.state is S.WAITING
    assert held.last_error == "invoice for 111-2 not posted yet"
    assert transition(session, held, S.PLANNED).state is S.PLANNED


def test_two_workers_cannot_both_send(engine: Engine, connection_id: int) -> None:
    factory = make_sessionmaker(engine)
    with factory() as setup:
        document_id = _plan(setup, connection_id).id
        setup.commit()
    with factory() as first, factory() as second:
        mine, theirs = get_document(first, document_id), get_document(second, document_id)
        assert mine is not None
        assert theirs is not None
        transition(first, mine, S.SENDING)
        first.commit()
        with pytest.raises(StaleStateError, match="another worker"):
            transition(second, theirs, S.SENDING)
        second.rollback()


def test_listing_and_counting(session: Session, connection_id: int) -> None:
    a = _plan(session, connection_id, "a")
    _plan(session, connection_id, "b")
    plan_document(session, connection_id, "j", DocumentKind.JOURNAL, "G-7", {})
    transition(session, a, S.SENDING)
    assert [d.idempotency_key for d in list_documents(session, states=[S.PLANNED])] == ["b", "j"]
    assert [d.idempotency_key for d in list_documents(session, kind=DocumentKind.JOURNAL)] == ["j"]
    assert [d.idempotency_key for d in documents_for_amazon_id(session, ORDER_ID)] == ["a", "b"]
    counts = count_by_state(session, connection_id=connection_id)
    assert counts[S.PLANNED] == 2
    assert counts[S.SENDING] == 1
    assert counts[S.POSTED] == 0
