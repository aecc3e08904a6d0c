"""How Python values travel in SP-API query strings and bodies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

__all__ = ["QueryValue", "format_time", "query_params"]

QueryValue = str | int | datetime | Sequence[str] | None


def format_time(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, the form every SP-API date parameter accepts."""
    if value.tzinfo is None:
        raise ValueError("datetimes sent to Amazon must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_params(params: Mapping[str, QueryValue]) -> dict[str, str]:
    """Drop ``None``s, format datetimes, join arrays with commas (Swagger 2 ``csv``)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            out[key] = format_time(value)
        elif isinstance(value, str | int):
            out[key] = str(value)
        else:
            out[key] = ",".join(value)
    return out
