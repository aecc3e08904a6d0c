"""The stored connections: add, read (re-validated), change, rename, remove.

The configuration model itself is ``config_model`` (and ``oracle_settings``); its names
are re-exported here, where the rest of the code has always imported them from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ml_connector.store.columns import utcnow
from ml_connector.store.config_model import (
    AccountingSettings,
    AmazonSettings,
    Cadences,
    ConnectionConfig,
    MappingFiles,
    OracleSettings,
    marketplace_problem,
    taken_from,
)
from ml_connector.store.errors import NotFoundInStoreError, StoreError
from ml_connector.store.kinds import DocumentState
from ml_connector.store.tables import AuditEvent, Base, ConnectionRow, Document

__all__ = [
    "AccountingSettings",
    "AmazonSettings",
    "Cadences",
    "ConnectionConfig",
    "MappingFiles",
    "OracleSettings",
    "SellerIdentity",
    "add_connection",
    "connection_config",
    "delete_connection",
    "documents_in_flight",
    "find_same_seller",
    "get_connection",
    "has_documents",
    "list_connections",
    "mark_connection_removed",
    "marketplace_problem",
    "rename_connection",
    "seller_identity",
    "taken_from",
    "update_connection",
]

_CONNECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _check_name(name: str) -> None:
    if not _CONNECTION_NAME.match(name):
        raise StoreError(
            f"connection name {name!r} must start with a-z or 0-9 and use only a-z 0-9 _ -"
        )


def add_connection(
    session: Session, name: str, config: ConnectionConfig, *, now: datetime | None = None
) -> ConnectionRow:
    _check_name(name)
    at = now or utcnow()
    existing = session.scalar(select(ConnectionRow).where(ConnectionRow.name == name))
    if existing is not None:
        raise StoreError(f"a connection named {name!r} already exists")
    row = ConnectionRow(
        name=name,
        config=config.model_dump(mode="json"),
        enabled=True,
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    session.flush()
    return row


def update_connection(
    session: Session,
    row: ConnectionRow,
    *,
    config: ConnectionConfig | None = None,
    enabled: bool | None = None,
    now: datetime | None = None,
) -> ConnectionRow:
    if config is not None:
        row.config = config.model_dump(mode="json")
    if enabled is not None:
        row.enabled = enabled
    row.updated_at = now or utcnow()
    session.flush()
    return row


def get_connection(session: Session, name_or_id: str | int) -> ConnectionRow:
    if isinstance(name_or_id, int):
        row = session.get(ConnectionRow, name_or_id)
    else:
        row = session.scalar(select(ConnectionRow).where(ConnectionRow.name == name_or_id))
    if row is None:
        raise NotFoundInStoreError(f"no connection {name_or_id!r}")
    return row


def list_connections(
    session: Session, *, enabled_only: bool = False, include_removed: bool = False
) -> list[ConnectionRow]:
    """Connections by name; those removed with their history kept only on request."""
    query = select(ConnectionRow).order_by(ConnectionRow.name)
    if enabled_only:
        query = query.where(ConnectionRow.enabled.is_(True))
    if not include_removed:
        query = query.where(ConnectionRow.removed_at.is_(None))
    return list(session.scalars(query))


def connection_config(row: ConnectionRow) -> ConnectionConfig:
    """The stored JSON re-validated, so a hand-edited row fails loudly rather than half-works."""
    data: dict[str, Any] = row.config
    return ConnectionConfig.model_validate(data)


@dataclass(frozen=True)
class SellerIdentity:
    """Whose books a configuration keeps, as far as the configuration tells.

    ``seller_id`` is the selling partner id case-folded (Amazon's ids are upper case; a typed
    lower-case one is the same seller), ``None`` when ``amazon.seller_id`` is not set;
    ``lwa_app`` the LWA client id; ``oracle`` the pod (``pod.region``) or base URL, lower case;
    ``business_unit`` case-folded.
    """

    seller_id: str | None
    lwa_app: str
    oracle: str
    business_unit: str

    def is_same_seller(self, other: SellerIdentity) -> bool:
        """Two identities keep the same books: same Oracle and business unit, and the same
        selling partner id, or (when either has none) the same LWA app, since then nothing
        tells the two apart and their documents' idempotency keys would collide."""
        if (self.oracle, self.business_unit) != (other.oracle, other.business_unit):
            return False
        if self.seller_id is not None and other.seller_id is not None:
            return self.seller_id == other.seller_id
        return self.lwa_app == other.lwa_app


