"""Common ground for the SP-API models: official field names, nothing dropped, Decimal money.

Models are *views* over Amazon's JSON: the typed fields are the ones the connector reasons about,
everything else Amazon sends is kept as an extra field (``extra="allow"``), so
``model.dump()`` gives back what came in. Amazon keeps adding fields; we must not lose them.
"""

from __future__ import annotations

from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel, to_pascal

__all__ = ["CamelModel", "PascalModel", "Record", "read_record"]


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
    #: Why the typed view could not be built (``"postedDate: Input should be a valid datetime"``);
    #: None when it could. A record with a problem still carries its raw JSON, so one bad record
    #: never makes the client drop the page it came in.
    problem: str | None = None


def read_record(model: type[M], raw: Any) -> Record[M]:
    """The typed view of one listed record, or an empty view plus the reason it failed.

    The connector stores and normalizes from ``raw``; its own reader decides what the record
    means, so a type the model view cannot take must not cost the rest of the page.
    """
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        return Record(model.model_construct(), {"value": raw}, f"expected an object, got {kind}")
    try:
        return Record(model.model_validate(raw), raw)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return Record(model.model_construct(), raw, f"{where}: {first['msg']}")
