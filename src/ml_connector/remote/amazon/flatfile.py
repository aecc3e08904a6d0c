"""Parse Amazon's tab-separated report documents: settlement V2 and the all-orders report.

Amazon's flat files are not uniform across marketplaces (docs/amazon-vocabulary.md, "Report
documents"):

- the bytes are in the charset the download's ``Content-Type`` names (``Cp1252`` for EU files,
  Shift_JIS/cp932 for JP, UTF-8 ...); only when no charset is sent do we guess, and the result
  says it was guessed so the audit trail can;
- dates and amounts are written the marketplace's way (the UK and most of Europe put the day
  first, Germany writes ``dd.mm.yyyy`` and ``1.234,56``, JP writes ``yyyy/mm/dd``). A form that
  could be read two ways is resolved by the report's marketplace (its ``marketplace-name``
  column, else its currency), never by guessing;
- a row that cannot be read is kept aside with its row number, column, value and reason; the
  rest of the document parses.

Every column of every row stays available as text (``raw``), so nothing in the file is lost.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal

from ml_connector.domain.marketplaces import MARKETPLACES, marketplace

__all__ = [
    "AllOrdersRow",
    "Conventions",
    "DecodedText",
    "DownloadedDocument",
    "FlatFileError",
    "RejectedRow",
    "SettlementLine",
    "SettlementReport",
    "SettlementSummary",
    "charset_of",
    "codec_for",
    "conventions_for",
    "decode_document",
    "decode_report",
    "parse_all_orders",
    "parse_amount",
    "parse_report_time",
    "parse_settlement_v2",
    "with_decoding",
]


class FlatFileError(ValueError):
    """The document (or one value in it) is not what a flat file of that type holds."""


# --- charset ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DownloadedDocument:
    """The bytes behind a report document's presigned URL and the ``Content-Type`` sent."""

    content: bytes
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class DecodedText:
    """A document's text and how it was decoded."""

    text: str
    charset: str
    """The Python codec that decoded the bytes (``cp1252``, ``cp932``, ``utf-8`` ...)."""
    declared: str | None
    """The charset as the download named it (``Cp1252``), None when it named none."""
    guessed: bool
    reason: str | None = None
    """Why the charset was guessed (none sent, an unknown name, bytes that do not decode)."""


# Names Amazon (a Java service) sends that Python's codec registry spells differently, and the
# one deliberate widening: Shift_JIS files from Amazon JP use the Windows-31J (cp932) extensions.
_CHARSET_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "ms932": "cp932",
    "cswindows31j": "cp932",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
    "x-utf-8": "utf-8",
    "utf8": "utf-8",
    "unicodebig": "utf-16",
    "unicodelittle": "utf-16",
    "iso8859_15_fdis": "iso8859-15",
}
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, as sent; None when absent."""
    if not content_type:
        return None
    found = _CHARSET_PARAM.search(content_type)
    return found.group(1) if found else None


def codec_for(charset: str) -> str | None:
    """A charset name (IANA, Java or Windows spelling) → Python codec name; None if unknown."""
    name = charset.strip().strip("\"'").lower()
    if name in _CHARSET_ALIASES:
        return _CHARSET_ALIASES[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _customary_charset(marketplace_ids: Sequence[str]) -> str | None:
    """The legacy charset a report's marketplaces customarily use (for guessing only)."""
    found = set()
    for key in marketplace_ids:
        known = conventions_for(key)
        if known is not None:
            found.add(known.charset)
    return found.pop() if len(found) == 1 else None


def _gunzip(content: bytes) -> bytes:
    """Inflate gzip bytes. The magic bytes decide, not ``compressionAlgorithm``: a URL asked for
    with ``enableContentEncodingUrlHeader`` is served ``Content-Encoding: gzip`` and the HTTP
    client has already inflated it."""
    if content[:2] == b"\x1f\x8b":
        return gzip.decompress(content)
    return content


