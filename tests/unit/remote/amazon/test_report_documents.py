"""Report documents as marketplaces write them: the charset the download names, dates and amounts
in the marketplace's spelling, and rows that cannot be read held with their reason.

The fixtures under tests/fixtures/amazon/reports/ are composed here (invented ids and amounts,
the 23 documented settlement V2 columns) and stored as the bytes Amazon would send.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from ml_connector.remote.amazon.flatfile import (
    FlatFileError,
    charset_of,
    codec_for,
    decode_report,
    parse_amount,
    parse_report_time,
    parse_settlement_v2,
)
from ml_connector.remote.amazon.models.reports import Report

from ..conftest import FakeClock
from .fakes import FakeAmazon, make_client

REPORTS = Path(__file__).resolve().parents[3] / "fixtures" / "amazon" / "reports"
D = Decimal


def _bytes(name: str) -> bytes:
    return (REPORTS / name).read_bytes()


# --- charset ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain;charset=Cp1252",
        "text/plain; charset=windows-1252",
        'text/plain; charset="CP1252"',
        "text/tab-separated-values;charset=Windows-1252",
    ],
)
def test_a_windows_1252_report_with_accented_skus_parses_exactly(content_type: str) -> None:
    decoded = decode_report(_bytes("settlement-de-cp1252.tsv"), content_type=content_type)
    assert (decoded.charset, decoded.guessed) == ("cp1252", False)
    report = parse_settlement_v2(decoded.text)
    assert [line.sku for line in report.lines] == [
        "THÉ-VERT-100G",
        "THÉ-VERT-100G",
        "KRÄUTER-MISCHUNG-50G",
    ]
    assert [line.amount for line in report.lines] == [D("1234.56"), D("-185.18"), D("-3.22")]
    head = report.summary
    assert (head.settlement_id, head.currency, head.total_amount) == (
        "31415926535",
        "EUR",
        D("1046.16"),
    )
    assert head.start == datetime(2026, 4, 1, 6, tzinfo=UTC)
    assert head.end == datetime(2026, 4, 15, 6, tzinfo=UTC)
    assert head.deposit_date == datetime(2026, 4, 17, 6, tzinfo=UTC)
    assert report.lines[2].posted == datetime(2026, 4, 12, 18, 1, 7, tzinfo=UTC)
    assert report.lines[0].quantity_purchased == 40
    assert report.lines_total() == head.total_amount
    assert report.rejected == []
    assert report.conventions == "DE (marketplace-name Amazon.de)"


def test_the_same_bytes_read_as_japanese_would_be_another_sku() -> None:
    # What guessing cp932 first did to these bytes: the É (0xC9) is a half-width katakana.
    wrong = _bytes("settlement-de-cp1252.tsv").decode("cp932", errors="replace")
    assert "THÉ-VERT-100G" not in wrong


def test_without_a_charset_the_guess_is_recorded_and_follows_the_marketplace() -> None:
    decoded = decode_report(
        gzip.compress(_bytes("settlement-de-cp1252.tsv")),
        compression="GZIP",
        content_type="text/plain",
        marketplace_ids=["A1PA6795UKMFR9"],
    )
    assert decoded.guessed is True
    assert decoded.declared is None
    assert decoded.reason == "the download named no charset"
    assert decoded.charset == "cp1252"
    assert "THÉ-VERT-100G" in decoded.text


def test_a_utf8_document_without_charset_is_guessed_as_utf8() -> None:
    decoded = decode_report(_bytes("settlement-us-bad-rows.tsv"))
    assert (decoded.charset, decoded.guessed) == ("utf-8", True)


def test_an_unknown_or_wrong_charset_falls_back_to_a_recorded_guess() -> None:
    unknown = decode_report(
        _bytes("settlement-de-cp1252.tsv"), content_type="text/plain;charset=x-klingon"
    )
    assert unknown.guessed is True
    assert unknown.declared == "x-klingon"
    assert unknown.reason is not None
    assert "no codec knows" in unknown.reason
    wrong = decode_report(
        _bytes("settlement-de-cp1252.tsv"), content_type="text/plain;charset=UTF-8"
    )
    assert (wrong.guessed, wrong.charset) == (True, "cp1252")
    assert wrong.reason is not None
    assert "not UTF-8" in wrong.reason
    assert "THÉ-VERT-100G" in wrong.text


def test_shift_jis_is_read_as_windows_31j() -> None:
    decoded = decode_report(
        _bytes("settlement-jp-cp932.tsv"), content_type="text/plain;charset=Shift_JIS"
    )
    assert (decoded.charset, decoded.guessed) == ("cp932", False)
    report = parse_settlement_v2(decoded.text)
    assert [line.sku for line in report.lines] == ["抹茶①-100G", "抹茶①-100G"]
    assert [line.amount for line in report.lines] == [D("5000"), D("-750")]
    assert report.summary.total_amount == D("4250")
    assert report.summary.start == datetime(2026, 4, 1, 15, tzinfo=UTC)
    assert report.lines[0].posted == datetime(2026, 4, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("Cp1252", "cp1252"),
        ("windows-1252", "cp1252"),
        ("Shift_JIS", "cp932"),
        ("Windows-31J", "cp932"),
        ("MS932", "cp932"),
        ("UTF8", "utf-8"),
        ("utf-8", "utf-8"),
        ("ISO-8859-1", "iso8859-1"),
        ("x-klingon", None),
    ],
)
def test_charset_names_java_and_iana(name: str, codec: str | None) -> None:
    assert codec_for(name) == codec


def test_charset_parameter_of_a_content_type() -> None:
    assert charset_of("text/plain;charset=Cp1252") == "Cp1252"
    assert charset_of('text/plain; Charset="Shift_JIS"; x=1') == "Shift_JIS"
    assert charset_of("text/plain") is None
    assert charset_of(None) is None


# --- dates and numbers -----------------------------------------------------------------------


def test_a_uk_report_with_day_first_dates_parses_exactly() -> None:
    decoded = decode_report(
        _bytes("settlement-uk-dayfirst.tsv"), content_type="text/plain;charset=Cp1252"
    )
    report = parse_settlement_v2(decoded.text)
    assert report.conventions == "UK (marketplace-name Amazon.co.uk)"
    assert report.rejected == []
    head = report.summary
    assert head.start == datetime(2026, 4, 1, 7, 30, tzinfo=UTC)  # not 4 January
    assert head.end == datetime(2026, 4, 15, 7, 30, tzinfo=UTC)
    assert head.total_amount == D("1102.50")
    assert [line.posted for line in report.lines] == [
        datetime(2026, 4, 3, 10, tzinfo=UTC),  # 03/04: 3 April, not 4 March
        datetime(2026, 4, 3, 10, tzinfo=UTC),
        datetime(2026, 4, 13, 23, 59, 59, tzinfo=UTC),
    ]
    assert [line.amount for line in report.lines] == [D("1250.00"), D("-187.50"), D("40.00")]
    assert report.lines[0].sku == "CRÈME-BRÛLÉE-SET"
    assert report.lines_total() == head.total_amount


def test_the_marketplace_decides_an_ambiguous_date() -> None:
    assert parse_report_time("03/04/2026", "DMY") == datetime(2026, 4, 3, tzinfo=UTC)
    assert parse_report_time("03/04/2026", "MDY") == datetime(2026, 3, 4, tzinfo=UTC)
    assert parse_report_time("13/04/2026") == datetime(2026, 4, 13, tzinfo=UTC)
    assert parse_report_time("03.04.2026 10:00:00 UTC", "MDY") == datetime(
        2026, 4, 3, 10, tzinfo=UTC
    ), "a dotted date is day-first wherever it is written"
    assert parse_report_time("2026/04/03 10:00:00 UTC") == datetime(2026, 4, 3, 10, tzinfo=UTC)
    assert parse_report_time("2026-04-03T10:00:00+02:00") == datetime(2026, 4, 3, 8, tzinfo=UTC)
    with pytest.raises(FlatFileError, match="day-first or month-first"):
        parse_report_time("03/04/2026")
    with pytest.raises(FlatFileError, match="no such date"):
        parse_report_time("30.02.2026")
    with pytest.raises(FlatFileError, match="four-digit year"):
        parse_report_time("03/04/26")


@pytest.mark.parametrize(
    ("text", "mark", "value"),
    [
        ("1.234,56", ",", "1234.56"),
        ("1.234", ",", "1234"),
        ("-185,18", ",", "-185.18"),
        ("1 234,56", ",", "1234.56"),
        ("1,234.56", ".", "1234.56"),
        ("1,234", ".", "1234"),
        ("-187.50", ".", "-187.50"),
        ("5,000", ".", "5000"),
        ("3.75-", ".", "-3.75"),
    ],
)
def test_amounts_in_the_marketplace_spelling(text: str, mark: str, value: str) -> None:
    assert parse_amount(text, mark) == D(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "mark"), [("12,34", "."), ("12.34", ","), ("1.23.4", ",")])
def test_an_amount_not_in_the_marketplace_spelling_is_refused(text: str, mark: str) -> None:
    with pytest.raises(FlatFileError, match="not an amount"):
        parse_amount(text, mark)  # type: ignore[arg-type]


def test_the_currency_decides_when_no_marketplace_name_is_written() -> None:
    text = (
        "settlement-id\tsettlement-start-date\ttotal-amount\tcurrency\tamount-type\tamount\t"
        "posted-date\n"
        "9\t01/04/2026 00:00:00 UTC\t1.000,00\tEUR\t\t\t\n"
        "9\t\t\t\tItemPrice\t1.000,00\t03/04/2026\n"
    )
    report = parse_settlement_v2(text)
    assert report.conventions == "DE (currency EUR)"
    assert report.summary.total_amount == D("1000.00")
    assert report.lines[0].posted == datetime(2026, 4, 3, tzinfo=UTC)


# --- rows that cannot be read ----------------------------------------------------------------


def test_a_bad_row_is_held_with_its_reason_and_the_other_rows_parse() -> None:
    report = parse_settlement_v2(decode_report(_bytes("settlement-us-bad-rows.tsv")).text)
    assert [(line.row, line.amount_description, line.amount) for line in report.lines] == [
        (3, "Principal", D("25.00")),
        (6, "Shipping", D("3.22")),
    ]
    held = [(r.row, r.column, r.value) for r in report.rejected]
    assert held == [
        (4, "amount", "-3,75"),
        (5, "posted-date-time", "02/30/2026 14:00:00 UTC"),
        (7, "quantity-purchased", "two"),
    ]
    reasons = [r.reason for r in report.rejected]
    assert "not an amount with decimal mark '.'" in reasons[0]
    assert "no such date" in reasons[1]
    assert "not a whole number" in reasons[2]
    assert report.rejected[0].raw["order-id"] == "113-7777777-8888888"
    assert report.summary.total_amount == D("21.25"), "the total row stands as Amazon wrote it"


def test_only_a_document_that_is_no_settlement_file_is_refused() -> None:
    with pytest.raises(FlatFileError, match="no settlement-id column"):
        parse_settlement_v2("sku\tamount\nA\t1\n")
    with pytest.raises(FlatFileError, match="unreadable total-amount"):
        parse_settlement_v2("settlement-id\ttotal-amount\tcurrency\tamount-type\n1\t1,2,3\tUSD\t\n")


# --- the download carries the charset --------------------------------------------------------


def test_the_download_content_type_reaches_the_parser(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    fake.routes[("GET", "/eu/reports/2021-06-30/documents/DOC-DE")] = {
        "reportDocumentId": "DOC-DE",
        "url": "http://127.0.0.1:9/s3/DOC-DE",
        "compressionAlgorithm": "GZIP",
    }
    fake.routes[("GET", "/s3/DOC-DE")] = lambda r: httpx.Response(
        200,
        content=gzip.compress(_bytes("settlement-de-cp1252.tsv")),
        headers={"Content-Type": "text/plain;charset=Cp1252"},
    )
    report = Report.model_validate(
        {
            "reportId": "REP-DE",
            "reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
            "createdTime": "2026-04-15T12:00:00Z",
            "processingStatus": "DONE",
            "marketplaceIds": ["A1PA6795UKMFR9"],
            "reportDocumentId": "DOC-DE",
        }
    )
    parsed = make_client(fake, clock).reports.fetch_settlement(report)
    assert parsed.decoding is not None
    assert (parsed.decoding.declared, parsed.decoding.guessed) == ("Cp1252", False)
    assert parsed.lines[0].sku == "THÉ-VERT-100G"
    assert parsed.summary.total_amount == D("1046.16")
