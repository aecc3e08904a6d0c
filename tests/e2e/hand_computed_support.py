"""Running the hand-computed scenario (tests/fixtures/hand_computed/) the way an operator does:
both simulators on loopback, `init`, `connection add` with a TOML config (its `[accounting]`
section included), `sync` twice and `reconcile --json`, all through the CLI.

Amazon's world moves once between the two syncs: order 111-1000005-0000005, shipped and
invoiced in the first, is cancelled at Amazon and refunded in settlement US-2, which was still
Open at the first sync and is Closed at the second. The scenario file holds the world as it is
at the end; the first sync sees it as it was before (`world_before_cancellation`).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector_sim.amazon import AmazonWorld, running_amazon_sim
from ml_connector_sim.amazon import RunningSim as AmazonSim
from ml_connector_sim.amazon import SimOptions as AmazonOptions
from ml_connector_sim.amazon.context import SimContext
from ml_connector_sim.amazon.scenario import load_scenario
from ml_connector_sim.oracle import RunningSim as OracleSim
from ml_connector_sim.oracle import SimOptions as OracleOptions
from ml_connector_sim.oracle import TenantSetup, default_setup, running_oracle_sim
from ml_connector_sim.oracle.tenant import parse_setup

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hand_computed"
SCENARIO = FIXTURES / "seller.json"
CONNECTION = "hand"
CANCELLED_ORDER = "111-1000005-0000005"
CANCELLED_REFUND = "hc0000000000000000000000000000r5"
CLAIM = "hc0000000000000000000000000000c3"
LATER_GROUP = "HcUS2b0000000000000000000000000000000000002"
# The order as Amazon showed it before the cancellation: shipped on 2026-10-30 (scenario time).
SHIPPED_AT = "2026-10-30T10:00:00Z"
SECRETS = {
    "HC_LWA": "hc-lwa-secret",
    "HC_NA": "Atzr|hc-na-token",
    "HC_EU": "Atzr|hc-eu-token",
    "HC_ORA": "hc-oracle-secret",
}
TIME_SCALE = 2000.0
runner = CliRunner()

_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)$")
_REPORT_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})( \d{2}:\d{2}:\d{2} UTC)$")
_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})$")


def _shift(value: Any, days: int) -> Any:
    """Every date and date-time of the scenario moved by `days` (ids and amounts untouched)."""
    if isinstance(value, dict):
        return {key: _shift(item, days) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift(item, days) for item in value]
    if isinstance(value, str):
        for pattern in (_ISO, _REPORT_TIME, _DAY):
            match = pattern.match(value)
            if match:
                day = date.fromisoformat(match.group(1)) + timedelta(days=days)
                return day.isoformat() + (match.group(2) if pattern.groups > 1 else "")
    return value


def scenario_days_ago() -> int:
    """Whole days between the scenario's `now` and today: the scenario is replayed as if it had
    been captured today, so its settlements fall in Oracle's open periods and in the first
    sync's history whatever day the test runs."""
    data = json.loads(SCENARIO.read_text(encoding="utf-8"))
    captured = datetime.fromisoformat(data["now"].replace("Z", "+00:00")).date()
    return (datetime.now(UTC).date() - captured).days


def shifted_day(scenario_day: str) -> date:
    """A scenario date (`2026-11-04`) as the run sees it."""
    return date.fromisoformat(scenario_day) + timedelta(days=scenario_days_ago())


def final_world(workdir: Path) -> AmazonWorld:
    """The scenario file, dates moved to today, loaded by the simulator's own loader."""
    data = json.loads(SCENARIO.read_text(encoding="utf-8"))
    path = workdir / "seller-today.json"
    path.write_text(json.dumps(_shift(data, scenario_days_ago())), encoding="utf-8")
    return load_scenario(path)