def decode_report(
    content: bytes,
    *,
    compression: str | None = None,
    content_type: str | None = None,
    charset: str | None = None,
    marketplace_ids: Sequence[str] = (),
) -> DecodedText:
    """Bytes of a report document → text, in the charset the download named.

    ``charset`` (a caller's override) wins over ``content_type``. With neither, or a name no
    codec knows, or bytes that do not decode in the named charset, the charset is guessed:
    UTF-8 (its byte rules reject almost any legacy text), then the legacy charset customary for
    the report's marketplaces (cp932 for JP, cp1252 elsewhere), then the other one.
    """
    del compression  # see _gunzip
    data = _gunzip(content)
    declared = charset or charset_of(content_type)
    reason = "the download named no charset"
    if declared:
        codec = codec_for(declared)
        if codec is None:
            reason = f"the download named charset {declared!r}, which no codec knows"
        else:
            try:
                text = data.decode("utf-8-sig" if codec == "utf-8" else codec)
            except UnicodeDecodeError as exc:
                reason = f"the bytes are not {declared} (byte {exc.start})"
            else:
                return DecodedText(text, codec, declared, guessed=False)
    customary = _customary_charset(marketplace_ids) or "cp1252"
    candidates = ["utf-8", customary, "cp932" if customary != "cp932" else "cp1252"]
    for candidate in candidates:
        try:
            text = data.decode("utf-8-sig" if candidate == "utf-8" else candidate)
        except UnicodeDecodeError:
            continue
        return DecodedText(text, candidate, declared, guessed=True, reason=reason)
    return DecodedText(data.decode("latin-1"), "latin-1", declared, guessed=True, reason=reason)


def decode_document(
    content: bytes, *, compression: str | None = None, encoding: str | None = None
) -> str:
    """Bytes → text (see ``decode_report``; this drops how it was decoded)."""
    return decode_report(content, compression=compression, charset=encoding).text


# --- marketplace conventions -----------------------------------------------------------------

DateOrder = Literal["DMY", "MDY", "YMD"]
DecimalMark = Literal[".", ","]


@dataclass(frozen=True, slots=True)
class Conventions:
    """How one marketplace's flat files write dates and amounts."""

    country: str
    date_order: DateOrder
    """Order of a date written with two-digit day and month fields first (``03/04/2026``)."""
    decimal_mark: DecimalMark
    charset: str
    """The legacy charset its files customarily use; only for guessing when none is sent."""


def _c(country: str, order: DateOrder, mark: DecimalMark, charset: str = "cp1252") -> Conventions:
    return Conventions(country, order, mark, charset)


_CONVENTIONS: dict[str, Conventions] = {
    c.country: c
    for c in (
        _c("US", "MDY", "."), _c("CA", "MDY", "."), _c("MX", "DMY", "."),
        _c("BR", "DMY", ","), _c("UK", "DMY", "."), _c("IE", "DMY", "."),
        _c("DE", "DMY", ","), _c("FR", "DMY", ","), _c("IT", "DMY", ","),
        _c("ES", "DMY", ","), _c("NL", "DMY", ","), _c("BE", "DMY", ","),
        _c("SE", "DMY", ","), _c("PL", "DMY", ","), _c("TR", "DMY", ","),
        _c("JP", "YMD", ".", "cp932"), _c("AU", "DMY", "."), _c("SG", "DMY", "."),
        _c("IN", "DMY", "."), _c("AE", "DMY", "."), _c("SA", "DMY", "."),
        _c("EG", "DMY", "."), _c("ZA", "DMY", "."),
    )
}  # fmt: skip
# A currency names the marketplace whose conventions its files follow; every euro marketplace
# but Ireland writes day-first dates and decimal commas, so EUR reads like DE.
_BY_CURRENCY = {
    "USD": "US", "CAD": "CA", "MXN": "MX", "BRL": "BR", "GBP": "UK", "EUR": "DE", "SEK": "SE",
    "PLN": "PL", "TRY": "TR", "JPY": "JP", "AUD": "AU", "SGD": "SG", "INR": "IN", "AED": "AE",
    "SAR": "SA", "EGP": "EG", "ZAR": "ZA",
}  # fmt: skip
_BY_NAME = {m.name.lower(): m.country for m in MARKETPLACES}


