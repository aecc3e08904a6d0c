"""An order Amazon shows CANCELLED whose shipment Amazon settled (issue 10, verifier D2).

The hand-computed seller (tests/fixtures/hand_computed/) as `demo --scenario` sees it: the world
at the end, so order 111-1000005-0000005 is CANCELLED from the first read, although settlement
70000000001 paid its shipment (MUG-01 12.50 + facilitator tax 1.03 = 13.53) and settlement
70000000002 holds its refund (-13.53). Before: the order was only counted "not shipped", the
refund waited for an invoice forever, and both settlements showed a variance with no review item.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ml_connector.flow.post.codec import load_credit_memo, load_invoice
from ml_connector.run.cli import app
from ml_connector.store import DocumentKind, DocumentState, list_documents, list_review_items
from ml_connector.store.db import make_engine, make_sessionmaker

runner = CliRunner()
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hand_computed"
ORDER = "111-1000005-0000005"
SHIPMENT = "hc0000000000000000000000000000s5"
REFUND = "hc0000000000000000000000000000r5"
D = Decimal


def _demo(scenario: Path, keep: Path) -> dict[str, Any]:
    result = runner.invoke(
        app,
        ["demo", "--json", "--scenario", str(scenario), "--mapping",
         str(FIXTURES / "catalog.csv"), "--keep", str(keep)],
    )  # fmt: skip
    assert result.exit_code == 0, (result.stdout, result.stderr)
    body = json.loads(result.stdout)
    assert isinstance(body, dict)
    return body


def _settlement(summary: dict[str, Any], settlement_id: str) -> dict[str, Any]:
    found = [s for s in summary["settlements"] if s["settlement_id"] == settlement_id]
    assert len(found) == 1, summary["settlements"]
    return dict(found[0])


def _documents(keep: Path, kind: DocumentKind) -> list[Any]:
    engine = make_engine(f"sqlite:///{keep / 'ml-connector.db'}")
    try:
        with make_sessionmaker(engine)() as session:
            return [
                d
                for d in list_documents(session, kind=kind)
                if d.amazon_source_id == ORDER and d.state is DocumentState.POSTED
            ]
    finally:
        engine.dispose()


def _review(keep: Path) -> list[Any]:
    engine = make_engine(f"sqlite:///{keep / 'ml-connector.db'}")
    try:
        with make_sessionmaker(engine)() as session:
            return list(list_review_items(session))
    finally:
        engine.dispose()


def test_a_cancelled_order_whose_shipment_amazon_settled_is_invoiced_and_refunded(
    tmp_path: Path,
) -> None:
    keep = tmp_path / "kept"
    summary = _demo(FIXTURES / "seller.json", keep)

    (invoice_doc,) = _documents(keep, DocumentKind.INVOICE)
    invoice = load_invoice(invoice_doc.payload)
    # The order's one item: MUG-01 12.50 to kitchen revenue (catalog 40100), the facilitator
    # tax 1.03 to tax clearing (21500); 13.53, what the Shipment transaction charged.
    assert [(ln.kind.value, ln.sku, ln.amount, str(ln.account)) for ln in invoice.lines] == [
        ("item", "MUG-01", D("12.50"), "101.10.40100"),
        ("facilitator_tax", "MUG-01", D("1.03"), "101.00.21500"),
    ]
    assert invoice.total == D("13.53")
    (memo_doc,) = _documents(keep, DocumentKind.CREDIT_MEMO)
    memo = load_credit_memo(memo_doc.payload)
    assert memo.refund_transaction_id == REFUND
    assert memo.invoice_key == invoice.key
    assert [(ln.kind.value, ln.amount) for ln in memo.lines] == [
        ("item", D("-12.50")),
        ("facilitator_tax", D("-1.03")),
    ]
    assert summary["invoices_posted"] == 7  # 8 orders, PAN-07's waits for the catalog
    assert summary["credit_memos_posted"] == 5
    # Only PAN-07's order keeps 70000000001 from matching; 70000000002 ties out.
    us1 = _settlement(summary, "70000000001")
    assert (us1["status"], us1["held_orders"]) == ("incomplete", 1)
    assert _settlement(summary, "70000000002")["status"] == "matched"
    assert [item.subject_amazon_id for item in _review(keep)] == ["111-1000004-0000004"]


def test_a_cancelled_order_whose_items_differ_from_the_settled_shipment_waits_for_a_person(
    tmp_path: Path,
) -> None:
    # Amazon shows the cancelled order with its proceeds zeroed: its items no longer say what
    # the buyer was charged, so nothing is invoiced, and a person is told so.
    data = json.loads((FIXTURES / "seller.json").read_text(encoding="utf-8"))
    order = next(o for o in data["orders"] if o["orderId"] == ORDER)
    for node in (*[i["proceeds"] for i in order["orderItems"]], order["proceeds"]):
        for breakdown in node["breakdowns"]:
            breakdown["subtotal"]["amount"] = "0.00"
            for detail in breakdown.get("detailedBreakdowns", []):
                detail["value"]["amount"] = "0.00"
        for name in ("proceedsTotal", "grandTotal"):
            if name in node:
                node[name]["amount"] = "0.00"
    scenario = tmp_path / "seller.json"
    scenario.write_text(json.dumps(data), encoding="utf-8")
    keep = tmp_path / "kept"

    summary = _demo(scenario, keep)

    assert _documents(keep, DocumentKind.INVOICE) == []
    items = [i for i in _review(keep) if i.subject_amazon_id == ORDER]
    assert len(items) == 1, [i.reason for i in _review(keep)]
    reason = items[0].reason
    assert "CANCELLED" in reason
    assert f"{SHIPMENT} in settlement 70000000001" in reason
    assert "for 13.53 USD, and the order's items come to 0.00" in reason
    assert "invoice the order in Oracle by hand" in reason
    # Both settlements wait for that person: incomplete (held), never a silent variance.
    us1 = _settlement(summary, "70000000001")
    assert (us1["status"], us1["held_orders"]) == ("incomplete", 2)
    us2 = _settlement(summary, "70000000002")
    assert (us2["status"], us2["held_orders"]) == ("incomplete", 1)
