"""The demo stores the credentials the Amazon simulator accepts, so strict mode takes them."""

from __future__ import annotations

from typing import Any

from ml_connector.store import connection_config, get_connection
from ml_connector.store.secrets import get_secret, refresh_token_name
from ml_connector_sim.amazon.generator import default_credentials


def test_demo_refresh_tokens_are_the_ones_the_simulator_accepts(sim_seller: Any) -> None:
    # The seller's connection is stored by run/demo.py's add_simulator_connection.
    seller = sim_seller(orders=5)
    accepted = {c.region: c.refresh_token for c in default_credentials()}
    keyring = seller.rt.require_keyring()
    with seller.rt.sessions() as session:
        row = get_connection(session, seller.name)
        regions = connection_config(row).amazon.regions
        stored = {
            region: get_secret(session, keyring, row.id, refresh_token_name(region)).reveal()
            for region in regions
        }
    assert stored
    assert stored == {region: accepted[region.lower()] for region in regions}
