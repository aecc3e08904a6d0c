"""Issue 11: refused Amazon credentials are said by `sync` in the words of `connection test`
(what was refused, and the `connection set-secret` that replaces it), as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests_support_cli import SECRET_OPTIONS, config_toml_for_examples
from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector_sim.amazon import SimOptions, running_amazon_sim
from ml_connector_sim.oracle import running_oracle_sim

runner = CliRunner()
SIM_CLIENT = "amzn1.application-oa2-client.simulator"


@pytest.mark.parametrize(
    ("lwa_secret", "na_token", "said"),
    [
        (
            "sim-client-secret",
            "Atzr|revoked-VALUE",
            "Amazon refused the refresh token for NA (invalid_grant): the seller must authorise "
            "the app again in Seller Central, then store the new token with `ml-connector "
            "connection set-secret acme --refresh-token-env NA=VARIABLE`",
        ),
        (
            "wrong-secret-VALUE",
            "Atzr|sim-refresh-token-na",
            "Amazon refused the app's LWA client id or client secret (invalid_client): correct "
            "amazon.lwa_client_id with `connection update` or the secret with `connection "
            "set-secret acme --lwa-client-secret-env VARIABLE`",
        ),
    ],
    ids=["invalid_grant", "invalid_client"],
)
def test_sync_says_which_credential_amazon_refused(
    lwa_secret: str,
    na_token: str,
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("T_LWA", lwa_secret)
    monkeypatch.setenv("T_NA", na_token)
    monkeypatch.setenv("T_ORA", "sim-oracle-secret")
    assert runner.invoke(app, ["init"]).exit_code == 0
    with (
        running_amazon_sim(options=SimOptions(strict_credentials=True)) as amazon,
        running_oracle_sim() as oracle,
    ):
        urls = f'base_urls = {{NA = "{amazon.region_url("na")}"}}\n'
        urls += f'lwa_token_url = "{amazon.token_url}"'
        text = (
            config_toml_for_examples(
                extra_amazon=urls, extra_oracle=f'base_url = "{oracle.base_url}"'
            )
            .replace("amzn1.application-oa2-client.test", SIM_CLIENT)
            .replace(
                'identity_domain_url = "idcs-123"', f'identity_domain_url = "{oracle.base_url}"'
            )
        )
        config = tmp_path / "sim.toml"
        config.write_text(text)
        added = runner.invoke(
            app, ["connection", "add", "acme", "--config", str(config), *SECRET_OPTIONS]
        )
        assert added.exit_code == 0, added.output

        synced = runner.invoke(app, ["sync", "acme"])
        as_json = runner.invoke(app, ["sync", "acme", "--json"])
    # The region is left out and the rest of the cycle runs, but a refused credential never
    # heals by itself (unlike an outage, exit 4): exit code 1, and the line names the fix.
    assert synced.exit_code == 1, synced.output
    assert "Traceback" not in synced.output
    assert f"region NA not synced: {said}" in synced.stdout.splitlines()
    answer = json.loads(as_json.stdout)
    assert (answer["ok"], answer["exit_code"]) == (False, 1)
    assert answer["region_failures"] == {"NA": said}
    assert answer["regions_refused"] == ["NA"]
    assert answer["oracle_refused"] is False
