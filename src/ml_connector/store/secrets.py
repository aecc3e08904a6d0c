"""Credentials encrypted at rest with AES-256-GCM, each row tagged with its master key's id.

The key id makes rotation explicit: ``rotate_keys`` re-seals every row under the new key inside
the caller's transaction, and a wrong key fails with a message naming key ids, never a value.
Each ciphertext is bound to its (connection, name) as associated data, so a row copied onto
another connection's secret fails authentication instead of leaking a credential.
"""

from __future__ import annotations

import os
import re
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ml_connector.store.columns import utcnow
from ml_connector.store.errors import NotFoundInStoreError, StoreError, WrongMasterKeyError
from ml_connector.store.key_check import expected_key_id, record_key_check, require_store_key
from ml_connector.store.keys import MasterKey, Secret
from ml_connector.store.tables import StoredSecret

__all__ = [
    "LWA_CLIENT_SECRET",
    "ORACLE_CLIENT_SECRET",
    "ORACLE_PRIVATE_KEY",
    "Keyring",
    "delete_secret",
    "get_secret",
    "put_secret",
    "refresh_token_name",
    "rotate_keys",
    "secret_names",
]

LWA_CLIENT_SECRET = "lwa_client_secret"
ORACLE_CLIENT_SECRET = "oracle_client_secret"
ORACLE_PRIVATE_KEY = "oracle_private_key"
_NAME = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
_NONCE_BYTES = 12


def refresh_token_name(region: str) -> str:
    """A refresh token belongs to one SP-API region (NA, EU, FE), so it is stored per region."""
    return f"lwa_refresh_token:{region.lower()}"


class Keyring:
    """The key that seals new secrets, plus older keys still accepted for opening them."""

    def __init__(self, primary: MasterKey, *older: MasterKey) -> None:
        self.primary = primary
        self._keys = {key.key_id: key for key in (*older, primary)}

    def seal(self, plaintext: str, context: bytes) -> tuple[str, bytes, bytes]:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.primary.raw).encrypt(nonce, plaintext.encode("utf-8"), context)
        return self.primary.key_id, nonce, sealed

    def open(self, key_id: str, nonce: bytes, sealed: bytes, context: bytes) -> str:
        key = self._keys.get(key_id)
        if key is None:
            known = ", ".join(sorted(self._keys))
            raise WrongMasterKeyError(
                f"a stored secret is sealed with master key {key_id}, but only {known} "
                "was given; load that key (or finish the rotation that replaced it)"
            )
        try:
            return AESGCM(key.raw).decrypt(nonce, sealed, context).decode("utf-8")
        except InvalidTag:
            raise WrongMasterKeyError(
                f"a stored secret failed authentication under master key {key_id}: "
                "the row was altered or copied from elsewhere"
            ) from None

    def __repr__(self) -> str:
        return f"Keyring(primary={self.primary.key_id!r}, keys={sorted(self._keys)!r})"


def _context(connection_id: int, name: str) -> bytes:
    return f"ml-connector secret\x00{connection_id}\x00{name}".encode()


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise StoreError(f"secret name {name!r} must be lower-case letters, digits, _ . : -")


def put_secret(
    session: Session,
    keyring: Keyring,
    connection_id: int,
    name: str,
    value: Secret | str,
    *,
    now: datetime | None = None,
) -> None:
    """Store or replace one credential; accepts a bare str so CLI input is never wrapped late."""
    _check_name(name)
    require_store_key(session, keyring.primary, now=now)
    plaintext = value.reveal() if isinstance(value, Secret) else value
    key_id, nonce, sealed = keyring.seal(plaintext, _context(connection_id, name))
    at = now or utcnow()
    row = session.scalar(
        select(StoredSecret).where(
            StoredSecret.connection_id == connection_id, StoredSecret.name == name
        )
    )
    if row is None:
        row = StoredSecret(connection_id=connection_id, name=name, created_at=at)
        session.add(row)
    row.key_id, row.nonce, row.ciphertext, row.updated_at = key_id, nonce, sealed, at
    session.flush()


def get_secret(session: Session, keyring: Keyring, connection_id: int, name: str) -> Secret:
    row = session.scalar(
        select(StoredSecret).where(
            StoredSecret.connection_id == connection_id, StoredSecret.name == name
        )
    )
    if row is None:
        raise NotFoundInStoreError(f"connection {connection_id} has no secret named {name!r}")
    return Secret(
        keyring.open(row.key_id, row.nonce, row.ciphertext, _context(connection_id, name))
    )


def secret_names(session: Session, connection_id: int) -> list[str]:
    """Which credentials a connection has (names only: what `connection list` may show)."""
    return list(
        session.scalars(
            select(StoredSecret.name)
            .where(StoredSecret.connection_id == connection_id)
            .order_by(StoredSecret.name)
        )
    )


def delete_secret(session: Session, connection_id: int, name: str) -> bool:
    result = session.execute(
        delete(StoredSecret).where(
            StoredSecret.connection_id == connection_id, StoredSecret.name == name
        )
    )
    return bool(getattr(result, "rowcount", 0))


def rotate_keys(
    session: Session, old: MasterKey, new: MasterKey, *, now: datetime | None = None
) -> int:
    """Re-seal every secret sealed under ``old`` with ``new``; returns how many rows changed.

    Rows already under ``new`` are left alone, so re-running after an interrupted rotation is
    harmless. Everything happens in the caller's transaction: commit it, then retire ``old``.
    """
    opener = Keyring(new, old)
    sealer = Keyring(new)
    at = now or utcnow()
    # A resumed rotation may find the check already moved to ``new``; else ``old`` must open it.
    if expected_key_id(session) != new.key_id:
        require_store_key(session, old, now=at)
    changed = 0
    for row in session.scalars(select(StoredSecret).order_by(StoredSecret.id)):
        if row.key_id == new.key_id:
            continue
        context = _context(row.connection_id, row.name)
        plaintext = opener.open(row.key_id, row.nonce, row.ciphertext, context)
        row.key_id, row.nonce, row.ciphertext = sealer.seal(plaintext, context)
        row.updated_at = at
        changed += 1
    record_key_check(session, new, now=at)
    session.flush()
    return changed
