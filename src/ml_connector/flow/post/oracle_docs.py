"""Planned documents → exact Oracle payloads (REST invoice, AutoInvoice rows, GL_INTERFACE rows).

Pure: the same planned document always encodes to the same bytes, so a re-send after a crash is
the same document Oracle may already hold, and the look-up by its key finds it.

Every invoice line carries the line-transactions flexfield (context + order id + line number).
That is how a credit memo imported through AutoInvoice names the very invoice line it reverses,
and how anyone in Oracle traces a line back to its Amazon order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.documents import (
    CreditMemoDoc,
    InvoiceDoc,
    InvoiceLine,
    JournalDoc,
    LineKind,
)
from ml_connector.remote.oracle import (
    AutoInvoiceDistribution,
    AutoInvoiceLine,
    Flexfield,
    GlInterfaceLine,
    InvoiceCreate,
    InvoiceDistribution,
    InvoiceLineTaxLine,
    LineKey,
)
from ml_connector.remote.oracle import InvoiceLine as OracleInvoiceLine

LINE_CONTEXT = "AMAZON ORDERS"
_DESCRIPTION_LIMIT = 240


@dataclass(frozen=True, slots=True)
class PostingProfile:
    """The Oracle-side names a connection posts with (business unit, sources, types, ledger)."""

    business_unit: str
    invoice_source: str
    invoice_type: str
    credit_memo_type: str
    ledger: str
    ledger_id: str
    ledger_currency: str
    conversion_rate_type: str
    journal_source: str
    journal_category: str
    payment_terms: str | None = None
    line_context: str = LINE_CONTEXT
    tax_regime_code: str | None = None  # manual tax lines name the regime and rate when set
    tax_rate_code: str | None = None


def _conversion(currency: str, profile: PostingProfile) -> str | None:
    return None if currency == profile.ledger_currency else profile.conversion_rate_type


def line_key(profile: PostingProfile, transaction_number: str, line_number: int) -> LineKey:
    """The flexfield key of one invoice line: its invoice's number (the Amazon order id for a
    first invoice) and line number, unique across re-issued invoices of the same order."""
    return LineKey(profile.line_context, (transaction_number, str(line_number)))


def _account_class(kind: LineKind) -> Literal["Tax", "Revenue"]:
    return "Tax" if kind in (LineKind.TAX, LineKind.FACILITATOR_TAX) else "Revenue"


def _quantity_and_price(line: InvoiceLine) -> tuple[Decimal, Decimal]:
    """Oracle wants quantity × unit price = amount; a charge line is one unit of its amount."""
    if (
        line.quantity
        and line.unit_price is not None
        and line.unit_price * line.quantity == line.amount
    ):
        return Decimal(line.quantity), line.unit_price
    return Decimal(1), line.amount


def _is_tax(line: InvoiceLine) -> bool:
    return _account_class(line.kind) == "Tax"


def tax_parent(lines: tuple[InvoiceLine, ...], tax: InvoiceLine) -> InvoiceLine | None:
    """The line a tax line taxes: the item line of the same SKU before it (the planner writes
    an order item's line first, then its charges and taxes)."""
    parent: InvoiceLine | None = None
    for line in lines:
        if line.line_number >= tax.line_number:
            break
        if line.kind is LineKind.ITEM and line.sku == tax.sku:
            parent = line
    return parent


def invoice_payload(doc: InvoiceDoc, profile: PostingProfile) -> InvoiceCreate:
    """The REST deep-create body: lines, per-line distributions, one receivable, DFF keys.

    Tax is sent the way Receivables models it: a `receivablesInvoiceLineTaxLines` child of the
    item line it taxes, with a Tax distribution naming that line and the tax line's number.
    """
    taxes: dict[int, list[InvoiceLine]] = {}
    for line in doc.lines:
        if _is_tax(line):
            parent = tax_parent(doc.lines, line)
            if parent is None:
                raise ValueError(
                    f"tax line {line.line_number} ({line.sku}) of {doc.transaction_number} "
                    "has no item line to belong to"
                )
            taxes.setdefault(parent.line_number, []).append(line)
    lines: list[OracleInvoiceLine] = []
    distributions: list[InvoiceDistribution] = []
    for line in doc.lines:
        if _is_tax(line):
            continue
        quantity, price = _quantity_and_price(line)
        key = line_key(profile, doc.transaction_number, line.line_number)
        own_taxes = taxes.get(line.line_number, [])
        lines.append(
            OracleInvoiceLine(
                LineNumber=line.line_number,
                Description=line.description[:_DESCRIPTION_LIMIT],
                Quantity=quantity,
                UnitSellingPrice=price,
                LineAmount=line.amount,
                ItemNumber=line.oracle_item,
                SalesOrder=doc.amazon_order_id,
                receivablesInvoiceLineTaxLines=[
                    InvoiceLineTaxLine(
                        TaxAmount=tax.amount,
                        TaxRegimeCode=profile.tax_regime_code,
                        TaxRateCode=profile.tax_rate_code,
                        TaxLineNumber=number,
                    )
                    for number, tax in enumerate(own_taxes, start=1)
                ]
                or None,
                receivablesInvoiceLineTransactionDFF=[
                    Flexfield(
                        context=key.context,
                        segments={
                            f"InterfaceLineAttribute{n}": value
                            for n, value in enumerate(key.attributes, start=1)
                        },
                    )
                ],
            )
        )
        distributions.append(
            InvoiceDistribution(
                AccountClass="Revenue",
                AccountCombination=str(line.account),
                Amount=line.amount,
                InvoiceLineNumber=line.line_number,
            )
        )
        distributions.extend(
            InvoiceDistribution(
                AccountClass="Tax",
                AccountCombination=str(tax.account),
                Amount=tax.amount,
                InvoiceLineNumber=line.line_number,
                DetailedTaxLineNumber=number,
            )
            for number, tax in enumerate(own_taxes, start=1)
        )
    distributions.append(
        InvoiceDistribution(
            AccountClass="Receivable",
            AccountCombination=str(doc.receivable_account),
            Amount=doc.total,
        )
    )
    rate_type = _conversion(doc.currency, profile)
    return InvoiceCreate(
        BusinessUnit=profile.business_unit,
        TransactionSource=profile.invoice_source,
        TransactionType=profile.invoice_type,
        TransactionNumber=doc.transaction_number,
        TransactionDate=doc.transaction_date,
        AccountingDate=doc.accounting_date,
        BillToCustomerNumber=doc.customer.account_number,
        BillToSite=doc.customer.site_number,
        InvoiceCurrencyCode=doc.currency,
        ConversionRateType=rate_type,
        ConversionDate=doc.transaction_date if rate_type else None,
        CrossReference=f"amazon-order:{doc.amazon_order_id}",
        PaymentTerms=profile.payment_terms,
        Comments=f"Amazon order {doc.amazon_order_id} ({doc.marketplace_id})",
        receivablesInvoiceLines=lines,
        receivablesInvoiceDistributions=distributions,
    )


def _invoice_line_for(invoice: InvoiceDoc, line: InvoiceLine) -> InvoiceLine:
    """The invoice line a credit memo line reverses: same SKU, kind and account."""
    for candidate in invoice.lines:
        if (candidate.sku, candidate.kind, candidate.account) == (
            line.sku,
            line.kind,
            line.account,
        ):
            return candidate
    raise ValueError(
        f"credit memo line {line.line_number} ({line.kind}, {line.sku}) matches no line of "
        f"invoice {invoice.transaction_number}"
    )


def _memo_line_for(memo: CreditMemoDoc, invoice_line: InvoiceLine) -> InvoiceLine | None:
    """The memo line that credits `invoice_line` (same SKU, kind and account)."""
    for line in memo.lines:
        if (line.sku, line.kind, line.account) == (
            invoice_line.sku,
            invoice_line.kind,
            invoice_line.account,
        ):
            return line
    return None


def _segments(account: AccountCombination) -> tuple[str, ...]:
    return account.values


def credit_memo_rows(
    memo: CreditMemoDoc, invoice: InvoiceDoc, profile: PostingProfile
) -> tuple[list[AutoInvoiceLine], list[AutoInvoiceDistribution]]:
    """AutoInvoice rows for a credit memo applied to the invoice lines it reverses."""
    lines: list[AutoInvoiceLine] = []
    dists: list[AutoInvoiceDistribution] = []
    rate_type = _conversion(memo.currency, profile)
    own_keys = {
        line.line_number: LineKey(profile.line_context, (memo.transaction_number, str(index)))
        for index, line in enumerate(memo.lines, start=1)
    }
    for line in memo.lines:
        original = _invoice_line_for(invoice, line)
        own_key = own_keys[line.line_number]
        link_to: LineKey | None = None
        if _is_tax(line):
            # A tax credit links to the memo line crediting the item it taxes, and names that
            # invoice item line: on the invoice the tax is a child of it, not a line of its own.
            taxed = tax_parent(invoice.lines, original)
            memo_parent = _memo_line_for(memo, taxed) if taxed is not None else None
            if taxed is not None:
                original = taxed
            if memo_parent is not None:
                link_to = own_keys[memo_parent.line_number]
        lines.append(
            AutoInvoiceLine(
                business_unit=profile.business_unit,
                transaction_source=profile.invoice_source,
                transaction_type=profile.credit_memo_type,
                key=own_key,
                # A tax credit with no item credit beside it is credited as a line of its own.
                line_type="TAX" if link_to is not None else "LINE",
                description=line.description[:_DESCRIPTION_LIMIT],
                currency=memo.currency,
                transaction_date=memo.transaction_date,
                accounting_date=memo.accounting_date,
                bill_to_account_number=memo.customer.account_number,
                bill_to_site_number=memo.customer.site_number,
                amount=line.amount,
                quantity=Decimal(-(line.quantity or 1)) if line.quantity else None,
                transaction_number=memo.transaction_number,
                conversion_type=rate_type or "User",
                conversion_date=memo.transaction_date if rate_type else None,
                conversion_rate=None if rate_type else Decimal(1),
                credits=line_key(profile, invoice.transaction_number, original.line_number),
                link_to=link_to,
                credit_reason=memo.reason[:30] if memo.reason else None,
                comments=f"Amazon refund {memo.refund_id or memo.key} for {memo.amazon_order_id}",
                sales_order=memo.amazon_order_id,
            )
        )
        dists.append(
            AutoInvoiceDistribution(
                business_unit=profile.business_unit,
                key=own_key,
                account_class="TAX" if _account_class(line.kind) == "Tax" else "REV",
                segments=_segments(line.account),
                amount=line.amount,
            )
        )
    if lines:
        dists.append(
            AutoInvoiceDistribution(
                business_unit=profile.business_unit,
                key=lines[0].key,
                account_class="REC",
                segments=_segments(memo.receivable_account),
                amount=memo.total,
            )
        )
    return lines, dists


def journal_group_id(doc: JournalDoc) -> int:
    """A stable positive GROUP_ID per journal, so one import file imports exactly one journal."""
    digest = 0
    for char in doc.key:
        digest = (digest * 131 + ord(char)) % 2_000_000_000
    return digest + 1


def journal_rows(doc: JournalDoc, profile: PostingProfile) -> list[GlInterfaceLine]:
    """GL_INTERFACE rows for one settlement journal; REFERENCE6/21 carry the settlement id,
    REFERENCE22 the financial event group id."""
    rate_type = _conversion(doc.currency, profile)
    group_id = journal_group_id(doc)
    rows: list[GlInterfaceLine] = []
    for line in doc.lines:
        dr = line.entered_dr if line.entered_dr > 0 else None
        cr = line.entered_cr if line.entered_cr > 0 else None
        if dr is None and cr is None:
            continue
        if dr is not None and cr is not None:
            raise ValueError(f"journal line on {line.account} is both debit and credit")
        rows.append(
            GlInterfaceLine(
                ledger_name=profile.ledger,
                ledger_id=profile.ledger_id,
                source=profile.journal_source,
                category=profile.journal_category,
                accounting_date=doc.accounting_date,
                currency=doc.currency,
                segments=_segments(line.account),
                batch_name=doc.batch_name,
                journal_name=f"Amazon settlement {doc.settlement_id}",
                group_id=group_id,
                entered_dr=dr,
                entered_cr=cr,
                batch_description=f"Amazon settlement {doc.settlement_id} (group {doc.group_id})",
                journal_description=f"Amazon settlement {doc.settlement_id}",
                line_description=line.description[:_DESCRIPTION_LIMIT],
                # REFERENCE7 is the template's reverse-journal flag (N here): the ids go to the
                # journal entry reference (6) and the free-text line references (21, 22).
                references={
                    6: str(doc.settlement_id),
                    21: str(doc.settlement_id),
                    22: str(doc.group_id),
                },
                conversion_type=rate_type,
                conversion_date=doc.accounting_date if rate_type else None,
            )
        )
    return rows
