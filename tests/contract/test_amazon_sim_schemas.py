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


def check(models: Path, model_file: str, definition: str, body: Any) -> None:
    errors = sorted(validator(models, model_file, definition).iter_errors(body), key=str)
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
