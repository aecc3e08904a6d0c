"""Fusion REST error bodies, in the two shapes the framework version decides.

Clients that pin an old ``REST-Framework-Version`` get a plain-text message; version 4 and later
get the ADF JSON payload with ``o:errorDetails``. A connector must parse both, so the simulator
emits both from the same error object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import Response

DEFAULT_FRAMEWORK_VERSION = 1
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Detail:
    """One failed validation: Oracle's message text plus its message name."""

    text: str
    code: str
    path: str | None = None


@dataclass
class OracleError(Exception):
    """A request Fusion refuses; raised anywhere in a handler, rendered once by the app."""

    status: int
    details: list[Detail] = field(default_factory=list)

    @classmethod
    def one(cls, status: int, text: str, code: str, path: str | None = None) -> OracleError:
        return cls(status, [Detail(text, code, path)])

    def __str__(self) -> str:
        return "\n".join(d.text for d in self.details) or _TITLES.get(self.status, "Error")


def framework_version(request: Request) -> int:
    raw = request.headers.get("REST-Framework-Version", "")
    return int(raw) if raw.strip().isdigit() else DEFAULT_FRAMEWORK_VERSION


def render_error(error: OracleError, version: int) -> Response:
    headers = {"REST-Framework-Version": str(version)}
    if version < 4:
        return Response(
            str(error), status_code=error.status, media_type="text/plain", headers=headers
        )
    first = error.details[0] if error.details else None
    body: dict[str, object] = {
        "title": _TITLES.get(error.status, "Error"),
        "status": str(error.status),
        "detail": first.text if first else _TITLES.get(error.status, "Error"),
    }
    if first:
        body["o:errorCode"] = first.code
    body["o:errorDetails"] = [
        {"detail": d.text, "o:errorCode": d.code, **({"o:errorPath": d.path} if d.path else {})}
        for d in error.details
    ]
    return Response(
        json.dumps(body),
        status_code=error.status,
        media_type="application/vnd.oracle.adf.error+json",
        headers=headers,
    )
