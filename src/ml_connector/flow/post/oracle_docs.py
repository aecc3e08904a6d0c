"""Planned documents → exact Oracle payloads (REST invoice, AutoInvoice rows, GL_INTERFACE rows).

Pure: the same planned document always encodes to the same bytes, so a re-send after a crash is
the same document Oracle may already hold, and the look-up by its key finds it.

Every invoice line carries the line-transactions flexfield (context + order id + line number).
That is how a credit memo imported through AutoInvoice names the very invoice line it reverses,
and how anyone in Oracle traces a line back to its Amazon order.

A tax-inclusive line with a tax classification code leaves the tax to Oracle's tax engine: the
line goes with its code and the includes-tax flag, no tax line of ours, and its Revenue
distribution by ``Percent`` 100 (the net is Oracle's figure). A line with an accounting rule
carries it, its duration and start date; the header carries the invoicing rule. A credit memo
crediting a ruled invoice names the credit method for its revenue schedule. Sources:
docs/oracle-setup.md "Tax-inclusive lines" and "Revenue schedules".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

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
from ml_connector.remote.oracle.fbdi_autoinvoice import CreditMethod

LINE_CONTEXT = "AMAZON ORDERS"
_DESCRIPTION_LIMIT = 240
_FULL_SHARE: Final = Decimal(100)


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
    #: How a credit memo reverses a ruled invoice line's revenue schedule
    #: (CREDIT_METHOD_FOR_ACCT_RULE): PRORATE credits every period by the same share.
    credit_method_for_rules: CreditMethod = "PRORATE"


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


def _oracle_taxed(line: InvoiceLine) -> bool:
    """Oracle's tax engine computes this line's tax (inside its amount) from the code."""
    return line.amount_includes_tax and line.tax_classification_code is not None


def _revenue_by_share(line: InvoiceLine) -> bool:
    """Its Revenue distribution goes as ``Percent`` 100: Oracle computes the net of an
    Oracle-taxed line, and takes only percentages (an account set) for a line with rules,
    ignoring amounts (RA_INTERFACE_DISTRIBUTIONS_ALL)."""
    return _oracle_taxed(line) or line.accounting_rule is not None


def _check_tax_coding(doc: InvoiceDoc, line: InvoiceLine) -> None:
    if line.amount_includes_tax and line.tax_classification_code is None:
        raise ValueError(
            f"line {line.line_number} of {doc.transaction_number} includes tax but names no "
            "tax classification code for Oracle to take it out"
        )
    if line.tax_classification_code is not None and not line.amount_includes_tax:
        # Oracle would add its tax on top: the invoice total would no longer be the planned one.
        raise ValueError(
            f"line {line.line_number} of {doc.transaction_number} has tax classification code "
            f"{line.tax_classification_code} on an amount that excludes tax"
        )


def invoice_payload(doc: InvoiceDoc, profile: PostingProfile) -> InvoiceCreate:
    """The REST deep-create body: lines, per-line distributions, one receivable, DFF keys.

    Tax is sent the way Receivables models it: a `receivablesInvoiceLineTaxLines` child of the
    item line it taxes, with a Tax distribution naming that line and the tax line's number. A
    tax-inclusive line with a tax classification code instead carries `TaxClassificationCode`
    and `LineAmountIncludesTax` ``Y``, and its Revenue distribution by `Percent` 100 (so does
    a ruled line: Oracle takes an account set for it); the Receivable stays the gross total.
    Rules: `InvoicingRule` on the header, `AccountingRule`,
    `AccountingRuleDuration` and `RuleStartDate` (the transaction date, as Oracle's example)
    on each ruled line.

    Raises ValueError for a document Oracle would book differently from the plan: a tax line
    with no item line, a connector tax line on an Oracle-taxed line, a code on a tax-exclusive
    amount, a tax-inclusive line without a code, or rules on one side only.
    """
    taxes: dict[int, list[InvoiceLine]] = {}
    for line in doc.lines:
        _check_tax_coding(doc, line)
        if _is_tax(line):
            parent = tax_parent(doc.lines, line)
            if parent is None:
                raise ValueError(
                    f"tax line {line.line_number} ({line.sku}) of {doc.transaction_number} "
                    "has no item line to belong to"
                )
            if _oracle_taxed(parent):
                raise ValueError(
                    f"tax line {line.line_number} of {doc.transaction_number} taxes line "
                    f"{parent.line_number}, whose tax Oracle computes from its code"
                )
            taxes.setdefault(parent.line_number, []).append(line)
    ruled = [line.line_number for line in doc.lines if line.accounting_rule]
    if ruled and not doc.invoicing_rule:
        raise ValueError(
            f"{doc.transaction_number}: lines {ruled} have an accounting rule but the invoice "
            "has no invoicing rule"
        )
    if doc.invoicing_rule and not ruled:
        raise ValueError(
            f"{doc.transaction_number}: invoicing rule {doc.invoicing_rule} but no line has an "
            "accounting rule"
        )
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
                TaxClassificationCode=line.tax_classification_code,
                LineAmountIncludesTax="Y" if _oracle_taxed(line) else None,
                SalesOrder=doc.amazon_order_id,
                AccountingRule=line.accounting_rule,
                AccountingRuleDuration=line.accounting_rule_duration
                if line.accounting_rule
                else None,
                RuleStartDate=doc.transaction_date if line.accounting_rule else None,
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
                Amount=None if _revenue_by_share(line) else line.amount,
                Percent=_FULL_SHARE if _revenue_by_share(line) else None,
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
        InvoicingRule=doc.invoicing_rule,
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
    """AutoInvoice rows for a credit memo applied to the invoice lines it reverses.

    A memo line crediting a tax-inclusive line with a code goes with that line's TAX_CODE (the
    template's "Tax Classification Code") and AMOUNT_INCLUDES_TAX_FLAG ``Y``, its REV
    distribution by PERCENT 100, so Oracle takes the tax out as it did on the invoice. A memo
    line crediting a ruled invoice line carries CREDIT_METHOD_FOR_ACCT_RULE (the profile's
    credit method), its REV distribution by PERCENT 100 and no rule columns of its own:
    AutoInvoice takes the schedule from the invoice and wants the rule duration and start date
    empty on credit memos.

    Raises ValueError when a memo line matches no invoice line or names another tax
    classification code than the line it credits.
    """
    lines: list[AutoInvoiceLine] = []
    dists: list[AutoInvoiceDistribution] = []
    rate_type = _conversion(memo.currency, profile)
    own_keys = {
        line.line_number: LineKey(profile.line_context, (memo.transaction_number, str(index)))
        for index, line in enumerate(memo.lines, start=1)
    }
    for line in memo.lines:
        original = _invoice_line_for(invoice, line)
        # The credit takes the tax out as the invoice put it in: the credited line's coding.
        by_oracle = _oracle_taxed(original)
        if line.tax_classification_code not in (None, original.tax_classification_code):
            raise ValueError(
                f"credit memo line {line.line_number} of {memo.transaction_number} has tax "
                f"classification code {line.tax_classification_code}, the invoice line "
                f"{original.line_number} it credits {original.tax_classification_code}"
            )
        code = original.tax_classification_code if by_oracle else None
        share = _revenue_by_share(original) and not _is_tax(line)
        own_key = own_keys[line.line_number]
        link_to: LineKey | None = None
        ruled = original.accounting_rule is not None
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
                comments=memo.reason
                if memo.amazon_order_id in memo.reason
                else f"{memo.reason} for {memo.amazon_order_id}",
                sales_order=memo.amazon_order_id,
                tax_code=code,
                amount_includes_tax=True if by_oracle else None,
                credit_method_for_rules=(
                    profile.credit_method_for_rules if ruled and link_to is None else None
                ),
            )
        )
        dists.append(
            AutoInvoiceDistribution(
                business_unit=profile.business_unit,
                key=own_key,
                account_class="TAX" if _account_class(line.kind) == "Tax" else "REV",
                segments=_segments(line.account),
                amount=None if share else line.amount,
                percent=_FULL_SHARE if share else None,
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
