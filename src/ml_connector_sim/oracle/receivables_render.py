"""Receivables REST items as Fusion renders them: links, expanded children, ETags."""

from __future__ import annotations

import hashlib
from typing import Any

from ml_connector_sim.oracle.query import link
from ml_connector_sim.oracle.receivables_spec import Spec
from ml_connector_sim.oracle.state import Transaction


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
