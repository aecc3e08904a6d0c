"""`replay --apply --correct`: a posted document that today's mapping contradicts is corrected the
way an accountant would — reversed and re-issued — and never edited in Oracle."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector.store import DocumentKind, DocumentState

Factory = Callable[..., Any]
runner = CliRunner()


def cli_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    body = json.loads(result.stdout)
    assert isinstance(body, dict)
    return body


def test_a_posted_invoice_is_reversed_and_reissued_not_edited(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.sync()
    original = next(
        d for d in seller.documents(DocumentKind.INVOICE) if d.state is DocumentState.POSTED
    )
    order_id = original.amazon_source_id
    before = {t.number: t for t in seller.oracle.state.transactions.values()}
    seller.write_mapping(account="40100")

    dry = cli_json("replay", "-c", "demo", order_id, "--correct")
    assert [i["action"] for i in dry["items"]] == ["correct"]
    assert len(seller.oracle.state.transactions) == len(before), "a dry run posts nothing"

    applied = cli_json("replay", "-c", "demo", order_id, "--apply", "--correct")
    assert applied["posted"] == 2
    docs = {d.idempotency_key: d for d in seller.documents() if d.amazon_source_id == order_id}
    reissue = docs[f"inv:{order_id}:r1"]
    reversal = docs[f"cm:{order_id}:correction1"]
    assert reissue.state is DocumentState.POSTED
    assert reversal.state is DocumentState.POSTED
    assert docs[f"inv:{order_id}"].payload == original.payload  # never edited

    oracle = {t.number: t for t in seller.oracle.state.transactions.values()}
    assert oracle[order_id].amount == before[order_id].amount  # the original is untouched
    memo = oracle[reversal.oracle_number]
    assert memo.amount == -before[order_id].amount  # reverses all that was open
    new_invoice = oracle[reissue.oracle_number]
    assert new_invoice.amount == before[order_id].amount
    revenue = [d["AccountCombination"] for d in new_invoice.distributions]
    assert any(re.fullmatch(r"101\.\d\d\.40100", account) for account in revenue)
    assert all(count == 1 for count in seller.oracle_numbers().values())

    again = cli_json("replay", "-c", "demo", order_id, "--apply", "--correct")
    assert [i["action"] for i in again["items"]] == ["unchanged"]
    assert again["posted"] == 0


def test_a_posted_journal_is_reversed_and_reissued(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    report = seller.sync()
    settlement = report.reconciliation[0]["settlement_id"]
    charges = Path(seller.workdir) / "charges.toml"
    text = charges.read_text()
    assert '"61000"' in text
    charges.write_text(text.replace('"61000"', '"61500"'))  # commission moves to other fees

    body = cli_json("replay", "-c", "demo", "--settlement", settlement, "--apply", "--correct")
    assert [i["action"] for i in body["items"]] == ["correct"]
    assert body["posted"] == 2
    batches = {b.name: b for b in seller.oracle.state.journal_batches}
    names = [n for n in batches if settlement in n]
    assert len(names) == 3  # the original, its reversal, the re-issue
    for name in names:
        lines = [line for journal in batches[name].journals for line in journal.lines]
        debits = sum((line.entered_dr or Decimal(0) for line in lines), Decimal(0))
        credits = sum((line.entered_cr or Decimal(0) for line in lines), Decimal(0))
        assert debits == credits > 0
    rows = cli_json("reconcile", "-c", "demo", "--settlement", settlement)["settlements"]
    assert rows[0]["status"] == "matched"
