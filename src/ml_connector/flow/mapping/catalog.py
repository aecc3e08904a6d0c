"""The catalog mapping CSV: which revenue account (and cost center, COGS) each SKU books to.

Every problem is reported with file, line and column, all at once, because a person fixing a
500-line spreadsheet export wants the whole list, not one error per attempt.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ml_connector.domain.money import MoneyError, to_decimal
from ml_connector.flow.mapping.chart import Chart
from ml_connector.flow.mapping.errors import MappingError

REQUIRED_COLUMNS = ("sku", "revenue_account", "cost_center")
OPTIONAL_COLUMNS = ("category", "cogs_account", "inventory_account", "unit_cost", "oracle_item")


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    sku: str
    revenue_account: str
    cost_center: str | None  # None: the marketplace's cost center
    category: str | None = None
    cogs_account: str | None = None
    inventory_account: str | None = None
    unit_cost: Decimal | None = None
    oracle_item: str | None = None


class Catalog(Mapping[str, CatalogEntry]):
    """SKU → entry. SKUs match exactly (Amazon SKUs are case-sensitive)."""

    def __init__(self, entries: Mapping[str, CatalogEntry]) -> None:
        self._entries = dict(entries)

    def __getitem__(self, sku: str) -> CatalogEntry:
        return self._entries[sku]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def _optional(row: dict[str, str], column: str) -> str | None:
    value = row.get(column, "")
    return value or None


def parse_catalog(text: str, source: str, chart: Chart) -> Catalog:
    """Parse catalog CSV text (BOM, blank lines, `#` comments and padding tolerated)."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text))
    problems: list[str] = []
    header: list[str] | None = None
    entries: dict[str, CatalogEntry] = {}
    first_line: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        cells = [cell.strip() for cell in raw]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if header is None:
            header = [cell.lower() for cell in cells]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
            if missing:
                problems.append(f"{source}:{line}: missing column(s): {', '.join(missing)}")
            if unknown:
                known = ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
                problems.append(
                    f"{source}:{line}: unknown column(s): {', '.join(unknown)} (known: {known})"
                )
            if len(set(header)) != len(header):
                problems.append(f"{source}:{line}: a column appears twice in the header")
            if problems:
                raise MappingError(problems)
            continue
        if len(cells) > len(header):
            problems.append(f"{source}:{line}: {len(cells)} values but {len(header)} columns")
            continue
        row = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
        entry = _entry(row, source, line, chart, problems)
        if entry is None:
            continue
        if entry.sku in first_line:
            problems.append(
                f"{source}:{line}: SKU {entry.sku!r} already defined on line "
                f"{first_line[entry.sku]}"
            )
            continue
        first_line[entry.sku] = line
        entries[entry.sku] = entry
    if header is None:
        problems.append(f"{source}: empty file (expected header {','.join(REQUIRED_COLUMNS)})")
    if problems:
        raise MappingError(problems)
    return Catalog(entries)


def _entry(
    row: dict[str, str], source: str, line: int, chart: Chart, problems: list[str]
) -> CatalogEntry | None:
    before = len(problems)
    sku = row["sku"]
    if not sku:
        problems.append(f"{source}:{line}: column 'sku': empty")

    def segment(column: str, name: str, required: bool) -> str | None:
        value = row.get(column, "")
        if not value:
            if required:
                problems.append(f"{source}:{line}: column {column!r}: empty")
            return None
        problem = chart.problem(name, value)
        if problem:
            problems.append(f"{source}:{line}: column {column!r}: {problem}")
        return value

    revenue = segment("revenue_account", "account", required=True)
    cost_center = segment("cost_center", "cost_center", required=False)
    cogs = segment("cogs_account", "account", required=False)
    inventory = segment("inventory_account", "account", required=False)
    unit_cost: Decimal | None = None
    raw_cost = row.get("unit_cost", "")
    if raw_cost:
        try:
            unit_cost = to_decimal(raw_cost)
        except MoneyError:
            unit_cost = None
            problems.append(f"{source}:{line}: column 'unit_cost': {raw_cost!r} is not a number")
        else:
            if unit_cost < 0:
                problems.append(f"{source}:{line}: column 'unit_cost': must not be negative")
    if len(problems) > before or revenue is None:
        return None
    return CatalogEntry(
        sku=sku,
        revenue_account=revenue,
        cost_center=cost_center,
        category=_optional(row, "category"),
        cogs_account=cogs,
        inventory_account=inventory,
        unit_cost=unit_cost,
        oracle_item=_optional(row, "oracle_item"),
    )


def load_catalog(path: Path, chart: Chart) -> Catalog:
    """Read a catalog CSV; the chart comes from the charge mapping so both agree on segments."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MappingError([f"{path.name}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise MappingError([f"{path.name}: not UTF-8 text (save the CSV as UTF-8)"]) from None
    return parse_catalog(text, path.name, chart)
