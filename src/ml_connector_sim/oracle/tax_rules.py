"""What Oracle's tax engine and revenue scheduling do to a line, for REST create and AutoInvoice.

Tax: a line with a tax classification code gets its tax computed from the code's rate. With the
amount-includes-tax flag ``Y`` the tax is inside the amount (``gross × rate / (100 + rate)``,
rounded to the currency's precision) and the line's revenue is the rest; with ``N`` it is added
on top; blank follows the rate's own setting (Fusion's "Tax Treatment on Imported Documents for
Receivables Transactions"). The computed tax becomes a tax line of the line and a Tax
distribution on the rate's tax account; a tax-inclusive line's Revenue distributions must come
to its net revenue (by ``Percent``, or amounts that add up to it).

Rules: an accounting (revenue scheduling) rule on a line needs the transaction's invoicing rule
and the reverse; a variable rule needs the number of periods. A credit memo crediting a ruled
line needs a credit method (PRORATE, LIFO, UNIT). Oracle's exact wording for these refusals was
not found, so their codes start with ``SIM_`` (docs/oracle-setup.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ml_connector_sim.oracle.errors import Detail
from ml_connector_sim.oracle.tenant import TaxClassification, TenantSetup

# ISO 4217 minor units for the currencies Amazon marketplaces settle in that have none.
_NO_MINOR_UNITS = frozenset({"JPY", "KRW", "CLP", "ISK", "VND"})
CREDIT_METHODS = ("PRORATE", "LIFO", "UNIT")
_FLAGS = {"Y": True, "N": False, "": None}


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency`` a document can carry (1 for JPY, 0.01 otherwise)."""
    return Decimal(1) if currency in _NO_MINOR_UNITS else Decimal("0.01")


def round_to(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineTax:
    """The tax Oracle computed on one line: what the line adds to the total and books as revenue."""

    classification: TaxClassification
    inclusive: bool
    tax: Decimal
    revenue: Decimal
    total: Decimal

    def tax_line(self) -> dict[str, Any]:
        """The line's tax line as the REST read-back shows it."""
        return {
            "TaxLineNumber": 1,
            "TaxClassificationCode": self.classification.code,
            "TaxRate": self.classification.rate,
            "TaxableAmount": self.revenue,
            "TaxAmount": self.tax,
            "TaxInclusiveIndicator": "Y" if self.inclusive else "N",
        }

    def tax_distribution(self, line_attribute: str, line_number: Any) -> dict[str, Any]:
        return {
            "AccountClass": "Tax",
            "AccountCombination": self.classification.tax_account,
            "Amount": self.tax,
            line_attribute: line_number,
            "DetailedTaxLineNumber": 1,
        }


def line_tax(
    setup: TenantSetup,
    number: Any,
    code: str | None,
    flag: str | None,
    amount: Decimal,
    currency: str,
    *,
    flag_name: str = "LineAmountIncludesTax",
) -> tuple[LineTax | None, Detail | None]:
    """The tax of one line with ``code`` (or None when it has none), or why Oracle refuses it."""
    flag_text = (flag or "").strip().upper()
    if flag_text not in _FLAGS:
        return None, Detail(
            f"The value {flag} of {flag_name} on line {number} isn't valid. Enter Y or N.",
            "SIM_ZX_INCLUSIVE_FLAG_INVALID",
            flag_name,
        )
    included = _FLAGS[flag_text]
    if not code:
        if included:
            return None, Detail(
                f"Line {number} includes tax in its amount but has no tax classification code "
                "to calculate that tax.",
                "SIM_ZX_INCLUSIVE_WITHOUT_CODE",
                flag_name,
            )
        return None, None
    classification = setup.tax_classification(code)
    if classification is None:
        return None, Detail(
            f"The tax classification code {code} on line {number} isn't valid.",
            "SIM_ZX_TAX_CLASSIFICATION_INVALID",
            "TaxClassificationCode",
        )
    inclusive = classification.amount_includes_tax if included is None else included
    rate = classification.rate
    if inclusive:
        tax = round_to(amount * rate / (100 + rate), currency)
        return LineTax(classification, True, tax, amount - tax, amount), None
    tax = round_to(amount * rate / 100, currency)
    return LineTax(classification, False, tax, amount, amount + tax), None


def revenue_problem(
    number: Any, taxed: LineTax, revenue_amounts: Iterable[Decimal]
) -> Detail | None:
    """A taxed line's Revenue distributions by amount must come to its revenue after tax."""
    amounts = list(revenue_amounts)
    if not amounts or sum(amounts, Decimal(0)) == taxed.revenue:
        return None
    return Detail(
        f"The revenue distributions of line {number} total {sum(amounts, Decimal(0))}, but the "
        f"line's revenue is {taxed.revenue} after tax of {taxed.tax} "
        f"({taxed.classification.code}). Distribute the line by percent or by its revenue.",
        "SIM_AR_REV_DIST_TOTAL",
    )


@dataclass(frozen=True)
class RuledLine:
    number: Any
    rule: str | None
    duration: Any


def rule_problems(
    setup: TenantSetup, invoicing_rule: str | None, lines: Iterable[RuledLine]
) -> list[Detail]:
    """Invoicing and accounting rules of one transaction, checked as Receivables checks them."""
    problems: list[Detail] = []
    ruled = [line for line in lines if line.rule]
    if invoicing_rule and setup.invoicing_rule(invoicing_rule) is None:
        problems.append(
            Detail(
                f"The invoicing rule {invoicing_rule} doesn't exist.",
                "SIM_AR_INVOICING_RULE_INVALID",
                "InvoicingRule",
            )
        )
    if invoicing_rule and not ruled:
        problems.append(
            Detail(
                f"The transaction has the invoicing rule {invoicing_rule}, so its lines need a "
                "revenue scheduling rule.",
                "SIM_AR_ACCOUNTING_RULE_REQUIRED",
                "AccountingRule",
            )
        )
    for line in ruled:
        rule = setup.accounting_rule(line.rule)
        if rule is None:
            problems.append(
                Detail(
                    f"The revenue scheduling rule {line.rule} on line {line.number} doesn't exist.",
                    "SIM_AR_ACCOUNTING_RULE_INVALID",
                    "AccountingRule",
                )
            )
        elif rule.schedule == "variable" and not str(line.duration or "").strip():
            problems.append(
                Detail(
                    f"The revenue scheduling rule {rule.name} on line {line.number} has a "
                    "variable schedule: enter its number of periods (AccountingRuleDuration).",
                    "SIM_AR_RULE_DURATION_REQUIRED",
                    "AccountingRuleDuration",
                )
            )
        if not invoicing_rule:
            problems.append(
                Detail(
                    f"Line {line.number} has the revenue scheduling rule {line.rule}, so the "
                    "transaction needs an invoicing rule.",
                    "SIM_AR_INVOICING_RULE_REQUIRED",
                    "InvoicingRule",
                )
            )
    return problems


def credit_method_problem(credited_line: dict[str, Any], method: str) -> str | None:
    """Why a credit memo line cannot credit ``credited_line`` with ``method``, or None."""
    if not credited_line.get("AccountingRule"):
        return None
    if not method:
        return (
            "The credited transaction line has a revenue scheduling rule: enter PRORATE, LIFO "
            "or UNIT in CREDIT_METHOD_FOR_ACCT_RULE."
        )
    if method not in CREDIT_METHODS:
        return f"The credit method {method} isn't valid. Enter PRORATE, LIFO or UNIT."
    return None
