"""Oracle's validations on Receivables documents, shared by REST create and AutoInvoice.

Texts are Oracle's where Oracle documents them (message names like ``AR_BU_NOT_FOUND``). Where no
Oracle text was found (duplicate number, closed period, bad account), the code starts with
``SIM_`` so nobody mistakes the wording for Oracle's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ml_connector_sim.oracle.errors import Detail
from ml_connector_sim.oracle.tenant import (
    BusinessUnit,
    Customer,
    Numbering,
    TenantSetup,
    TransactionClass,
    TransactionSource,
    TransactionType,
)

BU_NOT_FOUND = Detail("The business unit you entered doesn't exist.", "AR_BU_NOT_FOUND")
SOURCE_NOT_FOUND = Detail(
    "The transaction source you entered doesn't exist.", "AR_BATCH_SOURCE_NOT_FOUND"
)
CUSTOMER_NOT_FOUND = Detail(
    "The criteria you entered didn't return a bill-to customer. Ensure that you entered the "
    "correct customer name and account number.",
    "AR_BILL_TO_CUST_NOT_FOUND",
)
SITE_NOT_FOUND = Detail(
    "The customer bill-to site you entered doesn't exist.", "AR_BILL_TO_SITE_NOT_FOUND"
)
LEDGER_CURRENCY_ONLY = Detail(
    "The currency you entered is invalid. You can only create an invoice in the ledger currency.",
    "AR_FUNC_CURRENCY_REQ",
)
CURRENCY_INVALID = Detail("The currency is invalid.", "AR_RAPI_CURR_CODE_INVALID")
COMPLETE_ONLY = Detail(
    "You can only create a complete invoice. You can't create an incomplete or frozen invoice. "
    "(AR-857798)",
    "AR-857798",
)
NUMBERING_RULE = (
    "You must provide a transaction number if the transaction source indicates manual "
    "transaction numbering. Otherwise don't provide a transaction number."
)


def required(attribute: str) -> Detail:
    return Detail(
        f"You must provide a value for the attribute {attribute}.",
        "FND_CMN_REQ_ATTRIB_API_SERV",
        attribute,
    )


def line_needs_content(number: object) -> Detail:
    return Detail(
        f"Enter a value for item, memo line, or description for line {number}.",
        "AR_LINE_ATTR_OPT_REQ",
    )


def invalid_account(combination: str) -> Detail:
    return Detail(
        f"The account combination {combination} isn't valid for the chart of accounts.",
        "SIM_GL_INVALID_ACCOUNT",
    )


def period_closed(day: date, period: str) -> Detail:
    return Detail(
        f"The accounting date {day.isoformat()} isn't in an open accounting period ({period}).",
        "SIM_AR_PERIOD_NOT_OPEN",
    )


def duplicate_number(number: str, source: str) -> Detail:
    return Detail(
        f"The transaction number {number} already exists for the transaction source {source}.",
        "SIM_AR_DUPLICATE_TRX_NUMBER",
    )


def parse_date(value: Any, attribute: str) -> date:
    if isinstance(value, date):
        return value
    text = str(value or "").strip().replace("/", "-")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"The value {value} of {attribute} isn't a valid date.") from None


def parse_amount(value: Any, attribute: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"The value {value} of {attribute} isn't a valid number.") from None


@dataclass(frozen=True)
class Header:
    """A header that passed every master-data check."""

    business_unit: BusinessUnit
    source: TransactionSource
    trx_type: TransactionType
    customer: Customer
    site: str
    currency: str
    conversion: dict[str, Any]
    transaction_date: date
    accounting_date: date
    number: str | None


@dataclass
class HeaderInput:
    business_unit: str | None
    source: str | None
    trx_type: str | None
    customer_number: str | None
    customer_name: str | None
    site: str | None
    currency: str | None
    rate_type: str | None
    rate_date: Any
    rate: Any
    transaction_date: date
    accounting_date: date
    number: str | None


def check_header(
    setup: TenantSetup,
    data: HeaderInput,
    *,
    expected: TransactionClass,
    number_taken: Any,
) -> tuple[Header | None, list[Detail]]:
    """Return the resolved header or every problem found, in Oracle's order of checks."""
    problems: list[Detail] = []
    bu = setup.business_unit(data.business_unit)
    if not data.business_unit:
        problems.append(required("BusinessUnit"))
    elif bu is None:
        problems.append(BU_NOT_FOUND)
    source = setup.transaction_source(data.source)
    if not data.source:
        problems.append(required("TransactionSource"))
    elif source is None or (
        bu is not None
        and source.business_units is not None
        and bu.name not in source.business_units
    ):
        problems.append(SOURCE_NOT_FOUND)
    trx_type = setup.transaction_type(data.trx_type)
    if not data.trx_type:
        problems.append(required("TransactionType"))
    elif trx_type is None:
        problems.append(
            Detail("The transaction type you entered doesn't exist.", "SIM_AR_TRX_TYPE_NOT_FOUND")
        )
    elif trx_type.transaction_class != expected:
        problems.append(
            Detail(
                f"The transaction type {trx_type.name} isn't of class {expected.value}.",
                "SIM_AR_TRX_TYPE_CLASS",
            )
        )
    customer = setup.customer(data.customer_number, data.customer_name)
    site = data.site
    if customer is None:
        problems.append(CUSTOMER_NOT_FOUND)
    else:
        sites = [s.site_number for s in customer.sites if s.purpose == "BILL_TO"]
        if site is None and len(sites) == 1:
            site = sites[0]
        elif site not in sites:
            problems.append(SITE_NOT_FOUND)
    conversion: dict[str, Any] = {}
    currency = (data.currency or "").strip()
    ledger = setup.ledger(bu.ledger) if bu else None
    if ledger is not None:
        currency = currency or ledger.currency
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
            problems.append(CURRENCY_INVALID)
        elif currency != ledger.currency:
            conversion, conversion_problem = _conversion(setup, data)
            if conversion_problem:
                problems.append(conversion_problem)
    if not setup.is_open(data.accounting_date):
        problems.append(
            period_closed(data.accounting_date, setup.period_name(data.accounting_date))
        )
    if source is not None:
        if (source.numbering == Numbering.MANUAL) != bool(data.number):
            problems.append(Detail(NUMBERING_RULE, "SIM_AR_TRX_NUMBER_RULE", "TransactionNumber"))
        elif (
            data.number
            and not source.allow_duplicate_numbers
            and number_taken(source.name, data.number)
        ):
            problems.append(duplicate_number(data.number, source.name))
    if problems or not (bu and source and trx_type and customer and site):
        return None, problems
    return (
        Header(
            business_unit=bu,
            source=source,
            trx_type=trx_type,
            customer=customer,
            site=site,
            currency=currency,
            conversion=conversion,
            transaction_date=data.transaction_date,
            accounting_date=data.accounting_date,
            number=data.number,
        ),
        [],
    )


def _conversion(setup: TenantSetup, data: HeaderInput) -> tuple[dict[str, Any], Detail | None]:
    if not data.rate_type or not data.rate_date:
        return {}, LEDGER_CURRENCY_ONLY
    rate_type = setup.rate_type(data.rate_type)
    if rate_type is None:
        return {}, Detail(
            f"The conversion rate type {data.rate_type} isn't valid.", "SIM_AR_RATE_TYPE_INVALID"
        )
    try:
        rate_date = parse_date(data.rate_date, "ConversionDate")
        rate = parse_amount(data.rate, "ConversionRate")
    except ValueError as exc:
        return {}, Detail(str(exc), "SIM_AR_CONVERSION_INVALID")
    if rate_type.requires_rate and (rate is None or rate <= 0):
        return {}, required("ConversionRate")
    conversion: dict[str, Any] = {"ConversionRateType": rate_type.name, "ConversionDate": rate_date}
    conversion["ConversionRate"] = rate if rate is not None else Decimal(1)
    return conversion, None
