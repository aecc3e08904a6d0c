"""Settlement report documents from the simulator, through the client, on a loopback socket:
each in its marketplace's charset (named in the download's Content-Type) and spellings, with the
23 documented columns, parsed exactly; and every Closed group finds its report by period even
when its transactions carry no SETTLEMENT_ID."""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from ml_connector.remote.amazon.auth import LwaCredentials
from ml_connector.remote.amazon.client import BucketKey, SpApiClient
from ml_connector.remote.amazon.flatfile import charset_of, codec_for
from ml_connector.remote.amazon.limits import limit_for
from ml_connector.remote.http.ratelimit import RateLimiter
from ml_connector.remote.http.retry import RetryPolicy

sim = pytest.importorskip("ml_connector_sim.amazon")
from ml_connector.flow.reconcile.report_link import (  # noqa: E402
    GroupPeriod,
    StoredReport,
    link_reports,
)

SCALE = 1000.0
DOCUMENTED_COLUMNS = [
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date",
    "total-amount", "currency", "transaction-type", "order-id", "merchant-order-id",
    "adjustment-id", "shipment-id", "marketplace-name", "amount-type", "amount-description",
    "amount", "fulfillment-id", "posted-date", "posted-date-time", "order-item-code",
    "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
]  # fmt: skip
# What each marketplace's download names, and whose conventions the parser must pick.
EXPECTED = {
    "A1F83G8C2ARO7P": ("cp1252", "UK"),
    "A1PA6795UKMFR9": ("cp1252", "DE"),
    "A1VC38T7YXB528": ("cp932", "JP"),
    "ATVPDKIKX0DER": ("utf-8", "US"),
    "A2EUQ1WTGCTBG2": ("utf-8", "CA"),
}
ACCENTED = "THÉ-VERT-100G"


@pytest.fixture(scope="module")
def running() -> Iterator[object]:
    world = sim.generate_world(sim.GeneratorParams(seed=11, orders=400, days=45))
    with sim.running_amazon_sim(world, sim.SimOptions(time_scale=SCALE)) as running:
        yield running


def _client(running: object, region: str) -> SpApiClient:
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
        retry=RetryPolicy(base_delay=0.01, max_delay=0.2, rng=random.Random(1)),
    )


def _world(running: object) -> object:
    return running.world  # type: ignore[attr-defined]


def test_every_settlement_document_is_in_its_marketplace_charset_and_parses_exactly(
    running: object,
) -> None:
    world = _world(running)
    seen: dict[str, int] = {}
    accented_eu = 0
    for region in ("na", "eu", "fe"):
        client = _client(running, region)
        for record in client.reports.settlement_reports():
            report = record.model
            (market,) = report.marketplace_ids or []
            charset, country = EXPECTED[market]
            assert report.report_document_id
            document = client.reports.get_report_document(report.report_document_id).model
            downloaded = client.download(document.url)
            declared = charset_of(downloaded.content_type)
            assert declared is not None, downloaded.content_type
            raw = gzip.decompress(downloaded.content)
            if charset == "cp1252" and ACCENTED.encode("cp1252") in raw:
                accented_eu += 1
                assert ACCENTED.encode("utf-8") not in raw
            if charset == "cp932" and codec_for(declared) == "utf-8":
                # A JP document naming a SKU Shift_JIS cannot hold is served as UTF-8, and says so.
                assert ACCENTED.encode("utf-8") in raw
            else:
                assert codec_for(declared) == charset, (market, downloaded.content_type)

            parsed = client.reports.fetch_settlement(report)
            assert parsed.decoding is not None
            assert parsed.decoding.guessed is False
            assert parsed.rejected == [], parsed.rejected[:3]
            assert parsed.lines, report.report_id
            assert parsed.conventions is not None
            assert parsed.conventions.startswith(country)
            assert parsed.lines_total() == parsed.summary.total_amount
            header = parsed.decoding.text.splitlines()[0].split("\t")
            assert header == DOCUMENTED_COLUMNS
            source = next(
                r
                for r in world.settlement_reports  # type: ignore[attr-defined]
                if r.report_id == report.report_id
            )
            assert parsed.summary.start == source.data_start_time
            assert parsed.summary.end == source.data_end_time
            seen[country] = seen.get(country, 0) + 1
    assert {"UK", "DE", "JP", "US"} <= set(seen), seen
    assert accented_eu > 0, "the accented SKU travels in at least one EU document"


def test_every_closed_group_finds_its_report_by_period_alone(running: object) -> None:
    """Linking as if no transaction carried SETTLEMENT_ID (the group id stands in)."""
    world = _world(running)
    stored = []
    for region in ("na", "eu", "fe"):
        client = _client(running, region)
        for record in client.reports.settlement_reports():
            parsed = client.reports.fetch_settlement(record.model)
            head = parsed.summary
            stored.append(
                StoredReport(
                    record.model.report_id,
                    head.settlement_id,
                    head.currency,
                    head.total_amount,
                    head.start,
                    head.end,
                )
            )
    closed = [g for g in world.groups if g["ProcessingStatus"] == "Closed"]  # type: ignore[attr-defined]
    assert closed
    groups = [
        GroupPeriod.from_group(
            g,
            settlement_id=str(g["FinancialEventGroupId"]),
            currency=str(g["OriginalTotal"]["CurrencyCode"]),
            total=Decimal(str(g["OriginalTotal"]["CurrencyAmount"])),
        )
        for g in closed
    ]
    links = link_reports(groups, stored)
    expected = {
        r.financial_event_group_id: r.report_id
        for r in world.settlement_reports  # type: ignore[attr-defined]
    }
    for group in groups:
        link = links[group.group_id]
        assert link.report is not None, link.reason
        assert (link.by, link.report.report_id) == ("period", expected[group.group_id])
        assert link.report.total == group.total


def test_an_eu_all_orders_report_reads_in_its_marketplace_spelling(running: object) -> None:
    world = _world(running)
    client = _client(running, "eu")
    de = "A1PA6795UKMFR9"
    orders = [o for o in world.orders if o["salesChannel"]["marketplaceId"] == de]  # type: ignore[attr-defined]
    assert orders
    rows = client.reports.fetch_all_orders(
        [de],
        start=world.now - timedelta(days=60),  # type: ignore[attr-defined]
        end=world.now,  # type: ignore[attr-defined]
        poll_every_s=0.02,
        timeout_s=20,
    )
    assert rows
    by_id = {o["orderId"]: o for o in orders}
    checked = 0
    for row in rows:
        order = by_id[row.amazon_order_id]
        item = next(i for i in order["orderItems"] if i["product"]["sellerSku"] == row.sku)
        breakdowns = (item.get("proceeds") or {}).get("breakdowns") or []
        item_price = next(
            (b["subtotal"]["amount"] for b in breakdowns if b["type"] == "ITEM"), None
        )
        expected = None if item_price is None else Decimal(str(item_price))
        assert row.item_price == expected, row.raw["item-price"]
        if expected is not None and expected != expected.to_integral_value():
            assert "," in row.raw["item-price"], "a DE amount is written with a decimal comma"
        assert row.currency == "EUR"
        checked += 1
    assert checked == len(rows)
