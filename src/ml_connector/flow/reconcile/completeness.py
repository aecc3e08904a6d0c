"""Did every shipped order become an invoice? The question a month-end close starts with.

An order in review is not "missing": a person already knows about it, and counting it twice
would bury the orders nobody is looking at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Completeness:
    shipped: int
    invoiced: int
    missing: tuple[str, ...]  # shipped, not invoiced, not held: nobody is looking at these
    held: tuple[str, ...]  # in the review queue and not invoiced yet
    extra: tuple[str, ...]  # invoiced but not known as shipped

    @property
    def complete(self) -> bool:
        return not self.missing and not self.extra

    def to_json(self) -> dict[str, Any]:
        return {
            "shipped": self.shipped,
            "invoiced": self.invoiced,
            "complete": self.complete,
            "missing": list(self.missing),
            "held": list(self.held),
            "extra": list(self.extra),
        }


def completeness(
    shipped_order_ids: Iterable[str],
    invoiced_order_ids: Iterable[str],
    held_order_ids: Iterable[str],
) -> Completeness:
    shipped = set(shipped_order_ids)
    invoiced = set(invoiced_order_ids)
    held = set(held_order_ids) - invoiced
    return Completeness(
        shipped=len(shipped),
        invoiced=len(invoiced),
        missing=tuple(sorted(shipped - invoiced - held)),
        held=tuple(sorted(held)),
        extra=tuple(sorted(invoiced - shipped)),
    )
