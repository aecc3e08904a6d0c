"""What the input-file tests share: the commands that read each file kind, run in process,
and one check of what they printed (issue 9, scope 3)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.testing
from typer.testing import CliRunner, Result

from ml_connector.run.cli import app
from ml_connector.store.keys import generate_master_key
from ml_connector_sim.amazon.generator import GeneratorParams, generate_world
from ml_connector_sim.amazon.scenario import save_scenario
from ml_connector_sim.cli import app as sim_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = next(
    p
    for p in (ROOT / "src/ml_connector/examples", ROOT / "examples")
    if (p / "catalog.csv").exists()
)
runner = CliRunner()
# Past the file checks, the command stops at the missing store (either wording means the file
# itself was accepted).
NO_DATABASE = ("database folder", "no database at")


@dataclass
class Outcome:
    """What one invocation did, checked the same way for every kind."""

    result: Result
    path: Path

    def check(self, *, names: tuple[str, ...] = ()) -> str:
        """'accepted' or 'refused'; fails on a traceback, another exit code or a bad message."""
        result = self.result
        output = result.output
        assert "Traceback" not in output, output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{type(result.exception).__name__}: {result.exception}")
        assert result.exit_code in (0, 2), (result.exit_code, output)
        if result.exit_code == 0:
            return "accepted"
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, lines
        if any(phrase in lines[0] for phrase in NO_DATABASE):
            return "accepted"
        wanted = (str(self.path), *names)
        assert any(name in lines[0] for name in wanted), (wanted, lines[0])
        return "refused"


def prepare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No database (its folder does not exist), a master key in the environment.

    Typer rebuilds the click command tree on every `invoke` (about 0.1 s here); it is built
    once per app instead, which is what lets a thousand examples per kind run in seconds.
    """
    build = typer.testing._get_command
    monkeypatch.setattr(typer.testing, "_get_command", functools.cache(build))
    for var in ("ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE", "ML_CONNECTOR_LOG_LEVEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "no-such-home"))
    monkeypatch.setenv("ML_CONNECTOR_MASTER_KEY", generate_master_key())
    return tmp_path


def config_text(*, charges: Path, catalog: Path) -> str:
    return f"""
[amazon]
regions = ["NA"]
marketplace_ids = ["ATVPDKIKX0DER"]
lwa_client_id = "amzn1.application-oa2-client.test"

[oracle]
pod = "acme"
region = "us2"
identity_domain_url = "idcs-123"
client_id = "ml-connector"
scope = "urn:opc:resource:consumer::all"
business_unit = "US1 Business Unit"
ledger = "US Primary Ledger"
ledger_id = "300000046975971"
legal_entity = "ML Seller US LLC"
invoice_source = "Amazon Orders"
invoice_transaction_type = "Amazon Invoice"
credit_memo_transaction_type = "Amazon Credit Memo"
journal_source = "Amazon Settlements"
journal_category = "Amazon Settlement"

[mappings]
charges = "{charges}"
catalog = "{catalog}"
"""


def add_connection(config: Path) -> Result:
    return runner.invoke(app, ["connection", "add", "acme", "--config", str(config)])


def rotate_to(key_file: Path) -> Result:
    return runner.invoke(app, ["key", "rotate", "--new-key-file", str(key_file)])


def serve_scenario(scenario: Path) -> Result:
    return runner.invoke(
        sim_app, ["amazon", "--scenario", str(scenario), "--exit-after-write", "--port", "1"]
    )


def small_scenario(tmp_path: Path) -> bytes:
    path = tmp_path / "base-scenario.json"
    save_scenario(generate_world(GeneratorParams(seed=3, orders=2, days=2, catalog_size=2)), path)
    return path.read_bytes()
