"""Settlement V2 reports into the store: the deposit figure a finance team reconciles to.

Only a summary of each report is kept (total, period, currency, line sums by amount type):
the rows themselves stay in Amazon's document, which can be fetched again while Amazon keeps
it. A row the parser cannot read opens a review item of its own and the summary keeps what
parsed; a document decoded by guessing its charset says so in the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from ml_connector.remote.amazon.client import SpApiClient
from ml_connector.remote.amazon.flatfile import FlatFileError, SettlementReport
from ml_connector.store import (
    AuditAction,
    RawKind,
    ReviewKind,
    UpsertOutcome,
    append_event,
    get_raw_record,
    open_review_item,
    resolve_subject,
    upsert_raw_record,
)

if TYPE_CHECKING:
    from ml_connector.flow.extract.pull import PullSummary

__all__ = ["pull_settlement_reports", "report_payload"]

ROW_RECORD = "settlement_report_row"
DOCUMENT_RECORD = "settlement_report"


@contextmanager
def _tx(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session, session.begin():
        yield session


def report_payload(report_id: str, report: SettlementReport) -> dict[str, Any]:
    """What the store keeps of one report: enough for reconciliation to link and compare it."""
    by_type: dict[str, Decimal] = {}
    for line in report.lines:
        if line.amount is not None:
            key = line.amount_type or line.transaction_type or "other"
            by_type[key] = by_type.get(key, Decimal(0)) + line.amount
    head = report.summary
    decoding = report.decoding
    return {
        "reportId": report_id,
        "settlementId": head.settlement_id,
        "totalAmount": str(head.total_amount),
        "currency": head.currency,
        "start": head.start.isoformat() if head.start else None,
        "end": head.end.isoformat() if head.end else None,
        "depositDate": head.deposit_date.isoformat() if head.deposit_date else None,
        "linesTotal": str(sum(by_type.values(), Decimal(0))),
        "byAmountType": {key: str(value) for key, value in sorted(by_type.items())},
        "lineCount": len(report.lines),
        "heldRows": [problem.row for problem in report.rejected],
        "conventions": report.conventions,
        "charset": decoding.charset if decoding else None,
        "charsetGuessed": decoding.guessed if decoding else False,
    }


def _hold_rows(
    session: Session, connection_id: int, report_id: str, report: SettlementReport, now: datetime
) -> None:
    for problem in report.rejected:
        open_review_item(
            session,
            connection_id,
            ReviewKind.INVALID_DATA,
            f"{report_id} row {problem.row}",
            f"settlement report {report_id} row {problem.row}: column {problem.column} "
            f"{problem.value!r}: {problem.reason}",
            details={
                "record": ROW_RECORD,
                "field": problem.column,
                "reason": problem.reason,
                "value": problem.value,
                "row": problem.row,
                "report_id": report_id,
            },
            now=now,
        )


def _note_guess(
    session: Session,
    connection_id: int,
    report_id: str,
    report: SettlementReport,
    now: datetime,
    request_id: str | None,
) -> None:
    decoding = report.decoding
    if decoding is None or not decoding.guessed:
        return
    append_event(
        session,
        connection_id,
        "decoded",
        amazon_ids=[report_id, report.summary.settlement_id],
        amazon_request_id=request_id,
        details={
            "kind": RawKind.SETTLEMENT_REPORT.value,
            "charset": decoding.charset,
            "charset_guessed": True,
            "declared_charset": decoding.declared,
            "reason": decoding.reason,
            "note": f"charset guessed: {decoding.reason}; decoded as {decoding.charset}",
        },
        at=now,
    )


def _hold_document(
    session: Session, connection_id: int, report_id: str, reason: str, now: datetime
) -> None:
    open_review_item(
        session,
        connection_id,
        ReviewKind.INVALID_DATA,
        report_id,
        f"settlement report {report_id} cannot be read: {reason}",
        details={"record": DOCUMENT_RECORD, "field": "document", "reason": reason},
        now=now,
    )


def pull_settlement_reports(
    sessions: sessionmaker[Session],
    connection_id: int,
    clients: Mapping[str, SpApiClient],
    created_since: datetime,
    summary: PullSummary,
    now: datetime,
) -> None:
    """Every settlement V2 report Amazon generated since ``created_since`` and not yet stored."""
    for client in clients.values():
        for record in client.reports.settlement_reports(created_since=created_since):
            report_id = record.model.report_id
            with _tx(sessions) as session:
                known = get_raw_record(session, connection_id, RawKind.SETTLEMENT_REPORT, report_id)
            if known is not None:
                continue
            try:
                report = client.reports.fetch_settlement(record.model)
            except FlatFileError as exc:
                with _tx(sessions) as session:
                    _hold_document(session, connection_id, report_id, str(exc), now)
                continue
            request_id = client.last_request_id
            with _tx(sessions) as session:
                payload = report_payload(report_id, report)
                outcome = upsert_raw_record(
                    session, connection_id, RawKind.SETTLEMENT_REPORT, report_id, payload, now=now
                )
                summary.count(RawKind.SETTLEMENT_REPORT, outcome)
                if outcome is not UpsertOutcome.UNCHANGED:
                    append_event(
                        session,
                        connection_id,
                        AuditAction.FETCHED
                        if outcome is UpsertOutcome.NEW
                        else AuditAction.CHANGED,
                        amazon_ids=[report_id],
                        amazon_request_id=request_id,
                        details={"kind": RawKind.SETTLEMENT_REPORT.value},
                        at=now,
                    )
                _note_guess(session, connection_id, report_id, report, now, request_id)
                _hold_rows(session, connection_id, report_id, report, now)
                # A document held as unreadable on an earlier cycle reads now: its item closes.
                resolve_subject(
                    session,
                    connection_id,
                    report_id,
                    kind=ReviewKind.INVALID_DATA,
                    resolution="the report document reads now",
                    now=now,
                )