def conventions_for(key: str) -> Conventions | None:
    """By country code, marketplace id, marketplace name (``Amazon.de``) or currency code."""
    text = key.strip()
    if not text:
        return None
    known = marketplace(text)
    country = (
        known.country
        if known is not None
        else _BY_NAME.get(text.lower()) or _BY_CURRENCY.get(text.upper())
    )
    return _CONVENTIONS.get(country) if country else None


# --- values ----------------------------------------------------------------------------------

_GROUP_SPACES = (" ", "\u00a0", "\u202f", "'")


def _read_amount(value: str, mark: DecimalMark) -> Decimal | None:
    """The one reading of ``value`` with decimal mark ``mark``, or None when it has none."""
    group = "," if mark == "." else "."
    sign = value[0] if value[:1] in ("+", "-") else ""
    whole, has_fraction, fraction = value[len(sign) :].partition(mark)
    if has_fraction and not fraction.isdigit():
        return None
    parts = whole.split(group)
    if not all(part.isdigit() for part in parts):
        return None
    if len(parts) > 1 and (len(parts[0]) > 3 or any(len(part) != 3 for part in parts[1:])):
        return None
    digits = "".join(parts)
    return Decimal(f"{sign}{digits}.{fraction}" if has_fraction else f"{sign}{digits}")


def parse_amount(text: str | None, decimal_mark: DecimalMark | None = None) -> Decimal | None:
    """An amount as a marketplace writes it → Decimal; blank → None.

    With the marketplace's ``decimal_mark`` the reading is exact: for ``","`` (Germany)
    ``1.234,56`` is 1234.56 and ``1.234`` is 1234; for ``"."`` ``1,234.56`` is 1234.56 and
    ``12,34`` is not an amount. Without one, a value that reads two ways (``1,234``, ``1.234``)
    is refused rather than guessed; ``12,34``, ``1.234,56`` and ``-3.75`` have one reading.
    """
    if text is None or not text.strip():
        return None
    value = text.strip()
    for space in _GROUP_SPACES:
        value = value.replace(space, "")
    if value.endswith("-") and value[:1] not in ("+", "-"):
        value = "-" + value[:-1]  # a trailing minus, as some exports write it
    marks: tuple[DecimalMark, ...] = (decimal_mark,) if decimal_mark else (".", ",")
    readings = {r for mark in marks if (r := _read_amount(value, mark)) is not None}
    if len(readings) == 1:
        return readings.pop()
    if not readings:
        where = f" with decimal mark {decimal_mark!r}" if decimal_mark else ""
        raise FlatFileError(f"not an amount{where}: {text.strip()!r}")
    low, high = sorted(readings)
    raise FlatFileError(
        f"{text.strip()!r} reads as {low} or {high}: the report's marketplace is needed to tell"
    )


_DATE = re.compile(
    r"^(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})"
    r"(?:(?:[ T]+)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(?P<zone>[A-Za-z]{1,4}|[+-]\d{2}:?\d{2})?$"
)
_ZONES = {"Z": 0, "UTC": 0, "GMT": 0, "PST": -8, "PDT": -7, "CET": 1, "CEST": 2, "BST": 1,
          "JST": 9}  # fmt: skip


