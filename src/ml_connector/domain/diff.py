"""What a replay would change: a field-by-field comparison of a planned and a posted document.

A posted document is never silently changed (DESIGN §5); the replay dry run shows this diff so a
person can decide on a correction (credit memo + new invoice, or a reversing journal).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    before: str | None
    after: str | None

    def __str__(self) -> str:
        if self.before is None:
            return f"+ {self.path} = {self.after}"
        if self.after is None:
            return f"- {self.path} (was {self.before})"
        return f"~ {self.path}: {self.before} -> {self.after}"


def _flatten(value: Any, path: str, out: dict[str, str]) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "delimiter") and hasattr(value, "segments"):
            out[path] = str(value)  # an account combination reads best as one string
            return
        for field in dataclasses.fields(value):
            _flatten(
                getattr(value, field.name), f"{path}.{field.name}" if path else field.name, out
            )
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            _flatten(item, f"{path}[{index}]", out)
    else:
        out[path] = "" if value is None else str(value)


def flatten(document: object) -> dict[str, str]:
    """Leaf paths of a document (`lines[2].amount`) to their printed values."""
    out: dict[str, str] = {}
    _flatten(document, "", out)
    return out


def diff(planned: object | None, posted: object | None) -> list[Change]:
    """Changes that posting `planned` would make over `posted` (None means absent).

    Amounts compare as printed Decimals, so `12.5` and `12.50` differ: Oracle stores the scale
    we send and a reconciler comparing strings would see the difference too.
    """
    before = flatten(posted) if posted is not None else {}
    after = flatten(planned) if planned is not None else {}
    changes: list[Change] = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old != new:
            changes.append(Change(path, old, new))
    return changes