def world_before_cancellation(world: AmazonWorld) -> AmazonWorld:
    """The same seller before order 111-1000005-0000005 was cancelled and refunded: the order is
    SHIPPED, the refund is not posted yet, settlement US-2 is still Open (no end, no deposit,
    no report) and its running total leaves the refund out."""
    before = copy.deepcopy(world)
    order = next(o for o in before.orders if o["orderId"] == CANCELLED_ORDER)
    order["fulfillment"]["fulfillmentStatus"] = "SHIPPED"
    order["lastUpdatedTime"] = _shift(SHIPPED_AT, scenario_days_ago())
    refund = next(t for t in before.transactions if t["transactionId"] == CANCELLED_REFUND)
    before.transactions.remove(refund)
    group = next(g for g in before.groups if g["FinancialEventGroupId"] == LATER_GROUP)
    group["ProcessingStatus"] = "Open"
    group["FundTransferStatus"] = "Processing"
    for key in ("FinancialEventGroupEnd", "FundTransferDate"):
        group.pop(key)
    # -96.19 at the close, less the refund's -11.00 not posted yet: -85.19.
    group["OriginalTotal"]["CurrencyAmount"] = -85.19
    group["ConvertedTotal"]["CurrencyAmount"] = -85.19
    before.settlement_reports = [
        r for r in before.settlement_reports if r.financial_event_group_id != LATER_GROUP
    ]
    return before


def tenant() -> TenantSetup:
    """The default simulated pod, with an output VAT account (21700) in its chart."""
    data = default_setup().model_dump(mode="json", by_alias=True)
    accounts = data["chart_of_accounts"]["segments"][2]["values"]
    accounts["21700"] = "Output VAT payable"
    accounts["50200"] = "Returned goods written off"
    return parse_setup(data, source="hand-computed tenant")


def connection_toml(
    amazon: AmazonSim, oracle: OracleSim, *, catalog: Path, cogs: bool, history_days: int = 90
) -> str:
    """The operator's connection file; `cogs` sets `[accounting] include_cogs`."""
    return f"""
[amazon]
regions = ["NA", "EU"]
marketplace_ids = ["ATVPDKIKX0DER", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "A1F83G8C2ARO7P"]
seller_id = "A3HANDCOMPUTED"
lwa_client_id = "amzn1.application-oa2-client.handcomputed"
lwa_token_url = "{amazon.token_url}"
rate_limit_scale = {TIME_SCALE}

[amazon.base_urls]
NA = "{amazon.region_url("na")}"
EU = "{amazon.region_url("eu")}"

[oracle]
pod = "simulator"
region = "local"
identity_domain_url = "{oracle.base_url}"
base_url = "{oracle.base_url}"
client_id = "ml-connector-hand"
scope = "urn:opc:resource:consumer::all"
business_unit = "US1 Business Unit"
ledger = "US Primary Ledger"
ledger_id = "300000046975971"
legal_entity = "ML Seller US LLC"
invoice_source = "Amazon Orders"
invoice_transaction_type = "Amazon Invoice"
credit_memo_transaction_type = "Amazon Credit Memo"
journal_source = "Amazon Settlements"
journal_category = "Amazon Settlement"
requests_per_second = 200
import_poll_seconds = 0.01
import_settle_seconds = 0.3

[mappings]
catalog = "{catalog}"
charges = "{FIXTURES / "charges.toml"}"

[cadences]
initial_history_days = {history_days}

[accounting]
vat_inclusive = "split"
include_cogs = {"true" if cogs else "false"}
returned_goods = "restock"
"""


def cli(*args: str, code: int | None = 0) -> Any:
    result = runner.invoke(app, list(args))
    if code is not None:
        assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
    return result


def cli_json(*args: str, code: int | None = 0) -> dict[str, Any]:
    result = cli(*args, "--json", code=code)
    body = json.loads(result.stdout)
    assert isinstance(body, dict)
    return body


def _move_on(amazon: AmazonSim, world: AmazonWorld, options: AmazonOptions) -> None:
    """Amazon's world becomes `world` (the cancellation happened three minutes ago): the running
    simulator serves its records from now on, tokens and rate limits kept."""
    order = next(o for o in world.orders if o["orderId"] == CANCELLED_ORDER)
    changed = (datetime.now(UTC) - timedelta(minutes=3)).replace(microsecond=0)
    order["lastUpdatedTime"] = changed.strftime("%Y-%m-%dT%H:%M:%SZ")
    fresh = SimContext(world, options)
    context = amazon.context
    with context.lock:
        context.world = world
        context.orders = fresh.orders
        context.orders_by_id = fresh.orders_by_id
        context.transactions = fresh.transactions
        context.groups = fresh.groups


def _counts(oracle: OracleSim) -> tuple[int, int, int]:
    state = oracle.state
    return len(state.invoices), len(state.credit_memos), len(state.journal_batches)


