"""Mapping files: the catalog (SKU → accounts) and the charge/fee mapping (leaf type → account)."""

from ml_connector.flow.mapping.catalog import Catalog, CatalogEntry, load_catalog, parse_catalog
from ml_connector.flow.mapping.charges import (
    ChargeMapping,
    LeafTarget,
    load_mapping,
    parse_mapping,
)
from ml_connector.flow.mapping.chart import Chart
from ml_connector.flow.mapping.config import InvoicedRole, MappingFile
from ml_connector.flow.mapping.errors import MappingError

__all__ = [
    "Catalog",
    "CatalogEntry",
    "ChargeMapping",
    "Chart",
    "InvoicedRole",
    "LeafTarget",
    "MappingError",
    "MappingFile",
    "load_catalog",
    "load_mapping",
    "parse_catalog",
    "parse_mapping",
]
