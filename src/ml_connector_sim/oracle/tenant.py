"""The simulated Fusion tenant: what a real pod's implementation team would have configured.

Oracle refuses documents that name setup it does not know (business units, sources, customers,
accounts, periods), so the simulator needs the same master data to refuse them for the same
reasons. The setup is a JSON file validated by pydantic; errors name the field and the file.
"""

from __future__ import annotations

import calendar
import json
from datetime import date
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class SetupError(ValueError):
    """A setup file that cannot describe a tenant; the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Segment(_Model):
    name: str
    values: dict[str, str] = Field(min_length=1)


class ChartOfAccounts(_Model):
    name: str
    delimiter: str = Field(min_length=1, max_length=1)
    segments: list[Segment] = Field(min_length=1, max_length=30)

    def is_valid_combination(self, values: list[str]) -> bool:
        """Every combination of valid segment values is valid (no cross-validation rules)."""
        if len(values) != len(self.segments):
            return False
        return all(v in seg.values for v, seg in zip(values, self.segments, strict=True))

    def split(self, combination: str) -> list[str]:
        return combination.split(self.delimiter)


class Ledger(_Model):
    name: str
    ledger_id: int
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    chart_of_accounts: str


class LegalEntity(_Model):
    name: str
    identifier: str
    ledger: str


class BusinessUnit(_Model):
    name: str
    org_id: int
    ledger: str
    legal_entity: str


class ConversionRateType(_Model):
    name: str
    requires_rate: bool = False


class Numbering(StrEnum):
    MANUAL = "MANUAL"
    AUTOMATIC = "AUTOMATIC"


class TransactionSource(_Model):
    name: str
    numbering: Numbering
    allow_duplicate_numbers: bool = False
    next_number: int = 1000
    business_units: list[str] | None = None


class TransactionClass(StrEnum):
    INV = "INV"
    CM = "CM"


class TransactionType(_Model):
    name: str
    transaction_class: TransactionClass = Field(alias="class")
    # Oracle's "Creation Sign" of a transaction type. A credit memo type set to "Negative"
    # refuses a positive line, e.g. the reversal of a promotion (a negative invoice line).
    creation_sign: Literal["Positive", "Negative", "Any"] = Field(
        default="Negative", alias="creation_sign"
    )


class CustomerSite(_Model):
    site_number: str
    purpose: str = "BILL_TO"


class Customer(_Model):
    account_number: str
    party_name: str
    party_id: int
    sites: list[CustomerSite] = Field(min_length=1)


class TaxClassification(_Model):
    """A tax classification code and the one rate it stands for (Oracle Tax's rate setup).

    ``tax_account`` is where the computed tax is booked (the rate's tax liability account);
    ``amount_includes_tax`` is the rate's own inclusive setting, used when a line leaves the
    flag blank.
    """

    code: str = Field(min_length=1, max_length=50)
    rate: Decimal = Field(ge=0, lt=100)
    tax_account: str
    amount_includes_tax: bool = False


class AccountingRule(_Model):
    """A revenue scheduling rule: a fixed schedule of ``periods`` or a variable one (the line
    gives the number of periods as its rule duration)."""

    name: str = Field(min_length=1, max_length=30)
    schedule: Literal["fixed", "variable"]
    periods: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _periods(self) -> AccountingRule:
        if (self.schedule == "fixed") != (self.periods is not None):
            raise ValueError("a fixed schedule has periods, a variable one has none")
        return self


class Receivables(_Model):
    transaction_sources: list[TransactionSource] = Field(min_length=1)
    transaction_types: list[TransactionType] = Field(min_length=1)
    payment_terms: list[str] = Field(min_length=1)
    customers: list[Customer] = Field(min_length=1)
    line_transaction_contexts: list[str] | None = None
    tax_classification_codes: list[TaxClassification] = Field(default_factory=list)
    invoicing_rules: list[str] = Field(default_factory=list)
    accounting_rules: list[AccountingRule] = Field(default_factory=list)


class GeneralLedger(_Model):
    journal_sources: list[str] = Field(min_length=1)
    journal_categories: list[str] = Field(min_length=1)


class Periods(_Model):
    first: str = Field(pattern=r"^\d{4}-\d{2}$")
    last: str = Field(pattern=r"^\d{4}-\d{2}$")
    closed: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> Periods:
        if self.first > self.last:
            raise ValueError("first must not be after last")
        return self


class OAuthClient(_Model):
    client_id: str
    client_secret: SecretStr


class Auth(_Model):
    strict: bool = False
    clients: list[OAuthClient] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=lambda: ["urn:opc:resource:consumer::all"])
    jwt_audience: str = "https://identity.oraclecloud.com/"
    jwt_public_key_pem: str | None = None
    allow_basic_auth: bool = True


class TenantSetup(_Model):
    """Everything the simulated pod knows; names match what the connector's mappings send."""

    chart_of_accounts: ChartOfAccounts
    ledgers: list[Ledger] = Field(min_length=1)
    legal_entities: list[LegalEntity] = Field(min_length=1)
    business_units: list[BusinessUnit] = Field(min_length=1)
    conversion_rate_types: list[ConversionRateType]
    receivables: Receivables
    general_ledger: GeneralLedger
    periods: Periods
    auth: Auth = Field(default_factory=Auth)

    @model_validator(mode="after")
    def _references(self) -> TenantSetup:
        ledgers = {ledger.name for ledger in self.ledgers}
        entities = {le.name for le in self.legal_entities}
        for i, ledger in enumerate(self.ledgers):
            if ledger.chart_of_accounts != self.chart_of_accounts.name:
                raise ValueError(
                    f"ledgers[{i}].chart_of_accounts: unknown {ledger.chart_of_accounts!r}"
                )
        for i, le in enumerate(self.legal_entities):
            if le.ledger not in ledgers:
                raise ValueError(f"legal_entities[{i}].ledger: unknown ledger {le.ledger!r}")
        names = {bu.name for bu in self.business_units}
        for i, bu in enumerate(self.business_units):
            if bu.ledger not in ledgers:
                raise ValueError(f"business_units[{i}].ledger: unknown ledger {bu.ledger!r}")
            if bu.legal_entity not in entities:
                raise ValueError(
                    f"business_units[{i}].legal_entity: unknown legal entity {bu.legal_entity!r}"
                )
        for i, src in enumerate(self.receivables.transaction_sources):
            for bu_name in src.business_units or []:
                if bu_name not in names:
                    raise ValueError(
                        f"receivables.transaction_sources[{i}].business_units: unknown {bu_name!r}"
                    )
        coa = self.chart_of_accounts
        for i, tax in enumerate(self.receivables.tax_classification_codes):
            if not coa.is_valid_combination(coa.split(tax.tax_account)):
                raise ValueError(
                    f"receivables.tax_classification_codes[{i}].tax_account: "
                    f"{tax.tax_account!r} isn't a valid account combination"
                )
        return self

    # -- look-ups (case-sensitive, as Fusion's value-based look-ups are) -----------------------

    def business_unit(self, name: str | None) -> BusinessUnit | None:
        return next((bu for bu in self.business_units if bu.name == name), None)

    def ledger(self, name: str) -> Ledger:
        return next(ledger for ledger in self.ledgers if ledger.name == name)

    def ledger_by_id(self, ledger_id: str) -> Ledger | None:
        return next((lg for lg in self.ledgers if str(lg.ledger_id) == ledger_id), None)

    def legal_entity(self, name: str) -> LegalEntity:
        return next(le for le in self.legal_entities if le.name == name)

    def transaction_source(self, name: str | None) -> TransactionSource | None:
        return next((s for s in self.receivables.transaction_sources if s.name == name), None)

    def transaction_type(self, name: str | None) -> TransactionType | None:
        return next((t for t in self.receivables.transaction_types if t.name == name), None)

    def customer(self, number: str | None, name: str | None) -> Customer | None:
        for cust in self.receivables.customers:
            if number and cust.account_number != number:
                continue
            if name and cust.party_name != name:
                continue
            if number or name:
                return cust
        return None

    def tax_classification(self, code: str | None) -> TaxClassification | None:
        return next((t for t in self.receivables.tax_classification_codes if t.code == code), None)

    def invoicing_rule(self, name: str | None) -> str | None:
        return next((r for r in self.receivables.invoicing_rules if r == name), None)

    def accounting_rule(self, name: str | None) -> AccountingRule | None:
        return next((r for r in self.receivables.accounting_rules if r.name == name), None)

    def rate_type(self, name: str | None) -> ConversionRateType | None:
        return next((r for r in self.conversion_rate_types if r.name == name), None)

    def payment_term(self, name: str | None) -> str | None:
        wanted = (name or "").upper()
        return next((t for t in self.receivables.payment_terms if t.upper() == wanted), None)

    def period_name(self, day: date) -> str:
        return f"{_MONTHS[day.month - 1]}-{day.year % 100:02d}"

    def is_open(self, day: date) -> bool:
        key = f"{day.year:04d}-{day.month:02d}"
        if key < self.periods.first or key > self.periods.last:
            return False
        return key not in self.periods.closed and self.period_name(day) not in self.periods.closed

    def open_period_names(self) -> list[str]:
        names = []
        year, month = (int(p) for p in self.periods.first.split("-"))
        while f"{year:04d}-{month:02d}" <= self.periods.last:
            day = date(year, month, calendar.monthrange(year, month)[1])
            if self.is_open(day):
                names.append(self.period_name(day))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return names


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_setup(data: Any, *, source: str = "<setup>") -> TenantSetup:
    """Validate a decoded setup document, naming ``source`` and the failing field."""
    try:
        return TenantSetup.model_validate(data)
    except ValidationError as exc:
        raise SetupError(f"{source}: {_describe(exc)}") from None


def load_setup(path: Path | str) -> TenantSetup:
    """Read a JSON setup file; a missing, unreadable or invalid file is a SetupError."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SetupError(f"{path}: cannot read setup file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise SetupError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return parse_setup(data, source=str(path))


def default_setup() -> TenantSetup:
    """The tenant every other part of ml-connector's default mappings is written against."""
    text = resources.files(__package__).joinpath("default_tenant.json").read_text("utf-8")
    return parse_setup(json.loads(text), source="default_tenant.json")