@dataclass
class Run:
    """What the operator saw and what the simulated Oracle holds after the two syncs."""

    first_sync: dict[str, Any]
    second_sync: dict[str, Any]
    reconcile: dict[str, Any]
    reconcile_exit: int
    oracle: OracleSim
    review: list[dict[str, Any]]
    batches: list[str]
    """The journal batches in Oracle after the second sync."""
    claim_audit: dict[str, Any]
    """`audit show` of the A-to-z claim's transaction id."""
    table: str
    """`reconcile` as a person reads it."""
    third_sync: dict[str, Any]
    """A sync with nothing new at Amazon."""
    documents_before_third: tuple[int, int, int]
    documents_after_third: tuple[int, int, int]
    fixed: Fixed | None = None


@dataclass
class Fixed:
    """After the finance team adds PAN-07 to the catalog and runs `review resolve --all`."""

    resolve: dict[str, Any]
    resolve_exit: int
    reconcile: dict[str, Any]
    reconcile_exit: int
    review: list[dict[str, Any]]


# The catalog row the finance team adds for PAN-07 (kitchen revenue, unit cost 13.60).
PAN_07_ROW = "PAN-07,40120,,kitchen,,,13.60\n"


@contextmanager
def hand_computed_run(
    workdir: Path, *, cogs: bool = False, fix: bool = False, history_days: int = 90
) -> Iterator[Run]:
    """The two syncs and `reconcile --json`; with `fix`, then PAN-07 mapped and resolved.
    ``history_days``: the connection's ``initial_history_days`` (the first sync's order window)."""
    catalog = workdir / "catalog.csv"
    shutil.copyfile(FIXTURES / "catalog.csv", catalog)
    world = final_world(workdir)
    options = AmazonOptions(time_scale=TIME_SCALE)
    with (
        pytest.MonkeyPatch.context() as env,
        running_amazon_sim(world_before_cancellation(world), options) as amazon,
        running_oracle_sim(tenant(), OracleOptions(time_scale=1 / TIME_SCALE)) as oracle,
    ):
        for var in (
            "ML_CONNECTOR_MASTER_KEY",
            "ML_CONNECTOR_DATABASE_URL",
            "ML_CONNECTOR_KEY_FILE",
        ):
            env.delenv(var, raising=False)
        env.setenv("ML_CONNECTOR_HOME", str(workdir / "home"))
        for name, value in SECRETS.items():
            env.setenv(name, value)
        cli("init")
        config = workdir / "hand.toml"
        config.write_text(
            connection_toml(amazon, oracle, catalog=catalog, cogs=cogs, history_days=history_days),
            encoding="utf-8",
        )
        cli(
            "connection", "add", CONNECTION, "--config", str(config),
            "--lwa-client-secret-env", "HC_LWA", "--refresh-token-env", "NA=HC_NA",
            "--refresh-token-env", "EU=HC_EU", "--oracle-secret-env", "HC_ORA",
        )  # fmt: skip
        first = cli_json("sync", CONNECTION, code=None)
        _move_on(amazon, world, options)
        second = cli_json("sync", CONNECTION, code=None)
        result = cli("reconcile", "-c", CONNECTION, "--json", code=None)
        review = cli_json("review", "list", "-c", CONNECTION, code=None)
        table = cli("reconcile", "-c", CONNECTION, code=None).stdout
        before = _counts(oracle)
        third = cli_json("sync", CONNECTION, code=None)
        done = Run(
            first,
            second,
            json.loads(result.stdout),
            result.exit_code,
            oracle,
            list(review.get("items", [])),
            sorted(batch.name for batch in oracle.state.journal_batches),
            cli_json("audit", "show", CLAIM, "-c", CONNECTION, code=None),
            table,
            third,
            before,
            _counts(oracle),
        )
        if fix:
            with catalog.open("a", encoding="utf-8") as handle:
                handle.write(PAN_07_ROW)
            resolved = cli("review", "resolve", "-c", CONNECTION, "--all", "--json", code=None)
            again = cli("reconcile", "-c", CONNECTION, "--json", code=None)
            left = cli_json("review", "list", "-c", CONNECTION, code=None)
            done.fixed = Fixed(
                json.loads(resolved.stdout),
                resolved.exit_code,
                json.loads(again.stdout),
                again.exit_code,
                list(left.get("items", [])),
            )
        yield done
