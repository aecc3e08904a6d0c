"""The catalog mapping CSV: which revenue account (and cost center, COGS) each SKU books to.

Every problem is reported with file, line and column, all at once (the first `MAX_PROBLEMS` of
them), because a person fixing a 500-line spreadsheet export wants the whole list, not one error
per attempt.

Cells are refused when they are longer than `MAX_CELL_CHARS`, hold a control character (a line
break inside quotes is usually an unclosed quote), or look like a spreadsheet formula: a cell
starting with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's CSV-injection list) is run
as a formula by Excel, LibreOffice and Google Sheets, and catalog values reach the CSV files
uploaded to Oracle (FBDI) and the exports people open.

`load_catalog` parses a file once per content: the result is kept by the SHA-256 of the file's
bytes and the fingerprint of the chart it was validated against, so a sync that finds the same
catalog only reads and hashes it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ml_connector.domain.money import MoneyError, to_decimal
from ml_connector.flow.mapping.chart import Chart
from ml_connector.flow.mapping.errors import MappingError
from ml_connector.input_files import CATALOG, InputFileError, decode_text, read_bytes, shown

REQUIRED_COLUMNS = ("sku", "revenue_account", "cost_center")
OPTIONAL_COLUMNS = ("category", "cogs_account", "inventory_account", "unit_cost", "oracle_item")
MAX_CELL_CHARS = 1000
MAX_PROBLEMS = 50
#: First characters that make a spreadsheet evaluate a cell (OWASP, CSV Injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_CACHE_SIZE = 4
# C0/C1 controls, line and paragraph separators, bidirectional overrides ("Trojan source").
_CONTROLS = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROLS}]")
# A row worth checking cell by cell: a control character, or a cell (cells joined by NUL) that
# starts with a formula prefix, possibly after white space.
_SUSPECT = re.compile(
    "[\x01-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|(?:^|\x00)\\s*[=+\\-@]"
)


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
    rows = _rows(reader, source, problems)
    for line, raw in rows:
        if len(problems) > MAX_PROBLEMS:
            break  # enough to fix first; the rest of a broken export is not worth holding
        cells = [cell.strip() for cell in raw]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if _cell_problems(raw, cells, header, source, line, problems):
            if header is None:
                raise MappingError(_capped(problems, source))
            continue
        if header is None:
            header = [cell.lower() for cell in cells]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
            if missing:
                problems.append(f"{source}:{line}: missing column(s): {', '.join(missing)}")
            if unknown:
                known = ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
                listed = ", ".join(shown(c) for c in unknown[:10])
                listed += ", ..." if len(unknown) > 10 else ""
                problems.append(f"{source}:{line}: unknown column(s): {listed} (known: {known})")
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
    if header is None and not problems:
        problems.append(f"{source}: empty file (expected header {','.join(REQUIRED_COLUMNS)})")
    if problems:
        raise MappingError(_capped(problems, source))
    return Catalog(entries)


def _capped(problems: list[str], source: str) -> list[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return [*problems[:MAX_PROBLEMS], f"{source}: more problems not listed (fix these first)"]


def _rows(
    reader: Iterator[list[str]], source: str, problems: list[str]
) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) per record; a record the csv module refuses ends the file with its line."""
    line_num = getattr(reader, "line_num", 0)
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = getattr(reader, "line_num", line_num)
            limit = csv.field_size_limit()
            if "field larger" in str(exc):
                reason = f"a cell is longer than {limit:,} characters (at most {MAX_CELL_CHARS:,})"
            elif "new-line character" in str(exc):
                reason = "a carriage return inside a cell (save the file with ordinary line ends)"
            else:
                reason = f"not readable as CSV ({exc})"
            problems.append(f"{source}:{line}: {reason}")
            return
        yield getattr(reader, "line_num", 0), raw


def _column(header: list[str] | None, index: int) -> str:
    if header is not None and index < len(header):
        return repr(header[index])
    return str(index + 1)


def _cell_problems(
    raw: list[str],
    cells: list[str],
    header: list[str] | None,
    source: str,
    line: int,
    problems: list[str],
) -> bool:
    """Refuse over-long cells, control characters and formula-looking cells; True if any."""
    if max(map(len, raw), default=0) <= MAX_CELL_CHARS:
        joined = "\x00".join(raw)  # one regex pass per row; only a suspect row is looked at
        if not _SUSPECT.search(joined):  # cell by cell (csv never yields a NUL in a cell)
            return False
    before = len(problems)
    for index, (original, cell) in enumerate(zip(raw, cells, strict=True)):
        if not original:
            continue
        where = f"{source}:{line}: column {_column(header, index)}"
        if len(original) > MAX_CELL_CHARS:
            problems.append(
                f"{where}: {len(original):,} characters (a cell holds at most {MAX_CELL_CHARS:,})"
            )
        elif original.startswith(FORMULA_PREFIXES) or cell.startswith(FORMULA_PREFIXES):
            first = original[0] if original.startswith(FORMULA_PREFIXES) else cell[0]
            problems.append(
                f"{where}: starts with {first!r}, which spreadsheets run as a formula "
                "(CSV injection); remove it or start the value with another character"
            )
        else:
            control = _CONTROL.search(original)
            if control is not None:
                char = control.group()
                hint = " (an unclosed quote?)" if char in "\r\n" else ""
                problems.append(
                    f"{where}: holds the control or layout character U+{ord(char):04X}{hint}"
                )
    return len(problems) > before


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


class _ParsedCatalogs:
    """The last few catalogs parsed, by (SHA-256 of the file's bytes, chart fingerprint)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], Catalog] = OrderedDict()
        self.parses = 0  # how many times a file was really parsed (for tests and the bench)

    def get(self, key: tuple[str, str]) -> Catalog | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], catalog: Catalog) -> None:
        with self._lock:
            self.parses += 1
            self._entries[key] = catalog
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.parses = 0


parsed_catalogs = _ParsedCatalogs(_CACHE_SIZE)


def load_catalog(path: Path, chart: Chart) -> Catalog:
    """Read a catalog CSV; the chart comes from the charge mapping so both agree on segments.

    The file must be a regular UTF-8 file of at most 64 MiB (`input_files.CATALOG`). Its bytes
    are read and hashed on every call; they are parsed only when that hash, or the chart, has
    not been seen among the last few loads.
    """
    try:
        data = read_bytes(path, CATALOG)
    except InputFileError as exc:
        raise MappingError([str(exc)]) from None
    key = (hashlib.sha256(data).hexdigest(), chart.fingerprint())
    found = parsed_catalogs.get(key)
    if found is not None:
        return found
    try:
        text = decode_text(data, path)
    except InputFileError as exc:
        raise MappingError([str(exc)]) from None
    catalog = parse_catalog(text, shown(path), chart)
    parsed_catalogs.put(key, catalog)
    return catalog