# States in which a document may be on its way into Oracle or will be sent again by itself.
IN_FLIGHT = (DocumentState.SENDING, DocumentState.WAITING, DocumentState.RETRY)


def seller_identity(config: ConnectionConfig) -> SellerIdentity:
    """Whose books a configuration keeps: documents and idempotency keys belong to this, so two
    connections with the same identity would post the same documents twice (or collide)."""
    oracle = config.oracle
    where = (oracle.base_url or f"{oracle.pod}.{oracle.region}").strip().rstrip("/").lower()
    amazon = config.amazon
    # Without a selling partner id, the LWA app stands for the seller (one app per seller is
    # the common case; an integrator with one app for many sellers sets amazon.seller_id).
    seller_id = amazon.seller_id.strip().casefold()
    return SellerIdentity(
        seller_id=None if seller_id == "default" else seller_id,
        lwa_app=amazon.lwa_client_id.strip(),
        oracle=where,
        business_unit=oracle.business_unit.strip().casefold(),
    )


def _stored_identity(row: ConnectionRow) -> SellerIdentity | None:
    try:
        return seller_identity(connection_config(row))
    except ValueError:  # a hand-edited row that no longer validates has no comparable identity
        return None


def find_same_seller(
    session: Session, config: ConnectionConfig, *, exclude_id: int | None = None
) -> ConnectionRow | None:
    """The connection (removed ones included) that already keeps this seller's books
    (``SellerIdentity.is_same_seller``), or None."""
    wanted = seller_identity(config)
    for row in list_connections(session, include_removed=True):
        if row.id == exclude_id:
            continue
        stored = _stored_identity(row)
        if stored is None or not stored.is_same_seller(wanted):
            continue
        # A removed connection still owns the seller while it keeps the seller's documents.
        if row.removed_at is None or has_documents(session, row.id):
            return row
    return None


def documents_in_flight(session: Session, connection_id: int) -> dict[str, int]:
    """How many documents per state may still reach Oracle (sending, waiting, retry)."""
    query = (
        select(Document.state, func.count())
        .where(Document.connection_id == connection_id, Document.state.in_(IN_FLIGHT))
        .group_by(Document.state)
    )
    return {str(state): int(count) for state, count in session.execute(query)}


def rename_connection(
    session: Session, row: ConnectionRow, new_name: str, *, now: datetime | None = None
) -> ConnectionRow:
    """Give a connection a new name; its id (and so every document and event) is unchanged."""
    _check_name(new_name)
    taken = session.scalar(select(ConnectionRow).where(ConnectionRow.name == new_name))
    if taken is not None and taken.id != row.id:
        raise StoreError(f"a connection named {new_name!r} already exists")
    row.name = new_name
    row.updated_at = now or utcnow()
    session.flush()
    return row


def mark_connection_removed(
    session: Session, row: ConnectionRow, *, now: datetime | None = None
) -> ConnectionRow:
    """Removed with the history kept: disabled, hidden from lists; its rows stay."""
    at = now or utcnow()
    row.enabled = False
    row.removed_at = at
    row.updated_at = at
    session.flush()
    return row


def delete_connection(session: Session, row: ConnectionRow) -> dict[str, int]:
    """Delete everything stored for a connection but its audit trail; returns the count per table.

    The audit trail is append-only (database triggers), so its events stay, under the old row:
    that row is marked removed and renamed ``<name>.removed-<id>`` (a name `add` never accepts),
    so the name and the seller can be used again. Tables are found through their
    ``connection_id`` column, children before parents, so a table added later is not forgotten.
    """
    counts: dict[str, int] = {}
    kept = {AuditEvent.__tablename__, ConnectionRow.__tablename__}
    for table in reversed(Base.metadata.sorted_tables):
        column = table.columns.get("connection_id")
        if column is None or table.name in kept:
            continue
        result = session.execute(delete(table).where(column == row.id))
        counts[table.name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    suffix = f".removed-{row.id}"
    row.name = row.name[: 64 - len(suffix)] + suffix
    mark_connection_removed(session, row)
    return {name: count for name, count in counts.items() if count}


def has_documents(session: Session, connection_id: int) -> bool:
    query = select(Document.id).where(Document.connection_id == connection_id).limit(1)
    return session.scalar(query) is not None
