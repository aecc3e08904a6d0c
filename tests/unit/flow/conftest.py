"""Fixtures for the pure flow: the shipped example mapping files and raw official shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sp_api_shapes import Shapes

from ml_connector.flow.mapping import Catalog, ChargeMapping, load_catalog, load_mapping

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="session")
def mapping() -> ChargeMapping:
    return load_mapping(EXAMPLES / "charges.toml")


@pytest.fixture(scope="session")
def catalog(mapping: ChargeMapping) -> Catalog:
    return load_catalog(EXAMPLES / "catalog.csv", mapping.chart)


@pytest.fixture(scope="session")
def shapes() -> type[Shapes]:
    return Shapes
