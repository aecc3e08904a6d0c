"""Every response shape the Amazon simulator serves validates against the official models."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from ml_connector_sim.amazon import (
    GeneratorParams,
    RunningSim,
    SimOptions,
    generate_world,
    running_amazon_sim,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INCLUDED = "PROCEEDS,PROMOTION,TAX,FULFILLMENT,CANCELLATION"


def validator(models: Path, model_file: str, definition: str) -> jsonschema.Draft4Validator:
    """Swagger 2.0 definitions are JSON Schema draft 4 with `#/definitions/...` refs: embedding
    all definitions next to a `$ref` lets the validator resolve them in-document."""
    spec = json.loads((models / model_file).read_text(encoding="utf-8"))
    schema = {"definitions": spec["definitions"], "$ref": f"#/definitions/{definition}"}
    return jsonschema.Draft4Validator(schema)


def without_nulls(body: Any) -> Any:
    """Swagger 2.0 cannot say "nullable", and Amazon sends `null` for fields it has no value
    for (a recorded `"transactionStatus": null`). A null is read as the field being absent: a
    null optional field passes, a null required field fails as missing."""
    if isinstance(body, dict):
        return {k: without_nulls(v) for k, v in body.items() if v is not None}
    if isinstance(body, list):
        return [without_nulls(v) for v in body]
    return body


def check(models: Path, model_file: str, definition: str, body: Any) -> None:
    errors = sorted(
        validator(models, model_file, definition).iter_errors(without_nulls(body)), key=str
    )
    assert not errors, f"{definition}: {errors[0].message} at {list(errors[0].absolute_path)}"


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    world = generate_world(GeneratorParams(seed=3, orders=150, days=40, now=NOW))
    options = SimOptions(clock=lambda: NOW, time_scale=1_000_000, transactions_page_size=50)
    with running_amazon_sim(world, options) as running:
        yield running


@pytest.fixture(scope="module")
def client(sim: RunningSim) -> Iterator[httpx.Client]:
    token = httpx.post(
        sim.token_url,
        data={"grant_type": "refresh_token", "refresh_token": "Atzr|x", "client_id": "c",
              "client_secret": "s"},
    ).json()["access_token"]  # fmt: skip
    with httpx.Client(base_url=sim.base_url, headers={"x-amz-access-token": token}) as http:
        yield http


def test_search_orders_and_get_order_match_the_orders_model(
    client: httpx.Client, sp_api_models: Path
) -> None:
    params = {"createdAfter": "2026-01-01T00:00:00Z", "includedData": INCLUDED,
              "maxResultsPerPage": 20}  # fmt: skip
    response = client.get("/orders/2026-01-01/orders", params=params)
    assert response.status_code == 200
    body = response.json()
    check(sp_api_models, "orders_2026-01-01.json", "SearchOrdersResponse", body)
    assert len(body["orders"]) == 20
    assert body["pagination"]["nextToken"]
    order_id = body["orders"][0]["orderId"]
    one = client.get(f"/orders/2026-01-01/orders/{order_id}", params={"includedData": INCLUDED})
    check(sp_api_models, "orders_2026-01-01.json", "GetOrderResponse", one.json())
    bad = client.get("/orders/2026-01-01/orders", params={"maxResultsPerPage": 0})
    assert bad.status_code == 400
    check(sp_api_models, "orders_2026-01-01.json", "ErrorList", bad.json())
    missing = client.get("/orders/2026-01-01/orders/111-0000000-0000000")
    assert missing.status_code == 404
    check(sp_api_models, "orders_2026-01-01.json", "ErrorList", missing.json())


def test_finances_responses_match_the_finances_models(
    client: httpx.Client, sp_api_models: Path
) -> None:
    groups = client.get("/finances/v0/financialEventGroups", params={"MaxResultsPerPage": 100})
    check(sp_api_models, "financesV0.json", "ListFinancialEventGroupsResponse", groups.json())
    group_id = groups.json()["payload"]["FinancialEventGroupList"][0]["FinancialEventGroupId"]
    events = client.get(f"/finances/v0/financialEventGroups/{group_id}/financialEvents")
    assert events.status_code == 200
    assert events.json()["payload"]["FinancialEvents"]["ShipmentEventList"]
    check(sp_api_models, "financesV0.json", "ListFinancialEventsResponse", events.json())
    transactions = client.get(
        "/finances/2024-06-19/transactions",
        params={"relatedIdentifierName": "FINANCIAL_EVENT_GROUP_ID",
                "relatedIdentifierValue": group_id},
    )  # fmt: skip
    assert transactions.json()["payload"]["transactions"]
    check(
        sp_api_models, "finances_2024-06-19.json", "ListTransactionsResponse", transactions.json()
    )
    bad = client.get("/finances/2024-06-19/transactions")
    assert bad.status_code == 400
    check(sp_api_models, "finances_2024-06-19.json", "ErrorList", bad.json())


def related(tx: dict[str, Any], name: str) -> str | None:
    return next((r["relatedIdentifierValue"] for r in tx.get("relatedIdentifiers") or []
                 if r["relatedIdentifierName"] == name), None)  # fmt: skip


def fee_trees(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fee nodes below `Expenses/AmazonFees`."""
    return [
        fee
        for top in nodes
        if top["breakdownType"] == "Expenses"
        for group in top.get("breakdowns") or []
        if group["breakdownType"] == "AmazonFees"
        for fee in group.get("breakdowns") or []
    ]


