"""Raw SP-API records (official shapes) → domain facts, with field paths in every error."""

from ml_connector.flow.normalize.fields import NormalizeError
from ml_connector.flow.normalize.orders import normalize_order
from ml_connector.flow.normalize.settlements import normalize_settlement, normalize_transaction

__all__ = ["NormalizeError", "normalize_order", "normalize_settlement", "normalize_transaction"]
