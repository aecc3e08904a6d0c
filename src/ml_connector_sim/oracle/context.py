"""What every route needs: the tenant, the ledger, the identity domain, options and faults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ml_connector_sim.oracle.auth import IdentityDomain
from ml_connector_sim.oracle.faults import Fault, FaultBook
from ml_connector_sim.oracle.state import SimState
from ml_connector_sim.oracle.tenant import TenantSetup


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SimOptions:
    """Run-time knobs. ``ess_step_seconds`` × ``time_scale`` is one ESS state step (a parent job
    leaves WAIT after one step and finishes after two; each child level adds two steps)."""

    time_scale: float = 1.0
    ess_step_seconds: float = 1.0
    strict_auth: bool = False
    clock: Callable[[], datetime] = _utc_now
    faults: list[Fault] = field(default_factory=list)
    # Seed of the fault book's draws for probabilistic faults (None: a fresh sequence each run).
    fault_seed: int | None = None


@dataclass
class SimContext:
    setup: TenantSetup
    options: SimOptions
    state: SimState
    identity: IdentityDomain
    faults: FaultBook

    @classmethod
    def build(cls, setup: TenantSetup, options: SimOptions) -> SimContext:
        return cls(
            setup=setup,
            options=options,
            state=SimState(options.clock),
            identity=IdentityDomain(setup.auth, options.clock, strict=options.strict_auth),
            faults=FaultBook(options.faults, seed=options.fault_seed),
        )
