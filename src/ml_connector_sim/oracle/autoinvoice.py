"""AutoInvoice: RaInterfaceLinesAll.csv (+ distributions) becomes invoices and credit memos.

Errors come in Oracle's two tiers: a bad partition key (business unit, source, undefined line
context) fails the whole import job; bad row data leaves the row behind with a message (and,
with the "reject invoice" rule, silently holds back the other lines of the same transaction).
Credit memos reference the invoice line through REFERENCE_LINE_CONTEXT/ATTRIBUTE1..15. A TAX
line must link to the LINE line it taxes through LINK_TO_LINE_CONTEXT/ATTRIBUTE1..15; an
unlinked or dangling tax line is rejected with its transaction. The execution report names each
rejected row by its line key: ``Row <CONTEXT|ATTRIBUTE1|...>: <message> [<invalid value>]``.
A line with TAX_CODE (the template's "Tax Classification Code") gets its tax computed as a REST
line does (``tax_rules``, AMOUNT_INCLUDES_TAX_FLAG Y/N/blank); invoice lines carry their
invoicing and accounting rules; a credit memo line crediting a ruled invoice line needs
CREDIT_METHOD_FOR_ACCT_RULE and no rule duration or start date of its own.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ml_connector_sim.oracle.checks import (
    CUSTOMER_NOT_FOUND,
    NUMBERING_RULE,
    SITE_NOT_FOUND,
    HeaderInput,
    check_header,
    parse_amount,
    parse_date,
)
from ml_connector_sim.oracle.state import EssStatus, InterfaceError, Transaction
from ml_connector_sim.oracle.tax_rules import (
    LineTax,
    RuledLine,
    credit_method_problem,
    line_tax,
    revenue_problem,
    round_to,
    rule_problems,
)
from ml_connector_sim.oracle.tenant import TransactionClass
from ml_connector_sim.oracle.transactions import new_transaction

if TYPE_CHECKING:
    from ml_connector_sim.oracle.context import SimContext
    from ml_connector_sim.oracle.erpintegrations import StepResult

AUTOINVOICE_JOB = "AutoInvoiceImportEss"
_CENT = Decimal("0.01")
# 1-based CSV positions from the AutoInvoice template (oracle-fbdi.md §1.3 / §1.4).
LINE_POS = {
    "ORG_ID": 1,
    "BATCH_SOURCE_NAME": 2,
    "CUST_TRX_TYPE_NAME": 3,
    "TERM_NAME": 4,
    "TRX_DATE": 5,
    "GL_DATE": 6,
    "TRX_NUMBER": 7,
    "BILL_CUSTOMER_ACCOUNT_NUMBER": 19,
    "BILL_CUSTOMER_SITE_NUMBER": 20,
    "LINE_TYPE": 26,
    "DESCRIPTION": 27,
    "CURRENCY_CODE": 28,
    "CONVERSION_TYPE": 29,
    "CONVERSION_DATE": 30,
    "CONVERSION_RATE": 31,
    "AMOUNT": 32,
    "QUANTITY": 33,
    "UNIT_SELLING_PRICE": 35,
    "INTERFACE_LINE_CONTEXT": 37,
    "TAX_CODE": 54,
    "SALES_ORDER": 57,
    "UOM_CODE": 61,
    "INVOICING_RULE_NAME": 63,
    "ACCOUNTING_RULE_NAME": 64,
    "ACCOUNTING_RULE_DURATION": 65,
    "RULE_START_DATE": 66,
    "AMOUNT_INCLUDES_TAX_FLAG": 95,
    "CREDIT_METHOD_FOR_ACCT_RULE": 97,
    "MEMO_LINE_NAME": 111,
    "LINK_TO_LINE_CONTEXT": 114,
    "REFERENCE_LINE_CONTEXT": 130,
    "EGP_SYSTEM_ITEMS_SEG1": 166,
    "BU_NAME": 287,
    "COMMENTS": 288,
    "INTERNAL_NOTES": 289,
}
LINE_ATTR_START, REF_ATTR_START, DIST_ATTR_START, DIST_SEG_START = 38, 131, 7, 22
LINK_ATTR_START = 115
# Simulated texts (Oracle's exact wording for these was not found; see docs/oracle-setup.md).
TAX_NOT_LINKED = (
    "A tax line must be linked to the transaction line it taxes: enter LINK_TO_LINE_CONTEXT "
    "and LINK_TO_LINE_ATTRIBUTE values."
)
TAX_LINK_NOT_FOUND = (
    "The LINK_TO_LINE_CONTEXT and LINK_TO_LINE_ATTRIBUTE values of this tax line don't match "
    "a transaction line."
)
DIST_POS = {
    "ORG_ID": 1,
    "ACCOUNT_CLASS": 2,
    "AMOUNT": 3,
    "PERCENT": 4,
    "INTERFACE_LINE_CONTEXT": 6,
    "BU_NAME": 99,
}
_CLASSES = {
    "REV": "Revenue",
    "REC": "Receivable",
    "TAX": "Tax",
    "FREIGHT": "Freight",
    "CHARGES": "Charges",
    "UNBILL": "Unbilled Receivable",
    "UNEARN": "Unearned",
}
DUPLICATE_KEY = (
    "Each line must have a unique combination of INTERFACE_LINE_CONTEXT and "
    "INTERFACE_LINE_ATTRIBUTE values for the transaction flexfield."
)


def _cell(record: list[str], pos: int) -> str:
    return record[pos - 1].strip() if pos - 1 < len(record) else ""


@dataclass
class _Line:
    row: int
    record: list[str]
    key: tuple[str, ...]
    errors: list[tuple[str, str]] = field(default_factory=list)
    amount: Decimal = Decimal(0)
    reference: tuple[int, dict[str, Any]] | None = None
    taxed: LineTax | None = None

    def get(self, name: str) -> str:
        return _cell(self.record, LINE_POS[name])


def _records(text: str) -> list[list[str]]:
    return [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]


def _key(record: list[str], context_pos: int, start: int) -> tuple[str, ...]:
    return (_cell(record, context_pos), *(_cell(record, start + i) for i in range(15)))


def run_autoinvoice_job(
    ctx: SimContext,
    files: dict[str, str],
    params: list[str],
    ids: list[int],
    load_log: list[str],
    package: str,
) -> tuple[list[StepResult], Callable[[], None] | None]:
    from ml_connector_sim.oracle.erpintegrations import LOADER, StepResult

    if "RaInterfaceLinesAll.csv" not in files:
        load_log.append("RaInterfaceLinesAll.csv is missing from the zip; nothing was loaded.")
        return [StepResult(*LOADER, "ERROR", "\n".join(load_log))], None
    lines = _records(files["RaInterfaceLinesAll.csv"])
    dists = _records(files.get("RaInterfaceDistributionsAll.csv", ""))
    load_log.append(
        f"{len(lines)} rows loaded into RA_INTERFACE_LINES_ALL, {len(dists)} into "
        "RA_INTERFACE_DISTRIBUTIONS_ALL."
    )
    loader = StepResult(*LOADER, "SUCCEEDED", "\n".join(load_log))
    padded = [*params, "", "", ""]
    log = [
        f"Import AutoInvoice: request {ids[1]}",
        f"Parameters: business unit={padded[0]}, transaction source={padded[1]}, "
        f"default date={padded[2]}",
    ]

    def fatal(message: str) -> tuple[list[StepResult], None]:
        log.append(message)
        return [
            loader,
            StepResult(package, AUTOINVOICE_JOB, "Import AutoInvoice", "ERROR", "\n".join(log)),
        ], None

    setup = ctx.setup
    bu = setup.business_unit(padded[0]) or next(
        (b for b in setup.business_units if str(b.org_id) == padded[0]), None
    )
    if bu is None:
        return fatal(f"The business unit {padded[0]} isn't valid.")
    source = setup.transaction_source(padded[1])
    if source is None or (
        source.business_units is not None and bu.name not in source.business_units
    ):
        return fatal(
            "The transaction source isn't valid for the business unit based on "
            "reference set association."
        )
    try:
        default_date = parse_date(padded[2] or ctx.options.clock().date(), "default date")
    except ValueError as exc:
        return fatal(str(exc))
    mine = [
        _Line(n, r, _key(r, LINE_POS["INTERFACE_LINE_CONTEXT"], LINE_ATTR_START))
        for n, r in enumerate(lines, start=1)
        if _cell(r, LINE_POS["BATCH_SOURCE_NAME"]) == source.name
        and (
            _cell(r, LINE_POS["BU_NAME"]) == bu.name
            or _cell(r, LINE_POS["ORG_ID"]) == str(bu.org_id)
        )
    ]
    contexts = setup.receivables.line_transaction_contexts
    for line in mine:
        if contexts is not None and line.key[0] not in contexts:
            return fatal(
                f"You must enter a valid context for the {line.key[0]} flexfield.\n"
                "Error calling fdfdfa()"
            )
    log.append(f"Interface lines selected: {len(mine)}")
    dist_by_key: dict[tuple[str, ...], list[list[str]]] = defaultdict(list)
    for record in dists:
        dist_by_key[_key(record, DIST_POS["INTERFACE_LINE_CONTEXT"], DIST_ATTR_START)].append(
            record
        )
    _check_links(mine)
    created, rejected = _process(ctx, mine, dist_by_key, source.name, bu.name, default_date, ids[1])
    report = [
        f"AutoInvoice Execution Report (request {ids[1]})",
        f"Transactions created: {len(created)}",
        f"Lines rejected: {len(rejected)}",
    ]
    report.extend(
        f"Row {e.interface_line_key}: {e.message_text} [{e.invalid_value}]" for e in rejected
    )
    status: EssStatus = "WARNING" if rejected else "SUCCEEDED"
    log.append(f"{len(created)} transaction(s) created; {len(rejected)} error(s).")

    def commit() -> None:
        for trx in created:
            ctx.state.transactions[trx.transaction_id] = trx
            if trx.applied_to is not None:
                ctx.state.transactions[trx.applied_to].credited += trx.amount
        ctx.state.interface_errors.extend(rejected)

    return [
        loader,
        StepResult(package, AUTOINVOICE_JOB, "Import AutoInvoice", status, "\n".join(log)),
        StepResult(
            package,
            "AutoInvoiceMainEss",
            "AutoInvoice Execution Report",
            "SUCCEEDED",
            f"Execution report for request {ids[1]}",
            "\n".join(report),
        ),
    ], commit


def _check_links(lines: list[_Line]) -> None:
    """TAX lines point at a LINE line of the same file; FREIGHT/CHARGES may, LINE never does."""
    parents = {line.key for line in lines if line.get("LINE_TYPE") == "LINE"}
    for line in lines:
        link = _key(line.record, LINE_POS["LINK_TO_LINE_CONTEXT"], LINK_ATTR_START)
        linked = any(link)
        if line.get("LINE_TYPE") == "TAX" and not linked:
            line.errors.append((TAX_NOT_LINKED, "|".join(line.key)))
        elif linked and link not in parents:
            line.errors.append((TAX_LINK_NOT_FOUND, "|".join(link)))


def _find_invoice_line(ctx: SimContext, key: tuple[str, ...]) -> tuple[int, dict[str, Any]] | None:
    for trx in ctx.state.transactions.values():
        if trx.kind != "invoice":
            continue
        for line in trx.lines:
            if line.get("_key") == key:
                return trx.transaction_id, line
    return None


def _check_line(
    ctx: SimContext,
    line: _Line,
    default_date: date,
    seen: set[tuple[str, ...]],
    trx_class: TransactionClass | None,
) -> None:
    err = line.errors.append
    if line.key in seen or line.key in ctx.state.used_line_keys:
        err((DUPLICATE_KEY, "|".join(line.key)))
    seen.add(line.key)
    try:
        amount = parse_amount(line.get("AMOUNT"), "AMOUNT")
        qty = parse_amount(line.get("QUANTITY"), "QUANTITY")
        price = parse_amount(line.get("UNIT_SELLING_PRICE"), "UNIT_SELLING_PRICE")
    except ValueError as exc:
        err((str(exc), ""))
        return
    if amount is None and (qty is None or price is None):
        err(("You must provide an amount, or a quantity and a unit selling price.", ""))
        return
    line.amount = amount if amount is not None else (qty * price).quantize(_CENT)  # type: ignore[operator]
    line.taxed, problem = line_tax(
        ctx.setup,
        "|".join(line.key),
        line.get("TAX_CODE") or None,
        line.get("AMOUNT_INCLUDES_TAX_FLAG"),
        line.amount,
        line.get("CURRENCY_CODE"),
        flag_name="AMOUNT_INCLUDES_TAX_FLAG",
    )
    if problem is not None:
        err((problem.text, line.get("TAX_CODE") or line.get("AMOUNT_INCLUDES_TAX_FLAG")))
    if trx_class == TransactionClass.CM:
        for column in ("ACCOUNTING_RULE_DURATION", "RULE_START_DATE"):
            if line.get(column):
                err((f"For credit memos, don't enter a value in {column}.", line.get(column)))
        trx_type = ctx.setup.transaction_type(line.get("CUST_TRX_TYPE_NAME"))
        sign = trx_type.creation_sign if trx_type else "Negative"
        if (line.amount > 0 and sign == "Negative") or (line.amount < 0 and sign == "Positive"):
            err(
                (
                    "The line amount sign doesn't match the creation sign of the credit memo "
                    "transaction type.",
                    str(line.amount),
                )
            )
        ref = _key(line.record, LINE_POS["REFERENCE_LINE_CONTEXT"], REF_ATTR_START)
        if any(ref):
            line.reference = _find_invoice_line(ctx, ref)
            if line.reference is None:
                err(
                    (
                        "The transaction referenced by REFERENCE_LINE_CONTEXT and "
                        "REFERENCE_LINE_ATTRIBUTE values doesn't exist.",
                        "|".join(ref),
                    )
                )
            elif line.get("LINE_TYPE") == "LINE":
                method = line.get("CREDIT_METHOD_FOR_ACCT_RULE")
                refusal = credit_method_problem(line.reference[1], method)
                if refusal is not None:
                    err((refusal, method))


def _process(
    ctx: SimContext,
    mine: list[_Line],
    dists: dict[tuple[str, ...], list[list[str]]],
    source: str,
    bu: str,
    default_date: date,
    request_id: int,
) -> tuple[list[Transaction], list[InterfaceError]]:
    setup = ctx.setup
    seen: set[tuple[str, ...]] = set()
    groups: dict[tuple[str, ...], list[_Line]] = defaultdict(list)
    for line in mine:
        trx_type = setup.transaction_type(line.get("CUST_TRX_TYPE_NAME"))
        _check_line(ctx, line, default_date, seen, trx_type.transaction_class if trx_type else None)
        ref_id = str(line.reference[0]) if line.reference else ""
        groups[
            (
                line.get("CUST_TRX_TYPE_NAME"),
                line.get("TRX_NUMBER"),
                line.get("BILL_CUSTOMER_ACCOUNT_NUMBER"),
                line.get("BILL_CUSTOMER_SITE_NUMBER"),
                line.get("CURRENCY_CODE"),
                line.get("TRX_DATE"),
                line.get("GL_DATE"),
                line.get("CONVERSION_TYPE"),
                line.get("CONVERSION_RATE"),
                line.get("INTERNAL_NOTES"),
                ref_id,
            )
        ].append(line)
    created: list[Transaction] = []
    rejected: list[InterfaceError] = []
    numbers_taken: set[str] = set()
    for members in groups.values():
        first = members[0]
        trx = _build(
            ctx, first, members, dists, source, bu, default_date, request_id, numbers_taken
        )
        errors = [(m, e) for m in members for e in m.errors]
        if errors or trx is None:
            rejected.extend(
                InterfaceError(request_id, "|".join(m.key), text, value)
                for m, (text, value) in errors
            )
            continue
        numbers_taken.add(trx.number)
        ctx.state.used_line_keys.update(m.key for m in members)
        created.append(trx)
    return created, rejected


def _build(
    ctx: SimContext,
    first: _Line,
    members: list[_Line],
    dists: dict[tuple[str, ...], list[list[str]]],
    source: str,
    bu: str,
    default_date: date,
    request_id: int,
    numbers_taken: set[str],
) -> Transaction | None:
    setup = ctx.setup
    try:
        trx_date = parse_date(first.get("TRX_DATE") or default_date, "TRX_DATE")
        gl_date = parse_date(first.get("GL_DATE") or trx_date, "GL_DATE")
    except ValueError as exc:
        first.errors.append((str(exc), first.get("TRX_DATE")))
        return None
    trx_type = setup.transaction_type(first.get("CUST_TRX_TYPE_NAME"))
    expected = trx_type.transaction_class if trx_type else TransactionClass.INV
    number = first.get("TRX_NUMBER") or None
    header, problems = check_header(
        setup,
        HeaderInput(
            bu,
            source,
            first.get("CUST_TRX_TYPE_NAME"),
            first.get("BILL_CUSTOMER_ACCOUNT_NUMBER"),
            None,
            first.get("BILL_CUSTOMER_SITE_NUMBER") or None,
            first.get("CURRENCY_CODE"),
            first.get("CONVERSION_TYPE"),
            first.get("CONVERSION_DATE"),
            first.get("CONVERSION_RATE"),
            trx_date,
            gl_date,
            number,
        ),
        expected=expected,
        number_taken=lambda s, n: ctx.state.number_in_use(s, n) or n in numbers_taken,
    )
    for problem in problems:
        if problem is CUSTOMER_NOT_FOUND:
            text = (
                "You must enter a valid bill-to customer account number. The current number "
                "is {BILL_CUSTOMER_ACCOUNT_NUMBER."
            )
            first.errors.append((text, first.get("BILL_CUSTOMER_ACCOUNT_NUMBER")))
        elif problem is SITE_NOT_FOUND:
            first.errors.append((problem.text, first.get("BILL_CUSTOMER_SITE_NUMBER")))
        elif problem.text == NUMBERING_RULE:
            first.errors.append((NUMBERING_RULE, first.get("TRX_NUMBER")))
        else:
            first.errors.append((problem.text, ""))
    if header is None:
        return None
    if header.source.numbering.value == "AUTOMATIC":
        current = ctx.state.next_numbers.get(source, header.source.next_number)
        ctx.state.next_numbers[source] = current + 1
        number = str(current)
    cm = expected == TransactionClass.CM
    invoicing_rule = first.get("INVOICING_RULE_NAME") or None
    if not cm:
        for rule_problem in rule_problems(
            setup,
            invoicing_rule,
            (
                RuledLine(
                    "|".join(m.key),
                    m.get("ACCOUNTING_RULE_NAME") or None,
                    m.get("ACCOUNTING_RULE_DURATION"),
                )
                for m in members
                if m.get("LINE_TYPE") == "LINE"
            ),
        ):
            first.errors.append((rule_problem.text, invoicing_rule or ""))
    out_lines, out_dists = [], []
    for index, member in enumerate(members, start=1):
        line: dict[str, Any] = {
            "CustomerTransactionLineId": ctx.state.new_line_id(),
            "LineNumber": index,
            ("LineDescription" if cm else "Description"): member.get("DESCRIPTION"),
            ("LineAmountCredit" if cm else "LineAmount"): member.amount,
            "MemoLine": member.get("MEMO_LINE_NAME") or None,
            "ItemNumber": member.get("EGP_SYSTEM_ITEMS_SEG1") or None,
            "SalesOrder": member.get("SALES_ORDER") or None,
            "LineType": member.get("LINE_TYPE"),
            "TaxClassificationCode": member.get("TAX_CODE") or None,
            "LineAmountIncludesTax": member.get("AMOUNT_INCLUDES_TAX_FLAG") or None,
            "_amount": member.taxed.total if member.taxed else member.amount,
            "_key": member.key,
            "_children": {
                (
                    "receivablesCreditMemoLineTransactionDFF"
                    if cm
                    else "receivablesInvoiceLineTransactionDFF"
                ): [
                    {
                        "__FLEX_Context": member.key[0],
                        **{
                            f"InterfaceLineAttribute{i}": v
                            for i, v in enumerate(member.key[1:], 1)
                            if v
                        },
                    }
                ]
            },
        }
        if not cm and member.get("ACCOUNTING_RULE_NAME"):
            line["AccountingRule"] = member.get("ACCOUNTING_RULE_NAME")
            line["AccountingRuleDuration"] = member.get("ACCOUNTING_RULE_DURATION") or None
            line["RuleStartDate"] = member.get("RULE_START_DATE") or None
        if cm and member.get("CREDIT_METHOD_FOR_ACCT_RULE"):
            line["CreditMethodForRules"] = member.get("CREDIT_METHOD_FOR_ACCT_RULE")
        taxed = member.taxed
        revenue = taxed.revenue if taxed else member.amount
        if taxed is not None:
            tax_child = (
                "receivablesCreditMemoLineTaxLines" if cm else "receivablesInvoiceLineTaxLines"
            )
            line["_children"][tax_child] = [taxed.tax_line()]
        out_lines.append(line)
        revenue_amounts: list[Decimal] = []
        for record in dists.get(member.key, []):
            segments = [
                _cell(record, DIST_SEG_START + i)
                for i in range(len(setup.chart_of_accounts.segments))
            ]
            combination = setup.chart_of_accounts.delimiter.join(segments)
            if not setup.chart_of_accounts.is_valid_combination(segments):
                member.errors.append(
                    (f"The account combination {combination} isn't valid.", combination)
                )
            account_class = _CLASSES.get(_cell(record, DIST_POS["ACCOUNT_CLASS"]), "Revenue")
            amount = parse_amount(_cell(record, DIST_POS["AMOUNT"]), "AMOUNT")
            percent = parse_amount(_cell(record, DIST_POS["PERCENT"]), "PERCENT")
            if account_class == "Revenue" and amount is not None:
                revenue_amounts.append(amount)
            elif account_class == "Revenue" and percent is not None:
                amount = round_to(revenue * percent / 100, first.get("CURRENCY_CODE"))
            out_dists.append(
                {
                    "DistributionId": ctx.state.new_line_id(),
                    "AccountClass": account_class,
                    "AccountCombination": combination,
                    "Amount": amount,
                    "Percent": percent,
                    ("CreditMemoLineNumber" if cm else "InvoiceLineNumber"): index,
                }
            )
        if taxed is not None:
            mismatch = revenue_problem("|".join(member.key), taxed, revenue_amounts)
            if mismatch is not None:
                member.errors.append((mismatch.text, str(sum(revenue_amounts, Decimal(0)))))
            out_dists.append(
                {
                    "DistributionId": ctx.state.new_line_id(),
                    **taxed.tax_distribution(
                        "CreditMemoLineNumber" if cm else "InvoiceLineNumber", index
                    ),
                }
            )
    if any(m.errors for m in members):
        return None
    legal_entity = setup.legal_entity(header.business_unit.legal_entity)
    return new_transaction(
        ctx,
        header,
        kind="credit_memo" if cm else "invoice",
        number=number or "",
        attributes={
            "LegalEntityIdentifier": legal_entity.identifier,
            "PaymentTerms": None if cm else (first.get("TERM_NAME") or None),
            "InternalNotes": first.get("INTERNAL_NOTES") or None,
            "Comments": first.get("COMMENTS") or None,
            **({"InvoicingRule": invoicing_rule} if invoicing_rule and not cm else {}),
        },
        lines=out_lines,
        distributions=out_dists,
        children={},
        created_at=ctx.options.clock(),
        request_id=request_id,
        applied_to=first.reference[0] if first.reference else None,
    )
