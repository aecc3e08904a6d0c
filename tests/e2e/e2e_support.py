"""Helpers shared by the end-to-end tests: a seller wired to both simulators, and what the
books should contain, derived from the Amazon world independently of the connector's code.

The expectations follow DESIGN.md §4 and the shipped example mapping (company 101, cost center
by region, balance-sheet accounts on cost center 00); they read the catalog mapping file the
seller wrote, never the connector's own planning.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ml_connector.context import Runtime
from ml_connector.pipeline import SyncReport, sync_connection
from ml_connector.run import demo
from ml_connector.store import (
    ConnectionConfig,
    MasterKey,
    generate_master_key,
    get_connection,
    make_engine,
    make_sessionmaker,
    migrate,
    update_connection,
)
from ml_connector.store.secrets import Keyring
from ml_connector.store.tables import Document, ReviewItem
from ml_connector_sim.amazon import (
    AmazonWorld,
    GeneratorParams,
    generate_world,
    running_amazon_sim,
    seller_catalog,
    write_catalog_csv,
)
from ml_connector_sim.amazon import RunningSim as AmazonSim
from ml_connector_sim.amazon import SimOptions as AmazonOptions
from ml_connector_sim.oracle import RunningSim as OracleSim
from ml_connector_sim.oracle import SimOptions as OracleOptions
from ml_connector_sim.oracle import TenantSetup, running_oracle_sim

CONNECTION = "demo"
# Simulated time runs fast: Amazon rate limits refill 2000x, an ESS step lasts 2 ms.
AMAZON_SCALE = 2000.0
ORACLE_SCALE = 0.002

COMPANY = "101"
BALANCE_SHEET_CC = "00"
REGION_CC = {
    "ATVPDKIKX0DER": "10",  # amazon.com
    "A2EUQ1WTGCTBG2": "10",  # amazon.ca
    "A1F83G8C2ARO7P": "20",  # amazon.co.uk
    "A1PA6795UKMFR9": "20",  # amazon.de
    "A1VC38T7YXB528": "30",  # amazon.co.jp
}
RECEIVABLE = f"{COMPANY}.{BALANCE_SHEET_CC}.12100"
TAX_CLEARING = f"{COMPANY}.{BALANCE_SHEET_CC}.21500"
SALES_TAX = f"{COMPANY}.{BALANCE_SHEET_CC}.21600"
CASH_IN_TRANSIT = "10500"
CHARGE_ACCOUNTS = {"SHIPPING": "40200", "GIFT_WRAP": "40300", "DISCOUNT": "40900"}
# The example mapping's [vat] rates (percent) for the simulated marketplaces whose prices include
# VAT; an order there with no tax figure is booked net, its VAT on sales tax payable (no
# output_vat in the example): VAT = gross × rate / (100 + rate), half up to the currency unit.
VAT_RATES = {"A1F83G8C2ARO7P": Decimal(20), "A1PA6795UKMFR9": Decimal(19),
             "A1VC38T7YXB528": Decimal(10)}  # fmt: skip

UNSETTLED = ("sending", "retry", "planned")


def amazon_options(**changes: Any) -> AmazonOptions:
    """The Amazon simulator sped up AMAZON_SCALE times, announcing Amazon's published rates in
    ``x-amzn-RateLimit-Limit`` as Amazon does; the connection's ``rate_limit_scale`` applies the
    same speed-up to them (see test_e2e_pacing.py)."""
    return AmazonOptions(time_scale=AMAZON_SCALE, **changes)


def small_world(orders: int = 100, seed: int = 7) -> AmazonWorld:
    return generate_world(GeneratorParams(seed=seed, orders=orders, days=30))


def fast_config(endpoints: demo.SimEndpoints, catalog: Path, charges: Path) -> ConnectionConfig:
    """The demo connection, with imports polled often and a short crash-settle window."""
    config = demo.simulator_config(
        endpoints, catalog=catalog, charges=charges, time_scale=AMAZON_SCALE
    )
    oracle = config.oracle.model_copy(
        update={"import_poll_seconds": 0.01, "import_settle_seconds": 0.3}
    )
    return config.model_copy(update={"oracle": oracle})


def write_mapping(workdir: Path, *, leave_out: int) -> list[str]:
    """(Re)write the catalog mapping from the seller's catalog; returns the SKUs left out."""
    return demo.catalog_mapping_from_seller_catalog(
        workdir / "amazon-catalog.csv", workdir / "catalog.csv", leave_out=leave_out
    )


