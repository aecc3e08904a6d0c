"""What differs between ``receivablesInvoices`` and ``receivablesCreditMemos``: the ``Spec``.

Fusion names the same ideas differently on each resource (``InvoiceCurrencyCode`` vs
``CreditMemoCurrency``, ``Quantity`` vs ``LineQuantityCredit``...), so one implementation is
driven by one ``Spec`` per resource. Also the queryable attributes and finders of both.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml_connector_sim.oracle.state import TransactionKind
from ml_connector_sim.oracle.tenant import TransactionClass

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
