"""End-to-end sync throughput against the simulators, one posting concurrency beside another.

Both runs use the same generated seller and a fresh store and Oracle tenant each, in one process,
so the figures are comparable on a noisy machine. Prints documents per second and the ratio.

Run: .venv/bin/python bench/bench_pipeline_sync.py [orders] [concurrency_a] [concurrency_b]
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import structlog

from ml_connector.context import Runtime
from ml_connector.pipeline import sync_connection
from ml_connector.run import demo
from ml_connector.store import (
    Cadences,
    MasterKey,
    generate_master_key,
    make_engine,
    make_sessionmaker,
    migrate,
)
from ml_connector.store.secrets import Keyring
from ml_connector_sim.amazon import (
    GeneratorParams,
    SimOptions,
    generate_world,
    running_amazon_sim,
    seller_catalog,
    write_catalog_csv,
)
from ml_connector_sim.oracle import SimOptions as OracleSimOptions
from ml_connector_sim.oracle import running_oracle_sim


def one_run(orders: int, concurrency: int) -> tuple[float, int]:
    world = generate_world(GeneratorParams(seed=11, orders=orders, days=30))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        write_catalog_csv(seller_catalog(world), workdir / "amazon-catalog.csv")
        with (
            running_amazon_sim(world, SimOptions(time_scale=200)) as amazon,
            running_oracle_sim(options=OracleSimOptions(time_scale=0.005)) as oracle,
        ):
            catalog, charges, _ = demo.prepare_mappings(workdir, mapping=None)
            config = demo.simulator_config(
                demo.SimEndpoints(amazon.base_url, oracle.base_url),
                catalog=catalog,
                charges=charges,
            )
            config = config.model_copy(
                update={
                    "cadences": Cadences(initial_history_days=400, post_concurrency=concurrency)
                }
            )
            engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
            migrate(engine)
            rt = Runtime(
                engine=engine,
                sessions=make_sessionmaker(engine),
                keyring=Keyring(MasterKey.from_text(generate_master_key())),
            )
            with rt.sessions() as session, session.begin():
                demo.add_simulator_connection(session, rt.require_keyring(), "bench", config)
            started = time.perf_counter()
            report = sync_connection(rt, "bench")
            elapsed = time.perf_counter() - started
            rt.close()
    return elapsed, sum(report.post.posted.values())


def main(argv: list[str]) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    orders = int(argv[0]) if argv else 300
    a = int(argv[1]) if len(argv) > 1 else 1
    b = int(argv[2]) if len(argv) > 2 else 4
    results = {}
    for concurrency in (a, b):
        seconds, documents = one_run(orders, concurrency)
        results[concurrency] = seconds
        print(
            f"concurrency {concurrency}: {documents} documents posted in {seconds:.1f} s "
            f"({documents / seconds:.1f} documents/s, whole cycle incl. extract and reconcile)"
        )
    print(f"speed-up {b} vs {a} workers: {results[a] / results[b]:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
