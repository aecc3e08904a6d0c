"""The exception tree every part of ml-connector raises.

Callers decide what to do by the *class* of an error, never by parsing its message: a
``TransientError`` is worth retrying later, a ``ValidationError`` needs a human or a mapping fix,
an ``AuthError`` needs new credentials. The tree is deliberately generic so the Amazon and the
Oracle clients share it, and the orchestrating layer can handle both the same way.

No error ever carries a secret: messages come from the remote's own error text (after
redaction) and identifiers (status, request id, operation), never from request headers or bodies.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "ConnectionFailedError",
    "ConnectorError",
    "NotFoundError",
    "RateLimitedError",
    "RemoteError",
    "ServerError",
    "TransientError",
    "ValidationError",
    "error_class_for_status",
]


class ConnectorError(Exception):
    """Root of everything ml-connector raises on purpose."""


class ConfigError(ConnectorError):
    """The configuration cannot work (bad URL, unknown marketplace, missing credential)."""


class RemoteError(ConnectorError):
    """A remote system answered with an error, or could not be reached.

    ``status`` is ``None`` when no HTTP response arrived (transport failure). ``code`` is the
    remote's own error code (``QuotaExceeded``, ``invalid_grant``...) when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id
        self.operation = operation
        self.code = code
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        context = []
        if self.operation:
            context.append(f"operation={self.operation}")
        if self.status is not None:
            context.append(f"status={self.status}")
        if self.code:
            context.append(f"code={self.code}")
        if self.request_id:
            context.append(f"request_id={self.request_id}")
        if context:
            parts.append("(" + ", ".join(context) + ")")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class TransientError(RemoteError):
    """Trying the same request again later may succeed."""


class RateLimitedError(TransientError):
    """HTTP 429: the remote's quota for this operation is used up for now."""


class ServerError(TransientError):
    """HTTP 5xx: the remote failed; the request itself may be fine."""


class ConnectionFailedError(TransientError):
    """No usable response: connect/read timeout, reset connection, DNS failure.

    ``host`` is where the request went (``host`` or ``host:port``, never a path or query, which
    may carry a token); ``cause`` is the kind of failure (``dns``, ``refused``, ``tls``,
    ``connect_timeout``, ``read_timeout``, ``write_timeout``, ``pool_timeout``, ``reset``,
    ``protocol``, ``other``; see ``remote.http.transport``). Both are ``None`` when unknown.
    """

    def __init__(
        self,
        message: str,
        *,
        host: str | None = None,
        cause: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            status=status,
            request_id=request_id,
            operation=operation,
            code=code,
            retry_after=retry_after,
        )
        self.host = host
        self.cause = cause


class AuthError(RemoteError):
    """Credentials were refused or lack a role (401/403, LWA/OAuth token errors)."""


class ValidationError(RemoteError):
    """The remote rejected the request as invalid (4xx); its message says why."""


class ConflictError(RemoteError):
    """The remote already holds something conflicting (409, duplicate document number)."""


class NotFoundError(RemoteError):
    """The addressed resource does not exist (404)."""


def error_class_for_status(status: int) -> type[RemoteError]:
    """The error class for a non-2xx HTTP status; the one table both clients share."""
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status in (408, 425):
        return TransientError
    return ValidationError
