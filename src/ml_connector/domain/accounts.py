"""Oracle account combinations as named segment values.

A combination keeps its segment names (company, cost_center, account, ...) so accounting can
summarize by the segments that matter and the FBDI writer can emit SEGMENT1..n in chart order,
while `str()` gives the form a person types into Oracle (`101.10.40100`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class AccountCombination:
    """Segment values in chart-of-accounts order, e.g. (("company","101"), ...)."""

    segments: tuple[tuple[str, str], ...]
    delimiter: str = "."

    def __post_init__(self) -> None:
        if not self.segments:
            raise ValueError("an account combination needs at least one segment")
        names = [name for name, _ in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate segment names in {names}")

    def __str__(self) -> str:
        return self.delimiter.join(value for _, value in self.segments)

    def value(self, name: str) -> str:
        """The value of segment `name`; KeyError names the segments that exist."""
        for segment, value in self.segments:
            if segment == name:
                return value
        raise KeyError(f"no segment {name!r} in {[n for n, _ in self.segments]}")

    @property
    def values(self) -> tuple[str, ...]:
        """Segment values in order: SEGMENT1, SEGMENT2, ... of a GL interface row."""
        return tuple(value for _, value in self.segments)