def new_runtime(database_url: str, master_key: str | None = None) -> Runtime:
    engine = make_engine(database_url)
    migrate(engine)
    key = MasterKey.from_text(master_key or generate_master_key())
    return Runtime(engine=engine, sessions=make_sessionmaker(engine), keyring=Keyring(key))


@dataclass
class Books:
    """One seller: its Amazon (simulated), its Oracle pod (simulated) and the connector's store."""

    rt: Runtime
    amazon: AmazonSim
    oracle: OracleSim
    world: AmazonWorld
    workdir: Path
    left_out: list[str]
    master_key: str
    database_url: str

    def sync(self) -> SyncReport:
        return sync_connection(self.rt, CONNECTION)

    def documents(self) -> list[Document]:
        with self.rt.sessions() as session:
            docs = list(session.scalars(select(Document).order_by(Document.id)))
            session.expunge_all()
        return docs

    def review_items(self) -> list[ReviewItem]:
        with self.rt.sessions() as session:
            items = list(session.scalars(select(ReviewItem).order_by(ReviewItem.id)))
            session.expunge_all()
        return items

    def unsettled(self) -> list[Document]:
        return [d for d in self.documents() if d.state.value in UNSETTLED]

    def oracle_counts(self) -> tuple[int, int, int]:
        state = self.oracle.state
        return len(state.invoices), len(state.credit_memos), len(state.journal_batches)


@contextmanager
def running_books(
    workdir: Path,
    world: AmazonWorld,
    database_url: str,
    *,
    leave_out: int = 1,
    setup: TenantSetup | None = None,
    amazon: AmazonSim | None = None,
    amazon_options: AmazonOptions | None = None,
    template: Path | None = None,
    master_key: str | None = None,
) -> Iterator[Books]:
    """Start the simulators (unless an Amazon one is given), store the connection, yield.

    ``template`` is a SQLite store to start from (copied to ``database_url``'s file, which must
    be a SQLite URL), made with ``master_key``; its connection is pointed at the new simulators.
    """
    write_catalog_csv(seller_catalog(world), workdir / "amazon-catalog.csv")
    demo.prepare_mappings(workdir, mapping=None)
    left_out = write_mapping(workdir, leave_out=leave_out)
    if template is not None:
        shutil.copyfile(template, database_url.removeprefix("sqlite:///"))
    master_key = master_key or generate_master_key()
    with (
        _amazon(world, amazon, amazon_options) as amazon_sim,
        running_oracle_sim(setup, OracleOptions(time_scale=ORACLE_SCALE)) as oracle_sim,
    ):
        rt = new_runtime(database_url, master_key)
        endpoints = demo.SimEndpoints(amazon_sim.base_url, oracle_sim.base_url)
        config = fast_config(endpoints, workdir / "catalog.csv", workdir / "charges.toml")
        with rt.sessions() as session, session.begin():
            if template is None:
                demo.add_simulator_connection(session, rt.require_keyring(), CONNECTION, config)
            else:
                update_connection(session, get_connection(session, CONNECTION), config=config)
        try:
            yield Books(
                rt, amazon_sim, oracle_sim, world, workdir, left_out, master_key, database_url
            )
        finally:
            rt.close()


@contextmanager
def _amazon(
    world: AmazonWorld, given: AmazonSim | None, options: AmazonOptions | None
) -> Iterator[AmazonSim]:
    if given is not None:
        yield given
        return
    with running_amazon_sim(world, options or amazon_options()) as sim:
        yield sim


# -- what the books must contain ------------------------------------------------------------