def _zone(text: str | None) -> timezone:
    if not text:
        return UTC
    if text[0] in "+-":
        digits = text[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return timezone(-offset if text[0] == "-" else offset)
    hours = _ZONES.get(text.upper())
    if hours is None:
        raise FlatFileError(f"unknown time zone {text!r}")
    return timezone(timedelta(hours=hours))


def _day_month(a: int, b: int, order: DateOrder | None, text: str) -> tuple[int, int]:
    if order == "DMY":
        return a, b
    if order == "MDY":
        return b, a
    if a > 12 or a == b:
        return a, b
    if b > 12:
        return b, a
    raise FlatFileError(
        f"{text!r} could be day-first or month-first: the report's marketplace is needed to tell"
    )


def parse_report_time(text: str | None, date_order: DateOrder | None = None) -> datetime | None:
    """A date as a marketplace writes it, as an aware UTC datetime; blank → None.

    Year-first forms (``2026-01-02``, ``2026/01/02``, ISO 8601) and dotted ones
    (``02.01.2026``: day first wherever it is written) have one reading. ``02/01/2026`` is read
    by ``date_order`` (the marketplace's: ``DMY`` for the UK, ``MDY`` for the US); without it,
    only when one field is above 12. No zone means UTC, as Amazon's files write.
    """
    if text is None or not text.strip():
        return None
    value = text.strip()
    found = _DATE.match(value)
    if found is None:
        raise FlatFileError(f"not a report date: {value!r}")
    a, b, c = found.group("a"), found.group("b"), found.group("c")
    if len(a) == 4 and len(c) <= 2:
        year, month, day = int(a), int(b), int(c)
    elif len(c) == 4 and len(a) <= 2:
        if found.group("sep") == ".":
            day, month = int(a), int(b)
        else:
            order = None if date_order == "YMD" else date_order
            day, month = _day_month(int(a), int(b), order, value)
        year = int(c)
    else:
        raise FlatFileError(f"not a report date (a four-digit year is needed): {value!r}")
    try:
        parsed = datetime(
            year,
            month,
            day,
            int(found.group("h") or 0),
            int(found.group("mi") or 0),
            int(found.group("s") or 0),
            tzinfo=_zone(found.group("zone")),
        )
    except ValueError:
        raise FlatFileError(f"no such date: {value!r}") from None
    return parsed.astimezone(UTC)


# --- documents -------------------------------------------------------------------------------


def _rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row by column name) for every non-blank line after the header."""
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header: list[str] | None = None
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip().lstrip("\ufeff") for c in cells]
            continue
        cells = cells + [""] * (len(header) - len(cells))
        yield reader.line_num, dict(zip(header, cells, strict=False))
    if header is None:
        raise FlatFileError("empty report: no header row")


@dataclass(frozen=True)
class SettlementSummary:
    settlement_id: str
    start: datetime | None
    end: datetime | None
    deposit_date: datetime | None
    total_amount: Decimal
    currency: str


@dataclass(frozen=True)
class SettlementLine:
    transaction_type: str
    order_id: str
    adjustment_id: str
    shipment_id: str
    marketplace_name: str
    amount_type: str
    amount_description: str
    amount: Decimal | None
    fulfillment_id: str
    posted: datetime | None
    order_item_code: str
    sku: str
    quantity_purchased: int | None
    raw: dict[str, str]
    row: int = 0
    """Line number in the document (the header is line 1)."""


@dataclass(frozen=True)
class RejectedRow:
    """A row that could not be read: kept aside with where and why."""

    row: int
    """Line number in the document (the header is line 1)."""
    column: str
    value: str
    reason: str
    raw: dict[str, str]


@dataclass(frozen=True)
class SettlementReport:
    summary: SettlementSummary
    lines: list[SettlementLine]
    rejected: list[RejectedRow] = field(default_factory=list)
    conventions: str | None = None
    """The marketplace whose date/number conventions were applied (``DE``), and why."""
    decoding: DecodedText | None = None

    def lines_total(self) -> Decimal:
        """Sum of every line's amount: equals ``summary.total_amount`` for a sound file."""
        return sum((line.amount or Decimal(0) for line in self.lines), Decimal(0))


