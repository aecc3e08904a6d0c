"""``journalBatches``: read-back of what Journal Import created (no POST, as on a real pod)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ml_connector_sim.oracle.context import SimContext
from ml_connector_sim.oracle.errors import OracleError, framework_version
from ml_connector_sim.oracle.query import adf_response, collection, link, parse_finder, parse_q
from ml_connector_sim.oracle.state import Journal, JournalBatch

QUERYABLE = {
    "JeBatchId",
    "BatchName",
    "BatchDescription",
    "Status",
    "AccountingPeriodName",
    "UserJeSourceName",
    "RequestId",
    "CreationDate",
}
FINDERS = {"PrimaryKey": {"JeBatchId"}, "BatchesFinder": {"BatchName", "AccountingPeriodName"}}


def _lines(journal: Journal) -> list[dict[str, Any]]:
    return [
        {
            "JeLineNumber": line.number,
            "AccountCombination": line.account,
            "EnteredDebitAmount": line.entered_dr,
            "EnteredCreditAmount": line.entered_cr,
            "AccountedDebitAmount": line.accounted_dr,
            "AccountedCreditAmount": line.accounted_cr,
            "CurrencyCode": journal.currency,
            "Description": line.description,
            **{k.title().replace("_", ""): v for k, v in line.references.items()},
        }
        for line in journal.lines
    ]


def _journal(journal: Journal, version: int) -> dict[str, Any]:
    lines = _lines(journal)
    total_dr = sum((line.entered_dr or 0 for line in journal.lines), 0)
    total_cr = sum((line.entered_cr or 0 for line in journal.lines), 0)
    return {
        "JeHeaderId": journal.header_id,
        "JournalName": journal.name,
        "JournalDescription": journal.description,
        "LedgerName": journal.ledger,
        "UserJeCategoryName": journal.category,
        "UserJeSourceName": journal.source,
        "CurrencyCode": journal.currency,
        "PeriodName": journal.period,
        "AccountingDate": journal.accounting_date,
        "RunningTotalDr": total_dr,
        "RunningTotalCr": total_cr,
        **{k.title().replace("_", ""): v for k, v in journal.conversion.items()},
        **{k.title().replace("_", ""): v for k, v in journal.references.items()},
        "journalLines": lines
        if version < 3
        else {
            "items": lines,
            "count": len(lines),
            "hasMore": False,
            "limit": len(lines),
            "offset": 0,
        },
    }


def render_batch(batch: JournalBatch, base: str, version: int, expand: bool) -> dict[str, Any]:
    href = f"{base}/journalBatches/{batch.batch_id}"
    dr = sum((line.entered_dr or 0 for j in batch.journals for line in j.lines), 0)
    cr = sum((line.entered_cr or 0 for j in batch.journals for line in j.lines), 0)
    body: dict[str, Any] = {
        "JeBatchId": batch.batch_id,
        "BatchName": batch.name,
        "BatchDescription": batch.description,
        "Status": batch.status,
        "ApprovalStatus": "Not required",
        "AccountingPeriodName": batch.period,
        "UserJeSourceName": batch.source,
        "ActualFlag": "A",
        "GroupId": batch.group_id,
        "RequestId": batch.request_id,
        "RunningTotalDr": dr,
        "RunningTotalCr": cr,
        "CreationDate": batch.created_at,
        "links": [
            link("self", href, "journalBatches", "item"),
            link("child", f"{href}/child/journalHeaders", "journalHeaders", "collection"),
        ],
    }
    if expand:
        headers = [_journal(j, version) for j in batch.journals]
        body["journalHeaders"] = (
            headers
            if version < 3
            else {
                "items": headers,
                "count": len(headers),
                "hasMore": False,
                "limit": len(headers),
                "offset": 0,
            }
        )
    return body


def journals_router(ctx: SimContext, base_of: Any) -> APIRouter:
    router = APIRouter()

    @router.get("/journalBatches", include_in_schema=False)
    async def find(request: Request) -> Response:
        params = request.query_params
        version = framework_version(request)
        terms = parse_q(params["q"], QUERYABLE) if params.get("q") else []
        variables: dict[str, str] = {}
        if params.get("finder"):
            _, variables = parse_finder(params["finder"], FINDERS)
        expand = bool(params.get("expand"))
        with ctx.state.locked() as state:
            rows = [
                render_batch(b, base_of(request), version, expand) for b in state.batches.values()
            ]
        rows = [
            r
            for r in rows
            if all(t.test(r.get(t.attribute)) for t in terms)
            and all(str(r.get(k, "")) == v for k, v in variables.items())
        ]
        return adf_response(collection(request, rows, name="journalBatches"), item=False)

    @router.get("/journalBatches/{batch_id}", include_in_schema=False)
    async def get_one(batch_id: str, request: Request) -> Response:
        with ctx.state.locked() as state:
            batch = state.batches.get(int(batch_id)) if batch_id.isdigit() else None
            if batch is None:
                raise OracleError.one(
                    404, f"The journal batch {batch_id} doesn't exist.", "SIM_NOT_FOUND"
                )
            body = render_batch(
                batch,
                base_of(request),
                framework_version(request),
                bool(request.query_params.get("expand")),
            )
        return adf_response(body)

    @router.get("/journalBatches/{batch_id}/child/journalHeaders", include_in_schema=False)
    async def headers(batch_id: str, request: Request) -> Response:
        with ctx.state.locked() as state:
            batch = state.batches.get(int(batch_id)) if batch_id.isdigit() else None
            if batch is None:
                raise OracleError.one(
                    404, f"The journal batch {batch_id} doesn't exist.", "SIM_NOT_FOUND"
                )
            rows = [_journal(j, 3) for j in batch.journals]
        return adf_response(collection(request, rows, name="journalHeaders"), item=False)

    return router
