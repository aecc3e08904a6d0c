"""``receivablesInvoices`` and ``receivablesCreditMemos``: deep create, finders, paging, PATCH.

Both resources share one implementation described by a ``Spec`` because Fusion names the same
ideas differently on each (``InvoiceCurrencyCode`` vs ``CreditMemoCurrency``, ``Quantity`` vs
``LineQuantityCredit``...). Child resources can only be supplied at create time, and PATCH is
limited to Oracle's short list of header attributes, exactly as the fact sheet describes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ml_connector_sim.oracle.autoinvoice import DUPLICATE_KEY
from ml_connector_sim.oracle.checks import (
    COMPLETE_ONLY,
    HeaderInput,
    check_header,
    invalid_account,
    line_needs_content,
    parse_amount,
    parse_date,
)
from ml_connector_sim.oracle.context import SimContext
from ml_connector_sim.oracle.errors import Detail, OracleError, framework_version
from ml_connector_sim.oracle.query import (
    adf_response,
    collection,
    link,
    parse_finder,
    parse_q,
)
from ml_connector_sim.oracle.state import Transaction, TransactionKind
from ml_connector_sim.oracle.tenant import TransactionClass

CENT = Decimal("0.01")
_SCALARS = (
    "PaymentTerms",
    "CrossReference",
    "DocumentNumber",
    "PurchaseOrder",
    "PurchaseOrderDate",
    "PurchaseOrderRevision",
    "Comments",
    "InternalNotes",
    "SpecialInstructions",
    "StructuredPaymentReference",
    "ShippingReference",
    "Carrier",
    "ShipDate",
    "BillingDate",
    "ShipToCustomerName",
    "ShipToCustomerNumber",
    "ShipToSite",
    "ShipToCustomerSite",
    "ShipToContact",
    "BillToContact",
    "SoldToPartyNumber",
    "PayingCustomerName",
    "PayingCustomerAccount",
    "PayingCustomerSite",
    "FirstPartyRegistrationNumber",
    "ThirdPartyRegistrationNumber",
    "DefaultTaxationCountry",
    "InvoicingRule",
    "ReceiptMethod",
    "PrintOption",
    "RemitToAddress",
    "FreightAmount",
    "SalesPersonNumber",
    "CreditReason",
    "CreditMemoComments",
    "Prepayment",
    "Intercompany",
    "AllowCompletion",
    "ControlCompletionReason",
    "DeliveryMethod",
    "Email",
    "RecipientEmail",
    "DocumentFiscalClassification",
    "LegalEntityIdentifier",
)
_ROUTING = (
    "BusinessUnit",
    "TransactionSource",
    "TransactionType",
    "TransactionNumber",
    "TransactionDate",
    "AccountingDate",
    "BillToCustomerNumber",
    "BillToCustomerName",
    "BillToSite",
    "ConversionRateType",
    "ConversionDate",
    "ConversionRate",
    "DueDate",
)
_DIST_CLASSES = {"Revenue", "Receivable", "Tax", "Freight", "Unbilled Receivable", "Unearned"}
_INVOICE_PATCH = frozenset(
    {
        "InvoiceStatus",
        "PaymentTerms",
        "TransactionDate",
        "InvoicePrinted",
        "OriginalPrintDate",
        "LastPrintDate",
        "DeliveryMethod",
        "Email",
    }
)
_CM_PATCH = frozenset(
    {
        "AllowCompletion",
        "ControlCompletionReason",
        "CreditMemoStatus",
        "RecipientEmail",
        "TransactionType",
    }
)


@dataclass(frozen=True)
class Spec:
    resource: str
    kind: TransactionKind
    trx_class: TransactionClass
    lines: str
    distributions: str
    currency_attr: str
    status_attr: str
    line_qty: str
    line_amount: str
    line_desc: str
    dist_line: str
    patchable: frozenset[str]
    children: tuple[str, ...]
    line_children: tuple[str, ...]


INVOICES = Spec(
    "receivablesInvoices",
    "invoice",
    TransactionClass.INV,
    "receivablesInvoiceLines",
    "receivablesInvoiceDistributions",
    "InvoiceCurrencyCode",
    "InvoiceStatus",
    "Quantity",
    "LineAmount",
    "Description",
    "InvoiceLineNumber",
    _INVOICE_PATCH,
    (
        "receivablesInvoiceDFF",
        "receivablesInvoiceTransactionDFF",
        "receivablesInvoiceGdf",
        "notes",
        "attachments",
        "receivablesInvoiceInstallments",
    ),
    (
        "receivablesInvoiceLineTaxLines",
        "receivablesInvoiceLineDFF",
        "receivablesInvoiceLineTransactionDFF",
        "receivablesInvoiceLineGdf",
    ),
)
CREDIT_MEMOS = Spec(
    "receivablesCreditMemos",
    "credit_memo",
    TransactionClass.CM,
    "receivablesCreditMemoLines",
    "receivablesCreditMemoDistributions",
    "CreditMemoCurrency",
    "CreditMemoStatus",
    "LineQuantityCredit",
    "LineAmountCredit",
    "LineDescription",
    "CreditMemoLineNumber",
    _CM_PATCH,
    (
        "receivablesCreditMemoDFF",
        "receivablesCreditMemoTransactionDFF",
        "receivablesCreditMemoGdf",
        "notes",
        "attachments",
    ),
    (
        "receivablesCreditMemoLineTaxLines",
        "receivablesCreditMemoLineDFF",
        "receivablesCreditMemoLineTransactionDFF",
        "receivablesCreditMemoLineGdf",
    ),
)
QUERYABLE = {
    "CustomerTransactionId",
    "TransactionNumber",
    "CrossReference",
    "BusinessUnit",
    "TransactionSource",
    "TransactionType",
    "BillToCustomerNumber",
    "BillToCustomerName",
    "TransactionDate",
    "AccountingDate",
    "DocumentNumber",
    "InvoiceStatus",
    "CreditMemoStatus",
    "InvoiceCurrencyCode",
    "CreditMemoCurrency",
    "CreationDate",
    "LastUpdateDate",
}
FINDERS = {
    "PrimaryKey": {"CustomerTransactionId"},
    "invoiceSearch": {
        "TransactionNumber",
        "BillToCustomerNumber",
        "BillToCustomerName",
        "BusinessUnit",
        "TransactionSource",
        "TransactionType",
        "TransactionDate",
        "DueDate",
        "InvoiceStatus",
        "CrossReference",
    },
    "creditMemoSearch": {
        "TransactionNumber",
        "BillToCustomerNumber",
        "BusinessUnit",
        "TransactionSource",
        "CrossReference",
        "CreditMemoStatus",
    },
}


def _bad(detail: str, code: str, path: str | None = None) -> OracleError:
    return OracleError.one(400, detail, code, path)


def _decimal(value: Any, attribute: str) -> Decimal | None:
    try:
        return parse_amount(value, attribute)
    except ValueError as exc:
        raise _bad(str(exc), "SIM_INVALID_NUMBER", attribute) from None


def build_transaction(
    ctx: SimContext, spec: Spec, payload: dict[str, Any], user: str
) -> Transaction:
    """Validate a deep-create payload and return the transaction (not yet stored)."""
    setup = ctx.setup
    now = ctx.options.clock()
    status = payload.get(spec.status_attr)
    if status not in (None, "", "Complete"):
        raise OracleError(400, [COMPLETE_ONLY])
    try:
        trx_date = parse_date(payload.get("TransactionDate") or now.date(), "TransactionDate")
        gl_date = parse_date(payload.get("AccountingDate") or trx_date, "AccountingDate")
    except ValueError as exc:
        raise _bad(str(exc), "SIM_INVALID_DATE") from None
    number = str(payload["TransactionNumber"]) if payload.get("TransactionNumber") else None
    header, problems = check_header(
        setup,
        HeaderInput(
            business_unit=payload.get("BusinessUnit"),
            source=payload.get("TransactionSource"),
            trx_type=payload.get("TransactionType"),
            customer_number=payload.get("BillToCustomerNumber"),
            customer_name=payload.get("BillToCustomerName"),
            site=payload.get("BillToSite"),
            currency=payload.get(spec.currency_attr),
            rate_type=payload.get("ConversionRateType"),
            rate_date=payload.get("ConversionDate"),
            rate=payload.get("ConversionRate"),
            transaction_date=trx_date,
            accounting_date=gl_date,
            number=number,
        ),
        expected=spec.trx_class,
        number_taken=ctx.state.number_in_use,
    )
    if header is None:
        raise OracleError(400, problems)
    if payload.get("PaymentTerms") and setup.payment_term(payload["PaymentTerms"]) is None:
        raise _bad(f"The payment terms {payload['PaymentTerms']} don't exist.", "SIM_AR_TERMS")
    lines = _lines(ctx, spec, payload.get(spec.lines) or [])
    distributions = _distributions(ctx, spec, payload.get(spec.distributions) or [], lines)
    if spec.kind == "credit_memo" and any(line["_amount"] > 0 for line in lines):
        raise _bad(
            "The credit memo line amounts must be negative for a credit memo transaction type.",
            "SIM_AR_CM_SIGN",
        )
    legal_entity = setup.legal_entity(header.business_unit.legal_entity)
    extras = {k: payload[k] for k in _SCALARS if k in payload and payload[k] is not None}
    extras.setdefault("LegalEntityIdentifier", legal_entity.identifier)
    extras["PaymentTerms"] = setup.payment_term(extras.get("PaymentTerms")) or (
        setup.receivables.payment_terms[0] if spec.kind == "invoice" else None
    )
    children = {name: list(payload.get(name) or []) for name in spec.children if payload.get(name)}
    number = header.number
    if number is None:
        number = str(ctx.state.next_numbers.get(header.source.name, header.source.next_number))
        ctx.state.next_numbers[header.source.name] = int(number) + 1
    trx_id = ctx.state.new_transaction_id()
    return Transaction(
        transaction_id=trx_id,
        kind=spec.kind,
        business_unit=header.business_unit.name,
        source=header.source.name,
        transaction_type=header.trx_type.name,
        number=number,
        transaction_date=trx_date,
        accounting_date=gl_date,
        customer_number=header.customer.account_number,
        customer_name=header.customer.party_name,
        party_id=header.customer.party_id,
        site=header.site,
        currency=header.currency,
        status="Complete",
        header={**extras, **header.conversion, "CreatedBy": user, "LastUpdatedBy": user},
        lines=lines,
        distributions=distributions,
        children=children,
        created_at=now,
    )


def _lines(ctx: SimContext, spec: Spec, raw: list[Any]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise _bad(f"You must provide at least one line in {spec.lines}.", "SIM_AR_NO_LINES")
    lines: list[dict[str, Any]] = []
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise _bad(f"{spec.lines} items must be objects.", "SIM_AR_LINE_SHAPE")
        number = item.get("LineNumber", index)
        if not any(item.get(k) for k in (spec.line_desc, "Description", "MemoLine", "ItemNumber")):
            raise OracleError(400, [line_needs_content(number)])
        qty = _decimal(item.get(spec.line_qty), spec.line_qty)
        price = _decimal(item.get("UnitSellingPrice"), "UnitSellingPrice")
        amount = _decimal(item.get(spec.line_amount), spec.line_amount)
        if amount is None:
            if qty is None or price is None:
                raise _bad(
                    f"Line {number} needs {spec.line_amount} or {spec.line_qty} and "
                    "UnitSellingPrice.",
                    "SIM_AR_LINE_AMOUNT",
                )
            amount = (qty * price).quantize(CENT)
        tax = sum(
            (
                _decimal(t.get("TaxAmount"), "TaxAmount") or Decimal(0)
                for t in item.get(spec.line_children[0]) or []
                if isinstance(t, dict)
            ),
            Decimal(0),
        )
        line = {k: v for k, v in item.items() if not isinstance(v, list)}
        key = line_key(item.get(spec.line_children[2]))
        if key is not None:
            if key in ctx.state.used_line_keys or key in {x.get("_key") for x in lines}:
                raise _bad(DUPLICATE_KEY, "SIM_AR_DUPLICATE_LINE_KEY", spec.line_children[2])
            line["_key"] = key
        line.update(
            {
                "CustomerTransactionLineId": ctx.state.new_line_id(),
                "LineNumber": number,
                spec.line_amount: amount,
                "_amount": amount + tax,
                "_children": {
                    n: item[n] for n in spec.line_children if isinstance(item.get(n), list)
                },
            }
        )
        lines.append(line)
    numbers = [line["LineNumber"] for line in lines]
    if len(set(numbers)) != len(numbers):
        raise _bad("Each line must have a unique LineNumber.", "SIM_AR_LINE_NUMBER")
    return lines


def _distributions(
    ctx: SimContext, spec: Spec, raw: list[Any], lines: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    coa = ctx.setup.chart_of_accounts
    numbers = {line["LineNumber"] for line in lines}
    out = []
    problems: list[Detail] = []
    for item in raw:
        if not isinstance(item, dict):
            raise _bad(f"{spec.distributions} items must be objects.", "SIM_AR_DIST_SHAPE")
        account_class = item.get("AccountClass")
        if account_class not in _DIST_CLASSES:
            problems.append(
                Detail(
                    f"The account class {account_class} isn't valid.",
                    "SIM_AR_ACCOUNT_CLASS",
                    "AccountClass",
                )
            )
        combination = str(item.get("AccountCombination") or "")
        if not coa.is_valid_combination(coa.split(combination)):
            problems.append(invalid_account(combination))
        line_no = item.get(spec.dist_line)
        if account_class != "Receivable" and line_no not in numbers:
            problems.append(
                Detail(
                    f"The line number {line_no} doesn't exist on this transaction.",
                    "SIM_AR_DIST_LINE",
                    spec.dist_line,
                )
            )
        dist = dict(item)
        dist["DistributionId"] = ctx.state.new_line_id()
        if "Amount" in item:
            dist["Amount"] = _decimal(item["Amount"], "Amount")
        out.append(dist)
    if problems:
        raise OracleError(400, problems)
    return out


def line_key(dff: Any) -> tuple[str, ...] | None:
    """The line transaction flexfield as AutoInvoice sees it: context + attributes 1..15.

    Segments are taken as ``InterfaceLineAttributeN`` when named so, else in payload order.
    """
    if not isinstance(dff, list) or not dff or not isinstance(dff[0], dict):
        return None
    row = dff[0]
    context = str(row.get("__FLEX_Context") or "")
    if not context:
        return None
    named = {k: str(v) for k, v in row.items() if k.startswith("InterfaceLineAttribute")}
    if named:
        values = [named.get(f"InterfaceLineAttribute{i}", "") for i in range(1, 16)]
    else:
        values = [str(v) for k, v in row.items() if not k.startswith("__") and v is not None][:15]
        values += [""] * (15 - len(values))
    return (context, *values)


def etag(trx: Transaction) -> str:
    return hashlib.sha1(f"{trx.transaction_id}:{trx.version}".encode()).hexdigest()  # noqa: S324


def render(
    trx: Transaction, spec: Spec, base: str, version: int, expand: str | None
) -> dict[str, Any]:
    """Fusion's item payload; children as arrays (v1-2) or collections (v3+) when expanded."""
    href = f"{base}/{spec.resource}/{trx.transaction_id}"
    total = trx.amount
    item: dict[str, Any] = {
        "CustomerTransactionId": trx.transaction_id,
        "TransactionNumber": trx.number,
        "TransactionDate": trx.transaction_date,
        "AccountingDate": trx.accounting_date,
        "DueDate": trx.transaction_date,
        "BusinessUnit": trx.business_unit,
        "TransactionSource": trx.source,
        "TransactionType": trx.transaction_type,
        "BillToCustomerNumber": trx.customer_number,
        "BillToCustomerName": trx.customer_name,
        "BillToSite": trx.site,
        "BillToPartyId": trx.party_id,
        spec.currency_attr: trx.currency,
        spec.status_attr: trx.status,
        "EnteredAmount": total,
        "CreationDate": trx.created_at,
        "LastUpdateDate": trx.updated_at or trx.created_at,
    }
    if spec.kind == "invoice":
        item["InvoiceBalanceAmount"] = total + trx.credited
    else:
        item["AppliedToTransactionId"] = trx.applied_to
    item.update(trx.header)
    if trx.request_id is not None:
        item["RequestId"] = trx.request_id
    wanted = _expanded(expand, spec)
    child_rows = {
        spec.lines: [_render_line(line, spec, version, wanted) for line in trx.lines],
        spec.distributions: trx.distributions,
        **trx.children,
    }
    links = [
        link("self", href, spec.resource, "item"),
        link("canonical", href, spec.resource, "item"),
    ]
    for name, rows in child_rows.items():
        child_href = f"{href}/child/{name}"
        links.append(link("child", child_href, name, "collection"))
        if name in wanted:
            item[name] = _child_collection(rows, version, child_href)
    item["links"] = links
    return item


