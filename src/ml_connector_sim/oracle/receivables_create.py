"""Deep create for Receivables REST: validate a payload and build the ``Transaction``.

Child resources can only be supplied at create time, so lines, distributions and their children
are all checked here, in Oracle's order, before anything is stored.

Tax is a child of the line it taxes (``receivablesInvoiceLineTaxLines``, each with a
``TaxAmount``); a Tax distribution names that line and, with ``DetailedTaxLineNumber``, its tax
line. A Tax distribution on a line that carries no tax line — tax sent as an ordinary line — is
refused, as a pod refuses it. A line with a ``TaxClassificationCode`` gets its tax from the
tax engine instead (``tax_rules``): the computed tax line, a Tax distribution on the rate's
account, and Revenue distributions by percent of the line's revenue after tax. Invoicing and
accounting rules are checked together.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
from ml_connector_sim.oracle.errors import Detail, OracleError
from ml_connector_sim.oracle.receivables_spec import Spec
from ml_connector_sim.oracle.state import Transaction
from ml_connector_sim.oracle.tax_rules import (
    LineTax,
    RuledLine,
    line_tax,
    revenue_problem,
    round_to,
    rule_problems,
)
from ml_connector_sim.oracle.transactions import new_transaction

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


def bad_request(detail: str, code: str, path: str | None = None) -> OracleError:
    return OracleError.one(400, detail, code, path)


def _decimal(value: Any, attribute: str) -> Decimal | None:
    try:
        return parse_amount(value, attribute)
    except ValueError as exc:
        raise bad_request(str(exc), "SIM_INVALID_NUMBER", attribute) from None


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
        raise bad_request(str(exc), "SIM_INVALID_DATE") from None
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
        raise bad_request(
            f"The payment terms {payload['PaymentTerms']} don't exist.", "SIM_AR_TERMS"
        )
    lines = _lines(ctx, spec, payload.get(spec.lines) or [], header.currency)
    if spec.kind == "invoice":
        rules = rule_problems(
            setup,
            payload.get("InvoicingRule"),
            (
                RuledLine(x["LineNumber"], x.get("AccountingRule"), x.get("AccountingRuleDuration"))
                for x in lines
            ),
        )
        if rules:
            raise OracleError(400, rules)
    distributions = _distributions(
        ctx, spec, payload.get(spec.distributions) or [], lines, header.currency
    )
    for line in lines:
        line.pop("_tax", None)
    if spec.kind == "credit_memo" and any(line["_amount"] > 0 for line in lines):
        raise bad_request(
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
    return new_transaction(
        ctx,
        header,
        kind=spec.kind,
        number=number,
        attributes=extras,
        lines=lines,
        distributions=distributions,
        children=children,
        created_at=now,
        user=user,
    )


def _lines(ctx: SimContext, spec: Spec, raw: list[Any], currency: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise bad_request(f"You must provide at least one line in {spec.lines}.", "SIM_AR_NO_LINES")
    lines: list[dict[str, Any]] = []
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise bad_request(f"{spec.lines} items must be objects.", "SIM_AR_LINE_SHAPE")
        number = item.get("LineNumber", index)
        if not any(item.get(k) for k in (spec.line_desc, "Description", "MemoLine", "ItemNumber")):
            raise OracleError(400, [line_needs_content(number)])
        qty = _decimal(item.get(spec.line_qty), spec.line_qty)
        price = _decimal(item.get("UnitSellingPrice"), "UnitSellingPrice")
        amount = _decimal(item.get(spec.line_amount), spec.line_amount)
        if amount is None:
            if qty is None or price is None:
                raise bad_request(
                    f"Line {number} needs {spec.line_amount} or {spec.line_qty} and "
                    "UnitSellingPrice.",
                    "SIM_AR_LINE_AMOUNT",
                )
            amount = (qty * price).quantize(CENT)
        _check_tax_lines(spec, number, item)
        taxed, problem = line_tax(
            ctx.setup,
            number,
            item.get("TaxClassificationCode"),
            item.get("LineAmountIncludesTax"),
            amount,
            currency,
        )
        if problem is not None:
            raise OracleError(400, [problem])
        if taxed is not None and item.get(spec.line_children[0]):
            raise bad_request(
                f"Line {number} has a tax classification code and manual tax lines: send one "
                "or the other.",
                "SIM_AR_TAX_CODE_AND_MANUAL_TAX",
                spec.line_children[0],
            )
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
                raise bad_request(DUPLICATE_KEY, "SIM_AR_DUPLICATE_LINE_KEY", spec.line_children[2])
            line["_key"] = key
        children = {n: item[n] for n in spec.line_children if isinstance(item.get(n), list)}
        if taxed is not None:
            children[spec.line_children[0]] = [taxed.tax_line()]
        line.update(
            {
                "CustomerTransactionLineId": ctx.state.new_line_id(),
                "LineNumber": number,
                spec.line_amount: amount,
                "_amount": taxed.total if taxed is not None else amount + tax,
                "_revenue": taxed.revenue if taxed is not None else amount,
                "_children": children,
            }
        )
        if taxed is not None:
            line["_tax"] = taxed
        lines.append(line)
    numbers = [line["LineNumber"] for line in lines]
    if len(set(numbers)) != len(numbers):
        raise bad_request("Each line must have a unique LineNumber.", "SIM_AR_LINE_NUMBER")
    return lines


def _distributions(
    ctx: SimContext, spec: Spec, raw: list[Any], lines: list[dict[str, Any]], currency: str
) -> list[dict[str, Any]]:
    coa = ctx.setup.chart_of_accounts
    numbers = {line["LineNumber"] for line in lines}
    by_number = {line["LineNumber"]: line for line in lines}
    out = []
    problems: list[Detail] = []
    for item in raw:
        if not isinstance(item, dict):
            raise bad_request(f"{spec.distributions} items must be objects.", "SIM_AR_DIST_SHAPE")
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
        elif account_class == "Tax":
            problems.extend(_tax_distribution_problems(spec, item, line_no, lines))
        dist = dict(item)
        dist["DistributionId"] = ctx.state.new_line_id()
        if item.get("Amount") is not None:
            dist["Amount"] = _decimal(item["Amount"], "Amount")
        elif (
            item.get("Percent") is not None and account_class == "Revenue" and line_no in by_number
        ):
            # A share of the line's revenue, after the tax Oracle took out of an inclusive line.
            share = _decimal(item["Percent"], "Percent") or Decimal(0)
            dist["Amount"] = round_to(by_number[line_no]["_revenue"] * share / 100, currency)
        out.append(dist)
    sent = list(zip(out, raw, strict=True))
    for line in lines:
        taxed: LineTax | None = line.get("_tax")
        if taxed is None:
            continue
        revenue = [
            d["Amount"]
            for d, item in sent
            if d.get("AccountClass") == "Revenue"
            and d.get(spec.dist_line) == line["LineNumber"]
            and item.get("Amount") is not None
        ]
        problem = revenue_problem(line["LineNumber"], taxed, revenue)
        if problem is not None:
            problems.append(problem)
        computed = taxed.tax_distribution(spec.dist_line, line["LineNumber"])
        out.append({**computed, "DistributionId": ctx.state.new_line_id()})
    if problems:
        raise OracleError(400, problems)
    return out


def _tax_lines(spec: Spec, line: dict[str, Any]) -> list[dict[str, Any]]:
    raw = line["_children"].get(spec.line_children[0]) or []
    return [t for t in raw if isinstance(t, dict)]


def _tax_distribution_problems(
    spec: Spec, item: dict[str, Any], line_no: Any, lines: list[dict[str, Any]]
) -> list[Detail]:
    line = next(x for x in lines if x["LineNumber"] == line_no)
    taxes = _tax_lines(spec, line)
    if not taxes:
        return [
            Detail(
                f"The tax distribution for line {line_no} doesn't match a tax line of that "
                f"line. Send tax in {spec.line_children[0]} of the line it taxes.",
                "SIM_AR_TAX_DIST_NO_TAX_LINE",
                spec.dist_line,
            )
        ]
    detail = item.get("DetailedTaxLineNumber")
    numbers = [t.get("TaxLineNumber", n) for n, t in enumerate(taxes, start=1)]
    if detail is not None and detail not in numbers:
        return [
            Detail(
                f"The detailed tax line {detail} doesn't exist on line {line_no}.",
                "SIM_AR_TAX_DIST_LINE",
                "DetailedTaxLineNumber",
            )
        ]
    return []


def _check_tax_lines(spec: Spec, number: Any, item: dict[str, Any]) -> None:
    for tax in item.get(spec.line_children[0]) or []:
        if not isinstance(tax, dict) or tax.get("TaxAmount") in (None, ""):
            raise OracleError.one(
                400,
                "You must provide a value for the attribute TaxAmount.",
                "FND_CMN_REQ_ATTRIB_API_SERV",
                f"{spec.line_children[0]} of line {number}",
            )
        if tax.get("TaxRateCode") and not tax.get("TaxRegimeCode"):
            raise bad_request(
                f"Line {number}: a tax rate code needs its tax regime code.",
                "SIM_AR_TAX_REGIME",
                "TaxRegimeCode",
            )


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
