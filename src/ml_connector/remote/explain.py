"""A remote failure as one plain sentence saying what to do: the only wording of these failures.

`connection test` (a check at a time), `sync`, `backfill` and `run` (a whole cycle, or one Amazon
region of it) all describe a failed call with these functions, so an admin reads the same words
whichever command met the problem. The sentences name commands (`connection set-secret`) because
the reader is the person who runs them, not the person who reads HTTP status codes.

Which side failed is read from the error's ``operation``: ``lwa.token`` is Amazon's login
service, ``oauth.token`` Oracle's identity domain, a dotted name (``receivablesInvoices.create``,
``erpintegrations.importBulkData``) an Oracle Fusion REST call, and a bare SP-API operation name
(``searchOrders``, ``listFinancialEventGroups``) an Amazon call; every client in ``remote/``
names its operations this way.
"""

from __future__ import annotations

from ml_connector.errors import AuthError, ConnectionFailedError, ConnectorError, RemoteError

__all__ = [
    "AMAZON_ROLES",
    "amazon_login_failure",
    "amazon_read_failure",
    "describe_failure",
    "oracle_failure",
    "remote_reason",
]

#: The Seller Central role an SP-API operation needs (Amazon's role mapping for each API).
AMAZON_ROLES = {
    "listFinancialEventGroups": "Finance and Accounting",
    "listTransactions": "Finance and Accounting",
    "searchOrders": "Inventory and Order Tracking",
}

_MAX_REASON = 300


def remote_reason(exc: BaseException) -> str:
    """The error's own text, cut to 300 characters (a remote can send a page of HTML)."""
    detail = str(exc)
    return detail if len(detail) < _MAX_REASON else detail[: _MAX_REASON - 3] + "..."


def _unreachable(what: str, exc: ConnectionFailedError) -> str:
    # exc.message is "cannot reach HOST: CAUSE" (remote.http.outcome.error_from_transport).
    return f"{what}: {exc.message}"


def amazon_login_failure(
    region: str | None, exc: ConnectorError, *, connection: str | None = None
) -> str:
    """Why Amazon's login service (LWA) gave no access token for ``region`` of ``connection``
    (``NAME``/``REGION`` placeholders when unknown): a refused refresh token (``invalid_grant``),
    a refused client id or secret (``invalid_client``), or the service not reached."""
    name = connection or "NAME"
    where = f" for {region}" if region else ""
    code = getattr(exc, "code", None)
    if code == "invalid_grant":
        return (
            f"Amazon refused the refresh token{where} (invalid_grant): the seller must authorise "
            "the app again in Seller Central, then store the new token with `ml-connector "
            f"connection set-secret {name} --refresh-token-env {region or 'REGION'}=VARIABLE`"
        )
    if code in ("invalid_client", "unauthorized_client"):
        return (
            f"Amazon refused the app's LWA client id or client secret ({code}): correct "
            "amazon.lwa_client_id with `connection update` or the secret with `connection "
            f"set-secret {name} --lwa-client-secret-env VARIABLE`"
        )
    if isinstance(exc, ConnectionFailedError):
        return _unreachable("Amazon's login service (LWA)", exc)
    if isinstance(exc, AuthError):
        return f"Amazon refused the app's credentials{where} ({remote_reason(exc)})"
    return f"could not reach Amazon's login service ({remote_reason(exc)})"


def amazon_read_failure(operation: str, exc: ConnectorError) -> str:
    """Why an SP-API read failed: a missing role (403), a refused access token (401), the
    host not reached, or the remote's own words."""
    if isinstance(exc, ConnectionFailedError):
        return _unreachable(f"Amazon SP-API ({operation})", exc)
    status = getattr(exc, "status", None)
    if status == 403:
        role = AMAZON_ROLES.get(operation, "required")
        return f"Amazon refused {operation}: the app lacks the {role} role for this seller"
    if status == 401:
        return f"Amazon refused the access token for {operation}"
    return f"{operation} failed ({remote_reason(exc)})"


def oracle_failure(exc: ConnectorError) -> tuple[str, str]:
    """(check, sentence) for a failed Oracle call: check is ``login`` when the identity domain
    or the credentials failed, ``invoices`` when the Receivables read itself failed."""
    if isinstance(exc, RemoteError) and exc.operation == "oauth.token":
        if isinstance(exc, ConnectionFailedError):
            return "login", _unreachable("Oracle's identity domain", exc)
        if isinstance(exc, AuthError):
            return "login", (
                "Oracle's identity domain refused the client id or secret (or the scope): "
                "check the credentials stored for this connection"
            )
        return "login", f"could not obtain an Oracle token ({remote_reason(exc)})"
    if isinstance(exc, ConnectionFailedError):
        return "invoices", _unreachable("Oracle Fusion", exc)
    status = getattr(exc, "status", None)
    if status == 401:
        return "login", "Oracle refused the credentials (401): check the user and its password"
    if status == 403:
        return "invoices", (
            "Oracle refused to list Receivables invoices: the integration user lacks a "
            "Receivables role (e.g. Accounts Receivable Specialist) or data access to the BU"
        )
    return "invoices", f"reading Receivables invoices failed ({remote_reason(exc)})"


def _side(operation: str | None) -> str:
    if operation == "lwa.token":
        return "amazon-login"
    if operation == "oauth.token":
        return "oracle-login"
    if operation and "." in operation:
        return "oracle"
    return "amazon" if operation else "unknown"


def describe_failure(
    exc: BaseException, *, connection: str | None = None, region: str | None = None
) -> str:
    """One plain line for any failure of a cycle (``region``: the Amazon region it read).

    Remote failures get the same words as `connection test`; anything else its own text
    (`ConfigError` messages are written for the admin already)."""
    if not isinstance(exc, RemoteError):
        return str(exc) or type(exc).__name__
    side = _side(exc.operation)
    if side == "amazon-login":
        return amazon_login_failure(region, exc, connection=connection)
    if side == "amazon":
        operation = exc.operation or "SP-API call"
        sentence = amazon_read_failure(operation, exc)
        return f"Amazon {region}: {sentence}" if region else sentence
    if side == "oracle-login":
        return oracle_failure(exc)[1]
    if side == "oracle":
        if isinstance(exc, ConnectionFailedError):
            return _unreachable("Oracle Fusion", exc)
        if exc.status == 401:
            return oracle_failure(exc)[1]
        if exc.status == 403:
            return (
                f"Oracle refused {exc.operation} (403): the integration user lacks the role "
                "or the data access it needs"
            )
        return f"Oracle {exc.operation} failed ({remote_reason(exc)})"
    if isinstance(exc, ConnectionFailedError):
        return exc.message
    return remote_reason(exc)
