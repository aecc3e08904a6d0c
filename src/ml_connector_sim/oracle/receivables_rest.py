"""``receivablesInvoices`` and ``receivablesCreditMemos``: deep create, finders, paging, PATCH.

Both resources share one implementation described by a ``Spec`` because Fusion names the same
ideas differently on each (``InvoiceCurrencyCode`` vs ``CreditMemoCurrency``, ``Quantity`` vs
``LineQuantityCredit``...). Child resources can only be supplied at create time, and PATCH is
limited to Oracle's short list of header attributes, exactly as the fact sheet describes.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ml_connector_sim.oracle.checks import parse_date
from ml_connector_sim.oracle.context import SimContext
from ml_connector_sim.oracle.errors import OracleError, framework_version
from ml_connector_sim.oracle.query import adf_response, collection, parse_finder, parse_q
from ml_connector_sim.oracle.receivables_create import bad_request, build_transaction
from ml_connector_sim.oracle.receivables_render import etag, render
from ml_connector_sim.oracle.receivables_spec import (
    CREDIT_MEMOS,
    FINDERS,
    INVOICES,
    QUERYABLE,
    Spec,
)
from ml_connector_sim.oracle.state import Transaction


async def read_json(request: Request) -> dict[str, Any]:
    try:
        payload = json.loads(await request.body(), parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("The request body isn't valid JSON.", "SIM_INVALID_JSON") from None
    if not isinstance(payload, dict):
        raise bad_request("The request body must be a JSON object.", "SIM_INVALID_JSON")
    return payload


def receivables_router(ctx: SimContext, base_of: Any, user_of: Any) -> APIRouter:
    """Routes for both resources; ``base_of(request)`` gives the versioned REST root URL."""
    router = APIRouter()
    for spec in (INVOICES, CREDIT_MEMOS):
        _add_routes(router, ctx, spec, base_of, user_of)
    return router


def _add_routes(router: APIRouter, ctx: SimContext, spec: Spec, base_of: Any, user_of: Any) -> None:
    path = f"/{spec.resource}"

    @router.post(path, include_in_schema=False)
    async def create(request: Request) -> Response:
        payload = await read_json(request)
        version = framework_version(request)
        with ctx.state.locked() as state:
            trx = build_transaction(ctx, spec, payload, user_of(request))
            state.transactions[trx.transaction_id] = trx
            state.used_line_keys.update(k for k in (x.get("_key") for x in trx.lines) if k)
            body = render(trx, spec, base_of(request), version, "all")
        href = body["links"][0]["href"]
        return adf_response(
            body,
            201,
            headers={
                "Location": href,
                "ETag": etag(trx),
                "REST-Framework-Version": str(version),
                "Link": f'<{href}>;rel="self";kind="item";name="{spec.resource}"',
            },
        )

    @router.get(path, include_in_schema=False)
    async def find(request: Request) -> Response:
        params = request.query_params
        version = framework_version(request)
        terms = parse_q(params["q"], QUERYABLE) if params.get("q") else []
        variables: dict[str, str] = {}
        if params.get("finder"):
            _, variables = parse_finder(params["finder"], FINDERS)
        base = base_of(request)
        with ctx.state.locked() as state:
            rows = [
                render(t, spec, base, version, params.get("expand"))
                for t in state.transactions.values()
                if t.kind == spec.kind
            ]
        rows = [
            r
            for r in rows
            if all(t.test(r.get(t.attribute)) for t in terms)
            and all(str(r.get(k, "")) == v for k, v in variables.items())
        ]
        body = collection(request, rows, name=spec.resource)
        return adf_response(body, item=False, headers={"REST-Framework-Version": str(version)})

    @router.get(path + "/{trx_id}", include_in_schema=False)
    async def get_one(trx_id: str, request: Request) -> Response:
        version = framework_version(request)
        with ctx.state.locked():
            trx = _lookup(ctx, spec, trx_id)
            tag = etag(trx)
            body = render(trx, spec, base_of(request), version, request.query_params.get("expand"))
        if request.headers.get("If-None-Match") == tag:
            return Response(status_code=304, headers={"ETag": tag})
        return adf_response(body, headers={"ETag": tag, "REST-Framework-Version": str(version)})

    @router.get(path + "/{trx_id}/child/{child}", include_in_schema=False)
    async def get_child(trx_id: str, child: str, request: Request) -> Response:
        with ctx.state.locked():
            trx = _lookup(ctx, spec, trx_id)
            body = render(trx, spec, base_of(request), 3, "all")
        if child not in body or child == "links":
            raise OracleError.one(
                404, f"The child resource {child} doesn't exist.", "SIM_NOT_FOUND"
            )
        return adf_response(collection(request, body[child]["items"], name=child), item=False)

    @router.patch(path + "/{trx_id}", include_in_schema=False)
    async def patch(trx_id: str, request: Request) -> Response:
        payload = await read_json(request)
        version = framework_version(request)
        with ctx.state.locked():
            trx = _lookup(ctx, spec, trx_id)
            if_match = request.headers.get("If-Match")
            if if_match and if_match != etag(trx):
                raise OracleError.one(412, "The resource has changed since it was read.", "SIM_412")
            refused = sorted(set(payload) - spec.patchable)
            if refused:
                raise bad_request(
                    f"You can't update the attributes {', '.join(refused)} of a transaction. "
                    f"You can update only {', '.join(sorted(spec.patchable))}.",
                    "SIM_AR_PATCH_NOT_ALLOWED",
                )
            _apply_patch(ctx, spec, trx, payload)
            body = render(trx, spec, base_of(request), version, None)
        return adf_response(
            body, headers={"ETag": etag(trx), "REST-Framework-Version": str(version)}
        )

    @router.delete(path + "/{trx_id}", include_in_schema=False)
    async def delete(trx_id: str) -> Response:
        with ctx.state.locked() as state:
            trx = _lookup(ctx, spec, trx_id)
            if trx.status == "Complete":
                raise bad_request(
                    "You can't delete a complete transaction.", "SIM_AR_DELETE_COMPLETE"
                )
            del state.transactions[trx.transaction_id]
        return Response(status_code=204)


def _apply_patch(ctx: SimContext, spec: Spec, trx: Transaction, payload: dict[str, Any]) -> None:
    print_fields = {"OriginalPrintDate", "LastPrintDate", "DeliveryMethod", "Email"}
    if (
        print_fields & set(payload)
        and spec.kind == "invoice"
        and payload.get("InvoicePrinted") != "Y"
    ):
        raise bad_request(
            "You can update print and delivery attributes only with InvoicePrinted set to Y.",
            "SIM_AR_PATCH_PRINT",
        )
    status = payload.get(spec.status_attr)
    if status is not None:
        if status not in ("Complete", "Incomplete"):
            raise bad_request(f"The status {status} isn't valid.", "SIM_AR_STATUS")
        trx.status = status
    if "TransactionDate" in payload:
        try:
            trx.transaction_date = parse_date(payload["TransactionDate"], "TransactionDate")
        except ValueError as exc:
            raise bad_request(str(exc), "SIM_INVALID_DATE") from None
    if "PaymentTerms" in payload:
        term = ctx.setup.payment_term(payload["PaymentTerms"])
        if term is None:
            raise bad_request(
                f"The payment terms {payload['PaymentTerms']} don't exist.", "SIM_AR_TERMS"
            )
        trx.header["PaymentTerms"] = term
    for key in payload.keys() - {spec.status_attr, "TransactionDate", "PaymentTerms"}:
        trx.header[key] = payload[key]
    trx.version += 1
    trx.updated_at = ctx.options.clock()


def _lookup(ctx: SimContext, spec: Spec, trx_id: str) -> Transaction:
    trx = ctx.state.transactions.get(int(trx_id)) if trx_id.isdigit() else None
    if trx is None or trx.kind != spec.kind:
        raise OracleError.one(
            404, f"The {spec.resource} resource {trx_id} doesn't exist.", "SIM_NOT_FOUND"
        )
    return trx
