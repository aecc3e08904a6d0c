"""Common ground for the SP-API models: official field names, nothing dropped, Decimal money.

Models are *views* over Amazon's JSON: the typed fields are the ones the connector reasons about,
everything else Amazon sends is kept as an extra field (``extra="allow"``), so
``model.dump()`` gives back what came in. Amazon keeps adding fields; we must not lose them.
"""

from __future__ import annotations

from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel, to_pascal

__all__ = ["CamelModel", "PascalModel", "Record"]


class _Wire(BaseModel):
    def dump(self) -> dict[str, Any]:
        """The record in Amazon's field names, only what was sent (JSON types, Decimal as str)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class CamelModel(_Wire):
    """Orders 2026-01-01, Finances 2024-06-19, Reports: ``camelCase`` names."""

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, alias_generator=to_camel, frozen=True
    )


class PascalModel(_Wire):
    """Finances v0: ``PascalCase`` names."""

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, alias_generator=to_pascal, frozen=True
    )


M = TypeVar("M", bound=BaseModel)


class Record(NamedTuple, Generic[M]):
    """One record as fetched: the typed view and the raw JSON dict it came from.

    Every listing operation yields these. ``raw`` is the record exactly as Amazon sent it (JSON
    numbers already ``Decimal``): it is what the connector stores and re-normalizes from.
    """

    model: M
    raw: dict[str, Any]
