"""The append-only audit trail: who did what to which Amazon and Oracle ids, and when.

Only ``append_event`` writes; nothing here updates or deletes, the ORM refuses to, and database
triggers refuse to for anyone else. Details are checked for secret-looking keys on the way in,
because once a credential is in an append-only table it cannot be taken out again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ml_connector.domain.ids import DOCUMENT_KEY_PREFIXES
from ml_connector.store.bindings import bindings_for
from ml_connector.store.columns import utcnow
from ml_connector.store.errors import AuditRefusedError
from ml_connector.store.keys import MasterKey, Secret
from ml_connector.store.tables import AuditEvent, AuditLink

__all__ = ["SECRET_KEY_PATTERN", "append_event", "refuse_secrets", "timeline"]

SECRET_KEY_PATTERN = re.compile(
    r"secret|passw|passphrase|token|private.?key|api.?key|authori[sz]ation|credential|"
    r"cookie|assertion|bearer",
    re.IGNORECASE,
)
_ACTION = re.compile(r"^[a-z][a-z_]{1,39}$")


def refuse_secrets(details: Any, *, path: str = "details") -> None:
    """Raise if any key (at any depth) is named like a credential or any value is a Secret."""
    if isinstance(details, Secret | MasterKey):
        raise AuditRefusedError(f"{path} holds a secret; audit details never carry credentials")
    if isinstance(details, Mapping):
        for key, value in details.items():
            if SECRET_KEY_PATTERN.search(str(key)):
                raise AuditRefusedError(
                    f"{path} has a key named {key!r}; keys named like secrets are refused"
                )
            refuse_secrets(value, path=f"{path}.{key}")
    elif isinstance(details, list | tuple):
        for index, value in enumerate(details):
            refuse_secrets(value, path=f"{path}[{index}]")


def append_event(
    session: Session,
    connection_id: int,
    action: str,
    *,
    amazon_ids: Iterable[str] = (),
    oracle_ids: Iterable[str] = (),
    amazon_request_id: str | None = None,
    oracle_request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event; every id given becomes findable by ``timeline``.

    ``action`` is an ``AuditAction`` or another lower-case snake_case word.
    """
    if not _ACTION.match(str(action)):
        raise AuditRefusedError(f"audit action {action!r} must be a lower-case snake_case word")
    body = dict(details or {})
    refuse_secrets(body)
    links = [AuditLink(side="amazon", value=v) for v in dict.fromkeys(amazon_ids)]
    links += [AuditLink(side="oracle", value=v) for v in dict.fromkeys(oracle_ids)]
    event = AuditEvent(
        connection_id=connection_id,
        at=at or utcnow(),
        action=str(action),
        amazon_request_id=amazon_request_id,
        oracle_request_id=oracle_request_id,
        details=body,
        links=links,
    )
    session.add(event)
    session.flush()
    return event


def timeline(
    session: Session,
    any_id: str,
    *,
    connection_id: int | None = None,
    follow_bindings: bool = True,
    limit: int | None = None,
) -> list[AuditEvent]:
    """Every event mentioning ``any_id`` (order, transaction, settlement or Oracle id), in order.

    With ``follow_bindings`` the partner ids are searched too, so an Amazon order id also finds
    events that only named its Oracle invoice (and the other way round).
    """
    ids = {any_id}
    if follow_bindings:
        for binding in bindings_for(session, any_id, connection_id=connection_id):
            ids.update((binding.amazon_id, binding.oracle_id))
    # The documents these events name, by their idempotency keys: a refund's or claim's
    # transaction id is on the event that planned its credit memo, and the memo's later events
    # (posted, rejected) name the memo's key and order, not the transaction.
    mentioned = select(AuditLink.event_id).where(AuditLink.value.in_(sorted(ids)))
    keys = session.scalars(
        select(AuditLink.value).where(
            AuditLink.event_id.in_(mentioned),
            or_(*(AuditLink.value.startswith(prefix) for prefix in DOCUMENT_KEY_PREFIXES)),
        )
    )
    ids.update(keys)
    matching = select(AuditLink.event_id).where(AuditLink.value.in_(sorted(ids)))
    query = select(AuditEvent).where(AuditEvent.id.in_(matching))
    if connection_id is not None:
        query = query.where(AuditEvent.connection_id == connection_id)
    return list(session.scalars(query.order_by(AuditEvent.at, AuditEvent.id).limit(limit)))
