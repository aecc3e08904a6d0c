"""Reports API 2021-06-30 shapes; responses are not wrapped in ``payload``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ml_connector.remote.amazon.models.base import CamelModel

__all__ = ["ProcessingStatus", "Report", "ReportDocument", "ReportType"]


class ReportType(StrEnum):
    SETTLEMENT_V2 = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
    ALL_ORDERS_BY_LAST_UPDATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
    ALL_ORDERS_BY_ORDER_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"


class ProcessingStatus(StrEnum):
    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELLED = "CANCELLED"
    FATAL = "FATAL"


FINAL_STATUSES = frozenset(
    {ProcessingStatus.DONE, ProcessingStatus.CANCELLED, ProcessingStatus.FATAL}
)


class Report(CamelModel):
    report_id: str
    report_type: str
    created_time: datetime
    processing_status: str
    marketplace_ids: list[str] | None = None
    data_start_time: datetime | None = None
    data_end_time: datetime | None = None
    report_schedule_id: str | None = None
    processing_start_time: datetime | None = None
    processing_end_time: datetime | None = None
    report_document_id: str | None = None

    @property
    def is_final(self) -> bool:
        return self.processing_status in FINAL_STATUSES


class ReportDocument(CamelModel):
    report_document_id: str
    url: str
    compression_algorithm: str | None = None
