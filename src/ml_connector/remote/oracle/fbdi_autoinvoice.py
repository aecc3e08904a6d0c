"""AutoInvoice interface files (RaInterfaceLinesAll.csv + RaInterfaceDistributionsAll.csv).

Each line carries a transaction-flexfield key (INTERFACE_LINE_CONTEXT + ATTRIBUTE1..15) that
Oracle keeps unique across the interface and created lines: it is our idempotency key for the
bulk path (a re-sent key is rejected per row, never a second invoice). A credit memo against an
invoice points at the invoice line's key through REFERENCE_LINE_CONTEXT/ATTRIBUTE* — the only
way the FBDI template can name an invoice (reference/oracle-fbdi.md §1.9). A TAX line names
the line it taxes through LINK_TO_LINE_CONTEXT/ATTRIBUTE* (§1.8): a file with an unlinked tax
line is refused here, as AutoInvoice would reject it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from ml_connector.remote.oracle.autoinvoice_columns import DISTRIBUTIONS_COLUMNS, LINES_COLUMNS
from ml_connector.remote.oracle.fbdi_gl import END_MARKER, FbdiBuildError, fbdi_amount, fbdi_date

LINES_CSV = "RaInterfaceLinesAll.csv"
DISTRIBUTIONS_CSV = "RaInterfaceDistributionsAll.csv"

LineType = Literal["LINE", "TAX", "FREIGHT", "CHARGES"]
#: CREDIT_METHOD_FOR_ACCT_RULE: how a credit memo reverses the revenue schedule of a ruled
#: invoice line (reference/oracle-fbdi.md §1.9; docs/oracle-setup.md "Revenue schedules").
CreditMethod = Literal["PRORATE", "LIFO", "UNIT"]
DistributionClass = Literal["REV", "FREIGHT", "TAX", "REC", "CHARGES", "UNBILL", "UNEARN"]


@dataclass(frozen=True, slots=True)
class LineKey:
    """A line-transactions flexfield value: a defined context plus 1-15 attribute values."""

    context: str
    attributes: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.context or not 1 <= len(self.attributes) <= 15:
            raise FbdiBuildError("a line key is a context plus 1-15 attribute values")
        if not all(self.attributes):
            raise FbdiBuildError("line key attributes must not be empty")

    def columns(self, context_column: str, attribute_prefix: str) -> dict[str, str]:
        values = {context_column: self.context}
        for number, value in enumerate(self.attributes, start=1):
            values[f"{attribute_prefix}{number}"] = value
        return values


@dataclass(frozen=True, slots=True)
class AutoInvoiceLine:
    """One RA_INTERFACE_LINES_ALL row (invoice line, or credit-memo line when `credits`)."""

    business_unit: str
    transaction_source: str
    transaction_type: str
    key: LineKey
    line_type: LineType
    description: str
    currency: str
    transaction_date: dt.date
    bill_to_account_number: str
    amount: Decimal
    quantity: Decimal | None = None
    unit_selling_price: Decimal | None = None
    accounting_date: dt.date | None = None
    transaction_number: str | None = None
    bill_to_site_number: str | None = None
    payment_terms: str | None = None
    conversion_type: str = "User"
    conversion_date: dt.date | None = None
    conversion_rate: Decimal | None = Decimal(1)
    memo_line: str | None = None
    item_number: str | None = None
    tax_code: str | None = None
    uom_name: str | None = None
    sales_order: str | None = None
    credits: LineKey | None = None
    link_to: LineKey | None = None
    credit_reason: str | None = None
    comments: str | None = None
    internal_notes: str | None = None
    #: AMOUNT_INCLUDES_TAX_FLAG: True ``Y`` (tax inside the amount), False ``N``, None blank
    #: (the tax rate's setting). With True, ``tax_code`` names the tax classification code.
    amount_includes_tax: bool | None = None
    invoicing_rule: str | None = None
    accounting_rule: str | None = None
    accounting_rule_duration: int | None = None
    rule_start_date: dt.date | None = None
    credit_method_for_rules: CreditMethod | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.description or len(self.description) > 240:
            raise FbdiBuildError("DESCRIPTION must be 1-240 characters")
        if (
            self.quantity is not None
            and self.unit_selling_price is not None
            and self.quantity * self.unit_selling_price != self.amount
        ):
            raise FbdiBuildError(
                f"line {self.key.attributes}: AMOUNT {self.amount} is not QUANTITY x PRICE"
            )
        if self.line_type == "TAX" and self.unit_selling_price is not None:
            raise FbdiBuildError("UNIT_SELLING_PRICE must be empty on TAX lines")
        if self.line_type == "TAX" and self.link_to is None:
            raise FbdiBuildError(
                f"tax line {self.key.attributes} must link to the line it taxes (LINK_TO_LINE_*)"
            )
        if self.line_type == "LINE" and self.link_to is not None:
            raise FbdiBuildError("only TAX, FREIGHT and CHARGES lines link to another line")
        if self.credits is not None and self.amount == 0:
            # The sign follows the credited line: negative against a charge, positive against a
            # promotion (a negative invoice line) that the refund gives back.
            raise FbdiBuildError("a credit memo line carries a non-zero AMOUNT")
        self._check_tax_and_rules()
        unknown = set(self.extra) - set(LINES_COLUMNS)
        if unknown:
            raise FbdiBuildError(f"not RA_INTERFACE_LINES_ALL columns: {sorted(unknown)}")

    def _check_tax_and_rules(self) -> None:
        """What AutoInvoice refuses (RA_INTERFACE_LINES_ALL column rules, oracle-fbdi.md §1.6)."""
        where = f"line {self.key.attributes}"
        if self.amount_includes_tax and not self.tax_code:
            raise FbdiBuildError(f"{where}: AMOUNT_INCLUDES_TAX_FLAG Y needs a TAX_CODE")
        rules = (self.invoicing_rule, self.accounting_rule, self.accounting_rule_duration)
        if self.line_type != "LINE" and (
            any(r is not None for r in rules) or self.rule_start_date is not None
        ):
            raise FbdiBuildError(f"{where}: rule columns are for LINE lines only")
        if self.credits is not None:
            if self.accounting_rule_duration is not None or self.rule_start_date is not None:
                raise FbdiBuildError(
                    f"{where}: a credit memo takes its invoice's schedule; leave "
                    "ACCOUNTING_RULE_DURATION and RULE_START_DATE empty"
                )
        elif self.credit_method_for_rules is not None:
            raise FbdiBuildError(f"{where}: a credit method is for credit memo lines")
        if self.credit_method_for_rules is not None and self.line_type != "LINE":
            raise FbdiBuildError(f"{where}: a credit method is for LINE lines only")
        if self.credits is None and (self.invoicing_rule is None) != (self.accounting_rule is None):
            raise FbdiBuildError(
                f"{where}: INVOICING_RULE_NAME and ACCOUNTING_RULE_NAME go together"
            )
        if self.accounting_rule is None and (
            self.accounting_rule_duration is not None or self.rule_start_date is not None
        ):
            raise FbdiBuildError(f"{where}: rule duration or start without ACCOUNTING_RULE_NAME")

    def columns(self) -> dict[str, str]:
        includes = {True: "Y", False: "N", None: None}[self.amount_includes_tax]
        values: dict[str, str | None] = {
            "BU_NAME": self.business_unit,
            "BATCH_SOURCE_NAME": self.transaction_source,
            "CUST_TRX_TYPE_NAME": self.transaction_type,
            "TERM_NAME": self.payment_terms,
            "TRX_DATE": fbdi_date(self.transaction_date),
            "GL_DATE": fbdi_date(self.accounting_date) if self.accounting_date else None,
            "TRX_NUMBER": self.transaction_number,
            "BILL_CUSTOMER_ACCOUNT_NUMBER": self.bill_to_account_number,
            "BILL_CUSTOMER_SITE_NUMBER": self.bill_to_site_number,
            "LINE_TYPE": self.line_type,
            "DESCRIPTION": self.description,
            "CURRENCY_CODE": self.currency,
            "CONVERSION_TYPE": self.conversion_type,
            "CONVERSION_DATE": fbdi_date(self.conversion_date) if self.conversion_date else None,
            "CONVERSION_RATE": (
                fbdi_amount(self.conversion_rate) if self.conversion_rate is not None else None
            ),
            "AMOUNT": fbdi_amount(self.amount),
            "QUANTITY": fbdi_amount(self.quantity) if self.quantity is not None else None,
            "UNIT_SELLING_PRICE": (
                fbdi_amount(self.unit_selling_price)
                if self.unit_selling_price is not None
                else None
            ),
            "MEMO_LINE_NAME": self.memo_line,
            "EGP_SYSTEM_ITEMS_SEG1": self.item_number,
            "TAX_CODE": self.tax_code,
            "AMOUNT_INCLUDES_TAX_FLAG": includes,
            "INVOICING_RULE_NAME": self.invoicing_rule,
            "ACCOUNTING_RULE_NAME": self.accounting_rule,
            "ACCOUNTING_RULE_DURATION": (
                str(self.accounting_rule_duration)
                if self.accounting_rule_duration is not None
                else None
            ),
            "RULE_START_DATE": fbdi_date(self.rule_start_date) if self.rule_start_date else None,
            "CREDIT_METHOD_FOR_ACCT_RULE": self.credit_method_for_rules,
            "UOM_NAME": self.uom_name,
            "SALES_ORDER": self.sales_order,
            "REASON_CODE_MEANING": self.credit_reason,
            "COMMENTS": self.comments,
            "INTERNAL_NOTES": self.internal_notes,
            **self.key.columns("INTERFACE_LINE_CONTEXT", "INTERFACE_LINE_ATTRIBUTE"),
        }
        if self.credits is not None:
            values.update(
                self.credits.columns("REFERENCE_LINE_CONTEXT", "REFERENCE_LINE_ATTRIBUTE")
            )
        if self.link_to is not None:
            values.update(self.link_to.columns("LINK_TO_LINE_CONTEXT", "LINK_TO_LINE_ATTRIBUTE"))
        values.update(self.extra)
        return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True, slots=True)
class AutoInvoiceDistribution:
    """One RA_INTERFACE_DISTRIBUTIONS_ALL row, attached to its line by the line's key."""

    business_unit: str
    key: LineKey
    account_class: DistributionClass
    segments: tuple[str, ...]
    amount: Decimal | None = None
    percent: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.amount is None) == (self.percent is None):
            raise FbdiBuildError("a distribution has an AMOUNT or a PERCENT (one of them)")
        if not 1 <= len(self.segments) <= 30 or not all(self.segments):
            raise FbdiBuildError("an account needs 1-30 non-empty segment values")

    def columns(self) -> dict[str, str]:
        values: dict[str, str] = {
            "BU_NAME": self.business_unit,
            "ACCOUNT_CLASS": self.account_class,
            **self.key.columns("INTERFACE_LINE_CONTEXT", "INTERFACE_LINE_ATTRIBUTE"),
        }
        if self.amount is not None:
            values["AMOUNT"] = fbdi_amount(self.amount)
        if self.percent is not None:
            values["PERCENT"] = fbdi_amount(self.percent)
        for number, segment in enumerate(self.segments, start=1):
            values[f"SEGMENT{number}"] = segment
        return values


