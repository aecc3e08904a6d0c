"""Reconcile a connection: every settlement against what was posted, recorded in the audit trail.

The pure comparison lives in ``settlement.py`` and the report link in ``report_link.py``; this
module gathers their inputs from the store (the group and its transactions as fetched, the
settlement reports, the journal as planned and whether it reached Oracle) and records the
result as a ``reconciled`` audit event, so the dashboard, `audit show` and `reconcile` all read
the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ml_connector.domain.ids import FinancialEventGroupId, journal_key
from ml_connector.domain.settlements import GroupStatus, Settlement, group_status_of
from ml_connector.flow.mapping.charges import ChargeMapping
from ml_connector.flow.normalize.fields import NormalizeError
from ml_connector.flow.normalize.settlements import normalize_settlement
from ml_connector.flow.plan import current_document, transactions_by_group
from ml_connector.flow.post.codec import load_journal
from ml_connector.flow.reconcile.report_link import (
    GroupPeriod,
    ReportLink,
    StoredReport,
    link_reports,
)
from ml_connector.flow.reconcile.roles import roles_from_mapping
from ml_connector.flow.reconcile.settlement import reconcile_settlement
from ml_connector.store import (
    AuditAction,
    DocumentState,
    RawKind,
    RawRecord,
    append_event,
    list_raw_records,
)


def _stored_reports(session: Session, connection_id: int) -> list[StoredReport]:
    reports = []
    for row in list_raw_records(session, connection_id, RawKind.SETTLEMENT_REPORT):
        report = StoredReport.from_payload(row.amazon_id, row.payload)
        if report is not None:
            reports.append(report)
    return reports


def _report_links(
    session: Session, connection_id: int, closed: list[tuple[RawRecord, Settlement]]
) -> dict[str, ReportLink]:
    """Each Closed group's settlement report (by settlement id, else by period)."""
    groups = [
        GroupPeriod.from_group(
            row.payload,
            settlement_id=str(settlement.settlement_id),
            currency=settlement.currency,
            total=settlement.total,
        )
        for row, settlement in closed
    ]
    return link_reports(groups, _stored_reports(session, connection_id))


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
        closed: list[tuple[RawRecord, Settlement]] = []
        for row in list_raw_records(session, connection_id, RawKind.GROUP):
            if group_status_of(row.payload) is GroupStatus.OPEN:
                continue
            try:
                settlement = normalize_settlement(row.payload, by_group.get(row.amazon_id, []))
            except NormalizeError as exc:
                # Its review item says what is wrong; the other settlements reconcile as usual.
                results.append(_unreadable_group(row.amazon_id, exc))
                continue
            closed.append((row, settlement))
        # Linking looks at every Closed group, even when only some are asked for: a report
        # claimed by one group is no candidate for another.
        links = _report_links(session, connection_id, closed)
        for row, settlement in closed:
            if only is not None and not {row.amazon_id, settlement.settlement_id} & only:
                continue
            link = links.get(row.amazon_id) or ReportLink(None, reason="")
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
                report_total=link.report.total if link.report else None,
                report_id=link.report.report_id if link.report else None,
                report_link=link.by,
                report_missing=None if link.report else (link.reason or ""),
            )
            summary: dict[str, Any] = outcome.to_json()
            summary.setdefault("settlement_id", str(settlement.settlement_id))
            summary["group_id"] = row.amazon_id
            results.append(summary)
            if record:
                _record(session, connection_id, summary, doc.oracle_id if doc else None, now)
    return results


def _unreadable_group(group_id: str, error: NormalizeError) -> dict[str, Any]:
    """A settlement whose group record cannot be read: never `matched`, and it says why."""
    return {
        "settlement_id": group_id,
        "group_id": group_id,
        "status": "unreadable",
        "currency": None,
        "notes": [f"the settlement group cannot be read ({error}); see `review list`"],
    }


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
