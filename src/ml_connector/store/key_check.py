"""Does this master key belong to this store? Asked before any secret is written.

``init`` records a key-check value: a fixed constant sealed with AES-GCM under the master key,
next to the key's id. A key that cannot open it is not this store's key, and storing a secret
under it would leave a credential only that key can read (and a rotation that fails for the
whole store). Stores made before the check existed adopt the key that opens their secrets.
"""

from __future__ import annotations

import os
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from ml_connector.store.columns import utcnow
from ml_connector.store.errors import WrongMasterKeyError
from ml_connector.store.keys import MasterKey
from ml_connector.store.tables import KeyCheck, StoredSecret

__all__ = ["expected_key_id", "record_key_check", "require_store_key"]

_CONSTANT = b"ml-connector key check v1"
_CONTEXT = b"ml-connector key check"
_ROW_ID = 1


def expected_key_id(session: Session) -> str | None:
    """The id of the master key the store's check was made with (None: no check yet)."""
    row = session.get(KeyCheck, _ROW_ID)
    return None if row is None else row.key_id


def record_key_check(session: Session, key: MasterKey, *, now: datetime | None = None) -> None:
    """Make ``key`` the store's key (at ``init``, and when a rotation completes)."""
    nonce = os.urandom(12)
    sealed = AESGCM(key.raw).encrypt(nonce, _CONSTANT, _CONTEXT)
    row = session.get(KeyCheck, _ROW_ID)
    if row is None:
        row = KeyCheck(id=_ROW_ID)
        session.add(row)
    row.key_id, row.nonce, row.sealed, row.updated_at = key.key_id, nonce, sealed, now or utcnow()
    session.flush()


def _refuse(expected: str, given: str) -> WrongMasterKeyError:
    return WrongMasterKeyError(
        f"the master key given (id {given}) does not open this store, which expects master key "
        f"{expected}; nothing was stored. Load key {expected} (ML_CONNECTOR_MASTER_KEY or the "
        "key file), or finish the rotation that replaced it"
    )


def require_store_key(session: Session, key: MasterKey, *, now: datetime | None = None) -> None:
    """Refuse ``key`` unless it is the store's key; a store without a check adopts it when its
    secrets (if any) are sealed under it."""
    row = session.get(KeyCheck, _ROW_ID)
    if row is None:
        sealed_with = set(session.scalars(select(StoredSecret.key_id).distinct()))
        if sealed_with and sealed_with != {key.key_id}:
            raise _refuse(", ".join(sorted(sealed_with)), key.key_id)
        record_key_check(session, key, now=now)
        return
    if row.key_id != key.key_id:
        raise _refuse(row.key_id, key.key_id)
    try:
        AESGCM(key.raw).decrypt(row.nonce, row.sealed, _CONTEXT)
    except InvalidTag:
        raise _refuse(row.key_id, key.key_id) from None
