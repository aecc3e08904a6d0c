"""Issue 11, D7: Oracle refusing the stored secret is no outage: no later cycle heals it. `sync`
exits 1 (not 4, "usually nothing to do"), says how many documents wait and names the command
that stores the right secret; `--json` tells it apart with ``oracle_refused``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner

from ml_connector.run.cli import app

Factory = Callable[..., Any]


def test_a_refused_oracle_secret_exits_1_and_names_set_secret(sim_seller: Factory) -> None:
    # Oracle's identity domain only accepts a secret the connection does not hold.
    seller = sim_seller(orders=12, oracle_clients={"ml-connector-demo": "rotated-VALUE-42"})
    seller.write_mapping()
    synced = CliRunner().invoke(app, ["sync", "demo"])
    assert synced.exit_code == 1, synced.output
    assert "Traceback" not in synced.output
    lines = [" ".join(line.split()) for line in synced.stdout.splitlines()]
    everything = len(seller.documents())
    assert everything > 0
    assert any(
        line.startswith("Oracle's identity domain refused the client id or secret")
        and line.endswith(f"— {everything} documents left for the next cycle")
        for line in lines
    ), synced.stdout
    fix = (
        "Oracle refused the credentials: no later cycle gets past that. Store the right secret "
        "with `ml-connector connection set-secret demo --oracle-secret-env VARIABLE` "
        "(`--oracle-private-key-file FILE` for jwt_assertion), then check it with "
        "`ml-connector connection test demo`"
    )
    assert fix in " ".join(lines), synced.stdout
    assert not seller.oracle_numbers()
    assert {d.state.value for d in seller.documents()} == {"planned"}

    as_json = CliRunner().invoke(app, ["sync", "demo", "--json"])
    answer = json.loads(as_json.stdout)
    assert (as_json.exit_code, answer["exit_code"], answer["ok"]) == (1, 1, False)
    assert answer["oracle_refused"] is True
    assert answer["left_for_next_cycle"] == everything
