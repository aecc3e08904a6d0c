"""The SP-API client against the simulator on a real loopback socket, for every operation."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from ml_connector.errors import ValidationError
from ml_connector.flow.normalize import normalize_settlement
from ml_connector.remote.amazon.auth import LwaCredentials
from ml_connector.remote.amazon.client import BucketKey, SpApiClient
from ml_connector.remote.amazon.limits import limit_for
from ml_connector.remote.amazon.models.reports import ReportType
from ml_connector.remote.http.ratelimit import RateLimiter
from ml_connector.remote.http.retry import RetryPolicy

sim = pytest.importorskip("ml_connector_sim.amazon")

SCALE = 1000.0  # the simulator refills buckets and processes reports this much faster


@pytest.fixture(scope="module")
def running() -> Iterator[object]:
    world = sim.generate_world(sim.GeneratorParams(seed=7, orders=80, days=20))
    options = sim.SimOptions(time_scale=SCALE)
    with sim.running_amazon_sim(world, options) as running:
        yield running


def _client(running: object, region: str = "na", **kw: object) -> SpApiClient:
    creds = LwaCredentials(
        "amzn1.application-oa2-client.simulator",
        "sim-client-secret",
        f"Atzr|sim-refresh-token-{region}",
    )
    limiter: RateLimiter[BucketKey] = RateLimiter(
        lambda key: (limit_for(key[2])[0] * SCALE, limit_for(key[2])[1])
    )
    return SpApiClient(
        seller_id=running.world.selling_partner_id,  # type: ignore[attr-defined]
        region=region.upper(),
        credentials=creds,
        base_url=running.region_url(region),  # type: ignore[attr-defined]
        lwa_url=running.token_url,  # type: ignore[attr-defined]
        limiter=limiter,
        retry=kw.pop("retry", RetryPolicy(base_delay=0.01, max_delay=0.2, rng=random.Random(1))),
    )


def _na_marketplaces(running: object) -> list[str]:
    world = running.world  # type: ignore[attr-defined]
    ids = {o["salesChannel"]["marketplaceId"] for o in world.orders}
    na = {"ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"}
    return sorted(ids & na)


def test_search_orders_reads_every_order_to_the_last_page(running: object) -> None:
    client = _client(running)
    world = running.world  # type: ignore[attr-defined]
    markets = _na_marketplaces(running)
    if not markets:
        pytest.skip("the generated world sells nothing in NA")
    after = world.now - timedelta(days=40)
    pages = list(
        client.orders.search_pages(
            marketplace_ids=markets, last_updated_after=after, max_results_per_page=7
        )
    )
    got = {r.model.order_id for p in pages for r in p.records}
    expected = {o["orderId"] for o in world.orders if o["salesChannel"]["marketplaceId"] in markets}
    assert got == expected
    assert len(pages) >= 2
    first = pages[0].records[0]
    assert first.raw["orderId"] == first.model.order_id
    again = client.orders.get_order(first.model.order_id)
    assert again.model.order_id == first.model.order_id
    for item in again.model.order_items:
        if item.proceeds and item.proceeds.proceeds_total:
            assert isinstance(item.proceeds.proceeds_total.amount, Decimal)


def test_finances_groups_transactions_and_v0_events(running: object) -> None:
    client = _client(running)
    world = running.world  # type: ignore[attr-defined]
    groups = list(
        client.finances.list_financial_event_groups(started_after=world.now - timedelta(days=60))
    )
    assert groups
    closed = [g for g in groups if g.model.processing_status == "Closed"]
    group = (closed or groups)[0].model
    txs = list(client.finances.list_transactions(group_id=group.financial_event_group_id))
    assert all(
        t.model.related("FINANCIAL_EVENT_GROUP_ID") == group.financial_event_group_id for t in txs
    )
    if closed:
        # Statuses come in any case or as null (as at Amazon): the connector's reading of them
        # must give back the group's total.
        settlement = normalize_settlement(
            next(g.raw for g in closed if g.model is group), [t.raw for t in txs]
        )
        assert settlement.unreadable == ()
        assert settlement.released_total == settlement.total
    order_id = next((t.model.related("ORDER_ID") for t in txs if t.model.related("ORDER_ID")), None)
    if order_id:
        by_order = list(client.finances.list_transactions(order_id=order_id))
        assert by_order
        assert all(t.model.related("ORDER_ID") == order_id for t in by_order)
    by_window = list(client.finances.list_transactions(posted_after=world.now - timedelta(days=30)))
    assert by_window
    pages = list(client.finances.list_financial_events_by_group_id(group.financial_event_group_id))
    assert pages
    assert isinstance(pages[0].model.financial_events, dict)


def test_settlement_report_download_and_parse(running: object) -> None:
    client = _client(running)
    reports = list(client.reports.settlement_reports())
    if not reports:
        pytest.skip("no closed settlement in NA for this seed")
    settlement = client.reports.fetch_settlement(reports[0].model)
    assert settlement.summary.settlement_id
    assert settlement.lines
    assert settlement.lines_total() == settlement.summary.total_amount


def test_all_orders_report_backfill_path(running: object) -> None:
    client = _client(running)
    world = running.world  # type: ignore[attr-defined]
    markets = _na_marketplaces(running)
    if not markets:
        pytest.skip("the generated world sells nothing in NA")
    report_id = client.reports.create_report(
        ReportType.ALL_ORDERS_BY_LAST_UPDATE,
        markets[:1],
        data_start_time=world.now - timedelta(days=30),
        data_end_time=world.now,
    )
    report = client.reports.wait_for_report(report_id, poll_every_s=0.02, timeout_s=20)
    assert report.report_document_id
    rows = client.reports.fetch_all_orders(
        markets[:1],
        start=world.now - timedelta(days=30),
        end=world.now,
        poll_every_s=0.02,
        timeout_s=20,
    )
    assert rows
    assert all(r.amazon_order_id for r in rows)


def test_token_expiry_mid_run_is_refreshed(running: object) -> None:
    client = _client(running)
    list(client.finances.list_financial_event_groups())
    running.context.expire_all_tokens()  # type: ignore[attr-defined]
    list(client.finances.list_financial_event_groups())
    assert client.tokens.refresh_count == 2


def test_invalid_input_is_a_validation_error(running: object) -> None:
    client = _client(running)
    world = running.world  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        list(client.orders.search_orders(last_updated_after=world.now + timedelta(days=1)))
