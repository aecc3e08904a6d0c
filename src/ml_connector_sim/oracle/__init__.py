"""Oracle Fusion Cloud ERP look-alike: identity domain, Receivables/GL REST, FBDI and ESS."""

from ml_connector_sim.oracle.app import create_app
from ml_connector_sim.oracle.context import SimOptions
from ml_connector_sim.oracle.faults import Fault, FaultKind, parse_fault
from ml_connector_sim.oracle.server import RunningSim, running_oracle_sim
from ml_connector_sim.oracle.tenant import SetupError, TenantSetup, default_setup, load_setup

__all__ = [
    "Fault",
    "FaultKind",
    "RunningSim",
    "SetupError",
    "SimOptions",
    "TenantSetup",
    "create_app",
    "default_setup",
    "load_setup",
    "parse_fault",
    "running_oracle_sim",
]
