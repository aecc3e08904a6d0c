"""The store's tables (DESIGN.md §5) as typed SQLAlchemy 2 declarative models.

The initial Alembic migration mirrors this file; ``tests/store`` checks that an autogenerate
diff between the two is empty on SQLite and PostgreSQL, so change both together.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship

from ml_connector.store.columns import EnumText, UTCDateTime
from ml_connector.store.errors import AuditRefusedError
from ml_connector.store.kinds import (
    DocumentKind,
    DocumentState,
    RawKind,
    ReviewKind,
    ReviewStatus,
    RunStatus,
)

__all__ = [
    "AuditEvent",
    "AuditLink",
    "Base",
    "Binding",
    "ConnectionRow",
    "Cursor",
    "Document",
    "Lease",
    "RawRecord",
    "ReviewItem",
    "Run",
    "StoredSecret",
]

# Named constraints keep migrations deterministic on both databases (and batch mode on SQLite).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CONNECTION_FK = "connections.id"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class ConnectionRow(Base):
    """One seller: non-secret configuration, validated by ``connections.ConnectionConfig``."""

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    config: Mapped[dict[str, Any]]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Set by `connection remove --keep-history`: credentials gone, audit and documents kept.
    removed_at: Mapped[datetime | None]


class StoredSecret(Base):
    """One encrypted credential; ``key_id`` names the master key that sealed it."""

    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("connection_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK))
    name: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class KeyCheck(Base):
    """Which master key this store belongs to: a constant sealed under it (one row, id 1)."""

    __tablename__ = "key_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]


class Cursor(Base):
    __tablename__ = "cursors"
    __table_args__ = (UniqueConstraint("connection_id", "stream"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK))
    stream: Mapped[str] = mapped_column(String(64))
    watermark: Mapped[datetime]
    updated_at: Mapped[datetime]


class RawRecord(Base):
    """An Amazon payload exactly as fetched; re-reads only bump ``last_seen``/``times_seen``."""

    __tablename__ = "raw_records"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "amazon_id"),
        Index("ix_raw_records_parent", "connection_id", "kind", "parent_amazon_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK))
    kind: Mapped[RawKind] = mapped_column(EnumText(RawKind))
    amazon_id: Mapped[str] = mapped_column(String(128), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    previous_hash: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime | None]
    times_changed: Mapped[int] = mapped_column(Integer, default=0)
    #: The settlement group a transaction was listed for (None for other kinds).
    parent_amazon_id: Mapped[str | None] = mapped_column(String(128))


class Document(Base):
    """The outbox: a planned Oracle document and how far it got (DESIGN.md §5)."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[DocumentKind] = mapped_column(EnumText(DocumentKind))
    amazon_source_id: Mapped[str] = mapped_column(String(128), index=True)
    payload: Mapped[dict[str, Any]]
    state: Mapped[DocumentState] = mapped_column(EnumText(DocumentState), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    oracle_id: Mapped[str | None] = mapped_column(String(128))
    oracle_number: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Binding(Base):
    """Amazon id ↔ Oracle id, one-to-one per kind: the last line of defence against doubles."""

    __tablename__ = "bindings"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "amazon_id"),
        UniqueConstraint("connection_id", "kind", "oracle_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK))
    kind: Mapped[DocumentKind] = mapped_column(EnumText(DocumentKind))
    amazon_id: Mapped[str] = mapped_column(String(128))
    oracle_id: Mapped[str] = mapped_column(String(128), index=True)
    oracle_number: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]


class ReviewItem(Base):
    __tablename__ = "review_items"
    __table_args__ = (
        # At most one *open* item per subject and reason kind; resolved ones pile up as history.
        Index(
            "uq_review_items_open_subject",
            "connection_id",
            "kind",
            "subject_amazon_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK))
    kind: Mapped[ReviewKind] = mapped_column(EnumText(ReviewKind))
    subject_amazon_id: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]
    status: Mapped[ReviewStatus] = mapped_column(EnumText(ReviewStatus))
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class AuditEvent(Base):
    """One step in a document's life; rows are never updated or deleted (database triggers)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK))
    at: Mapped[datetime] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(40))
    amazon_request_id: Mapped[str | None] = mapped_column(String(128))
    oracle_request_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any]]
    links: Mapped[list[AuditLink]] = relationship(lazy="selectin", order_by="AuditLink.id")

    @property
    def amazon_ids(self) -> list[str]:
        return [link.value for link in self.links if link.side == "amazon"]

    @property
    def oracle_ids(self) -> list[str]:
        return [link.value for link in self.links if link.side == "oracle"]


class AuditLink(Base):
    """Every id an audit event mentions, one row each, so a timeline is an indexed lookup."""

    __tablename__ = "audit_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), index=True)
    side: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(128), index=True)


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK), index=True)
    stream: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[RunStatus] = mapped_column(EnumText(RunStatus))
    counts: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    last_seen_at: Mapped[datetime | None]


class Lease(Base):
    """Who works on a (connection, stream) until when; ``generation`` is the fencing token."""

    __tablename__ = "leases"
    __table_args__ = (UniqueConstraint("connection_id", "stream"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK))
    stream: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime | None]
    generation: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


def _refuse_change(_mapper: Mapper[Any], _connection: Any, target: object) -> None:
    raise AuditRefusedError(f"the audit trail is append-only: {type(target).__name__} not changed")


# The ORM refuses first (a clear error class); the database triggers from the migration are the
# net under it for anyone who reaches the tables another way.
for _model in (AuditEvent, AuditLink):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
