"""A seller's non-secret configuration, validated before it is stored and when it is read.

Secrets (LWA client secret, refresh tokens, Oracle client secret or private key) are not part of
this model at all: they live encrypted in ``secrets``. ``extra="forbid"`` makes a stray
``client_secret`` key in a config file a validation error instead of a plaintext column.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ml_connector.store.columns import utcnow
from ml_connector.store.errors import NotFoundInStoreError, StoreError
from ml_connector.store.tables import ConnectionRow

__all__ = [
    "AmazonSettings",
    "Cadences",
    "ConnectionConfig",
    "MappingFiles",
    "OracleSettings",
    "add_connection",
    "connection_config",
    "get_connection",
    "list_connections",
    "update_connection",
]

AmazonRegion = Literal["NA", "EU", "FE"]
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_CONNECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
NonEmpty = Annotated[str, Field(min_length=1, max_length=240)]


class _Frozen(BaseModel):
    # hide_input_in_errors: a secret pasted into the wrong field must not reappear in the error.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class AmazonSettings(_Frozen):
    """Where the seller sells; each region needs its own refresh token (stored as a secret)."""

    regions: list[AmazonRegion] = Field(min_length=1)
    marketplace_ids: list[NonEmpty] = Field(min_length=1)
    seller_id: NonEmpty = "default"
    lwa_client_id: NonEmpty
    # Amazon's documented hosts for the regions, or loopback (simulators); anything else is
    # refused before a request is made (remote/amazon/endpoints.py).
    base_urls: dict[AmazonRegion, str] = Field(default_factory=dict)
    lwa_token_url: str | None = None
    # Simulators run time faster; their usage plans are scaled by the same factor. 1 for Amazon.
    rate_limit_scale: float = Field(default=1.0, gt=0)


class OracleSettings(_Frozen):
    pod: str
    region: str
    identity_domain_url: NonEmpty
    client_id: NonEmpty
    scope: NonEmpty
    auth: Literal["client_credentials", "jwt_assertion", "basic"] = "client_credentials"
    business_unit: NonEmpty
    ledger: NonEmpty
    legal_entity: NonEmpty
    invoice_source: NonEmpty
    invoice_transaction_type: NonEmpty
    credit_memo_transaction_type: NonEmpty
    journal_source: NonEmpty
    journal_category: NonEmpty
    conversion_rate_type: NonEmpty = "Corporate"
    ledger_id: NonEmpty
    ledger_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    payment_terms: str | None = "IMMEDIATE"
    jwt_username: str | None = None
    jwt_key_id: str | None = None
    # Oracle publishes no REST rate limit; this is our own politeness per operation.
    requests_per_second: float = Field(default=5.0, gt=0)
    import_poll_seconds: float = Field(default=10.0, gt=0)
    import_max_wait: float = Field(default=1800.0, gt=0)
    # After a crash, how long an import we may have submitted can still create its documents.
    import_settle_seconds: float = Field(default=900.0, ge=0)
    # marketplace id → Oracle customer account number (one customer per marketplace, §4).
    customer_accounts: dict[str, NonEmpty] = Field(default_factory=dict)
    base_url: str | None = None
    allow_remote_base_url: bool = False
    # With allow_remote_base_url, the only non-loopback hosts base_url and identity_domain_url
    # (as a URL) may name: credentials never go to "any https host".
    allowed_remote_hosts: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(
        default_factory=list
    )

    @field_validator("pod", "region")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        # These become part of a host name: anything else could redirect credentials elsewhere.
        if not _DNS_LABEL.match(value):
            raise ValueError("must be a DNS label (a-z, 0-9, '-', at most 63 characters)")
        return value


class Cadences(_Frozen):
    """How often each stream is polled, in minutes."""

    orders_minutes: int = Field(default=10, ge=1)
    finances_minutes: int = Field(default=15, ge=1)
    settlements_minutes: int = Field(default=360, ge=1)
    # How far back the very first sync reads, and how many invoices are sent to Oracle at once.
    initial_history_days: int = Field(default=30, ge=1, le=800)
    post_concurrency: int = Field(default=4, ge=1, le=32)


class MappingFiles(_Frozen):
    catalog: Path
    charges: Path


class ConnectionConfig(_Frozen):
    amazon: AmazonSettings
    oracle: OracleSettings
    mappings: MappingFiles
    cadences: Cadences = Field(default_factory=Cadences)


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


def list_connections(session: Session, *, enabled_only: bool = False) -> list[ConnectionRow]:
    query = select(ConnectionRow).order_by(ConnectionRow.name)
    if enabled_only:
        query = query.where(ConnectionRow.enabled.is_(True))
    return list(session.scalars(query))


def connection_config(row: ConnectionRow) -> ConnectionConfig:
    """The stored JSON re-validated, so a hand-edited row fails loudly rather than half-works."""
    data: dict[str, Any] = row.config
    return ConnectionConfig.model_validate(data)
