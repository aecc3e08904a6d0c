"""The embedded default: both simulators on loopback, a temporary SQLite, a generated seller.

The simulators run as separate processes (``python -m ml_connector_sim``), exactly as a real
deployment talks to Amazon and Oracle: over HTTP, with auth, pagination and rate limits. The
connector is configured like any seller would configure it — a connection, encrypted secrets and
two mapping files — and then runs one ordinary sync.
"""

from __future__ import annotations

import csv
import json
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from ml_connector.domain.marketplaces import marketplace
from ml_connector.errors import ConfigError
from ml_connector.store import (
    AmazonSettings,
    Cadences,
    ConnectionConfig,
    MappingFiles,
    OracleSettings,
    add_connection,
)
from ml_connector.store.secrets import (
    LWA_CLIENT_SECRET,
    ORACLE_CLIENT_SECRET,
    Keyring,
    put_secret,
    refresh_token_name,
)

# The generated seller's marketplaces: amazon.com, .ca (NA), .co.uk, .de (EU), .co.jp (FE).
DEMO_MARKETPLACES = {
    "NA": ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"],
    "EU": ["A1F83G8C2ARO7P", "A1PA6795UKMFR9"],
    "FE": ["A1VC38T7YXB528"],
}
# Simulated time runs this much faster than real time (rate limits and ESS jobs).
DEMO_TIME_SCALE = 200.0
_REVENUE_BY_CATEGORY = {"kitchen": "40120", "electronics": "40110"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class SimEndpoints:
    amazon: str
    oracle: str


def _wait_until_listening(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise ConfigError(f"the {what} simulator exited at start: {err.strip()[-500:]}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise ConfigError(f"the {what} simulator did not start listening on {url} within 60 s")


@contextmanager
def simulators(
    workdir: Path,
    *,
    seed: int,
    orders: int,
    days: int,
    scenario: Path | None = None,
    time_scale: float = DEMO_TIME_SCALE,
) -> Iterator[SimEndpoints]:
    """Start both simulators as child processes; the Amazon one writes its seller's catalog."""
    amazon_port, oracle_port = free_port(), free_port()
    amazon_cmd = [sys.executable, "-m", "ml_connector_sim", "amazon", "--port", str(amazon_port)]
    if scenario is not None:
        amazon_cmd += ["--scenario", str(scenario)]
    else:
        amazon_cmd += ["--seed", str(seed), "--orders", str(orders), "--days", str(days)]
    amazon_cmd += ["--time-scale", str(time_scale)]
    amazon_cmd += ["--write-catalog", str(workdir / "amazon-catalog.csv")]
    oracle_cmd = [sys.executable, "-m", "ml_connector_sim", "oracle", "--port", str(oracle_port)]
    oracle_cmd += ["--time-scale", str(1 / time_scale)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for cmd in (amazon_cmd, oracle_cmd):
            processes.append(
                subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            )
        endpoints = SimEndpoints(
            amazon=f"http://127.0.0.1:{amazon_port}", oracle=f"http://127.0.0.1:{oracle_port}"
        )
        _wait_until_listening(endpoints.amazon, processes[0], "Amazon")
        _wait_until_listening(endpoints.oracle, processes[1], "Oracle")
        yield endpoints
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def example_file(name: str) -> Path:
    """A mapping example shipped with the package (also under ``examples/`` in the repo)."""
    return Path(str(resources.files("ml_connector.examples").joinpath(name)))


def catalog_mapping_from_seller_catalog(
    seller_catalog: Path, target: Path, *, leave_out: int = 1
) -> list[str]:
    """Turn the seller's product list into a catalog mapping file, leaving ``leave_out`` SKUs
    unmapped on purpose so the demo shows the review queue. Returns the SKUs left out."""
    with seller_catalog.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    skipped = [row["sku"] for row in rows[:leave_out]]
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "revenue_account", "cost_center", "category", "unit_cost"])
        for row in rows[leave_out:]:
            account = _REVENUE_BY_CATEGORY.get(row["category"].lower(), "40100")
            writer.writerow([row["sku"], account, "", row["category"], row["unit_cost"]])
    return skipped


@dataclass(frozen=True)
class Coverage:
    """Which marketplaces a scenario sells on, and which of them the demo connection covers."""

    marketplaces: dict[str, list[str]] = field(default_factory=dict)
    """Region → marketplace ids the connection lists (the scenario's, grouped by region)."""
    orders: dict[str, int] = field(default_factory=dict)
    """The scenario's orders per marketplace id."""
    unknown: list[str] = field(default_factory=list)
    """Marketplace ids this product does not know: their orders cannot be read."""

    @property
    def covered(self) -> list[str]:
        return [m for ids in self.marketplaces.values() for m in ids]


def marketplace_of(order: object) -> str | None:
    channel = order.get("salesChannel") if isinstance(order, dict) else None
    value = channel.get("marketplaceId") if isinstance(channel, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def scenario_coverage(scenario: Path) -> Coverage:
    """The marketplaces of a scenario file (its ``marketplaceIds`` and every order's), grouped
    by region. Read after the simulator has loaded (and so checked) the file."""
    data = json.loads(scenario.read_text(encoding="utf-8"))
    orders = Counter(m for m in map(marketplace_of, data.get("orders") or []) if m is not None)
    listed = [m for m in data.get("marketplaceIds") or [] if isinstance(m, str)]
    by_region: dict[str, list[str]] = {}
    unknown: list[str] = []
    for marketplace_id in dict.fromkeys([*listed, *sorted(orders)]):
        known = marketplace(marketplace_id)
        if known is None:
            unknown.append(marketplace_id)
            continue
        ids = by_region.setdefault(known.region.value, [])
        if known.marketplace_id not in ids:
            ids.append(known.marketplace_id)
    return Coverage(by_region, dict(orders), unknown)


def add_missing_customers(charges: Path, marketplace_ids: Sequence[str]) -> list[str]:
    """Give the demo's copy of the example charge mapping an Oracle customer for every covered
    marketplace it lacks (the simulated Oracle has ``AMZ-<country>`` for each); returns them."""
    text = charges.read_text(encoding="utf-8")
    added = []
    for marketplace_id in marketplace_ids:
        known = marketplace(marketplace_id)
        if known is None or f"[customers.{marketplace_id}]" in text:
            continue
        text += (
            f"\n[customers.{marketplace_id}]     # {known.name.lower()}, added by the demo\n"
            f'account_number = "AMZ-{known.country}"\n'
            f'site_number = "AMZ-{known.country}-BILL"\n'
        )
        added.append(marketplace_id)
    charges.write_text(text, encoding="utf-8")
    return added


def simulator_config(
    endpoints: SimEndpoints,
    *,
    catalog: Path,
    charges: Path,
    regions: Sequence[str] = ("NA", "EU", "FE"),
    time_scale: float = DEMO_TIME_SCALE,
    marketplaces_by_region: Mapping[str, Sequence[str]] | None = None,
) -> ConnectionConfig:
    """A connection whose Amazon and Oracle are the simulators (loopback base URLs).

    ``marketplaces_by_region`` (a scenario's, see ``scenario_coverage``) replaces the generated
    seller's marketplaces, so the connection reads every order the scenario has."""
    if marketplaces_by_region is not None:
        regions = [r for r, ids in marketplaces_by_region.items() if ids]
        marketplaces = [m for r in regions for m in marketplaces_by_region[r]]
    else:
        marketplaces = [m for region in regions for m in DEMO_MARKETPLACES[region]]
    return ConnectionConfig(
        amazon=AmazonSettings(
            regions=list(regions),
            marketplace_ids=marketplaces,
            seller_id="demo-seller",
            lwa_client_id="amzn1.application-oa2-client.simulator",
            base_urls={r: f"{endpoints.amazon}/{r.lower()}" for r in regions},
            lwa_token_url=f"{endpoints.amazon}/auth/o2/token",
            rate_limit_scale=time_scale,
        ),
        oracle=OracleSettings(
            pod="simulator",
            region="local",
            identity_domain_url=endpoints.oracle,
            client_id="ml-connector-demo",
            scope="urn:opc:resource:consumer::all",
            business_unit="US1 Business Unit",
            ledger="US Primary Ledger",
            ledger_id="300000046975971",
            legal_entity="ML Seller US LLC",
            invoice_source="Amazon Orders",
            invoice_transaction_type="Amazon Invoice",
            credit_memo_transaction_type="Amazon Credit Memo",
            journal_source="Amazon Settlements",
            journal_category="Amazon Settlement",
            base_url=endpoints.oracle,
            requests_per_second=200,
            import_poll_seconds=0.05,
            import_max_wait=60,
            import_settle_seconds=2,
        ),
        mappings=MappingFiles(catalog=catalog, charges=charges),
        cadences=Cadences(initial_history_days=400),
    )


def add_simulator_connection(
    session: Session, keyring: Keyring, name: str, config: ConnectionConfig
) -> int:
    """Store the connection and its (simulator) secrets, encrypted like any real ones."""
    row = add_connection(session, name, config)
    put_secret(session, keyring, row.id, LWA_CLIENT_SECRET, "sim-client-secret")
    put_secret(session, keyring, row.id, ORACLE_CLIENT_SECRET, "sim-oracle-secret")
    for region in config.amazon.regions:
        # The simulator's own spelling (lower-case region), so `sim amazon --strict` takes it.
        token = f"Atzr|sim-refresh-token-{region.lower()}"
        put_secret(session, keyring, row.id, refresh_token_name(region), token)
    return row.id


def prepare_mappings(
    workdir: Path, *, mapping: Path | None, charges: Path | None = None
) -> tuple[Path, Path, list[str]]:
    """The catalog mapping (given, or derived from the seller's catalog) and the charge mapping."""
    # The copy keeps the file's suffix: it says whether the mapping is TOML or YAML.
    suffix = charges.suffix if charges is not None and charges.suffix else ".toml"
    charges_path = workdir / f"charges{suffix}"
    shutil.copyfile(charges or example_file("charges.toml"), charges_path)
    if mapping is not None:
        return mapping, charges_path, []
    catalog_path = workdir / "catalog.csv"
    left_out = catalog_mapping_from_seller_catalog(workdir / "amazon-catalog.csv", catalog_path)
    return catalog_path, charges_path, left_out
