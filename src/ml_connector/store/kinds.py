"""The store's vocabularies: every state and kind a row can have, as string enums.

They are ``StrEnum`` so they compare equal to the plain text stored in the database and in JSON.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AuditAction",
    "DocumentKind",
    "DocumentState",
    "RawKind",
    "ReviewKind",
    "ReviewStatus",
    "RunStatus",
    "UpsertOutcome",
]


class RawKind(StrEnum):
    """What an Amazon raw record is; together with the Amazon id it identifies the record."""

    ORDER = "order"
    TRANSACTION = "transaction"
    GROUP = "group"
    SETTLEMENT_REPORT = "settlement_report"
    REPORT = "report"


class UpsertOutcome(StrEnum):
    """What a raw-record upsert did, so extract can count and audit only real changes."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


class DocumentKind(StrEnum):
    """The Oracle document an outbox row will become."""

    INVOICE = "invoice"
    CREDIT_MEMO = "credit_memo"
    JOURNAL = "journal"


class DocumentState(StrEnum):
    """Outbox states (DESIGN.md §5); the legal edges live in ``outbox.TRANSITIONS``."""

    PLANNED = "planned"
    SENDING = "sending"
    POSTED = "posted"
    REJECTED = "rejected"
    WAITING = "waiting"
    RETRY = "retry"


class ReviewKind(StrEnum):
    """Why a human has to look at something."""

    UNMAPPED_SKU = "unmapped_sku"
    UNKNOWN_FEE_TYPE = "unknown_fee_type"
    ORACLE_REJECTED = "oracle_rejected"
    OUTSIDE_RETENTION = "outside_retention"
    INVALID_DATA = "invalid_data"  # Amazon sent something we cannot read
    ACCOUNTING_HOLD = "accounting_hold"  # an invariant or an ambiguity stops the document
    CHANGED_AFTER_POSTING = "changed_after_posting"  # Amazon changed a record we already posted
    ORACLE_JOB_WAITING = "oracle_job_waiting"  # an import's ESS job waits for a person in Oracle


class ReviewStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    ABORTED = "aborted"  # the cycle died without closing its run; closed by the next cycle


class AuditAction(StrEnum):
    """Common audit actions; ``audit.append_event`` also accepts other snake_case words."""

    FETCHED = "fetched"
    CHANGED = "changed"
    MAPPED = "mapped"
    PLANNED = "planned"
    HELD = "held"
    SENDING = "sending"
    POSTED = "posted"
    REJECTED = "rejected"
    RETRIED = "retried"
    RESOLVED = "resolved"
    REPLAYED = "replayed"
    RECONCILED = "reconciled"
    CLAMPED = "clamped"
