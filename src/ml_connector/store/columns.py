"""Column types that make SQLite and PostgreSQL hand back the same Python values.

SQLite has no timezone-aware timestamps and no enums; without these types the same code would
read naive datetimes on one database and aware ones on the other.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, Dialect, String
from sqlalchemy.types import TypeDecorator

__all__ = ["EnumText", "UTCDateTime", "canonical_json", "dump_json", "utcnow"]

E = TypeVar("E", bound=StrEnum)


def utcnow() -> datetime:
    """The one clock the store uses when a caller does not pass ``now``."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, refuses naive datetimes, always returns aware UTC datetimes.

    Every stored value is UTC, so SQLite's text timestamps still sort and compare correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to the store; pass a timezone-aware UTC value")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EnumText(TypeDecorator[E], Generic[E]):
    """A ``StrEnum`` stored as plain text, so adding a member needs no schema migration."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_class: type[E]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum_class(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum_class(value)


def _json_default(value: object) -> object:
    # Money stays exact: a Decimal is stored as its string, never as a float.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


def dump_json(value: object) -> str:
    """The engine's JSON serializer: Decimals become exact strings, datetimes ISO 8601."""
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def canonical_json(value: object) -> str:
    """A stable text form (sorted keys, no spaces) so equal payloads hash equally."""
    return json.dumps(
        value, default=_json_default, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