def _positional_csv(
    rows: Iterable[Mapping[str, str]], order: tuple[str, ...], *, end_marker: bool
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    known = set(order)
    for values in rows:
        unknown = set(values) - known
        if unknown:
            raise FbdiBuildError(f"unknown columns: {sorted(unknown)}")
        record = [values.get(name, "") for name in order]
        writer.writerow([*record, END_MARKER] if end_marker else record)
    return buffer.getvalue().encode("utf-8")


def autoinvoice_files(
    lines: Iterable[AutoInvoiceLine],
    distributions: Iterable[AutoInvoiceDistribution] = (),
    *,
    end_marker: bool = True,
) -> dict[str, bytes]:
    """The CSV files (by zip entry name) for one AutoInvoice import.

    Refuses duplicate line keys (Oracle would reject the rows) and distributions that point at
    no line in the file (Oracle would leave them orphaned in the interface).
    """
    line_rows = list(lines)
    if not line_rows:
        raise FbdiBuildError("an AutoInvoice import needs at least one line")
    keys = [line.key for line in line_rows]
    if len(set(keys)) != len(keys):
        raise FbdiBuildError("each line needs its own INTERFACE_LINE_CONTEXT/ATTRIBUTE key")
    pairs = {(line.business_unit, line.transaction_source) for line in line_rows}
    if len(pairs) != 1:
        raise FbdiBuildError("AutoInvoice runs per (business unit, transaction source): split")
    parents = {line.key for line in line_rows if line.line_type == "LINE"}
    unlinked = [
        line.key for line in line_rows if line.link_to is not None and line.link_to not in parents
    ]
    if unlinked:
        raise FbdiBuildError(f"lines linked to no LINE line of the file: {unlinked}")
    dist_rows = list(distributions)
    orphans = [d.key for d in dist_rows if d.key not in set(keys)]
    if orphans:
        raise FbdiBuildError(f"distributions for lines not in the file: {orphans}")
    files = {
        LINES_CSV: _positional_csv(
            (line.columns() for line in line_rows), LINES_COLUMNS, end_marker=end_marker
        )
    }
    if dist_rows:
        files[DISTRIBUTIONS_CSV] = _positional_csv(
            (d.columns() for d in dist_rows), DISTRIBUTIONS_COLUMNS, end_marker=end_marker
        )
    return files