def _render_line(
    line: dict[str, Any], spec: Spec, version: int, wanted: set[str]
) -> dict[str, Any]:
    out = {k: v for k, v in line.items() if not k.startswith("_")}
    for name, rows in line["_children"].items():
        if f"{spec.lines}.{name}" in wanted:
            out[name] = _child_collection(rows, version, "")
    return out


def _expanded(expand: str | None, spec: Spec) -> set[str]:
    if not expand:
        return set()
    if expand.strip() == "all":
        nested = {f"{spec.lines}.{n}" for n in spec.line_children}
        return {spec.lines, spec.distributions, *spec.children, *nested}
    names = {n.strip() for n in expand.split(",") if n.strip()}
    return names | {n.split(".")[0] for n in names}


def _child_collection(rows: list[Any], version: int, href: str) -> Any:
    if version < 3:
        return rows
    return {
        "items": rows,
        "count": len(rows),
        "hasMore": False,
        "limit": len(rows),
        "offset": 0,
        "links": [link("self", href, "child", "collection")] if href else [],
    }


async def read_json(request: Request) -> dict[str, Any]:
    try:
        payload = json.loads(await request.body(), parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _bad("The request body isn't valid JSON.", "SIM_INVALID_JSON") from None
    if not isinstance(payload, dict):
        raise _bad("The request body must be a JSON object.", "SIM_INVALID_JSON")
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
                raise _bad(
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
                raise _bad("You can't delete a complete transaction.", "SIM_AR_DELETE_COMPLETE")
            del state.transactions[trx.transaction_id]
        return Response(status_code=204)


def _apply_patch(ctx: SimContext, spec: Spec, trx: Transaction, payload: dict[str, Any]) -> None:
    print_fields = {"OriginalPrintDate", "LastPrintDate", "DeliveryMethod", "Email"}
    if (
        print_fields & set(payload)
        and spec.kind == "invoice"
        and payload.get("InvoicePrinted") != "Y"
    ):
        raise _bad(
            "You can update print and delivery attributes only with InvoicePrinted set to Y.",
            "SIM_AR_PATCH_PRINT",
        )
    status = payload.get(spec.status_attr)
    if status is not None:
        if status not in ("Complete", "Incomplete"):
            raise _bad(f"The status {status} isn't valid.", "SIM_AR_STATUS")
        trx.status = status
    if "TransactionDate" in payload:
        try:
            trx.transaction_date = parse_date(payload["TransactionDate"], "TransactionDate")
        except ValueError as exc:
            raise _bad(str(exc), "SIM_INVALID_DATE") from None
    if "PaymentTerms" in payload:
        term = ctx.setup.payment_term(payload["PaymentTerms"])
        if term is None:
            raise _bad(f"The payment terms {payload['PaymentTerms']} don't exist.", "SIM_AR_TERMS")
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
