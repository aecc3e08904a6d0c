"""Typed Receivables payloads, spelled exactly as Oracle spells its attributes.

Field names are Oracle's (`BusinessUnit`, `receivablesInvoiceLines`, ...) rather than snake case
so a payload can be checked against Oracle's documentation by eye and so no mapping layer can
silently drop a field. Models are frozen and forbid unknown fields: a typo fails here, not as an
opaque 400 from the pod. Attribute names: reference/oracle-fusion.md §4.3, §5.1 and
oracle-fbdi.md §3.1-§3.2, §4.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_serializer,
    model_validator,
)

_STRICT = ConfigDict(extra="forbid", frozen=True)
_LENIENT = ConfigDict(extra="allow", frozen=True)

Text240 = Annotated[str, Field(min_length=1, max_length=240)]
Money = Annotated[Decimal, Field(allow_inf_nan=False)]


def _id_text(value: object) -> object:
    """Oracle sends 15-18 digit ids as numbers or (framework 9) strings; keep them as text."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return value


OracleId = Annotated[str, BeforeValidator(_id_text)]
AccountClass = Literal["Revenue", "Receivable", "Tax", "Freight"]
#: Whether a line amount includes its tax: ``Y`` (Oracle's tax engine computes the tax inside
#: the amount), ``N`` (on top of it); absent: the tax rate's own setting. The codes of the
#: interface attribute ``AmountIncludesTax`` behind REST and AutoInvoice's
#: AMOUNT_INCLUDES_TAX_FLAG (docs/oracle-setup.md "Tax-inclusive lines").
IncludesTax = Literal["Y", "N"]


class Flexfield(BaseModel):
    """A descriptive flexfield row: `__FLEX_Context` plus pod-specific segment attributes."""

    model_config = _STRICT

    context: str | None = None
    segments: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, value: Any) -> Any:
        """Accept Oracle's own shape too, so a dumped payload validates back unchanged."""
        if isinstance(value, dict) and not set(value) <= {"context", "segments"}:
            segments = {k: v for k, v in value.items() if k != "__FLEX_Context"}
            return {"context": value.get("__FLEX_Context"), "segments": segments}
        return value

    @model_serializer
    def _wire(self) -> dict[str, Any]:
        body: dict[str, Any] = dict(self.segments)
        if self.context is not None:
            body["__FLEX_Context"] = self.context
        return body


class InvoiceLineTaxLine(BaseModel):
    """A manual tax line (`receivablesInvoiceLineTaxLines`), a child of the line it taxes:
    Receivables carries tax this way, never as an ordinary line (reference/oracle-fusion.md
    §4.3, oracle-fbdi.md §3.2). `TaxLineNumber` is what a Tax distribution's
    `DetailedTaxLineNumber` names."""

    model_config = _STRICT

    TaxAmount: Money
    TaxRegimeCode: str | None = None
    TaxRateCode: str | None = None
    Tax: str | None = None
    TaxLineNumber: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _paired_codes(self) -> InvoiceLineTaxLine:
        if self.TaxRateCode is not None and self.TaxRegimeCode is None:
            raise ValueError("a TaxRateCode is given with its TaxRegimeCode")
        return self


class InvoiceLine(BaseModel):
    model_config = _STRICT

    LineNumber: int = Field(ge=1)
    Description: Text240
    Quantity: Decimal
    UnitSellingPrice: Money
    LineAmount: Money | None = None
    ItemNumber: str | None = None
    MemoLine: Annotated[str, Field(max_length=50)] | None = None
    UnitOfMeasure: str | None = None
    TaxClassificationCode: str | None = None
    LineAmountIncludesTax: IncludesTax | None = None
    SalesOrder: str | None = None
    AccountingRule: str | None = None
    AccountingRuleDuration: int | None = Field(default=None, ge=1)
    RuleStartDate: dt.date | None = None
    receivablesInvoiceLineTaxLines: list[InvoiceLineTaxLine] | None = None
    receivablesInvoiceLineDFF: list[Flexfield] | None = None
    receivablesInvoiceLineTransactionDFF: list[Flexfield] | None = None

    @model_validator(mode="after")
    def _tax_and_rules(self) -> InvoiceLine:
        """Oracle computes a tax-inclusive line's tax from its code, so a ``Y`` needs one and
        cannot sit beside manual tax lines; rule details need their rule."""
        if self.LineAmountIncludesTax == "Y" and not self.TaxClassificationCode:
            raise ValueError(
                f"line {self.LineNumber}: LineAmountIncludesTax needs a TaxClassificationCode"
            )
        if self.TaxClassificationCode and self.receivablesInvoiceLineTaxLines:
            raise ValueError(
                f"line {self.LineNumber}: a TaxClassificationCode (Oracle computes the tax) "
                "and manual tax lines would tax it twice"
            )
        if self.AccountingRule is None and (
            self.AccountingRuleDuration is not None or self.RuleStartDate is not None
        ):
            raise ValueError(f"line {self.LineNumber}: rule duration or start without a rule")
        return self


