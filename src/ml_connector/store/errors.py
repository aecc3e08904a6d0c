"""What the store refuses, as classes the pipeline can branch on.

Every message names rows by their ids and states only: never a payload, never a secret value.
"""

from __future__ import annotations

from ml_connector.errors import ConfigError, ConnectorError

__all__ = [
    "AuditRefusedError",
    "BindingConflictError",
    "CursorRewindError",
    "DatabaseUrlError",
    "IdempotencyConflictError",
    "IllegalTransitionError",
    "InsecureKeyFileError",
    "LeaseLostError",
    "MasterKeyError",
    "NotFoundInStoreError",
    "StaleStateError",
    "StoreError",
    "WrongMasterKeyError",
]


class StoreError(ConnectorError):
    """Root of the store's own refusals (database driver errors pass through unchanged)."""


class NotFoundInStoreError(StoreError):
    """The connection, document or item asked for does not exist."""


class IllegalTransitionError(StoreError):
    """A document was asked to move along an edge the outbox state machine does not have."""


class StaleStateError(StoreError):
    """Another worker changed the row between our read and our write: re-read and decide again."""


class IdempotencyConflictError(StoreError):
    """An idempotency key is already used by a document of another kind or Amazon source."""


class BindingConflictError(StoreError):
    """An Amazon id or an Oracle id is already bound to a different partner."""


class CursorRewindError(StoreError):
    """A watermark would move backwards; use ``reset_cursor`` when that is really meant."""


class LeaseLostError(StoreError):
    """The lease was taken over (higher generation) or released: the holder must stop writing."""


class AuditRefusedError(StoreError):
    """The audit trail is append-only and never stores anything that looks like a secret."""


class DatabaseUrlError(ConfigError):
    """The database URL is not one the store can open (not a URL, or not SQLite/PostgreSQL)."""


class MasterKeyError(ConfigError):
    """No usable master key: missing, malformed, or read from an unsafe place."""


class InsecureKeyFileError(MasterKeyError):
    """The key file is readable by other users; it must be mode 0600."""


class WrongMasterKeyError(MasterKeyError):
    """Stored secrets were encrypted with a key we were not given, or fail authentication."""
