"""One Amazon region refuses its refresh token: the other regions are synced, planned and
posted; the refused one is named with `connection test`'s plain words and keeps its watermarks,
so the next cycle reads it from where it stood."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector.store import RunStatus, get_cursor, list_runs, put_secret
from ml_connector.store.secrets import refresh_token_name

Seller = Any
Factory = Callable[..., Seller]

FE_MARKETPLACE = "A1VC38T7YXB528"  # amazon.co.jp, the demo connection's only FE marketplace


def shipped_in(seller: Seller, *, fe: bool) -> set[str]:
    """Shipped orders (of FE, or of the other regions) whose SKUs the catalog maps: those the
    connector invoices."""
    unmapped = set(seller.left_out)
    return {
        o["orderId"]
        for o in seller.world.orders
        if o["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
        and (o["salesChannel"]["marketplaceId"] == FE_MARKETPLACE) is fe
        and not {item["product"]["sellerSku"] for item in o["orderItems"]} & unmapped
    }


def set_refresh_token(seller: Seller, region: str, value: str) -> None:
    with seller.rt.sessions() as session, session.begin():
        keyring = seller.rt.require_keyring()
        put_secret(session, keyring, seller.connection_id, refresh_token_name(region), value)


def authorised_token(seller: Seller, region: str) -> str:
    (credential,) = [c for c in seller.world.credentials if c.region == region.lower()]
    return str(credential.refresh_token)


def strict_amazon(seller: Seller) -> None:
    """Amazon's login service checks refresh tokens (the simulator's strict mode): each region
    gets the token the seller authorised there."""
    seller.amazon.context.options.strict_credentials = True
    for region in ("NA", "EU", "FE"):
        set_refresh_token(seller, region, authorised_token(seller, region))


def test_a_refused_fe_refresh_token_leaves_na_and_eu_synced(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    fe_orders = shipped_in(seller, fe=True)
    others = shipped_in(seller, fe=False)
    assert fe_orders
    assert others
    strict_amazon(seller)
    set_refresh_token(seller, "FE", "Atzr|revoked-by-the-seller")

    synced = CliRunner().invoke(app, ["sync", "demo", "--json"])

    # The cycle finished for NA and EU, but a refused refresh token never heals by itself:
    # 1 (an unreachable region would be 4, partial).
    assert synced.exit_code == 1, synced.output
    (line,) = synced.stdout.strip().splitlines()
    assert json.loads(line)["regions_refused"] == ["FE"]
    assert json.loads(line)["region_failures"] == {
        "FE": "Amazon refused the refresh token for FE (invalid_grant): the seller must "
        "authorise the app again in Seller Central, then store the new token with "
        "`ml-connector connection set-secret demo --refresh-token-env FE=VARIABLE`"
    }
    invoiced = set(seller.oracle_numbers())
    assert others <= invoiced
    assert not fe_orders & invoiced
    with seller.rt.sessions() as session:
        cid = seller.connection_id
        assert get_cursor(session, cid, "orders@FE") is None
        assert get_cursor(session, cid, "finances@FE") is None
        assert get_cursor(session, cid, "orders@NA") is not None
        assert get_cursor(session, cid, "finances@EU") is not None
        (run,) = list_runs(session, connection_id=cid)
        assert run.status is RunStatus.PARTIAL
        assert (run.error or "").startswith(
            "region FE not synced: Amazon refused the refresh token for FE (invalid_grant)"
        )

    set_refresh_token(seller, "FE", authorised_token(seller, "FE"))
    again = seller.sync()
    assert again.region_failures == {}
    assert fe_orders <= set(seller.oracle_numbers())
    assert all(count == 1 for count in seller.oracle_numbers().values())


def test_every_region_refused_records_the_run_as_failed(sim_seller: Factory) -> None:
    seller = sim_seller(orders=10)
    strict_amazon(seller)
    for region in ("NA", "EU", "FE"):
        set_refresh_token(seller, region, f"Atzr|revoked-{region}")
    report = seller.sync()
    assert sorted(report.region_failures) == ["EU", "FE", "NA"]
    assert not seller.oracle_numbers()
    with seller.rt.sessions() as session:
        (run,) = list_runs(session, connection_id=seller.connection_id)
    assert run.status is RunStatus.FAILED
    assert "region NA not synced: Amazon refused the refresh token for NA" in (run.error or "")


def test_an_unreachable_region_host_is_named_with_what_happened() -> None:
    import errno

    import httpx

    from ml_connector.flow.extract.pull import region_failure
    from ml_connector.remote.http.outcome import error_from_transport

    request = httpx.Request("GET", "https://sellingpartnerapi-fe.amazon.com/orders/2026-01-01")
    try:
        raise httpx.ConnectError("refused", request=request) from ConnectionRefusedError(
            errno.ECONNREFUSED, "Connection refused"
        )
    except httpx.ConnectError as exc:
        error = error_from_transport(exc, operation="searchOrders")
    assert region_failure("FE", error, "demo") == (
        "Amazon FE: Amazon SP-API (searchOrders): cannot reach "
        "sellingpartnerapi-fe.amazon.com: connection refused (nothing listens on that port)"
    )