def revenue_accounts(catalog_csv: Path) -> dict[str, str]:
    """SKU → natural revenue account, as the seller's catalog mapping file says."""
    with catalog_csv.open(newline="", encoding="utf-8") as handle:
        return {row["sku"]: row["revenue_account"] for row in csv.DictReader(handle)}


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def shipped_orders(world: AmazonWorld) -> list[dict[str, Any]]:
    return [o for o in world.orders if o["fulfillment"]["fulfillmentStatus"] == "SHIPPED"]


def order_skus(order: dict[str, Any]) -> set[str]:
    return {item["product"]["sellerSku"] for item in order["orderItems"]}


def grand_total(order: dict[str, Any]) -> Decimal:
    return money(order["proceeds"]["grandTotal"]["amount"])


def vat_rate(order: dict[str, Any]) -> Decimal | None:
    """The example mapping's rate when the order's prices hold VAT Amazon gives no figure for."""
    items = order["orderItems"]
    if any(p["type"] == "TAX" for i in items for p in i["proceeds"]["breakdowns"]) or any(
        i.get("tax", {}).get("taxCollections") for i in items
    ):
        return None
    return VAT_RATES.get(order["salesChannel"]["marketplaceId"])


def net_of_vat(order: dict[str, Any], amount: Decimal) -> Decimal:
    """``amount`` less the VAT inside it at the order's rate (unchanged without one)."""
    rate = vat_rate(order)
    if rate is None:
        return amount
    yen = order["proceeds"]["grandTotal"]["currencyCode"] == "JPY"
    unit = Decimal(1) if yen else Decimal("0.01")
    return amount - (amount * rate / (100 + rate)).quantize(unit, rounding=ROUND_HALF_UP)


def expected_accounts(order: dict[str, Any], revenue: dict[str, str]) -> dict[str, Decimal]:
    """Account combination → amount the order's invoice must book there (receivable included)."""
    cost_center = REGION_CC[order["salesChannel"]["marketplaceId"]]
    booked: dict[str, Decimal] = defaultdict(Decimal)
    for item in order["orderItems"]:
        facilitator = any(
            c.get("model") == "MARKETPLACE_FACILITATOR"
            for c in item.get("tax", {}).get("taxCollections", [])
        )
        for part in item["proceeds"]["breakdowns"]:
            amount = money(part["subtotal"]["amount"])
            kind = part["type"]
            if kind == "ITEM":
                sku = item["product"]["sellerSku"]
                account = f"{COMPANY}.{cost_center}.{revenue[sku]}"
            elif kind == "TAX":
                account = TAX_CLEARING if facilitator else SALES_TAX
            else:
                account = f"{COMPANY}.{cost_center}.{CHARGE_ACCOUNTS[kind]}"
            net = net_of_vat(order, amount)
            booked[SALES_TAX] += amount - net  # the VAT the connector separates, if any
            booked[account] += net
    booked[RECEIVABLE] += grand_total(order)
    return {account: amount for account, amount in booked.items() if amount != 0}


def booked_accounts(distributions: list[dict[str, Any]]) -> dict[str, Decimal]:
    booked: dict[str, Decimal] = defaultdict(Decimal)
    for dist in distributions:
        booked[dist["AccountCombination"]] += money(dist["Amount"])
    return {account: amount for account, amount in booked.items() if amount != 0}


def refunds(world: AmazonWorld) -> list[dict[str, Any]]:
    return [t for t in world.transactions if t["transactionType"] == "Refund"]


def related(transaction: dict[str, Any], name: str) -> str | None:
    for ident in transaction.get("relatedIdentifiers") or ():
        if ident.get("relatedIdentifierName") == name:
            return str(ident.get("relatedIdentifierValue"))
    return None


def refunded_sales(refund: dict[str, Any]) -> Decimal:
    """What the customer got back for the goods: `Sales` net of the promotions reversed."""
    return sum(
        (
            money(part["breakdownAmount"]["currencyAmount"])
            for part in refund["breakdowns"]
            if part["breakdownType"] in ("Sales", "Promotions")
        ),
        Decimal(0),
    )


def closed_groups(world: AmazonWorld) -> list[dict[str, Any]]:
    return [g for g in world.groups if g["ProcessingStatus"] == "Closed"]


def duplicates(values: list[str]) -> list[str]:
    return sorted(value for value, count in Counter(values).items() if count > 1)