class InvoiceDistribution(BaseModel):
    """Header-level distribution; `InvoiceLineNumber` ties it to a line (absent for REC).

    An `Amount` or a `Percent` of the line (one of them): a tax-inclusive line's Revenue
    distribution is sent as ``Percent`` 100, because its net amount is what Oracle's tax
    engine leaves after taking the tax out (docs/oracle-setup.md "Tax-inclusive lines").
    """

    model_config = _STRICT

    AccountClass: AccountClass
    AccountCombination: str = Field(min_length=1)
    Amount: Money | None = None
    InvoiceLineNumber: int | None = None
    DetailedTaxLineNumber: int | None = Field(default=None, ge=1)
    Percent: Annotated[Decimal, Field(gt=0, le=100)] | None = None
    Comments: str | None = None

    @model_validator(mode="after")
    def _amount_or_percent(self) -> InvoiceDistribution:
        if (self.Amount is None) == (self.Percent is None):
            raise ValueError("a distribution has an Amount or a Percent (one of them)")
        if self.AccountClass == "Receivable" and self.Amount is None:
            raise ValueError("the Receivable distribution carries the invoice's Amount")
        return self


def _require_unique(numbers: list[int]) -> None:
    if len(set(numbers)) != len(numbers):
        raise ValueError("LineNumber values must be unique")


class _TransactionCreate(BaseModel):
    """What an invoice and a credit memo create body share.

    The leading header attributes (subclasses add theirs after these, so the wire order is
    unchanged), the idempotency lookup key and the wire form.
    """

    model_config = _STRICT

    BusinessUnit: str = Field(min_length=1, max_length=240)
    TransactionSource: str = Field(min_length=1)
    TransactionType: str = Field(min_length=1)
    TransactionNumber: str | None = Field(default=None, max_length=20)
    TransactionDate: dt.date
    AccountingDate: dt.date | None = None
    BillToCustomerNumber: str = Field(min_length=1, max_length=30)

    def _lookup_key(self, cross_reference: str | None, missing: str) -> tuple[str, str]:
        """Number first, then reference; ``missing`` is the error when there is neither."""
        if self.TransactionNumber:
            return ("TransactionNumber", self.TransactionNumber)
        if cross_reference:
            return ("CrossReference", cross_reference)
        raise ValueError(missing)

    def wire(self) -> dict[str, Any]:
        """The POST body: Oracle names, no nulls, money still `Decimal` (see `wire.encode`)."""
        return self.model_dump(mode="python", exclude_none=True)


