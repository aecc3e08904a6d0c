"""Journal Import: the zipped GL_INTERFACE CSV becomes journal batches, or error rows.

Rows are positional in the template order (149 columns plus an optional ``END``). Rows group
into a batch by REFERENCE1 (batch name) and into a journal per ledger, currency, category,
period and REFERENCE4 (journal name). A journal that fails any check is not imported; its rows
keep an EBS-heritage error code (EU02 unbalanced, EF04 bad account...) in the job's output,
one line per rejected row: ``Row <n> | Batch <REFERENCE1> | <code> <reason>``.

Like a pod, the import refuses a row that leaves a template-required column empty
(``REQUIRED_COLUMNS``, the "Journal Entry Creation Date" DATE_CREATED included) and a reversal
flag (REFERENCE7, "Reverse Journal") that is neither Y nor N.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ml_connector_sim.oracle.checks import parse_amount, parse_date
from ml_connector_sim.oracle.state import Journal, JournalBatch, JournalLine, SimState
from ml_connector_sim.oracle.tenant import Ledger, TenantSetup


def _gl_columns() -> list[str]:
    cols = [
        "STATUS",
        "LEDGER_ID",
        "ACCOUNTING_DATE",
        "USER_JE_SOURCE_NAME",
        "USER_JE_CATEGORY_NAME",
        "CURRENCY_CODE",
        "DATE_CREATED",
        "ACTUAL_FLAG",
    ]
    cols += [f"SEGMENT{i}" for i in range(1, 31)]
    cols += ["ENTERED_DR", "ENTERED_CR", "ACCOUNTED_DR", "ACCOUNTED_CR"]
    cols += [f"REFERENCE{i}" for i in range(1, 11)] + [f"REFERENCE{i}" for i in range(21, 31)]
    cols += [
        "STAT_AMOUNT",
        "USER_CURRENCY_CONVERSION_TYPE",
        "CURRENCY_CONVERSION_DATE",
        "CURRENCY_CONVERSION_RATE",
        "GROUP_ID",
        "ATTRIBUTE_CATEGORY",
    ]
    cols += [f"ATTRIBUTE{i}" for i in range(1, 21)]
    cols += [
        "ATTRIBUTE_CATEGORY3",
        "AVERAGE_JOURNAL_FLAG",
        "ORIGINATING_BAL_SEG_VALUE",
        "LEDGER_NAME",
        "ENCUMBRANCE_TYPE_ID",
        "JGZZ_RECON_REF",
        "PERIOD_NAME",
        "REFERENCE18",
        "REFERENCE19",
        "REFERENCE20",
    ]
    cols += [f"ATTRIBUTE_DATE{i}" for i in range(1, 11)]
    cols += [f"ATTRIBUTE_NUMBER{i}" for i in range(1, 11)]
    cols += ["GLOBAL_ATTRIBUTE_CATEGORY"] + [f"GLOBAL_ATTRIBUTE{i}" for i in range(1, 21)]
    cols += [f"GLOBAL_ATTRIBUTE_DATE{i}" for i in range(1, 6)]
    cols += [f"GLOBAL_ATTRIBUTE_NUMBER{i}" for i in range(1, 6)]
    return cols


GL_INTERFACE_COLUMNS = _gl_columns()
# Required in the JournalImportTemplate GL_INTERFACE sheet (NOT NULL in GL_INTERFACE), with the
# template's labels; a ledger is named by LEDGER_ID or LEDGER_NAME (checked separately).
REQUIRED_COLUMNS = {
    "STATUS": "Status Code",
    "ACCOUNTING_DATE": "Effective Date of Transaction",
    "USER_JE_SOURCE_NAME": "Journal Source",
    "USER_JE_CATEGORY_NAME": "Journal Category",
    "CURRENCY_CODE": "Currency Code",
    "DATE_CREATED": "Journal Entry Creation Date",
    "ACTUAL_FLAG": "Actual Flag",
}
REVERSAL_FLAG = "REFERENCE7"
_REFERENCE_KEYS = [f"REFERENCE{i}" for i in (*range(1, 11), *range(18, 31))]


@dataclass
class _Row:
    number: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)


@dataclass
class JournalImportResult:
    """What the Import Journals child job reports and, if it succeeded, what it commits."""

    status: str
    log: str
    output: str
    commit: Callable[[], None] | None


def read_gl_interface(text: str) -> list[_Row]:
    rows = []
    for number, record in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not any(cell.strip() for cell in record):
            continue
        values = {
            col: (record[i].strip() if i < len(record) else "")
            for i, col in enumerate(GL_INTERFACE_COLUMNS)
        }
        rows.append(_Row(number, values))
    return rows


def run_journal_import(
    setup: TenantSetup,
    state: SimState,
    rows: list[_Row],
    *,
    source: str,
    ledger: Ledger,
    group_id: str,
    request_id: int,
) -> JournalImportResult:
    """Validate every row, balance every journal, and prepare the batches to commit."""
    selected = [
        r for r in rows if group_id in ("", "ALL", "#NULL") or r.values["GROUP_ID"] == group_id
    ]
    log = [
        f"Journal Import: source={source}, ledger={ledger.name} ({ledger.ledger_id}), "
        f"group id={group_id or 'ALL'}, request id={request_id}",
        f"Rows selected from GL_INTERFACE: {len(selected)}",
    ]
    if not selected:
        log.append("No rows in GL_INTERFACE match the parameters. Nothing was imported.")
        return JournalImportResult("WARNING", "\n".join(log), "", None)
    for row in selected:
        _check_row(setup, ledger, source, row)
    journals: dict[tuple[str, ...], list[_Row]] = defaultdict(list)
    for row in selected:
        v = row.values
        journals[
            (
                v["REFERENCE1"],
                v["CURRENCY_CODE"],
                v["USER_JE_CATEGORY_NAME"],
                v["PERIOD_NAME"] or _period(setup, v),
                v["REFERENCE4"],
            )
        ].append(row)
    for key, members in journals.items():
        if any(r.errors for r in members):
            continue
        dr = sum(
            (parse_amount(r.values["ENTERED_DR"], "ENTERED_DR") or Decimal(0) for r in members),
            Decimal(0),
        )
        cr = sum(
            (parse_amount(r.values["ENTERED_CR"], "ENTERED_CR") or Decimal(0) for r in members),
            Decimal(0),
        )
        if dr != cr:
            for r in members:
                r.errors.append(
                    f"EU02 This journal entry is unbalanced: entered debits {dr} "
                    f"and credits {cr} in {key[1]} for journal {key[4] or key[2]}."
                )
    errors = [r for r in selected if r.errors]
    output = ["Journal Import Execution Report", f"Request ID: {request_id}", ""]
    if errors:
        rejected = [
            f"Row {r.number} | Batch {r.values['REFERENCE1'] or '(none)'} | {e}"
            for r in errors
            for e in r.errors
        ]
        output.extend(["Rejected rows", *rejected])
        log.append(
            f"Journal Import found errors in {len(errors)} of {len(selected)} rows; "
            "no journals were created for the failing batches. Correct the rows in "
            "GL_INTERFACE and import them again."
        )
        log.extend(rejected)
        return JournalImportResult("ERROR", "\n".join(log), "\n".join(output), None)
    batches = _build(setup, state, ledger, source, group_id, request_id, journals)
    for batch in batches:
        output.append(
            f"Batch {batch.name}: {len(batch.journals)} journal(s), "
            f"{sum(len(j.lines) for j in batch.journals)} line(s) imported"
        )
    log.append(f"Journal Import completed: {len(batches)} batch(es) created.")

    def commit() -> None:
        for batch in batches:
            state.batches[batch.batch_id] = batch

    return JournalImportResult("SUCCEEDED", "\n".join(log), "\n".join(output), commit)


def _period(setup: TenantSetup, values: dict[str, str]) -> str:
    try:
        return setup.period_name(parse_date(values["ACCOUNTING_DATE"], "ACCOUNTING_DATE"))
    except ValueError:
        return ""


def _check_row(setup: TenantSetup, ledger: Ledger, source: str, row: _Row) -> None:
    v, err = row.values, row.errors.append
    for column, label in REQUIRED_COLUMNS.items():
        if not v[column]:
            err(f"EM01 The required column {column} ({label}) is empty.")
    if not v["LEDGER_ID"] and not v["LEDGER_NAME"]:
        err("EM01 Enter the ledger: LEDGER_ID or LEDGER_NAME is required.")
    if v["DATE_CREATED"]:
        try:
            parse_date(v["DATE_CREATED"], "DATE_CREATED")
        except ValueError:
            err(f"EM02 The journal entry creation date {v['DATE_CREATED']!r} isn't a valid date.")
    if v[REVERSAL_FLAG] not in ("", "Y", "N"):
        err(
            f"EM03 The reverse journal flag {REVERSAL_FLAG} must be Y or N; found "
            f"{v[REVERSAL_FLAG]!r}."
        )
    if v["STATUS"] != "NEW":
        err(f"STATUS must be NEW (found {v['STATUS']!r}).")
    if v["LEDGER_ID"] and v["LEDGER_ID"] != str(ledger.ledger_id):
        err(f"EL01 The ledger id {v['LEDGER_ID']} doesn't match the import's ledger.")
    if v["LEDGER_NAME"] and v["LEDGER_NAME"] != ledger.name:
        err(f"EL01 The ledger {v['LEDGER_NAME']} doesn't match the import's ledger.")
    if v["ACTUAL_FLAG"] != "A":
        err(f"EB01 Only actual journals (ACTUAL_FLAG A) are enabled; found {v['ACTUAL_FLAG']!r}.")
    if v["USER_JE_SOURCE_NAME"] != source:
        err(f"ES01 The journal source {v['USER_JE_SOURCE_NAME']!r} doesn't match the import.")
    if v["USER_JE_CATEGORY_NAME"] not in setup.general_ledger.journal_categories:
        err(f"EC05 The journal category {v['USER_JE_CATEGORY_NAME']!r} doesn't exist.")
    day: date | None = None
    try:
        day = parse_date(v["ACCOUNTING_DATE"], "ACCOUNTING_DATE")
    except ValueError:
        err(f"EP01 The accounting date {v['ACCOUNTING_DATE']!r} isn't a valid date.")
    if day is not None and not setup.is_open(day):
        err(
            f"EP01 The accounting date {day.isoformat()} isn't in an open or future-enterable "
            f"period ({setup.period_name(day)})."
        )
    if day is not None and v["PERIOD_NAME"] and v["PERIOD_NAME"] != setup.period_name(day):
        err(f"EP03 The period {v['PERIOD_NAME']} doesn't contain the date {day.isoformat()}.")
    coa = setup.chart_of_accounts
    segments = [v[f"SEGMENT{i}"] for i in range(1, len(coa.segments) + 1)]
    extra = [v[f"SEGMENT{i}"] for i in range(len(coa.segments) + 1, 31) if v[f"SEGMENT{i}"]]
    if extra or not coa.is_valid_combination(segments):
        err(f"EF04 The account {coa.delimiter.join(segments)} isn't a valid combination.")
    try:
        dr = parse_amount(v["ENTERED_DR"], "ENTERED_DR")
        cr = parse_amount(v["ENTERED_CR"], "ENTERED_CR")
    except ValueError as exc:
        err(f"EN01 {exc}")
        return
    if (dr is None) == (cr is None):
        err("EN02 Enter either ENTERED_DR or ENTERED_CR on each line, not both or neither.")
    _check_conversion(setup, ledger, v, err)


def _check_conversion(
    setup: TenantSetup, ledger: Ledger, v: dict[str, str], err: Callable[[str], None]
) -> None:
    currency = v["CURRENCY_CODE"]
    if len(currency) != 3 or not currency.isalpha():
        err(f"EC10 The currency {currency!r} isn't valid.")
        return
    if currency == ledger.currency:
        return
    rate_type = setup.rate_type(v["USER_CURRENCY_CONVERSION_TYPE"])
    if rate_type is None:
        err(
            f"EC02 A valid conversion rate type is required for {currency} "
            f"(found {v['USER_CURRENCY_CONVERSION_TYPE']!r})."
        )
    if not v["CURRENCY_CONVERSION_DATE"]:
        err(f"EC03 A conversion date is required for {currency}.")
    if rate_type is not None and rate_type.requires_rate and not v["CURRENCY_CONVERSION_RATE"]:
        err("EC01 A conversion rate is required with the User conversion rate type.")


def _amount(text: str) -> Decimal | None:
    return parse_amount(text, "amount")


def _build(
    setup: TenantSetup,
    state: SimState,
    ledger: Ledger,
    source: str,
    group_id: str,
    request_id: int,
    journals: dict[tuple[str, ...], list[_Row]],
) -> list[JournalBatch]:
    batches: dict[str, JournalBatch] = {}
    now = state.clock()
    for (batch_name, currency, category, period, journal_name), rows in journals.items():
        first = rows[0].values
        name = batch_name or f"{source} {request_id} {now.date().isoformat()}"
        batch = batches.get(name)
        if batch is None:
            batch = JournalBatch(
                state.new_batch_id(),
                name,
                first["REFERENCE2"],
                source,
                period,
                group_id,
                request_id,
                now,
                [],
            )
            batches[name] = batch
        lines = []
        for number, row in enumerate(rows, start=1):
            v = row.values
            segments = [
                v[f"SEGMENT{i}"] for i in range(1, len(setup.chart_of_accounts.segments) + 1)
            ]
            rate = _amount(v["CURRENCY_CONVERSION_RATE"]) or Decimal(1)
            dr, cr = _amount(v["ENTERED_DR"]), _amount(v["ENTERED_CR"])
            lines.append(
                JournalLine(
                    number=number,
                    segments=segments,
                    account=setup.chart_of_accounts.delimiter.join(segments),
                    entered_dr=dr,
                    entered_cr=cr,
                    accounted_dr=_amount(v["ACCOUNTED_DR"])
                    or (dr * rate if dr is not None else None),
                    accounted_cr=_amount(v["ACCOUNTED_CR"])
                    or (cr * rate if cr is not None else None),
                    description=v["REFERENCE10"],
                    references={k: v[k] for k in _REFERENCE_KEYS if v[k]},
                )
            )
        batch.journals.append(
            Journal(
                header_id=state.new_header_id(),
                name=journal_name or f"{category} {currency} {request_id}",
                description=first["REFERENCE5"],
                ledger=ledger.name,
                category=category,
                source=source,
                currency=currency,
                period=period,
                accounting_date=parse_date(first["ACCOUNTING_DATE"], "ACCOUNTING_DATE"),
                conversion={
                    k: first[k]
                    for k in (
                        "USER_CURRENCY_CONVERSION_TYPE",
                        "CURRENCY_CONVERSION_DATE",
                        "CURRENCY_CONVERSION_RATE",
                    )
                    if first[k]
                },
                lines=lines,
                references={k: first[k] for k in _REFERENCE_KEYS if first[k]},
            )
        )
    return list(batches.values())
