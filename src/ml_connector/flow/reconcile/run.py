"""Reconcile a connection: every settlement against what was posted, recorded in the audit trail.

The pure comparison lives in ``settlement.py``; this module gathers its inputs from the store
(the group and its transactions as fetched, the settlement report's total, the journal as
planned and whether it reached Oracle) and records the result as a ``reconciled`` audit event,
so the dashboard, `audit show` and `reconcile` all read the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ml_connector.domain.ids import FinancialEventGroupId, journal_key
from ml_connector.flow.mapping.charges import ChargeMapping
from ml_connector.flow.normalize.settlements import normalize_settlement
from ml_connector.flow.plan import current_document, transactions_by_group
from ml_connector.flow.post.codec import load_journal
from ml_connector.flow.reconcile.roles import roles_from_mapping
from ml_connector.flow.reconcile.settlement import reconcile_settlement
from ml_connector.store import (
    AuditAction,
    DocumentState,
    RawKind,
    append_event,
    list_raw_records,
)


def _report_totals(session: Session, connection_id: int) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for row in list_raw_records(session, connection_id, RawKind.SETTLEMENT_REPORT):
        settlement_id = row.payload.get("settlementId")
        if settlement_id:
            totals[str(settlement_id)] = Decimal(str(row.payload["totalAmount"]))
    return totals


def reconcile_connection(
    sessions: sessionmaker[Session],
    connection_id: int,
    mapping: ChargeMapping,
    *,
    now: datetime,
    only: set[str] | None = None,
    record: bool = True,
) -> list[dict[str, Any]]:
    """Reconcile every Closed settlement (or just ``only``); returns their JSON summaries."""
    roles = roles_from_mapping(mapping)
    results: list[dict[str, Any]] = []
    with sessions() as session, session.begin():
        by_group = transactions_by_group(session, connection_id)
        reports = _report_totals(session, connection_id)
        for row in list_raw_records(session, connection_id, RawKind.GROUP):
            if row.payload.get("ProcessingStatus") != "Closed":
                continue
            settlement = normalize_settlement(row.payload, by_group.get(row.amazon_id, []))
            if only is not None and not {row.amazon_id, settlement.settlement_id} & only:
                continue
            # After a correction the re-issued journal stands (the original and its reversal
            # net out).
            doc = current_document(
                session, connection_id, journal_key(FinancialEventGroupId(row.amazon_id))
            )
            journal = load_journal(doc.payload) if doc is not None else None
            outcome = reconcile_settlement(
                settlement,
                journal,
                roles=roles,
                posted=doc is not None and doc.state is DocumentState.POSTED,
                report_total=reports.get(str(settlement.settlement_id)),
            )
            summary: dict[str, Any] = outcome.to_json()
            summary.setdefault("settlement_id", str(settlement.settlement_id))
            summary["group_id"] = row.amazon_id
            results.append(summary)
            if record:
                _record(session, connection_id, summary, doc.oracle_id if doc else None, now)
    return results


def _record(
    session: Session,
    connection_id: int,
    summary: Mapping[str, Any],
    oracle_id: str | None,
    now: datetime,
) -> None:
    append_event(
        session,
        connection_id,
        AuditAction.RECONCILED,
        amazon_ids=[str(summary["settlement_id"]), str(summary["group_id"])],
        oracle_ids=[oracle_id] if oracle_id else [],
        details=dict(summary),
        at=now,
    )