class _RowError(FlatFileError):
    def __init__(self, column: str, value: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.value, self.reason = column, value, reason


class _Reader:
    """Typed cells of one row under one marketplace's conventions."""

    def __init__(self, row: dict[str, str], conventions: Conventions | None) -> None:
        self.row = row
        self.conventions = conventions

    def text(self, column: str) -> str:
        return (self.row.get(column) or "").strip()

    def amount(self, column: str) -> Decimal | None:
        mark = self.conventions.decimal_mark if self.conventions else None
        try:
            return parse_amount(self.row.get(column), mark)
        except FlatFileError as exc:
            raise _RowError(column, self.text(column), str(exc)) from None

    def time(self, *columns: str) -> datetime | None:
        order = self.conventions.date_order if self.conventions else None
        for column in columns:
            if self.text(column):
                try:
                    return parse_report_time(self.row.get(column), order)
                except FlatFileError as exc:
                    raise _RowError(column, self.text(column), str(exc)) from None
        return None

    def count(self, column: str) -> int | None:
        value = self.text(column)
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            raise _RowError(column, value, f"not a whole number: {value!r}") from None


def _conventions(
    rows: list[tuple[int, dict[str, str]]], marketplace_hint: str | None
) -> tuple[Conventions | None, str | None]:
    """The report's marketplace conventions: its marketplace-name column, else its currency."""
    names: list[str] = []
    for _, row in rows:
        name = (row.get("marketplace-name") or "").strip()
        if name and name not in names:
            names.append(name)
    by_name = {c.country: c for n in names if (c := conventions_for(n)) is not None}
    if len({(c.date_order, c.decimal_mark) for c in by_name.values()}) == 1:
        chosen = next(iter(by_name.values()))
        return chosen, f"{chosen.country} (marketplace-name {', '.join(sorted(names))})"
    currencies = {(row.get("currency") or "").strip().upper() for _, row in rows} - {""}
    if len(currencies) == 1:
        currency = currencies.pop()
        known = conventions_for(currency)
        if known is not None and currency in _BY_CURRENCY:
            return known, f"{known.country} (currency {currency})"
    if marketplace_hint:
        known = conventions_for(marketplace_hint)
        if known is not None:
            return known, f"{known.country} (the report's marketplace {marketplace_hint})"
    return None, None


def parse_settlement_v2(text: str, *, marketplace: str | None = None) -> SettlementReport:
    """GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2: header row, a total row, then one row per
    amount. The total row is the one with a ``total-amount`` and no ``amount-type``.

    A row whose amount, date or quantity cannot be read lands in ``rejected`` with its row
    number, column, value and reason; every other row parses. Only a document that is not a
    settlement file at all (no header, no ``settlement-id`` column, no readable total row)
    raises ``FlatFileError``. ``marketplace`` (id, country or name) is a last resort for the
    conventions when the file names neither marketplace nor currency.
    """
    rows = list(_rows(text))
    if rows and "settlement-id" not in rows[0][1]:
        raise FlatFileError("not a settlement V2 file: no settlement-id column")
    conventions, why = _conventions(rows, marketplace)
    summary: SettlementSummary | None = None
    lines: list[SettlementLine] = []
    rejected: list[RejectedRow] = []
    for number, row in rows:
        cells = _Reader(row, conventions)
        if summary is None and cells.text("total-amount") and not cells.text("amount-type"):
            try:
                total = cells.amount("total-amount")
            except _RowError as exc:
                raise FlatFileError(
                    f"the total row (line {number}) has an unreadable total-amount: {exc.reason}"
                ) from None
            assert total is not None
            dates: dict[str, datetime | None] = {}
            for column in ("settlement-start-date", "settlement-end-date", "deposit-date"):
                try:
                    dates[column] = cells.time(column)
                except _RowError as exc:
                    dates[column] = None
                    rejected.append(RejectedRow(number, exc.column, exc.value, exc.reason, row))
            summary = SettlementSummary(
                settlement_id=cells.text("settlement-id"),
                start=dates["settlement-start-date"],
                end=dates["settlement-end-date"],
                deposit_date=dates["deposit-date"],
                total_amount=total,
                currency=cells.text("currency"),
            )
            continue
        try:
            line = SettlementLine(
                transaction_type=cells.text("transaction-type"),
                order_id=cells.text("order-id"),
                adjustment_id=cells.text("adjustment-id"),
                shipment_id=cells.text("shipment-id"),
                marketplace_name=cells.text("marketplace-name"),
                amount_type=cells.text("amount-type"),
                amount_description=cells.text("amount-description"),
                amount=cells.amount("amount"),
                fulfillment_id=cells.text("fulfillment-id"),
                posted=cells.time("posted-date-time", "posted-date"),
                order_item_code=cells.text("order-item-code"),
                sku=cells.text("sku"),
                quantity_purchased=cells.count("quantity-purchased"),
                raw=row,
                row=number,
            )
        except _RowError as exc:
            rejected.append(RejectedRow(number, exc.column, exc.value, exc.reason, row))
            continue
        lines.append(line)
    if summary is None:
        raise FlatFileError("settlement file has no total row")
    return SettlementReport(summary=summary, lines=lines, rejected=rejected, conventions=why)


def with_decoding(report: SettlementReport, decoding: DecodedText) -> SettlementReport:
    """The report with how its document was decoded (for the audit trail)."""
    return replace(report, decoding=decoding)


@dataclass(frozen=True)
class AllOrdersRow:
    """One order item from GET_FLAT_FILE_ALL_ORDERS_DATA_BY_* (no fees in this report)."""

    amazon_order_id: str
    purchase_date: datetime | None
    last_updated_date: datetime | None
    order_status: str
    fulfillment_channel: str
    sales_channel: str
    sku: str
    asin: str
    item_status: str
    quantity: int | None
    currency: str
    item_price: Decimal | None
    item_tax: Decimal | None
    shipping_price: Decimal | None
    shipping_tax: Decimal | None
    gift_wrap_price: Decimal | None
    gift_wrap_tax: Decimal | None
    item_promotion_discount: Decimal | None
    ship_promotion_discount: Decimal | None
    raw: dict[str, str]


def parse_all_orders(text: str) -> list[AllOrdersRow]:
    out: list[AllOrdersRow] = []
    for _, row in _rows(text):
        if "amazon-order-id" not in row:
            raise FlatFileError("not an all-orders file: no amazon-order-id column")
        currency = (row.get("currency") or "").strip()
        known = conventions_for(currency) if currency else None
        mark = known.decimal_mark if known else None

        def money(
            column: str, row: dict[str, str] = row, mark: DecimalMark | None = mark
        ) -> Decimal | None:
            return parse_amount(row.get(column), mark)

        out.append(
            AllOrdersRow(
                amazon_order_id=row["amazon-order-id"].strip(),
                purchase_date=parse_report_time(row.get("purchase-date")),
                last_updated_date=parse_report_time(row.get("last-updated-date")),
                order_status=row.get("order-status", "").strip(),
                fulfillment_channel=row.get("fulfillment-channel", "").strip(),
                sales_channel=row.get("sales-channel", "").strip(),
                sku=row.get("sku", "").strip(),
                asin=row.get("asin", "").strip(),
                item_status=row.get("item-status", "").strip(),
                quantity=int(row["quantity"]) if (row.get("quantity") or "").strip() else None,
                currency=currency,
                item_price=money("item-price"),
                item_tax=money("item-tax"),
                shipping_price=money("shipping-price"),
                shipping_tax=money("shipping-tax"),
                gift_wrap_price=money("gift-wrap-price"),
                gift_wrap_tax=money("gift-wrap-tax"),
                item_promotion_discount=money("item-promotion-discount"),
                ship_promotion_discount=money("ship-promotion-discount"),
                raw=row,
            )
        )
    return out
