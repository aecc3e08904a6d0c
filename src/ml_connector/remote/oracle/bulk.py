"""`erpintegrations` importBulkData requests: zip, base64, job name and ParameterList.

Building the request is pure so it can be tested byte for byte and stored in the outbox before
it is sent; the client only POSTs what this module produced. Job names, UCM accounts and the
ParameterList positions are from the reference journal request
(reference/oracle/erpintegrations_importBulkData_journal_request.json) and oracle-fbdi.md §2.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ml_connector.remote.oracle.fbdi_gl import GL_INTERFACE_CSV, FbdiBuildError

JOURNAL_IMPORT_JOB = (
    "/oracle/apps/ess/financials/generalLedger/programs/common,JournalImportLauncher"
)
JOURNAL_IMPORT_ACCOUNT = "fin$/generalLedger$/import$"
AUTOINVOICE_JOB = (
    "/oracle/apps/ess/financials/receivables/transactions/autoInvoices,AutoInvoiceImportEss"
)
AUTOINVOICE_ACCOUNT = "fin$/receivables$/import$"
NULL = "#NULL"
_SAFE_FILE = re.compile(r"[A-Za-z0-9._-]{1,100}\.zip")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _param(value: str | None) -> str:
    """ParameterList is comma-separated with no quoting: a comma inside a value would shift
    every later position, so it is refused instead of sent."""
    if value is None or value == "":
        return NULL
    if "," in value:
        raise FbdiBuildError(f"ParameterList value {value!r} must not contain a comma")
    return value


def _flag(value: bool) -> str:
    return "Y" if value else "N"


def zip_files(files: Mapping[str, bytes]) -> bytes:
    """Deterministic zip (fixed timestamps, sorted entries): the same rows give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class JournalImportParameters:
    """The 7 positional JournalImportLauncher parameters."""

    source: str
    ledger_id: str
    group_id: int
    data_access_set_id: str | None = None
    post_errors_to_suspense: bool = False
    create_summary_journals: bool = False
    import_descriptive_flexfields: bool = False

    def parameter_list(self) -> str:
        return ",".join(
            [
                _param(self.data_access_set_id),
                _param(self.source),
                _param(self.ledger_id),
                str(self.group_id),
                _flag(self.post_errors_to_suspense),
                _flag(self.create_summary_journals),
                _flag(self.import_descriptive_flexfields),
            ]
        )


@dataclass(frozen=True, slots=True)
class AutoInvoiceParameters:
    """The 24 positional AutoInvoiceImportEss parameters (only the first three are needed)."""

    business_unit: str
    transaction_source: str
    default_date: dt.date
    base_due_date_on_transaction_date: bool = True

    def parameter_list(self) -> str:
        head = [
            _param(self.business_unit),
            _param(self.transaction_source),
            self.default_date.isoformat(),
        ]
        filters = [NULL] * 19  # positions 4-22: optional selection ranges
        tail = [_flag(self.base_due_date_on_transaction_date), NULL]
        return ",".join(head + filters + tail)


@dataclass(frozen=True, slots=True)
class BulkImportRequest:
    """One importBulkData call, ready to POST (and to store before posting)."""

    file_name: str
    document: bytes
    document_account: str
    job_name: str
    parameter_list: str
    job_options: str = "ExtractFileType=ALL"

    def __post_init__(self) -> None:
        if not _SAFE_FILE.fullmatch(self.file_name):
            raise FbdiBuildError("zip file name must be letters, digits, . _ - and end in .zip")

    def __repr__(self) -> str:
        return (
            f"BulkImportRequest(file_name={self.file_name!r}, job_name={self.job_name!r}, "
            f"parameter_list={self.parameter_list!r}, bytes={len(self.document)})"
        )

    def body(self) -> dict[str, Any]:
        return {
            "OperationName": "importBulkData",
            "DocumentContent": base64.b64encode(self.document).decode("ascii"),
            "ContentType": "zip",
            "FileName": self.file_name,
            "DocumentAccount": self.document_account,
            "JobName": self.job_name,
            "ParameterList": self.parameter_list,
            "CallbackURL": NULL,
            "NotificationCode": "10",
            "JobOptions": self.job_options,
        }


def journal_import_request(
    file_name: str, csv_bytes: bytes, parameters: JournalImportParameters
) -> BulkImportRequest:
    return BulkImportRequest(
        file_name=file_name,
        document=zip_files({GL_INTERFACE_CSV: csv_bytes}),
        document_account=JOURNAL_IMPORT_ACCOUNT,
        job_name=JOURNAL_IMPORT_JOB,
        parameter_list=parameters.parameter_list(),
    )


def autoinvoice_request(
    file_name: str, files: Mapping[str, bytes], parameters: AutoInvoiceParameters
) -> BulkImportRequest:
    return BulkImportRequest(
        file_name=file_name,
        document=zip_files(files),
        document_account=AUTOINVOICE_ACCOUNT,
        job_name=AUTOINVOICE_JOB,
        parameter_list=parameters.parameter_list(),
        job_options="InterfaceDetails=2,ExtractFileType=ALL",
    )
