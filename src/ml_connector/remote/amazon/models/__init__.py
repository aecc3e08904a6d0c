"""Typed views over SP-API JSON (see ``base`` for the "nothing is lost" rule)."""

from ml_connector.remote.amazon.models.base import CamelModel, PascalModel, Record

__all__ = ["CamelModel", "PascalModel", "Record"]
