"""Parse Amazon's tab-separated report documents: settlement V2 and the all-orders report.

Amazon's flat files are not quite uniform: the encoding is not always UTF-8 (JP files are
cp932), EU marketplaces may write ``12,34`` for 12.34, and dates come in several spellings. We
parse tolerantly, keep every column of every row as text (``raw``) and add typed fields on top,
so nothing in the file is lost and odd values stay inspectable.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

__all__ = [
    "AllOrdersRow",
    "SettlementLine",
    "SettlementReport",
    "SettlementSummary",
    "decode_document",
    "parse_all_orders",
    "parse_amount",
    "parse_report_time",
    "parse_settlement_v2",
]


class FlatFileError(ValueError):
    """The document is not the flat file we expected (no header, missing required column)."""


def decode_document(
    content: bytes, *, compression: str | None = None, encoding: str | None = None
) -> str:
    """Bytes of a report document → text: gunzip if Amazon says so (or the bytes are gzip),
    then decode with the given encoding, else UTF-8, else cp932, else cp1252."""
    if (compression and compression.upper() == "GZIP") or content[:2] == b"\x1f\x8b":
        content = gzip.decompress(content)
    if encoding:
        return content.decode(encoding)
    for candidate in ("utf-8-sig", "cp932", "cp1252"):
        try:
            return content.decode(candidate)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def parse_amount(text: str | None) -> Decimal | None:
    """``"-3.75"``, ``"1,234.56"``, ``"1.234,56"``, ``"12,34"`` → Decimal; blank → None."""
    if text is None or not text.strip():
        return None
    value = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in value and "." in value:
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    elif "," in value:
        head, _, tail = value.rpartition(",")
        value = value.replace(",", "") if len(tail) == 3 and head else f"{head}.{tail}"
    try:
        return Decimal(value)
    except InvalidOperation:
        raise FlatFileError(f"not an amount: {text!r}") from None


_UTC_SUFFIX = re.compile(r"\s*(UTC|GMT|Z)$", re.IGNORECASE)
_FORMATS = ("%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y-%m-%d", "%d.%m.%Y")


def parse_report_time(text: str | None) -> datetime | None:
    """The date spellings seen in report files, as aware UTC datetimes; blank → None."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        bare = _UTC_SUFFIX.sub("", value)
        for fmt in _FORMATS:
            try:
                parsed = datetime.strptime(bare, fmt).replace(tzinfo=UTC)
                break
            except ValueError:
                continue
        else:
            raise FlatFileError(f"not a report date: {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _rows(text: str) -> Iterator[dict[str, str]]:
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header: list[str] | None = None
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            continue
        cells = cells + [""] * (len(header) - len(cells))
        yield dict(zip(header, cells, strict=False))
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


@dataclass(frozen=True)
class SettlementReport:
    summary: SettlementSummary
    lines: list[SettlementLine]

    def lines_total(self) -> Decimal:
        """Sum of every line's amount: equals ``summary.total_amount`` for a sound file."""
        return sum((line.amount or Decimal(0) for line in self.lines), Decimal(0))


def _int(text: str | None) -> int | None:
    return int(text.strip()) if text and text.strip() else None


def parse_settlement_v2(text: str) -> SettlementReport:
    """GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2: header row, a total row, then one row per
    amount. The total row is the one with a ``total-amount`` and no ``amount-type``."""
    summary: SettlementSummary | None = None
    lines: list[SettlementLine] = []
    for row in _rows(text):
        if "settlement-id" not in row:
            raise FlatFileError("not a settlement V2 file: no settlement-id column")
        total = parse_amount(row.get("total-amount"))
        if summary is None and total is not None and not row.get("amount-type", "").strip():
            summary = SettlementSummary(
                settlement_id=row["settlement-id"].strip(),
                start=parse_report_time(row.get("settlement-start-date")),
                end=parse_report_time(row.get("settlement-end-date")),
                deposit_date=parse_report_time(row.get("deposit-date")),
                total_amount=total,
                currency=row.get("currency", "").strip(),
            )
            continue
        posted = row.get("posted-date-time") or row.get("posted-date")
        lines.append(
            SettlementLine(
                transaction_type=row.get("transaction-type", "").strip(),
                order_id=row.get("order-id", "").strip(),
                adjustment_id=row.get("adjustment-id", "").strip(),
                shipment_id=row.get("shipment-id", "").strip(),
                marketplace_name=row.get("marketplace-name", "").strip(),
                amount_type=row.get("amount-type", "").strip(),
                amount_description=row.get("amount-description", "").strip(),
                amount=parse_amount(row.get("amount")),
                fulfillment_id=row.get("fulfillment-id", "").strip(),
                posted=parse_report_time(posted),
                order_item_code=row.get("order-item-code", "").strip(),
                sku=row.get("sku", "").strip(),
                quantity_purchased=_int(row.get("quantity-purchased")),
                raw=row,
            )
        )
    if summary is None:
        raise FlatFileError("settlement file has no total row")
    return SettlementReport(summary=summary, lines=lines)


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
    for row in _rows(text):
        if "amazon-order-id" not in row:
            raise FlatFileError("not an all-orders file: no amazon-order-id column")

        def money(column: str, row: dict[str, str] = row) -> Decimal | None:
            return parse_amount(row.get(column))

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
                quantity=_int(row.get("quantity")),
                currency=row.get("currency", "").strip(),
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
