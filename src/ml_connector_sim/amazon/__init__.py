"""Amazon SP-API simulator: LWA, Orders 2026-01-01, Finances v0 + 2024-06-19, Reports."""

from ml_connector_sim.amazon.app import create_app
from ml_connector_sim.amazon.catalog import CatalogEntry, write_catalog_csv
from ml_connector_sim.amazon.context import SimOptions
from ml_connector_sim.amazon.faults import FaultOptions, parse_faults
from ml_connector_sim.amazon.generator import GeneratorParams, generate_world
from ml_connector_sim.amazon.scenario import ScenarioError, load_scenario, save_scenario
from ml_connector_sim.amazon.server import RunningSim, running_amazon_sim
from ml_connector_sim.amazon.world import AmazonWorld, Credential, seller_catalog

__all__ = [
    "AmazonWorld",
    "CatalogEntry",
    "Credential",
    "FaultOptions",
    "GeneratorParams",
    "RunningSim",
    "ScenarioError",
    "SimOptions",
    "create_app",
    "generate_world",
    "load_scenario",
    "parse_faults",
    "running_amazon_sim",
    "save_scenario",
    "seller_catalog",
    "write_catalog_csv",
]