def test_the_real_shapes_are_served_and_match_the_finances_model(
    client: httpx.Client, sp_api_models: Path
) -> None:
    """Every transaction of the seller, read page by page, validates, and the shapes the issue
    names all occur: nested fee trees with VAT, Released, null/absent status, no SETTLEMENT_ID,
    empty-breakdowns Transfers."""
    transactions: list[dict[str, Any]] = []
    params: dict[str, Any] = {"postedAfter": (NOW - timedelta(days=90)).isoformat()}
    while True:
        body = client.get("/finances/2024-06-19/transactions", params=params).json()
        check(sp_api_models, "finances_2024-06-19.json", "ListTransactionsResponse", body)
        transactions += body["payload"]["transactions"]
        token = body["payload"].get("nextToken")
        if not token:
            break
        params = {**params, "nextToken": token}
    groups = client.get("/finances/v0/financialEventGroups", params={"MaxResultsPerPage": 100})
    status_of = {g["FinancialEventGroupId"]: g["ProcessingStatus"]
                 for g in groups.json()["payload"]["FinancialEventGroupList"]}  # fmt: skip
    by_status: dict[tuple[Any, str], int] = {}
    for tx in transactions:
        key = (tx.get("transactionStatus", "absent"),
               status_of[related(tx, "FINANCIAL_EVENT_GROUP_ID") or ""])  # fmt: skip
        by_status[key] = by_status.get(key, 0) + 1
    assert by_status.get(("Released", "Open"), 0) >= 1
    assert by_status.get(("Released", "Closed"), 0) >= 1
    assert by_status.get((None, "Closed"), 0) >= 1
    assert by_status.get(("absent", "Closed"), 0) >= 1
    eu_markets = ("A1F83G8C2ARO7P", "A1PA6795UKMFR9")  # amazon.co.uk, amazon.de
    eu = [tx for tx in transactions if tx["marketplaceDetails"]["marketplaceId"] in eu_markets]
    vat = [
        fee
        for tx in eu
        for item in tx.get("items") or []
        for fee in fee_trees(item.get("breakdowns") or [])
        if [b["breakdownType"] for b in fee["breakdowns"]] == ["Base", "Tax"]
    ]
    assert len(vat) >= 10
    fees_elsewhere = [fee for tx in transactions if tx not in eu
                      for fee in fee_trees(tx.get("breakdowns") or [])]  # fmt: skip
    assert any(not fee.get("breakdowns") for fee in fees_elsewhere)
    assert any([b["breakdownType"] for b in fee.get("breakdowns") or []] == ["Base"]
               for fee in fees_elsewhere)  # fmt: skip
    assert any(related(tx, "SETTLEMENT_ID") is None for tx in transactions)
    assert any(related(tx, "SETTLEMENT_ID") for tx in transactions)
    transfers = [tx for tx in transactions if tx["transactionType"] == "Transfer"]
    assert transfers
    assert all(tx["breakdowns"] == [] and tx["totalAmount"]["currencyAmount"] for tx in transfers)
    # v0 shows the same released money: a null status in a Closed group counts, per the group.
    closed = next(g for g, status in status_of.items() if status == "Closed")
    events = client.get(f"/finances/v0/financialEventGroups/{closed}/financialEvents")
    check(sp_api_models, "financesV0.json", "ListFinancialEventsResponse", events.json())
    fees = [fee for event in events.json()["payload"]["FinancialEvents"]["ShipmentEventList"]
            for item in event["ShipmentItemList"] for fee in item["ItemFeeList"]]  # fmt: skip
    assert {fee["FeeType"] for fee in fees} >= {"Commission"}


