"""What a client of the Amazon simulator notices: auth, validation, paging, limits, faults."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ml_connector_sim.amazon import (
    FaultOptions,
    GeneratorParams,
    RunningSim,
    SimOptions,
    generate_world,
    running_amazon_sim,
)
from ml_connector_sim.amazon.api_orders import TOO_RECENT

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WORLD = generate_world(GeneratorParams(seed=5, orders=120, days=30, now=NOW))
FORM = {"grant_type": "refresh_token", "refresh_token": "Atzr|sim-refresh-token-na",
        "client_id": "amzn1.application-oa2-client.simulator",
        "client_secret": "sim-client-secret"}  # fmt: skip


class FakeClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def token(sim: RunningSim, **overrides: str) -> str:
    response = httpx.post(sim.token_url, data=FORM | overrides)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def start() -> Iterator[Callable[..., tuple[RunningSim, httpx.Client]]]:
    """Start a simulator with given options; yields (sim, authorised client)."""
    stack: list[tuple[object, httpx.Client]] = []

    def _start(**options: object) -> tuple[RunningSim, httpx.Client]:
        defaults: dict[str, object] = {"clock": lambda: NOW, "time_scale": 1_000_000}
        manager = running_amazon_sim(WORLD, SimOptions(**(defaults | options)))  # type: ignore[arg-type]
        sim = manager.__enter__()
        client = httpx.Client(base_url=sim.base_url, headers={"x-amz-access-token": token(sim)})
        stack.append((manager, client))
        return sim, client

    yield _start
    for manager, client in stack:
        client.close()
        manager.__exit__(None, None, None)  # type: ignore[attr-defined]


def test_lwa_issues_bearer_tokens_and_rejects_bad_requests(start) -> None:  # type: ignore[no-untyped-def]
    sim, _ = start(strict_credentials=True)
    body = httpx.post(sim.token_url, data=FORM).json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|")
    json_body = httpx.post(sim.token_url, json=FORM)
    assert json_body.status_code == 200
    wrong_secret = httpx.post(sim.token_url, data=FORM | {"client_secret": "nope"})
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    revoked = httpx.post(sim.token_url, data=FORM | {"refresh_token": "Atzr|revoked"})
    assert revoked.status_code == 400
    assert revoked.json()["error"] == "invalid_grant"
    assert "sim-client-secret" not in wrong_secret.text


def test_expired_token_gets_the_documented_403(start) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    _sim, client = start(clock=clock)
    params = {"createdAfter": "2026-02-01T00:00:00Z"}
    assert client.get("/orders/2026-01-01/orders", params=params).status_code == 200
    clock.now = NOW + timedelta(seconds=3601)
    expired = client.get("/orders/2026-01-01/orders", params=params)
    assert expired.status_code == 403
    assert expired.json()["errors"][0]["details"] == "The access token you provided has expired."
    assert expired.headers["x-amzn-RequestId"]


def test_search_orders_validation_messages(start) -> None:  # type: ignore[no-untyped-def]
    _, client = start()
    path = "/orders/2026-01-01/orders"
    both = client.get(path, params={"createdAfter": "2026-02-01T00:00:00Z",
                                    "lastUpdatedAfter": "2026-02-01T00:00:00Z"})  # fmt: skip
    assert both.status_code == 400
    assert "Exactly one of createdAfter and lastUpdatedAfter" in both.json()["errors"][0]["message"]
    too_late = (NOW - timedelta(minutes=1)).isoformat()
    recent = client.get(
        path, params={"createdAfter": "2026-02-01T00:00:00Z", "createdBefore": too_late}
    )
    assert recent.json()["errors"][0]["message"] == TOO_RECENT
    assert recent.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    big = client.get(
        path, params={"createdAfter": "2026-02-01T00:00:00Z", "maxResultsPerPage": 101}
    )
    assert big.status_code == 400
    wrong_region = client.get("/eu/orders/2026-01-01/orders",
                              params={"createdAfter": "2026-02-01T00:00:00Z",
                                      "marketplaceIds": "ATVPDKIKX0DER"})  # fmt: skip
    assert wrong_region.status_code == 400


def test_pagination_returns_every_order_once_and_regions_split_them(start) -> None:  # type: ignore[no-untyped-def]
    _, client = start()
    seen: list[str] = []
    params: dict[str, object] = {"lastUpdatedAfter": "2025-01-01T00:00:00Z", "maxResultsPerPage": 7}
    while True:
        body = client.get("/orders/2026-01-01/orders", params=params).json()
        seen += [order["orderId"] for order in body["orders"]]
        token_ = body.get("pagination", {}).get("nextToken")
        if not token_:
            break
        params = {"paginationToken": token_}
    assert sorted(seen) == sorted(order["orderId"] for order in WORLD.orders)
    per_region = 0
    for region in ("na", "eu", "fe"):
        body = client.get(f"/{region}/orders/2026-01-01/orders",
                          params={"createdAfter": "2025-01-01T00:00:00Z"}).json()  # fmt: skip
        assert all(o["salesChannel"]["marketplaceId"] for o in body["orders"])
        per_region += len(body["orders"])
    assert per_region == len(WORLD.orders)


def test_included_data_controls_the_datasets(start) -> None:  # type: ignore[no-untyped-def]
    _, client = start()
    order_id = WORLD.orders[-40]["orderId"]
    bare = client.get(f"/orders/2026-01-01/orders/{order_id}").json()["order"]
    assert "proceeds" not in bare
    assert "fulfillment" not in bare
    full = client.get(f"/orders/2026-01-01/orders/{order_id}",
                      params={"includedData": "PROCEEDS,FULFILLMENT"}).json()["order"]  # fmt: skip
    assert full["fulfillment"]["fulfillmentStatus"]


def test_rate_limit_answers_429_without_the_limit_header(start) -> None:  # type: ignore[no-untyped-def]
    _, client = start(time_scale=1.0)
    params = {"createdAfter": "2026-02-01T00:00:00Z"}
    codes = [client.get("/orders/2026-01-01/orders", params=params) for _ in range(21)]
    assert [r.status_code for r in codes[:20]] == [200] * 20
    assert codes[20].status_code == 429
    assert codes[20].json()["errors"][0]["code"] == "QuotaExceeded"
    assert "x-amzn-RateLimit-Limit" not in codes[20].headers


def test_list_transactions_rules(start) -> None:  # type: ignore[no-untyped-def]
    _, client = start(transactions_page_size=25)
    path = "/finances/2024-06-19/transactions"
    after = (NOW - timedelta(days=60)).isoformat()
    ids: list[str] = []
    params: dict[str, str] = {"postedAfter": after}
    while True:
        payload = client.get(path, params=params).json()["payload"]
        ids += [t["transactionId"] for t in payload["transactions"]]
        if "nextToken" not in payload:
            break
        params = {"postedAfter": after, "nextToken": payload["nextToken"]}
    assert sorted(ids) == sorted(t["transactionId"] for t in WORLD.transactions)
    wide = client.get(path, params={"postedAfter": "2025-01-01T00:00:00Z",
                                    "postedBefore": "2025-12-01T00:00:00Z"})  # fmt: skip
    assert wide.status_code == 200
    assert wide.json()["payload"]["transactions"] == []
    bad_name = client.get(path, params={"relatedIdentifierName": "SHIPMENT_ID",
                                        "relatedIdentifierValue": "x"})  # fmt: skip
    assert bad_name.status_code == 400
    order_id = next(t for t in WORLD.transactions if t["transactionType"] == "Refund")[
        "relatedIdentifiers"][0]["relatedIdentifierValue"]  # fmt: skip
    by_order = client.get(path, params={"relatedIdentifierName": "ORDER_ID",
                                        "relatedIdentifierValue": order_id}).json()  # fmt: skip
    kinds = {t["transactionType"] for t in by_order["payload"]["transactions"]}
    assert "Refund" in kinds


def test_late_postings_hide_recent_transactions(start) -> None:  # type: ignore[no-untyped-def]
    _, prompt = start()
    _, late = start(faults=FaultOptions(late_postings=True))
    params = {"postedAfter": (NOW - timedelta(days=3)).isoformat()}
    on_time = prompt.get("/finances/2024-06-19/transactions", params=params).json()
    lagging = late.get("/finances/2024-06-19/transactions", params=params).json()
    assert len(lagging["payload"]["transactions"]) < len(on_time["payload"]["transactions"])


def test_error_and_drop_faults(start) -> None:  # type: ignore[no-untyped-def]
    _, failing = start(faults=FaultOptions(error_rate=1.0))
    response = failing.get("/finances/v0/financialEventGroups")
    assert response.status_code in (500, 503)
    assert response.headers["x-amzn-RequestId"]
    _, dropping = start(faults=FaultOptions(drop_rate=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        dropping.get("/finances/v0/financialEventGroups")


def test_expire_tokens_fault_expires_mid_run(start) -> None:  # type: ignore[no-untyped-def]
    _, client = start(faults=FaultOptions(expire_tokens_after=2))
    path = "/finances/v0/financialEventGroups"
    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 403]


def test_settlement_report_document_ties_to_its_group(start) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    sim, client = start()
    settlement = {"reportTypes": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2", "pageSize": 100}
    reports = client.get("/reports/2021-06-30/reports", params=settlement).json()
    assert reports["reports"]
    report = reports["reports"][0]
    document = client.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}").json()
    lines = gzip.decompress(httpx.get(document["url"]).content).decode().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    total = Decimal(rows[0]["total-amount"])
    assert sum(Decimal(r["amount"]) for r in rows[1:]) == total
    group = next(g for g in WORLD.groups
                 if any(r.settlement_id == rows[0]["settlement-id"]
                        and r.financial_event_group_id == g["FinancialEventGroupId"]
                        for r in WORLD.settlement_reports))  # fmt: skip
    assert Decimal(str(group["OriginalTotal"]["CurrencyAmount"])) == total
    sim.context.options.document_url_ttl = 0
    stale = client.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}").json()
    forged = stale["url"].replace("signature=", "signature=0")
    assert httpx.get(forged).status_code == 403


def test_created_report_moves_through_queue_states(start) -> None:  # type: ignore[no-untyped-def]
    ticks = [0.0]
    _, client = start(time_scale=1.0, monotonic=lambda: ticks[0])
    created = client.post("/reports/2021-06-30/reports", json={
        "reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
        "marketplaceIds": ["A1PA6795UKMFR9"]}).json()  # fmt: skip
    path = f"/reports/2021-06-30/reports/{created['reportId']}"
    assert client.get(path).json()["processingStatus"] == "IN_QUEUE"
    ticks[0] = 10.0
    assert client.get(path).json()["processingStatus"] == "IN_PROGRESS"
    ticks[0] = 30.0
    assert client.get(path).json()["processingStatus"] == "DONE"
    refused = client.post("/reports/2021-06-30/reports", json={
        "reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
        "marketplaceIds": ["ATVPDKIKX0DER"]})  # fmt: skip
    assert refused.status_code == 400


def test_status_filters_and_v0_events_follow_the_released_money(start) -> None:  # type: ignore[no-untyped-def]
    """`Released` is RELEASED to a filter; a status-less transaction of a Closed group is
    released money (v0 shows it) but matches no status filter."""
    _, client = start()
    path = "/finances/2024-06-19/transactions"
    after = (NOW - timedelta(days=60)).isoformat()

    def listed(**params: str) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        query = {"postedAfter": after, **params}
        while True:
            payload = client.get(path, params=query).json()["payload"]
            found += payload["transactions"]
            if "nextToken" not in payload:
                return found
            query = {**query, "nextToken": payload["nextToken"]}

    released = {t["transactionId"] for t in listed(transactionStatus="RELEASED")}
    spelled = {t["transactionId"] for t in WORLD.transactions
               if str(t.get("transactionStatus")).upper() == "RELEASED"}  # fmt: skip
    assert released == spelled
    assert any(t.get("transactionStatus") == "Released" for t in WORLD.transactions)
    status_less = [t for t in WORLD.transactions if t.get("transactionStatus") is None]
    assert status_less
    assert not {t["transactionId"] for t in status_less} & released
    target = status_less[0]
    group_id = next(r["relatedIdentifierValue"] for r in target["relatedIdentifiers"]
                    if r["relatedIdentifierName"] == "FINANCIAL_EVENT_GROUP_ID")  # fmt: skip
    order_id = next(r["relatedIdentifierValue"] for r in target["relatedIdentifiers"]
                    if r["relatedIdentifierName"] == "ORDER_ID")  # fmt: skip
    events = client.get(f"/finances/v0/financialEventGroups/{group_id}/financialEvents").json()
    shipments = events["payload"]["FinancialEvents"]["ShipmentEventList"]
    assert order_id in {e["AmazonOrderId"] for e in shipments}
    assert "Transfer" not in str(events)  # v0 has no list for transfers
