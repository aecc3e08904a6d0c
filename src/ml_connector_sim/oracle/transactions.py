"""One place that turns a checked header into a stored-shape ``Transaction``.

Both ways in (REST deep create and AutoInvoice import) resolve the header with ``check_header``
and then build the transaction the same way; only the header attributes they carry differ.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ml_connector_sim.oracle.checks import Header
from ml_connector_sim.oracle.state import Transaction, TransactionKind

if TYPE_CHECKING:
    from ml_connector_sim.oracle.context import SimContext


def new_transaction(
    ctx: SimContext,
    header: Header,
    *,
    kind: TransactionKind,
    number: str,
    attributes: dict[str, Any],
    lines: list[dict[str, Any]],
    distributions: list[dict[str, Any]],
    children: dict[str, list[dict[str, Any]]],
    created_at: datetime,
    user: str | None = None,
    request_id: int | None = None,
    applied_to: int | None = None,
) -> Transaction:
    """A complete transaction with a fresh id (not yet stored).

    ``attributes`` come first in the header, then the conversion, then (when a ``user`` is
    given) ``CreatedBy``/``LastUpdatedBy``.
    """
    audit = {"CreatedBy": user, "LastUpdatedBy": user} if user is not None else {}
    return Transaction(
        transaction_id=ctx.state.new_transaction_id(),
        kind=kind,
        business_unit=header.business_unit.name,
        source=header.source.name,
        transaction_type=header.trx_type.name,
        number=number,
        transaction_date=header.transaction_date,
        accounting_date=header.accounting_date,
        customer_number=header.customer.account_number,
        customer_name=header.customer.party_name,
        party_id=header.customer.party_id,
        site=header.site,
        currency=header.currency,
        status="Complete",
        header={**attributes, **header.conversion, **audit},
        lines=lines,
        distributions=distributions,
        children=children,
        created_at=created_at,
        request_id=request_id,
        applied_to=applied_to,
    )
