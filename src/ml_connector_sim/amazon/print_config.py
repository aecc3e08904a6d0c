"""``sim amazon --print-config``: the ``[amazon]`` block that points a connection at this server.

Written out here rather than shared with the connector (the simulator never imports it); the
keys are the connector's `AmazonSettings` (docs/configuration.md), and a test adds the printed
block to a connection and runs `connection test` against the running simulator.
"""

from __future__ import annotations

import json

from ml_connector_sim.amazon.marketplaces import REGIONS, region_of
from ml_connector_sim.amazon.world import AmazonWorld, Credential

# What a generated world's app is called when the world lists no credentials at all.
_DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.simulator"


def _quoted(value: str) -> str:
    # A TOML basic string is JSON's string syntax for everything printed here.
    return json.dumps(value)


def _token_for(credentials: list[Credential], region: str) -> str | None:
    for credential in credentials:
        if credential.region in (None, region):
            return credential.refresh_token
    return None


def connection_toml(
    world: AmazonWorld, *, port: int, time_scale: float = 1.0, strict: bool = False
) -> str:
    """The ``[amazon]`` TOML block (with the credentials it accepts as comments) for a server on
    ``127.0.0.1:port``: the world's marketplaces and their regions, one base URL per region,
    the LWA token URL and ``rate_limit_scale`` = ``time_scale``."""
    origin = f"http://127.0.0.1:{port}"
    markets = [m for m in world.marketplace_ids if region_of(m) is not None]
    regions = [r for r in REGIONS if any(region_of(m) == r for m in markets)]
    client_id = world.credentials[0].client_id if world.credentials else _DEFAULT_CLIENT_ID
    secret = world.credentials[0].client_secret if world.credentials else "any-non-empty-secret"
    lines = [
        f"# The Amazon SP-API simulator on {origin} (ml-connector sim amazon --port {port}).",
        "# Credentials it accepts: "
        + ("only these (--strict):" if strict else "any non-empty ones; with --strict only these:"),
        f"#   export SIM_LWA_SECRET={_shell(secret)}",
    ]
    options = ["--lwa-client-secret-env SIM_LWA_SECRET"]
    for region in regions:
        token = _token_for(world.credentials, region) or f"Atzr|any-token-{region}"
        lines.append(f"#   export SIM_{region.upper()}_TOKEN={_shell(token)}")
        options.append(f"--refresh-token-env {region.upper()}=SIM_{region.upper()}_TOKEN")
    lines.append("#   ml-connector connection add NAME --config FILE " + " ".join(options))
    bases = ", ".join(f"{r.upper()} = {_quoted(f'{origin}/{r}')}" for r in regions)
    lines += [
        "[amazon]",
        "regions = [" + ", ".join(_quoted(r.upper()) for r in regions) + "]",
        "marketplace_ids = [" + ", ".join(_quoted(m) for m in markets) + "]",
        f"seller_id = {_quoted(world.selling_partner_id)}",
        f"lwa_client_id = {_quoted(client_id)}",
        f"base_urls = {{ {bases} }}",
        f"lwa_token_url = {_quoted(origin + '/auth/o2/token')}",
        f"rate_limit_scale = {float(time_scale)!r}",
    ]
    return "\n".join(lines) + "\n"


def _shell(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
