"""Reports API 2021-06-30: find settlement reports, request bulk order reports, download them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ml_connector.errors import RemoteError
from ml_connector.remote.amazon.flatfile import (
    AllOrdersRow,
    DecodedText,
    SettlementReport,
    decode_report,
    parse_all_orders,
    parse_settlement_v2,
    with_decoding,
)
from ml_connector.remote.amazon.models.base import Record
from ml_connector.remote.amazon.models.reports import (
    ProcessingStatus,
    Report,
    ReportDocument,
    ReportType,
)
from ml_connector.remote.amazon.params import QueryValue, format_time
from ml_connector.remote.http.paginate import follow_tokens

if TYPE_CHECKING:
    from ml_connector.remote.amazon.client import SpApiClient

__all__ = ["ReportFailedError", "ReportsApi"]

BASE = "/reports/2021-06-30"


class ReportFailedError(RemoteError):
    """A report ended FATAL or CANCELLED (Amazon cancels a report that has no data)."""


class ReportsApi:
    def __init__(
        self,
        client: SpApiClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._clock = clock

    def get_reports(
        self,
        report_types: Sequence[str],
        *,
        processing_statuses: Sequence[str] | None = None,
        marketplace_ids: Sequence[str] | None = None,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
        page_size: int = 100,
    ) -> Iterator[Record[Report]]:
        """Reports of the given types, newest first; with a token Amazon wants nothing else."""
        first: dict[str, QueryValue] = {
            "reportTypes": list(report_types),
            "processingStatuses": list(processing_statuses) if processing_statuses else None,
            "marketplaceIds": list(marketplace_ids) if marketplace_ids else None,
            "createdSince": created_since,
            "createdUntil": created_until,
            "pageSize": page_size,
        }

        def fetch(token: str | None) -> dict[str, Any]:
            params: dict[str, QueryValue] = {"nextToken": token} if token else first
            body: dict[str, Any] = self._client.call(
                "getReports", "GET", f"{BASE}/reports", params=params
            )
            return body

        for body in follow_tokens(fetch, lambda b: b.get("nextToken"), operation="getReports"):
            for raw in body.get("reports") or []:
                yield Record(Report.model_validate(raw), raw)

    def create_report(
        self,
        report_type: str,
        marketplace_ids: Sequence[str],
        *,
        data_start_time: datetime | None = None,
        data_end_time: datetime | None = None,
        report_options: Mapping[str, str] | None = None,
    ) -> str:
        """Ask Amazon to build a report; returns its ``reportId`` (Amazon answers 202)."""
        spec: dict[str, Any] = {"reportType": report_type, "marketplaceIds": list(marketplace_ids)}
        if data_start_time is not None:
            spec["dataStartTime"] = format_time(data_start_time)
        if data_end_time is not None:
            spec["dataEndTime"] = format_time(data_end_time)
        if report_options:
            spec["reportOptions"] = dict(report_options)
        body = self._client.call("createReport", "POST", f"{BASE}/reports", json_body=spec)
        return str(body["reportId"])

    def get_report(self, report_id: str) -> Record[Report]:
        raw: dict[str, Any] = self._client.call("getReport", "GET", f"{BASE}/reports/{report_id}")
        return Record(Report.model_validate(raw), raw)

    def wait_for_report(
        self, report_id: str, *, poll_every_s: float = 30.0, timeout_s: float = 3600.0
    ) -> Report:
        """Poll ``getReport`` until DONE; FATAL/CANCELLED raise ``ReportFailedError``."""
        deadline = self._clock() + timeout_s
        while True:
            report = self.get_report(report_id).model
            if report.processing_status == ProcessingStatus.DONE:
                return report
            if report.is_final:
                raise ReportFailedError(
                    f"report ended {report.processing_status}",
                    operation="getReport",
                    code=report.processing_status,
                )
            if self._clock() + poll_every_s > deadline:
                raise ReportFailedError(
                    f"report still {report.processing_status} after {timeout_s:.0f}s",
                    operation="getReport",
                )
            self._sleep(poll_every_s)

    def get_report_document(self, document_id: str) -> Record[ReportDocument]:
        raw: dict[str, Any] = self._client.call(
            "getReportDocument", "GET", f"{BASE}/documents/{document_id}"
        )
        return Record(ReportDocument.model_validate(raw), raw)

    def download(
        self,
        document_id: str,
        *,
        encoding: str | None = None,
        marketplace_ids: Sequence[str] = (),
    ) -> DecodedText:
        """getReportDocument, fetch the presigned URL at once (it lives 5 minutes), gunzip,
        decode in the charset the download's Content-Type names (``encoding`` overrides it).

        Without a charset the result says it was guessed; ``marketplace_ids`` (the report's)
        only steer that guess."""
        document = self.get_report_document(document_id).model
        downloaded = self._client.download(document.url)
        return decode_report(
            downloaded.content,
            compression=document.compression_algorithm,
            content_type=downloaded.content_type,
            charset=encoding,
            marketplace_ids=marketplace_ids,
        )

    def download_text(self, document_id: str, *, encoding: str | None = None) -> str:
        """The document's text (see ``download`` for how it is decoded)."""
        return self.download(document_id, encoding=encoding).text

    def settlement_reports(
        self, *, created_since: datetime | None = None
    ) -> Iterator[Record[Report]]:
        """Settlement V2 reports Amazon generated (they cannot be requested)."""
        return self.get_reports(
            [ReportType.SETTLEMENT_V2],
            processing_statuses=[ProcessingStatus.DONE],
            created_since=created_since,
        )

    def fetch_settlement(self, report: Report, *, encoding: str | None = None) -> SettlementReport:
        """Download and parse one settlement report; the result says how it was decoded and
        which rows could not be read (``rejected``)."""
        if not report.report_document_id:
            raise ReportFailedError("report has no document yet", operation="getReport")
        markets = list(report.marketplace_ids or [])
        decoded = self.download(
            report.report_document_id, encoding=encoding, marketplace_ids=markets
        )
        parsed = parse_settlement_v2(
            decoded.text, marketplace=markets[0] if len(markets) == 1 else None
        )
        return with_decoding(parsed, decoded)

    def fetch_all_orders(
        self,
        marketplace_ids: Sequence[str],
        *,
        start: datetime,
        end: datetime,
        poll_every_s: float = 30.0,
        timeout_s: float = 3600.0,
        encoding: str | None = None,
    ) -> list[AllOrdersRow]:
        """The bulk-backfill path: createReport → poll getReport → getReportDocument → parse."""
        report_id = self.create_report(
            ReportType.ALL_ORDERS_BY_LAST_UPDATE,
            marketplace_ids,
            data_start_time=start,
            data_end_time=end,
        )
        report = self.wait_for_report(report_id, poll_every_s=poll_every_s, timeout_s=timeout_s)
        assert report.report_document_id is not None
        text = self.download(
            report.report_document_id, encoding=encoding, marketplace_ids=marketplace_ids
        ).text
        return parse_all_orders(text)
