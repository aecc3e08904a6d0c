"""GL_INTERFACE rows for FBDI Journal Import, written in Oracle's positional column order.

The CSV has no header: a value one column off lands in the wrong field silently. So the column
order is data shipped with the package (checked against the reference file by a test), rows are
written by column *name*, and every journal is checked to balance before a file can exist.

Every column the template requires is filled (`REQUIRED_COLUMNS`, "Journal Entry Creation
Date" DATE_CREATED included), and each REFERENCE column carries what the template defines:
REFERENCE1/2 batch name/description, REFERENCE4/5 journal name/description, REFERENCE6 journal
entry reference, REFERENCE7 the reverse-journal flag (Y/N) with REFERENCE8 the reversal period
and REFERENCE9 the reversal method, REFERENCE10 the line description, REFERENCE21..30 free-text
line references (docs/oracle-setup.md "Journal Import file").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources

GL_INTERFACE_CSV = "GlInterface.csv"
END_MARKER = "END"
_NAME_LIMIT = 25  # USER_JE_SOURCE_NAME / USER_JE_CATEGORY_NAME
_REFERENCE_LIMIT = 240
# Required on the template's GL_INTERFACE sheet (and NOT NULL in GL_INTERFACE); the ledger is
# named by LEDGER_ID or LEDGER_NAME.
REQUIRED_COLUMNS = (
    "STATUS",
    "ACCOUNTING_DATE",
    "USER_JE_SOURCE_NAME",
    "USER_JE_CATEGORY_NAME",
    "CURRENCY_CODE",
    "DATE_CREATED",
    "ACTUAL_FLAG",
)
FREE_TEXT_REFERENCES = frozenset({3, 6, *range(21, 31)})


class FbdiBuildError(ValueError):
    """The rows cannot become a file Oracle would accept (unbalanced, missing, too long)."""


@cache
def gl_interface_columns() -> tuple[str, ...]:
    """The 149 GL_INTERFACE template columns in CSV order."""
    text = resources.files(__package__).joinpath("gl_interface_columns.json").read_text("utf-8")
    return tuple(json.loads(text)["columns"])


def fbdi_date(value: dt.date) -> str:
    """FBDI dates are `YYYY/MM/DD` (the template's format, proven on pods)."""
    return value.strftime("%Y/%m/%d")


def fbdi_amount(value: Decimal) -> str:
    if not value.is_finite():
        raise FbdiBuildError("amount must be finite")
    return format(value, "f")


@dataclass(frozen=True, slots=True)
class GlInterfaceLine:
    """One GL_INTERFACE row: exactly one of `entered_dr` / `entered_cr`, never negative."""

    ledger_name: str
    source: str
    category: str
    accounting_date: dt.date
    currency: str
    segments: tuple[str, ...]
    batch_name: str
    journal_name: str
    group_id: int
    entered_dr: Decimal | None = None
    entered_cr: Decimal | None = None
    ledger_id: str | None = None
    batch_description: str | None = None
    journal_description: str | None = None
    line_description: str | None = None
    references: Mapping[int, str] = field(default_factory=dict)
    conversion_type: str | None = None
    conversion_date: dt.date | None = None
    conversion_rate: Decimal | None = None
    period_name: str | None = None
    actual_flag: str = "A"
    date_created: dt.date | None = None  # Journal Entry Creation Date; the accounting date if None
    reverse_journal: bool = False  # REFERENCE7
    reversal_period: str | None = None  # REFERENCE8

    def __post_init__(self) -> None:
        if (self.entered_dr is None) == (self.entered_cr is None):
            raise FbdiBuildError("a GL_INTERFACE row carries exactly one of debit or credit")
        amount = self.entered_dr if self.entered_dr is not None else self.entered_cr
        if amount is not None and amount < 0:
            raise FbdiBuildError("debit/credit amounts are not negative; swap the side instead")
        if not 1 <= len(self.segments) <= 30 or not all(self.segments):
            raise FbdiBuildError("an account needs 1-30 non-empty segment values")
        for name, value in (("source", self.source), ("category", self.category)):
            if not value or len(value) > _NAME_LIMIT:
                raise FbdiBuildError(f"journal {name} name must be 1-{_NAME_LIMIT} characters")
        for text in (self.batch_name, self.journal_name):
            if not text or len(text) > _REFERENCE_LIMIT:
                raise FbdiBuildError("batch and journal names must be 1-240 characters")
        if set(self.references) & {1, 2, 4, 5, 7, 8, 9, 10}:
            raise FbdiBuildError(
                "REFERENCE1/2/4/5/10 (names, descriptions) and REFERENCE7/8/9 (reversal flag, "
                "period, method) are set through their named fields"
            )
        if not set(self.references) <= FREE_TEXT_REFERENCES:
            raise FbdiBuildError("only REFERENCE3, REFERENCE6 and REFERENCE21-30 carry free text")
        if self.reversal_period is not None and not self.reverse_journal:
            raise FbdiBuildError("a reversal period is only given for a reversing journal")
        if self.group_id <= 0:
            raise FbdiBuildError("GROUP_ID must be a positive number")

    @property
    def signed_amount(self) -> Decimal:
        if self.entered_dr is not None:
            return self.entered_dr
        assert self.entered_cr is not None
        return -self.entered_cr

    def columns(self) -> dict[str, str]:
        """Values by GL_INTERFACE column name; absent columns are written empty."""
        values: dict[str, str | None] = {
            "STATUS": "NEW",
            "LEDGER_ID": self.ledger_id,
            "LEDGER_NAME": self.ledger_name,
            "ACCOUNTING_DATE": fbdi_date(self.accounting_date),
            "USER_JE_SOURCE_NAME": self.source,
            "USER_JE_CATEGORY_NAME": self.category,
            "CURRENCY_CODE": self.currency,
            "DATE_CREATED": fbdi_date(self.date_created or self.accounting_date),
            "ACTUAL_FLAG": self.actual_flag,
            "ENTERED_DR": fbdi_amount(self.entered_dr) if self.entered_dr is not None else None,
            "ENTERED_CR": fbdi_amount(self.entered_cr) if self.entered_cr is not None else None,
            "REFERENCE1": self.batch_name,
            "REFERENCE2": self.batch_description,
            "REFERENCE4": self.journal_name,
            "REFERENCE5": self.journal_description,
            "REFERENCE7": "Y" if self.reverse_journal else "N",
            "REFERENCE8": self.reversal_period,
            "REFERENCE10": self.line_description,
            "USER_CURRENCY_CONVERSION_TYPE": self.conversion_type,
            "CURRENCY_CONVERSION_DATE": (
                fbdi_date(self.conversion_date) if self.conversion_date else None
            ),
            "CURRENCY_CONVERSION_RATE": (
                fbdi_amount(self.conversion_rate) if self.conversion_rate is not None else None
            ),
            "GROUP_ID": str(self.group_id),
            "PERIOD_NAME": self.period_name,
        }
        for index, segment in enumerate(self.segments, start=1):
            values[f"SEGMENT{index}"] = segment
        for number, text in self.references.items():
            values[f"REFERENCE{number}"] = text
        for name, value in values.items():
            if value is not None and name.startswith("REFERENCE") and len(value) > 240:
                raise FbdiBuildError(f"{name} is longer than {_REFERENCE_LIMIT} characters")
        missing = [name for name in REQUIRED_COLUMNS if not values.get(name)]
        if missing or not (self.ledger_id or self.ledger_name):
            raise FbdiBuildError(f"required GL_INTERFACE columns are empty: {missing or 'ledger'}")
        return {name: value for name, value in values.items() if value is not None}


def check_balanced(lines: Iterable[GlInterfaceLine]) -> None:
    """Every journal (group, batch, journal name, currency) must net to zero."""
    totals: dict[tuple[int, str, str, str], Decimal] = defaultdict(Decimal)
    for line in lines:
        key = (line.group_id, line.batch_name, line.journal_name, line.currency)
        totals[key] += line.signed_amount
    unbalanced = {key: total for key, total in totals.items() if total != 0}
    if unbalanced:
        detail = "; ".join(
            f"journal {journal!r} ({currency}) off by {total}"
            for (_g, _b, journal, currency), total in sorted(unbalanced.items())
        )
        raise FbdiBuildError(f"unbalanced journal: {detail}")


def gl_interface_csv(lines: Iterable[GlInterfaceLine], *, end_marker: bool = True) -> bytes:
    """The header-less GlInterface.csv (UTF-8 without BOM, CRLF) for the given rows."""
    rows = list(lines)
    if not rows:
        raise FbdiBuildError("a journal import needs at least one row")
    if len({row.group_id for row in rows}) != 1:
        raise FbdiBuildError("one file carries one GROUP_ID (it is the import job's parameter)")
    check_balanced(rows)
    order = gl_interface_columns()
    known = set(order)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        values = row.columns()
        unknown = set(values) - known
        if unknown:
            raise FbdiBuildError(f"not GL_INTERFACE columns: {sorted(unknown)}")
        record = [values.get(name, "") for name in order]
        writer.writerow([*record, END_MARKER] if end_marker else record)
    return buffer.getvalue().encode("utf-8")