def test_reports_responses_match_the_reports_model(
    client: httpx.Client, sp_api_models: Path
) -> None:
    listed = client.get(
        "/reports/2021-06-30/reports",
        params={"reportTypes": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"},
    )
    check(sp_api_models, "reports_2021-06-30.json", "GetReportsResponse", listed.json())
    created = client.post(
        "/reports/2021-06-30/reports",
        json={"reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
              "marketplaceIds": ["ATVPDKIKX0DER"],
              "dataStartTime": (NOW - timedelta(days=30)).isoformat()},
    )  # fmt: skip
    assert created.status_code == 202
    check(sp_api_models, "reports_2021-06-30.json", "CreateReportResponse", created.json())
    report = client.get(f"/reports/2021-06-30/reports/{created.json()['reportId']}").json()
    check(sp_api_models, "reports_2021-06-30.json", "Report", report)
    assert report["processingStatus"] == "DONE"
    document = client.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}").json()
    check(sp_api_models, "reports_2021-06-30.json", "ReportDocument", document)
    text = gzip.decompress(httpx.get(document["url"]).content).decode()
    assert text.startswith("amazon-order-id\t")
    bad = client.post("/reports/2021-06-30/reports", json={"reportType": "X"})
    assert bad.status_code == 400
    check(sp_api_models, "reports_2021-06-30.json", "ErrorList", bad.json())


def test_throttle_and_auth_errors_match_the_error_model(
    sim: RunningSim, sp_api_models: Path
) -> None:
    denied = httpx.get(f"{sim.base_url}/orders/2026-01-01/orders")
    assert denied.status_code == 403
    check(sp_api_models, "orders_2026-01-01.json", "ErrorList", denied.json())
    lwa = httpx.post(sim.token_url, data={"grant_type": "refresh_token"})
    assert lwa.status_code == 401
    assert set(lwa.json()) == {"error", "error_description"}


def test_the_schema_check_rejects_a_wrong_shape(sp_api_models: Path) -> None:
    with pytest.raises(AssertionError, match="SearchOrdersResponse"):
        check(sp_api_models, "orders_2026-01-01.json", "SearchOrdersResponse", {"orders": [{}]})
    order = {"orderId": None, "createdTime": "2026-01-01T00:00:00Z", "orderItems": [],
             "lastUpdatedTime": "2026-01-01T00:00:00Z",
             "salesChannel": {"channelName": "AMAZON"}}  # fmt: skip
    check(sp_api_models, "orders_2026-01-01.json", "Order", {**order, "orderId": "1"})
    with pytest.raises(AssertionError, match="'orderId' is a required property"):
        check(sp_api_models, "orders_2026-01-01.json", "Order", order)
    with pytest.raises(AssertionError, match="is not of type 'string'"):
        check(sp_api_models, "finances_2024-06-19.json", "Transaction", {"transactionStatus": 1})
