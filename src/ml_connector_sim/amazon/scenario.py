"""Scenario files: one JSON document holding a seller's Amazon world in the official shapes.

Validation is deliberately shallow (the fields the simulator filters and sums on) and names the
file and the JSON path of the first problems, so a hand-written file is quick to fix.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ml_connector_sim.amazon.catalog import CatalogEntry
from ml_connector_sim.amazon.gen_orders import iso
from ml_connector_sim.amazon.scenario_file import ScenarioFileError, read_scenario_json
from ml_connector_sim.amazon.wire import dumps
from ml_connector_sim.amazon.world import AmazonWorld, Credential, SettlementReport

FORMAT = "ml-connector-amazon-scenario/1"


class ScenarioError(ValueError):
    """A scenario file that cannot be loaded; the message names the file and the field."""


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _SalesChannel(_Open):
    channelName: str
    marketplaceId: str


class _OrderItem(_Open):
    orderItemId: str
    quantityOrdered: int
    product: dict[str, Any]


class _Order(_Open):
    orderId: str
    createdTime: AwareDatetime
    lastUpdatedTime: AwareDatetime
    salesChannel: _SalesChannel
    orderItems: list[_OrderItem]


class _V0Currency(_Open):
    CurrencyCode: str
    CurrencyAmount: Decimal


class _Group(_Open):
    FinancialEventGroupId: str
    ProcessingStatus: Literal["Open", "Closed"]
    OriginalTotal: _V0Currency
    FinancialEventGroupStart: AwareDatetime


class _Currency(_Open):
    currencyCode: str
    currencyAmount: Decimal


class _Related(_Open):
    relatedIdentifierName: str
    relatedIdentifierValue: str


class _Transaction(_Open):
    transactionId: str
    transactionType: str
    #: Free text in the model (DEFERRED, RELEASED, DEFERRED_RELEASED documented; Amazon's own
    #: example spells `Released`); null or absent occurs and is served as written.
    transactionStatus: str | None = None
    postedDate: AwareDatetime
    totalAmount: _Currency
    relatedIdentifiers: list[_Related] = Field(default_factory=list)


class _Credential(BaseModel):
    clientId: str = Field(min_length=1)
    clientSecret: str = Field(min_length=1, repr=False)
    refreshToken: str = Field(min_length=1, repr=False)
    region: Literal["na", "eu", "fe"] | None = None


class _Report(BaseModel):
    reportId: str
    reportDocumentId: str
    settlementId: str
    financialEventGroupId: str
    marketplaceId: str
    createdTime: AwareDatetime
    dataStartTime: AwareDatetime
    dataEndTime: AwareDatetime
    rows: list[dict[str, str]]


class _Scenario(BaseModel):
    format: Literal["ml-connector-amazon-scenario/1"]
    now: AwareDatetime
    sellingPartnerId: str
    marketplaceIds: list[str]
    credentials: list[_Credential] = Field(default_factory=list)
    catalog: list[CatalogEntry] = Field(default_factory=list)
    orders: list[_Order] = Field(default_factory=list)
    financialEventGroups: list[_Group] = Field(default_factory=list)
    transactions: list[_Transaction] = Field(default_factory=list)
    settlementReports: list[_Report] = Field(default_factory=list)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def load_scenario(path: Path) -> AmazonWorld:
    """Read a scenario file; raises ScenarioError naming `path` and the offending field."""
    try:
        raw = read_scenario_json(path)
    except ScenarioFileError as exc:
        raise ScenarioError(str(exc)) from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: expected a JSON object at the top level")
    try:
        model = _Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{path}: {_location(e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        raise ScenarioError("; ".join(problems)) from None
    return AmazonWorld(
        now=model.now,
        selling_partner_id=model.sellingPartnerId,
        marketplace_ids=list(model.marketplaceIds),
        credentials=[
            Credential(c.clientId, c.clientSecret, c.refreshToken, c.region)
            for c in model.credentials
        ],
        catalog=list(model.catalog),
        orders=list(raw.get("orders", [])),
        groups=list(raw.get("financialEventGroups", [])),
        transactions=list(raw.get("transactions", [])),
        settlement_reports=[
            SettlementReport(
                report_id=r.reportId,
                document_id=r.reportDocumentId,
                settlement_id=r.settlementId,
                financial_event_group_id=r.financialEventGroupId,
                marketplace_id=r.marketplaceId,
                created_time=r.createdTime,
                data_start_time=r.dataStartTime,
                data_end_time=r.dataEndTime,
                rows=r.rows,
            )
            for r in model.settlementReports
        ],
    )


def save_scenario(world: AmazonWorld, path: Path) -> None:
    """Write `world` as a scenario file that `load_scenario` reads back to the same world."""
    document = {
        "format": FORMAT,
        "now": iso(world.now),
        "sellingPartnerId": world.selling_partner_id,
        "marketplaceIds": world.marketplace_ids,
        "credentials": [
            {"clientId": c.client_id, "clientSecret": c.client_secret,
             "refreshToken": c.refresh_token, "region": c.region}
            for c in world.credentials
        ],
        "catalog": [entry.model_dump(mode="json") for entry in world.catalog],
        "orders": world.orders,
        "financialEventGroups": world.groups,
        "transactions": world.transactions,
        "settlementReports": [
            {"reportId": r.report_id, "reportDocumentId": r.document_id,
             "settlementId": r.settlement_id, "financialEventGroupId": r.financial_event_group_id,
             "marketplaceId": r.marketplace_id, "createdTime": iso(r.created_time),
             "dataStartTime": iso(r.data_start_time), "dataEndTime": iso(r.data_end_time),
             "rows": r.rows}
            for r in world.settlement_reports
        ],
    }  # fmt: skip
    path.write_text(dumps(document, indent=1) + "\n", encoding="utf-8")
