"""A seller's non-secret configuration, validated before it is stored and when it is read.

Secrets (LWA client secret, refresh tokens, Oracle client secret or private key) are not part of
this model at all: they live encrypted in ``secrets``. ``extra="forbid"`` makes a stray
``client_secret`` key in a config file a validation error instead of a plaintext column.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ml_connector.domain.marketplaces import MARKETPLACES, marketplace
from ml_connector.remote.oracle.pod import identity_domain_host, oci_region_hint, split_pod_url
from ml_connector.store.columns import utcnow
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

    @field_validator("marketplace_ids")
    @classmethod
    def _known_marketplaces(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # Refused here, not at the first sync: a marketplace that cannot be read (unknown id,
        # no refresh token for its region) would leave its orders out of the books.
        regions = info.data.get("regions")
        problems = [
            problem
            for marketplace_id in value
            if (problem := marketplace_problem(marketplace_id, regions)) is not None
        ]
        if problems:
            raise PydanticCustomError(
                "marketplace", "{problems}", {"problems": "; ".join(problems)}
            )
        return value


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

    @model_validator(mode="before")
    @classmethod
    def _pod_address(cls, data: Any) -> Any:
        """A pasted pod address in ``pod`` gives both the pod and the region."""
        if not isinstance(data, dict) or not isinstance(data.get("pod"), str):
            return data
        split = split_pod_url(data["pod"])
        if split is None:
            return data
        pod, region = split
        given = data.get("region")
        if isinstance(given, str) and given.strip() and given.strip() != region:
            message = (
                f"oracle.pod is the address of a pod in region {region!r} but oracle.region is "
                f"{given.strip()!r}: leave oracle.region out (it is taken from the address) or "
                "correct it"
            )
            raise PydanticCustomError("pod_region", "{message}", {"message": message})
        return {**data, "pod": pod, "region": region}

    @field_validator("pod", "region")
    @classmethod
    def _dns_label(cls, value: str, info: ValidationInfo) -> str:
        # These become part of a host name: anything else could redirect credentials elsewhere.
        hint = oci_region_hint(value) if info.field_name == "region" else None
        if hint is not None:
            raise PydanticCustomError("oci_region", "{hint}", {"hint": hint})
        if not _DNS_LABEL.match(value):
            what = (
                "the pod's name (the POD of https://POD.fa.REGION.oraclecloud.com) or that "
                "whole address"
                if info.field_name == "pod"
                else "the data-center code of https://POD.fa.REGION.oraclecloud.com (us2, em2, ocs)"
            )
            raise PydanticCustomError(
                "dns_label",
                "must be a DNS label (a-z, 0-9, '-', at most 63 characters): {what}",
                {"what": what},
            )
        return value

    @field_validator("identity_domain_url")
    @classmethod
    def _one_identity_domain_form(cls, value: str) -> str:
        # Every form the Oracle console shows (URL, with :443 or a path, bare host, bare id) is
        # stored as the bare host; anything else (a simulator's loopback URL, a listed host)
        # is kept as written and judged where the token URL is built (context.oracle_token_url).
        host = identity_domain_host(value)
        return host if host is not None else value.strip().rstrip("/")


class Cadences(_Frozen):
    """How often each stream is polled, in minutes."""

    orders_minutes: int = Field(default=10, ge=1)
    finances_minutes: int = Field(default=15, ge=1)
    settlements_minutes: int = Field(default=360, ge=1)
    # How far back the very first sync reads, and how many invoices are sent to Oracle at once.
    initial_history_days: int = Field(default=30, ge=1, le=800)
    post_concurrency: int = Field(default=4, ge=1, le=32)


class AccountingSettings(_Frozen):
    """How this seller's books are kept where sellers differ (docs/accounting-options.md).

    - ``vat_inclusive``: an order from a marketplace whose prices include VAT/GST and whose
      Amazon data carries no tax figure is invoiced with the VAT separated, either ``"split"``
      (the connector splits each amount by the rate the charge mapping's ``[vat]`` gives for the
      marketplace, or the SKU's category) or ``"tax_code"`` (tax-inclusive lines with the
      mapping's tax classification code; Oracle's tax engine computes the tax). With neither a
      rate nor a code for the marketplace the order waits in the review queue.
    - ``include_cogs``: the settlement journal books Dr COGS / Cr inventory at the catalog's
      ``unit_cost`` for units shipped, and reverses it for units returned, to ``returned_goods``:
      ``"restock"`` (back to inventory) or ``"write_off"`` (the mapping's ``returns_write_off``
      account).
    - ``invoicing_rule`` / ``accounting_rule``: Receivables rule names every invoice carries so
      Oracle builds a revenue schedule; none (the default) recognizes revenue at shipment.
    """

    vat_inclusive: Literal["split", "tax_code"] = "split"
    include_cogs: bool = False
    returned_goods: Literal["restock", "write_off"] = "restock"
    invoicing_rule: Annotated[str, Field(min_length=1, max_length=30)] | None = None
    accounting_rule: Annotated[str, Field(min_length=1, max_length=30)] | None = None
    accounting_rule_duration: int | None = Field(default=None, ge=1, le=999)


class MappingFiles(_Frozen):
    catalog: Path
    charges: Path


class ConnectionConfig(_Frozen):
    amazon: AmazonSettings
    oracle: OracleSettings
    mappings: MappingFiles
    cadences: Cadences = Field(default_factory=Cadences)
    accounting: AccountingSettings = Field(default_factory=AccountingSettings)


def marketplace_problem(marketplace_id: str, regions: Collection[str] | None) -> str | None:
    """Why a configured marketplace id cannot be synced, in words naming the fix; None if it can.

    Refused: an id not in the marketplace table (a typo, with the nearest id suggested), a
    country code or a marketplace's name in place of its id (``US``, ``amazon.com``), and a
    marketplace in a region outside ``regions`` (no refresh token can read it). ``regions``
    None skips the region rule (the regions themselves were refused).
    """
    text = marketplace_id.strip()
    known = marketplace(text)
    if known is not None and known.marketplace_id == text:
        if regions is None or known.region in regions:
            return None
        return (
            f"marketplace {text!r} ({known.name}) is in region {known.region}, but amazon.regions "
            f"is {list(regions)} (no refresh token for it): add {str(known.region)!r} to "
            "amazon.regions or remove the marketplace"
        )
    if known is not None:
        return (
            f"{text!r} is a country code, not a marketplace id: {known.name} is "
            f"{known.marketplace_id!r}"
        )
    bare = text.lower().removeprefix("https://").removeprefix("www.").rstrip("/")
    for market in MARKETPLACES:
        if market.name.lower() == bare:
            return (
                f"{text!r} is a marketplace's name, not its id: {market.name} is "
                f"{market.marketplace_id!r}"
            )
    near = difflib.get_close_matches(
        text.upper(), [m.marketplace_id for m in MARKETPLACES], n=1, cutoff=0.75
    )
    guess = ""
    if near:
        found = marketplace(near[0])
        guess = f" (did you mean {near[0]!r}, {found.name if found else near[0]}?)"
    return (
        f"{text!r} is not an Amazon marketplace id{guess}; the ids are listed in "
        "docs/configuration.md"
    )


def taken_from(raw: Any, config: ConnectionConfig) -> list[str]:
    """What validation read differently from what the file says, one sentence per setting
    (a pasted pod address, another form of the identity domain), for `add` and `update`."""
    oracle = raw.get("oracle") if isinstance(raw, dict) else None
    if not isinstance(oracle, dict):
        return []
    said: list[str] = []
    pod = oracle.get("pod")
    if isinstance(pod, str) and pod != config.oracle.pod:
        said.append(
            f"oracle.pod: took pod {config.oracle.pod}, region {config.oracle.region} from "
            f"{pod.strip()}"
        )
    domain = oracle.get("identity_domain_url")
    if isinstance(domain, str) and domain.strip() != config.oracle.identity_domain_url:
        said.append(
            f"oracle.identity_domain_url: read {domain.strip()} as the identity domain "
            f"{config.oracle.identity_domain_url}"
        )
    return said


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


SellerIdentity = tuple[str, str, str]
"""(Amazon selling partner id, Oracle pod or base URL, Oracle business unit)."""

# States in which a document may be on its way into Oracle or will be sent again by itself.
IN_FLIGHT = (DocumentState.SENDING, DocumentState.WAITING, DocumentState.RETRY)


def seller_identity(config: ConnectionConfig) -> SellerIdentity:
    """Whose books a configuration keeps: documents and idempotency keys belong to this, so two
    connections with the same identity would post the same documents twice (or collide)."""
    oracle = config.oracle
    where = (oracle.base_url or f"{oracle.pod}.{oracle.region}").rstrip("/").lower()
    amazon = config.amazon
    # Without a selling partner id, the LWA app stands for the seller (one app per seller is
    # the common case; an integrator with one app for many sellers sets amazon.seller_id).
    seller = amazon.seller_id if amazon.seller_id != "default" else f"app {amazon.lwa_client_id}"
    return (seller, where, oracle.business_unit.strip().casefold())


def _stored_identity(row: ConnectionRow) -> SellerIdentity | None:
    try:
        return seller_identity(connection_config(row))
    except ValueError:  # a hand-edited row that no longer validates has no comparable identity
        return None


def find_same_seller(
    session: Session, config: ConnectionConfig, *, exclude_id: int | None = None
) -> ConnectionRow | None:
    """The connection (removed ones included) that already keeps this seller's books."""
    wanted = seller_identity(config)
    for row in list_connections(session, include_removed=True):
        if row.id == exclude_id or _stored_identity(row) != wanted:
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
