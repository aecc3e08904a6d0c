"""Seeded generation of a realistic seller: same seed and parameters, same ids and amounts.

Every random draw comes from one `random.Random(seed)` in a fixed order that does not depend on
`now`, so moving `now` shifts dates but keeps ids and money identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ml_connector_sim.amazon.catalog import generate_catalog
from ml_connector_sim.amazon.flatfiles import settlement_rows
from ml_connector_sim.amazon.gen_finances import (
    DraftTransaction,
    Leaf,
    account_transactions,
    carries_settlement_id,
    currency_amount,
    new_id,
    order_transactions,
    render_transaction,
    transfer_transaction,
    wire_statuses,
)
from ml_connector_sim.amazon.gen_orders import ZERO, OrderPlan, iso, plan_order, render_order
from ml_connector_sim.amazon.marketplaces import DEFAULT_CODES, Marketplace, by_code
from ml_connector_sim.amazon.world import AmazonWorld, Credential, JsonObject, SettlementReport

CYCLE = timedelta(days=14)
_WEIGHTS = {"US": 45, "CA": 10, "MX": 5, "UK": 15, "DE": 15, "FR": 6, "IT": 5, "ES": 5,
            "JP": 15, "AU": 6, "SG": 3}  # fmt: skip
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@dataclass(frozen=True)
class GeneratorParams:
    """What shapes the generated seller. Defaults give a month of five marketplaces."""

    seed: int = 1
    orders: int = 500
    days: int = 30
    marketplaces: tuple[str, ...] = DEFAULT_CODES
    catalog_size: int = 30
    now: datetime | None = None
    credentials: list[Credential] = field(default_factory=list)


def _v0_amount(amount: Decimal, currency: str) -> JsonObject:
    """Finances v0 spells its Currency in PascalCase, unlike 2024-06-19."""
    return {"CurrencyCode": currency, "CurrencyAmount": amount}


def default_credentials() -> list[Credential]:
    """One app authorised in every region; strict mode accepts only these."""
    return [
        Credential(
            client_id="amzn1.application-oa2-client.simulator",
            client_secret="sim-client-secret",
            refresh_token=f"Atzr|sim-refresh-token-{region}",
            region=region,
        )
        for region in ("na", "eu", "fe")
    ]


def generate_world(params: GeneratorParams) -> AmazonWorld:
    """Build orders, settlement groups, transactions and settlement reports for one seller."""
    now = (params.now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    rng = random.Random(params.seed)
    markets = [by_code(code) for code in params.marketplaces]
    seller_id = "A" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(13))
    catalog = generate_catalog(rng, params.catalog_size)
    weights = [_WEIGHTS.get(m.code, 5) for m in markets]
    span = max(params.days, 1) * 86400 - 3600
    plans: list[OrderPlan] = []
    for _ in range(params.orders):
        market = rng.choices(markets, weights)[0]
        created = now - timedelta(seconds=rng.randint(600, span + 600))
        plans.append(plan_order(rng, market, catalog, created, now))
    plans.sort(key=lambda plan: (plan.created, plan.order_id))

    drafts: list[DraftTransaction] = []
    for plan in plans:
        drafts.extend(order_transactions(rng, plan, now))

    world = AmazonWorld(
        now=now,
        selling_partner_id=seller_id,
        marketplace_ids=[m.marketplace_id for m in markets],
        credentials=list(params.credentials) or default_credentials(),
        catalog=catalog,
        orders=[render_order(plan) for plan in plans],
    )
    day = now.replace(hour=0, minute=0, second=0)
    for market in markets:
        offset = timedelta(days=rng.randint(2, 12))
        own = [d for d in drafts if d.market is market]
        earliest = min((d.posted for d in own), default=now) - CYCLE
        _settle_market(rng, world, market, own, day - offset, earliest, now)
    world.transactions.sort(key=lambda tx: (tx["postedDate"], tx["transactionId"]))
    world.groups.sort(key=lambda g: (g["FinancialEventGroupStart"], g["FinancialEventGroupId"]))
    return world


def _settle_market(
    rng: random.Random,
    world: AmazonWorld,
    market: Marketplace,
    drafts: list[DraftTransaction],
    open_start: datetime,
    earliest: datetime,
    now: datetime,
) -> None:
    """Cut one marketplace's history into 14-day groups: the newest Open, older ones Closed."""
    starts = []
    start = open_start
    while start > earliest:
        starts.append(start)
        start -= CYCLE
    starts.reverse()
    reserve = ZERO
    for index, start in enumerate(starts):
        closed = index < len(starts) - 1
        end = start + CYCLE if closed else now
        group_id = "".join(rng.choice(_B64) for _ in range(43))
        settlement_id = str(rng.randint(10**10, 10**11 - 1))
        trace = new_id(rng, 16).upper()
        members = [d for d in drafts if start <= d.posted < end]
        extra, reserve = account_transactions(
            rng, market, world.catalog, start, end, closed, reserve, now
        )
        transfer = transfer_transaction(market, group_id, start, end, now)
        if transfer is not None:
            extra.append(transfer)
        members = sorted([*members, *extra], key=lambda d: (d.posted, d.transaction_id))
        if not members:
            continue
        statuses = wire_statuses(members, closed)
        rendered = [
            render_transaction(
                d,
                world.selling_partner_id,
                group_id,
                settlement_id if carries_settlement_id(group_id, d) else None,
                statuses[d.transaction_id],
            )
            for d in members
        ]
        total = sum((d.total for d in members if d.counts_in_total), ZERO)
        world.transactions.extend(rendered)
        group: JsonObject = {
            "FinancialEventGroupId": group_id,
            "ProcessingStatus": "Closed" if closed else "Open",
            "FundTransferStatus": "Succeeded" if closed else "Processing",
            "OriginalTotal": _v0_amount(total, market.currency),
            "ConvertedTotal": _v0_amount(total, market.currency),
            "TraceId": trace,
            "AccountTail": "042",
            "BeginningBalance": _v0_amount(Decimal(0), market.currency),
            "FinancialEventGroupStart": iso(start),
        }
        if closed:
            deposit = min(end + timedelta(days=1), now - timedelta(minutes=5))
            group["FinancialEventGroupEnd"] = iso(end)
            group["FundTransferDate"] = iso(deposit)
            posted = {d.transaction_id: d.posted for d in members}
            created = min(end + timedelta(hours=6), now - timedelta(minutes=5))
            world.settlement_reports.append(
                SettlementReport(
                    report_id=str(rng.randint(10**10, 10**11 - 1)),
                    document_id="amzn1.spdoc.1.4.na." + new_id(rng, 24),
                    settlement_id=settlement_id,
                    financial_event_group_id=group_id,
                    marketplace_id=market.marketplace_id,
                    created_time=created,
                    data_start_time=start,
                    data_end_time=end,
                    rows=settlement_rows(
                        settlement_id,
                        start,
                        end,
                        deposit,
                        market.currency,
                        [report_view(d, tx) for d, tx in zip(members, rendered, strict=True)],
                        posted,
                    ),
                )
            )
        world.groups.append(group)


