"""Wire helpers shared by the routes: JSON with exact money, Amazon error bodies, query parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.responses import Response


class ApiError(Exception):
    """An SP-API error answer: status, `code`, `message` and optional `details`."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"errors": [error]}


def invalid_input(message: str, details: str | None = None) -> ApiError:
    return ApiError(400, "InvalidInput", message, details)


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        # Finances amounts are JSON numbers; a 2-decimal Decimal round-trips through float repr.
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:
            return int(value)
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(payload: object, indent: int | None = None) -> str:
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(payload, default=_default, separators=separators, indent=indent)


def json_response(
    payload: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        dumps(payload), status_code=status, media_type="application/json", headers=headers
    )


def parse_time(name: str, value: str) -> datetime:
    """ISO 8601 with an offset or Z; naive times are taken as UTC, as Amazon does."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise invalid_input(f"Invalid {name}: {value!r} is not an ISO 8601 date-time.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def csv_values(raw: list[str]) -> list[str]:
    """Arrays arrive comma-separated (Swagger 2 csv) or as repeated parameters; accept both."""
    values: list[str] = []
    for chunk in raw:
        values.extend(part.strip() for part in chunk.split(",") if part.strip())
    return values


def int_param(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_input(
            f"Invalid {name}: must be an integer between {low} and {high}."
        ) from None
    if not low <= value <= high:
        raise invalid_input(f"Invalid {name}: must be between {low} and {high}.")
    return value
