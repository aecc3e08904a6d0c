"""Flat-file parsing (settlement V2, all orders) and the report polling path."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from ml_connector.remote.amazon.flatfile import (
    FlatFileError,
    decode_document,
    parse_all_orders,
    parse_amount,
    parse_report_time,
    parse_settlement_v2,
)
from ml_connector.remote.amazon.reports import ReportFailedError

from ..conftest import FakeClock
from .fakes import FakeAmazon, make_client

COLS = (
    "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\t"
    "currency\ttransaction-type\torder-id\tamount-type\tamount-description\tamount\tposted-date-time\tsku"
)
SETTLEMENT = "\n".join(
    [
        COLS,
        "123\t2026-01-01T00:00:00+00:00\t2026-01-15T00:00:00+00:00\t"
        "2026-01-17 00:00:00 UTC\t10.02\tUSD",
        "123\t\t\t\t\t\tOrder\t111-1\tItemPrice\tPrincipal\t25.00\t2026-01-02 10:00:00 UTC\tMUG-01",
        "123\t\t\t\t\t\tOrder\t111-1\tItemFees\tCommission\t-3,75\t02.01.2026 10:00:00 UTC\tMUG-01",
        "123\t\t\t\t\t\tRefund\t111-1\tItemPrice\tPrincipal\t-11.23\t2026-01-05T10:00:00Z\tMUG-01",
    ]
)


def test_settlement_total_row_and_lines() -> None:
    report = parse_settlement_v2(SETTLEMENT)
    assert report.summary.settlement_id == "123"
    assert report.summary.total_amount == Decimal("10.02")
    assert report.summary.deposit_date == datetime(2026, 1, 17, tzinfo=UTC)
    # A USD file is read with USD conventions: "-3,75" is not a US amount, so that row is held
    # with its reason and the other rows parse.
    assert [line.amount for line in report.lines] == [Decimal("25.00"), Decimal("-11.23")]
    (held,) = report.rejected
    assert (held.row, held.column, held.value) == (4, "amount", "-3,75")
    assert report.lines[0].posted == datetime(2026, 1, 2, 10, tzinfo=UTC)
    assert report.lines[1].posted == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert report.lines[0].raw["sku"] == "MUG-01"


def test_settlement_without_total_row_is_refused() -> None:
    with pytest.raises(FlatFileError, match="total row"):
        parse_settlement_v2("\n".join(SETTLEMENT.splitlines()[:1] + SETTLEMENT.splitlines()[2:]))
    with pytest.raises(FlatFileError, match="no header"):
        parse_settlement_v2("")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("12,34", "12.34"),
        ("-3.75", "-3.75"),
    ],
)
def test_amount_spellings(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


def test_amount_that_reads_two_ways_needs_the_marketplace() -> None:
    with pytest.raises(FlatFileError, match="marketplace is needed"):
        parse_amount("1,234")
    assert parse_amount("1,234", ".") == Decimal("1234")
    assert parse_amount("1,234", ",") == Decimal("1.234")


def test_bad_values() -> None:
    assert parse_amount(" ") is None
    with pytest.raises(FlatFileError):
        parse_amount("abc")
    with pytest.raises(FlatFileError):
        parse_report_time("yesterday")


def test_decode_gzip_and_cp932() -> None:
    text = "amazon-order-id\tsku\tproduct-name\n250-1\tECHO\tエコー\n"
    raw = gzip.compress(text.encode("cp932"))
    assert decode_document(raw, compression="GZIP") == text
    (row,) = parse_all_orders(decode_document(raw))
    assert row.raw["product-name"] == "エコー"


def test_all_orders_needs_its_columns() -> None:
    with pytest.raises(FlatFileError, match="amazon-order-id"):
        parse_all_orders("sku\tqty\nA\t1\n")


def test_wait_for_report_raises_on_fatal_and_polls_with_injected_sleep(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    statuses = ["IN_QUEUE", "IN_PROGRESS", "FATAL"]

    def report(request: httpx.Request) -> httpx.Response:
        body = {
            "reportId": "R1",
            "reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
            "createdTime": "2026-01-01T00:00:00Z",
            "processingStatus": statuses.pop(0),
        }
        return httpx.Response(200, json=body)

    fake.routes[("GET", "/eu/reports/2021-06-30/reports/R1")] = report
    with pytest.raises(ReportFailedError, match="FATAL"):
        make_client(fake, clock).reports.wait_for_report("R1", poll_every_s=45)
    assert clock.sleeps.count(45) == 2


def test_report_document_is_downloaded_without_the_access_token(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    fake.routes[("GET", "/eu/reports/2021-06-30/documents/D1")] = {
        "reportDocumentId": "D1",
        "url": "http://127.0.0.1:9/s3/D1",
        "compressionAlgorithm": "GZIP",
    }
    fake.routes[("GET", "/s3/D1")] = lambda r: httpx.Response(
        200, content=gzip.compress(SETTLEMENT.encode())
    )
    text = make_client(fake, clock).reports.download_text("D1")
    assert parse_settlement_v2(text).summary.total_amount == Decimal("10.02")
    assert fake.tokens_seen == ["Atza|token-1", None]