class InvoiceCreate(_TransactionCreate):
    """One complete deep POST: Oracle does not accept lines, distributions or DFFs later."""

    BillToSite: str | None = Field(default=None, max_length=150)
    InvoiceCurrencyCode: str = Field(pattern=r"^[A-Z]{3}$")
    ConversionRateType: str | None = None
    ConversionDate: dt.date | None = None
    ConversionRate: Decimal | None = None
    CrossReference: str | None = Field(default=None, max_length=150)
    PaymentTerms: str | None = None
    InvoicingRule: str | None = None
    Comments: str | None = Field(default=None, max_length=1760)
    InternalNotes: str | None = None
    PurchaseOrder: str | None = None
    LegalEntityIdentifier: str | None = None
    InvoiceStatus: Literal["Complete", "Incomplete"] = "Complete"
    receivablesInvoiceLines: list[InvoiceLine] = Field(min_length=1)
    receivablesInvoiceDistributions: list[InvoiceDistribution] | None = None
    receivablesInvoiceDFF: list[Flexfield] | None = None
    receivablesInvoiceTransactionDFF: list[Flexfield] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InvoiceCreate:
        numbers = [line.LineNumber for line in self.receivablesInvoiceLines]
        _require_unique(numbers)
        ruled = [line.LineNumber for line in self.receivablesInvoiceLines if line.AccountingRule]
        # Receivables schedules revenue only with both rules: the invoicing rule on the header,
        # the accounting (revenue scheduling) rule on each ruled line.
        if ruled and not self.InvoicingRule:
            raise ValueError(f"lines {ruled} have an AccountingRule but there is no InvoicingRule")
        if self.InvoicingRule and not ruled:
            raise ValueError("an InvoicingRule needs at least one line with an AccountingRule")
        dists = self.receivablesInvoiceDistributions or []
        taxed = {
            line.LineNumber: {t.TaxLineNumber for t in line.receivablesInvoiceLineTaxLines or []}
            for line in self.receivablesInvoiceLines
            if line.receivablesInvoiceLineTaxLines
        }
        for dist in dists:
            if dist.InvoiceLineNumber is not None and dist.InvoiceLineNumber not in numbers:
                raise ValueError(f"distribution names unknown line {dist.InvoiceLineNumber}")
            if dist.AccountClass == "Tax" and (
                dist.InvoiceLineNumber not in taxed
                or (
                    dist.DetailedTaxLineNumber is not None
                    and dist.DetailedTaxLineNumber not in taxed[dist.InvoiceLineNumber]
                )
            ):
                raise ValueError(
                    f"Tax distribution on line {dist.InvoiceLineNumber} names no tax line of it"
                )
        receivable = [d.Amount for d in dists if d.AccountClass == "Receivable"]
        if len(receivable) > 1:
            raise ValueError("an invoice has at most one Receivable distribution")
        amounts = [d.Amount for d in dists if d.AccountClass != "Receivable"]
        # With a share by percent the net is Oracle's to compute; the total is checked by amount.
        if receivable and receivable[0] is not None and None not in amounts:
            others = sum((a for a in amounts if a is not None), Decimal(0))
            if others != receivable[0]:
                raise ValueError(
                    f"Receivable distribution {receivable[0]} differs from the sum of the "
                    f"other distributions {others}"
                )
        return self

    @property
    def lookup_key(self) -> tuple[str, str]:
        """The idempotency key used to find this invoice again: number first, then reference."""
        return self._lookup_key(
            self.CrossReference,
            "invoice has neither TransactionNumber nor CrossReference to look up",
        )


class Invoice(BaseModel):
    """An invoice as Oracle returns it; unknown attributes are kept, not rejected."""

    model_config = _LENIENT

    CustomerTransactionId: OracleId
    TransactionNumber: str | None = None
    CrossReference: str | None = None
    TransactionSource: str | None = None
    TransactionType: str | None = None
    BusinessUnit: str | None = None
    InvoiceStatus: str | None = None
    InvoiceCurrencyCode: str | None = None
    EnteredAmount: Decimal | None = None
    InvoiceBalanceAmount: Decimal | None = None
    TransactionDate: dt.date | None = None


class CreditMemoLine(BaseModel):
    model_config = _STRICT

    LineNumber: int = Field(ge=1)
    LineDescription: Text240
    LineQuantityCredit: Decimal | None = None
    UnitSellingPrice: Money | None = None
    LineAmountCredit: Money | None = None
    MemoLine: str | None = None
    ItemNumber: str | None = None
    UnitOfMeasure: str | None = None
    TaxClassificationCode: str | None = None
    LineAmountIncludesTax: IncludesTax | None = None
    LineCreditReason: str | None = None


class CreditMemoDistribution(BaseModel):
    model_config = _STRICT

    AccountClass: AccountClass
    AccountCombination: str = Field(min_length=1)
    Amount: Money
    CreditMemoLineNumber: int | None = None


class CreditMemoCreate(_TransactionCreate):
    """An on-account credit memo (`receivablesCreditMemos`): REST cannot name an invoice."""

    BillToSite: str | None = None
    CreditMemoCurrency: str = Field(pattern=r"^[A-Z]{3}$")
    ConversionRateType: str | None = None
    ConversionDate: dt.date | None = None
    ConversionRate: Decimal | None = None
    CreditReason: str | None = None
    CreditMemoComments: str | None = None
    CrossReference: str | None = Field(default=None, max_length=150)
    receivablesCreditMemoLines: list[CreditMemoLine] = Field(min_length=1)
    receivablesCreditMemoDistributions: list[CreditMemoDistribution] | None = None
    receivablesCreditMemoDFF: list[Flexfield] | None = None

    @model_validator(mode="after")
    def _unique_lines(self) -> CreditMemoCreate:
        _require_unique([line.LineNumber for line in self.receivablesCreditMemoLines])
        return self

    @property
    def lookup_key(self) -> tuple[str, str]:
        return self._lookup_key(
            self.CrossReference, "credit memo has neither TransactionNumber nor CrossReference"
        )


class CreditMemo(BaseModel):
    model_config = _LENIENT

    CustomerTransactionId: OracleId
    TransactionNumber: str | None = None
    CrossReference: str | None = None
    TransactionSource: str | None = None
    CreditMemoCurrency: str | None = None
    EnteredAmount: Decimal | None = None
    CreditMemoStatus: str | None = None
