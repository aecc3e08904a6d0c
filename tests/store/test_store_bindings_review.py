"""Bindings are one-to-one; the review queue never holds the same open problem twice."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from ml_connector.store import (
    AuditRefusedError,
    BindingConflictError,
    DocumentKind,
    NotFoundInStoreError,
    ReviewKind,
    ReviewStatus,
    bind,
    bindings_for,
    find_by_amazon_id,
    find_by_oracle_id,
    list_review_items,
    open_review_item,
    resolve_review_item,
    resolve_subject,
)

INVOICE = DocumentKind.INVOICE


def test_binding_the_same_pair_again_is_harmless(session: Session, connection_id: int) -> None:
    first = bind(session, connection_id, INVOICE, "111-1", "300001", oracle_number="AMZ-1")
    again = bind(session, connection_id, INVOICE, "111-1", "300001")
    assert again.id == first.id
    assert find_by_oracle_id(session, connection_id, INVOICE, "300001") == first
    assert find_by_amazon_id(session, connection_id, INVOICE, "111-1") == first


def test_either_side_bound_elsewhere_is_refused(session: Session, connection_id: int) -> None:
    bind(session, connection_id, INVOICE, "111-1", "300001")
    with pytest.raises(BindingConflictError, match="111-1"):
        bind(session, connection_id, INVOICE, "111-1", "300002")
    with pytest.raises(BindingConflictError, match="300001"):
        bind(session, connection_id, INVOICE, "111-2", "300001")


def test_kinds_are_bound_independently(session: Session, connection_id: int) -> None:
    bind(session, connection_id, INVOICE, "111-1", "300001")
    bind(session, connection_id, DocumentKind.CREDIT_MEMO, "111-1", "400001")
    assert {b.oracle_id for b in bindings_for(session, "111-1")} == {"300001", "400001"}
    assert [b.amazon_id for b in bindings_for(session, "400001")] == ["111-1"]


def test_opening_the_same_problem_twice_keeps_one_item(
    session: Session, connection_id: int
) -> None:
    item, created = open_review_item(
        session, connection_id, ReviewKind.UNMAPPED_SKU, "111-1", "SKU MUG-01 not in catalog"
    )
    again, created_again = open_review_item(
        session,
        connection_id,
        ReviewKind.UNMAPPED_SKU,
        "111-1",
        "SKU MUG-01 not in catalog",
        details={"sku": "MUG-01"},
    )
    assert (created, created_again) == (True, False)
    assert again.id == item.id
    assert again.details == {"sku": "MUG-01"}
    other, _ = open_review_item(
        session, connection_id, ReviewKind.ORACLE_REJECTED, "111-1", "AR-855"
    )
    assert other.id != item.id
    assert len(list_review_items(session, connection_id=connection_id)) == 2


def test_a_resolved_problem_can_come_back_as_a_new_item(
    session: Session, connection_id: int
) -> None:
    item, _ = open_review_item(session, connection_id, ReviewKind.UNKNOWN_FEE_TYPE, "G-1", "Fee X")
    resolved = resolve_review_item(session, item.id, resolution="mapped Fee X to 61000")
    assert resolved.status is ReviewStatus.RESOLVED
    assert resolved.resolved_at is not None
    assert resolve_review_item(session, item.id).resolution == "mapped Fee X to 61000"
    reopened, created = open_review_item(
        session, connection_id, ReviewKind.UNKNOWN_FEE_TYPE, "G-1", "Fee X"
    )
    assert created
    assert reopened.id != item.id
    assert len(list_review_items(session, status=None)) == 2
    assert [i.id for i in list_review_items(session, status=ReviewStatus.RESOLVED)] == [item.id]


def test_resolving_everything_about_a_subject(session: Session, connection_id: int) -> None:
    open_review_item(session, connection_id, ReviewKind.UNMAPPED_SKU, "111-1", "MUG-01")
    open_review_item(session, connection_id, ReviewKind.ORACLE_REJECTED, "111-1", "AR-855")
    open_review_item(session, connection_id, ReviewKind.UNMAPPED_SKU, "111-2", "CUP-02")
    assert resolve_subject(session, connection_id, "111-1", resolution="replayed") == 2
    assert [i.subject_amazon_id for i in list_review_items(session)] == ["111-2"]


def test_unknown_items_and_secret_details_are_refused(session: Session, connection_id: int) -> None:
    with pytest.raises(NotFoundInStoreError):
        resolve_review_item(session, 12345)
    with pytest.raises(AuditRefusedError, match="refresh_token"):
        open_review_item(
            session,
            connection_id,
            ReviewKind.ORACLE_REJECTED,
            "111-1",
            "401",
            details={"request": {"refresh_token": "Atzr|x"}},
        )
