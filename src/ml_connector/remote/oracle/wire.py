"""JSON on the wire with exact money.

Oracle reads amounts as JSON numbers. `json.dumps` cannot write a `Decimal` as a number without
going through `float`, which would break the rule that money never becomes binary floating point,
so bodies are encoded here by hand (the JSON subset we send is small) and read back with
`parse_float=Decimal`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any


def encode(value: Any) -> str:
    """Serialize plain data (dict/list/str/int/bool/None/Decimal/date) to compact JSON."""
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite amount cannot be sent to Oracle")
        return format(value, "f")
    if isinstance(value, dt.datetime):
        raise TypeError("datetimes are not sent to Oracle; use a date")
    if isinstance(value, dt.date):
        return json.dumps(value.isoformat())
    if isinstance(value, float):
        raise TypeError("floats are not sent to Oracle; use Decimal")
    if isinstance(value, Mapping):
        parts = (f"{json.dumps(str(k), ensure_ascii=False)}:{encode(v)}" for k, v in value.items())
        return "{" + ",".join(parts) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(encode(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} for Oracle")


def decode(text: str | bytes) -> Any:
    """Parse a response body keeping every fractional number as `Decimal`."""
    return json.loads(text, parse_float=Decimal)
