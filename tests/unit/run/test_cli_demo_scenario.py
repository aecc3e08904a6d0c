"""Issue 10, Scope 6: `demo --scenario` honours its scenario; `demo --charges` takes the fee
mapping.

Before: the demo connection listed the generated seller's five marketplaces, so a scenario's
amazon.fr orders were never asked for: orders 0, and nothing said so.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ml_connector.flow.post.codec import load_journal
from ml_connector.run.cli import app
from ml_connector.run.demo import example_file
from ml_connector.store import DocumentKind, DocumentState, list_documents
from ml_connector.store.db import make_engine, make_sessionmaker
from ml_connector_sim.amazon import GeneratorParams, generate_world
from ml_connector_sim.amazon.scenario import save_scenario

runner = CliRunner()
FR = "A13V1IB3VIYZZH"
US = "ATVPDKIKX0DER"


def _scenario(tmp_path: Path, codes: tuple[str, ...], orders: int = 24) -> tuple[Path, Any]:
    world = generate_world(GeneratorParams(seed=3, orders=orders, days=30, marketplaces=codes))
    path = tmp_path / "seller.json"
    save_scenario(world, path)
    return path, world


def _demo(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["demo", "--json", *args])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    body = json.loads(result.stdout)
    assert isinstance(body, dict)
    return body


def test_scenario_with_amazon_fr_orders_reads_and_books_them(tmp_path: Path) -> None:
    path, world = _scenario(tmp_path, ("FR",))
    expected = Counter(o["salesChannel"]["marketplaceId"] for o in world.orders)
    assert expected[FR] > 0
    summary = _demo("--scenario", str(path))
    assert FR in summary["marketplaces"]
    assert summary["orders_by_marketplace"] == {FR: expected[FR]}
    assert summary["orders"] == expected[FR], "never 0 silently"
    assert summary["orders_not_read"] == {}
    # Each FR order that shipped is invoiced, or its review item names it: none vanishes.
    assert summary["invoices_posted"] > 0
    assert summary["journals_posted"] > 0
    assert summary["rejected"] == 0


def test_scenario_marketplace_the_product_does_not_know_is_reported(tmp_path: Path) -> None:
    path, _ = _scenario(tmp_path, ("US",), orders=10)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["orders"][0]["salesChannel"]["marketplaceId"] = "AZZZZZZZZTEST"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["demo", "--scenario", str(path)])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "not read:" in result.stdout
    assert "1 order(s) of the scenario from marketplace AZZZZZZZZTEST" in result.stdout
    summary = _demo("--scenario", str(path))
    assert summary["orders_not_read"] == {"AZZZZZZZZTEST": 1}
    assert summary["marketplaces_not_covered"] == ["AZZZZZZZZTEST"]
    assert summary["orders_by_marketplace"].get(US) == 9


def test_charges_option_takes_the_fee_mapping(tmp_path: Path) -> None:
    charges = tmp_path / "my-charges.toml"
    text = example_file("charges.toml").read_text(encoding="utf-8")
    charges.write_text(
        text.replace('label = "Amazon commission"', 'label = "Our commission label"'),
        encoding="utf-8",
    )
    keep = tmp_path / "kept"
    summary = _demo("--orders", "30", "--charges", str(charges), "--keep", str(keep))
    assert summary["journals_posted"] > 0
    copied = (keep / "charges.toml").read_text(encoding="utf-8")
    assert 'label = "Our commission label"' in copied
    assert "added by the demo" not in copied, "a given mapping is used as written"
    # The given mapping is the one the books were made with: its label is on the commission
    # line (account 61000) of the journals Oracle accepted.
    engine = make_engine(f"sqlite:///{keep / 'ml-connector.db'}")
    try:
        with make_sessionmaker(engine)() as session:
            journals = [
                load_journal(doc.payload)
                for doc in list_documents(session, kind=DocumentKind.JOURNAL)
                if doc.state is DocumentState.POSTED
            ]
    finally:
        engine.dispose()
    commission = [
        line
        for journal in journals
        for line in journal.lines
        if str(line.account).endswith(".61000")
    ]
    assert commission
    assert {line.description for line in commission} == {"Our commission label"}
    assert not any(
        line.description == "Amazon commission" for journal in journals for line in journal.lines
    )