_REPORT_GROUP = {"TaxWithheld": "Tax withheld"}
_REPORT_NAME = {"ProductCharges": "Principal"}


def _report_leaves(leaves: list[Leaf], currency: str) -> list[JsonObject]:
    """Leaves in the settlement report's two levels: the top group, then a description
    (`Sales/ProductCharges` → Principal, `Expenses/AmazonFees/Commission/Tax` → CommissionTax)."""
    found: list[JsonObject] = []
    for path, amount in leaves:
        name = path[-1] if len(path) <= 2 else path[2] + ("Tax" if path[-1] == "Tax" else "")
        leaf = {"breakdownType": _REPORT_NAME.get(name, name),
                "breakdownAmount": currency_amount(amount, currency)}  # fmt: skip
        found.append({"breakdownType": _REPORT_GROUP.get(path[0], path[0]), "breakdowns": [leaf]})
    return found


def report_view(draft: DraftTransaction, rendered: JsonObject) -> JsonObject:
    """What the settlement report shows of a transaction: counted money as RELEASED (whatever
    the case or null sent on the wire), leaves flattened to the report's two levels (items
    without breakdowns included), and a Transfer as one row of its total."""
    currency = draft.market.currency
    view = dict(rendered)
    view["transactionStatus"] = "RELEASED" if draft.counts_in_total else draft.status
    if draft.amount is not None:
        view["breakdowns"] = _report_leaves([(("Transfer",), draft.amount)], currency)
        return view
    view["items"] = [
        {**shaped, "breakdowns": _report_leaves(item.leaves, currency)}
        for item, shaped in zip(draft.items, rendered.get("items", []), strict=True)
    ]
    view["breakdowns"] = _report_leaves(draft.all_leaves(), currency)
    return view
