"""Issue 10 acceptance: a hand-written seller whose Oracle documents are computed by hand here.

Scenario: tests/fixtures/hand_computed/seller.json (official shapes: Orders 2026-01-01 `Order`,
Finances v0 `FinancialEventGroup`, Finances 2024-06-19 `Transaction`, settlement V2 rows), one
connection with regions NA + EU, the catalog and charge mapping of the same folder. Run through
the CLI (hand_computed_support.py): `connection add` with `[accounting]`, `sync`, Amazon moves on
(order 111-1000005-0000005 cancelled and refunded, settlement US-2 closes), `sync`, `reconcile
--json`. Every figure below is worked out from the scenario by hand, never by the product.

Accounts (charges.toml, company 101): cost center 10 = NA, 20 = EU, 00 = balance sheet;
12100 receivable, 12500 receivable clearing, 10500 cash in transit, 21500 marketplace tax
clearing, 21600 sales tax payable, 21700 output VAT, 13500 input VAT, 40100 MUG-01 revenue,
40110 LAMP-03, 40120 KETTLE-01, 40200 shipping, 40900 promotions, 61000 commission, 61100 FBA
fee, 61300 subscription, 61600 refund administration fee, 50100 COGS, 14000 inventory.

Settlements (one Finances group each):
- 70000000001 (US-1, amazon.com): O1 sale + partial refund, O2/O3/O5 sales, O4 sale (PAN-07,
  not in the catalog mapping), the seller subscription;
- 70000000002 (US-2, amazon.com, Open at the first sync, Closed at the second): O2 full refund,
  O3 A-to-z guarantee claim, O5 refund (the order was cancelled after invoicing);
- 70000000003 (DE): O6, the seller's VAT split by Amazon;
- 70000000004 (FR): O7, VAT-inclusive price and no tax figure, and a partial refund of it;
- 70000000005 (UK): O8, VAT collected by Amazon (marketplace facilitator).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hand_computed_support import Run, hand_computed_run

from ml_connector_sim.oracle.state import JournalBatch, Transaction

O1, O2, O3, O4 = (f"111-100000{n}-000000{n}" for n in (1, 2, 3, 4))
O5 = "111-1000005-0000005"
O6, O7, O8 = "302-1000006-0000006", "403-1000007-0000007", "202-1000008-0000008"
US1, US2, DE, FR, UK = (f"7000000000{n}" for n in range(1, 6))
CLAIM = "hc0000000000000000000000000000c3"

Line = tuple[int, str, int | None, str | None, str, tuple[str, ...]]
Dist = tuple[str, str, str, int | None]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    with hand_computed_run(tmp_path_factory.mktemp("hand")) as done:
        yield done


@pytest.fixture(scope="module")
def cogs_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    with hand_computed_run(tmp_path_factory.mktemp("hand-cogs"), cogs=True, fix=True) as done:
        yield done


@pytest.fixture(scope="module")
def short_history_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The default 30-day first sync: most orders the settlements pay were updated earlier."""
    with hand_computed_run(tmp_path_factory.mktemp("hand-30"), history_days=30) as done:
        yield done


def _d(value: Any) -> str:
    return f"{Decimal(str(value)):.2f}"


def invoice_view(doc: Transaction) -> tuple[list[Line], list[Dist]]:
    """(line number, description, quantity, unit price, amount, tax amounts) per line, and
    (class, account combination, amount, line) per distribution."""
    lines: list[Line] = [
        (
            line["LineNumber"],
            line["Description"],
            line.get("Quantity"),
            _d(line["UnitSellingPrice"]) if line.get("UnitSellingPrice") is not None else None,
            _d(line["LineAmount"]),
            tuple(
                _d(tax["TaxAmount"])
                for tax in line["_children"].get("receivablesInvoiceLineTaxLines") or []
            ),
        )
        for line in doc.lines
    ]
    dists: list[Dist] = sorted(
        (d["AccountClass"], d["AccountCombination"], _d(d["Amount"]), d.get("InvoiceLineNumber"))
        for d in doc.distributions
    )
    return lines, dists


MemoLine = tuple[int, str, str, str]


def memo_view(doc: Transaction) -> tuple[list[MemoLine], list[tuple[str, str, str]]]:
    """(line number, description, line type, amount) per line; (class, account, amount)."""
    lines = [
        (
            line["LineNumber"],
            line["LineDescription"],
            line["LineType"],
            _d(line["LineAmountCredit"]),
        )
        for line in doc.lines
    ]
    dists = sorted(
        (d["AccountClass"], d["AccountCombination"], _d(d["Amount"])) for d in doc.distributions
    )
    return lines, dists


JLine = tuple[str, str | None, str | None, str]


def in_order(lines: list[JLine]) -> list[JLine]:
    return sorted(lines, key=lambda x: (x[0], x[1] or "", x[2] or "", x[3]))


def journal_view(batch: JournalBatch) -> list[JLine]:
    """(account combination, Dr, Cr, description) per line, in account order."""
    return in_order(
        [
            (
                line.account,
                _d(line.entered_dr) if line.entered_dr else None,
                _d(line.entered_cr) if line.entered_cr else None,
                line.description,
            )
            for journal in batch.journals
            for line in journal.lines
        ]
    )


def _invoices(run: Run) -> dict[str, Transaction]:
    return {doc.number: doc for doc in run.oracle.state.invoices}


def _memos(run: Run) -> dict[str, Transaction]:
    """Credit memos by the number of the invoice they are applied to (one each here)."""
    state = run.oracle.state
    by_id = {doc.transaction_id: doc.number for doc in state.invoices}
    memos: dict[str, Transaction] = {}
    for memo in state.credit_memos:
        assert memo.applied_to is not None, f"credit memo {memo.number} is not applied"
        invoice = by_id[memo.applied_to]
        assert invoice not in memos, f"invoice {invoice} has two credit memos"
        memos[invoice] = memo
    return memos


def _journal(run: Run, settlement: str) -> JournalBatch:
    batches = [b for b in run.oracle.state.journal_batches if b.name == f"AMZ {settlement}"]
    assert len(batches) == 1, [b.name for b in run.oracle.state.journal_batches]
    return batches[0]


def _settlement(run: Run, settlement: str) -> dict[str, Any]:
    rows = [r for r in run.reconcile["settlements"] if r["settlement_id"] == settlement]
    assert len(rows) == 1, settlement
    row: dict[str, Any] = rows[0]
    return row


# -- what the operator sees ---------------------------------------------------------------------


def test_syncs_exit_3_while_the_unmapped_sku_waits_and_nothing_is_rejected(run: Run) -> None:
    for report in (run.first_sync, run.second_sync):
        assert report["exit_code"] == 3, report
        assert report["rejected"] == 0
    # Only PAN-07's order waits: one review item, for that order.
    assert [(i["kind"], i["subject"]) for i in run.review] == [("unmapped_sku", O4)]
    assert run.review[0]["reason"] == "SKU(s) not in the catalog mapping: PAN-07"
    # The held order's review item names the SKU and the settlement that paid it.
    details = run.review[0]["details"]
    assert (details["items"], details["settlements"]) == (["PAN-07"], [US1])


# -- invoices -----------------------------------------------------------------------------------


def test_every_invoice_line_and_distribution(run: Run) -> None:
    invoices = _invoices(run)
    # O4 (PAN-07) is not invoiced; O5 keeps its invoice (it was posted before the cancellation).
    assert sorted(invoices) == sorted([O1, O2, O3, O5, O6, O7, O8])
    expected: dict[str, tuple[list[Line], list[Dist]]] = {
        # DESIGN §4 worked example: MUG-01 × 2 at 12.50 = 25.00; shipping 4.99; promotion −2.00;
        # facilitator tax 2.24 (Amazon remits it → tax clearing 21500, on the item line).
        # Receivable 25.00 + 4.99 − 2.00 + 2.24 = 30.23.
        O1: (
            [(1, "Stoneware Mug 350 ml", 2, "12.50", "25.00", ("2.24",)),
             (2, "Shipping: MUG-01", 1, "4.99", "4.99", ()),
             (3, "Promotion: MUG-01", 1, "-2.00", "-2.00", ())],
            [("Receivable", "101.00.12100", "30.23", None),
             ("Revenue", "101.10.40100", "25.00", 1),
             ("Revenue", "101.10.40200", "4.99", 2),
             ("Revenue", "101.10.40900", "-2.00", 3),
             ("Tax", "101.00.21500", "2.24", 1)],
        ),
        # KETTLE-01 40.00 + facilitator tax 3.30 = 43.30.
        O2: (
            [(1, "Electric Kettle 1.7 l", 1, "40.00", "40.00", ("3.30",))],
            [("Receivable", "101.00.12100", "43.30", None),
             ("Revenue", "101.10.40120", "40.00", 1),
             ("Tax", "101.00.21500", "3.30", 1)],
        ),
        # LAMP-03 49.99 + facilitator tax 4.12 = 54.11 (seller-fulfilled).
        O3: (
            [(1, "LED Desk Lamp", 1, "49.99", "49.99", ("4.12",))],
            [("Receivable", "101.00.12100", "54.11", None),
             ("Revenue", "101.10.40110", "49.99", 1),
             ("Tax", "101.00.21500", "4.12", 1)],
        ),
        # MUG-01 12.50 + facilitator tax 1.03 = 13.53, invoiced while the order was SHIPPED.
        O5: (
            [(1, "Stoneware Mug 350 ml", 1, "12.50", "12.50", ("1.03",))],
            [("Receivable", "101.00.12100", "13.53", None),
             ("Revenue", "101.10.40100", "12.50", 1),
             ("Tax", "101.00.21500", "1.03", 1)],
        ),
        # amazon.de with Amazon's split: 42.01 net + 7.98 VAT (19 %: 42.01 × 0.19 = 7.98) = 49.99.
        # The VAT is the seller's (no marketplace facilitator): sales tax payable 21600, EU cc 20.
        O6: (
            [(1, "LED-Schreibtischlampe", 1, "42.01", "42.01", ("7.98",))],
            [("Receivable", "101.00.12100", "49.99", None),
             ("Revenue", "101.20.40110", "42.01", 1),
             ("Tax", "101.00.21600", "7.98", 1)],
        ),
        # amazon.co.uk, Amazon collects the VAT: MUG-01 × 2 at 10.00 = 20.00, VAT 20 % = 4.00 to
        # tax clearing 21500 (offset by the tax Amazon withholds in the journal). 24.00.
        O8: (
            [(1, "Stoneware Mug 350 ml", 2, "10.00", "20.00", ("4.00",))],
            [("Receivable", "101.00.12100", "24.00", None),
             ("Revenue", "101.20.40100", "20.00", 1),
             ("Tax", "101.00.21500", "4.00", 1)],
        ),
    }  # fmt: skip
    for order, (lines, dists) in expected.items():
        assert invoice_view(invoices[order]) == (lines, dists), order
        assert invoices[order].header["CrossReference"] == f"amazon-order:{order}"


def test_vat_inclusive_amazon_fr_order_is_split_by_the_mapping_rate(run: Run) -> None:
    # 59.99 incl. 20 % VAT ([vat.FR] rate = "20"): tax = 59.99 × 20/120 = 9.998 → 10.00;
    # net 59.99 − 10.00 = 49.99 to LAMP-03's revenue; the VAT to output VAT 21700.
    # Never 59.99 to revenue (issue 10).
    assert invoice_view(_invoices(run)[O7]) == (
        [(1, "Lampe de bureau LED", 1, "49.99", "49.99", ("10.00",))],
        [("Receivable", "101.00.12100", "59.99", None),
         ("Revenue", "101.20.40110", "49.99", 1),
         ("Tax", "101.00.21700", "10.00", 1)],
    )  # fmt: skip


# -- credit memos -------------------------------------------------------------------------------


def test_every_credit_memo_line_and_distribution(run: Run) -> None:
    memos = _memos(run)
    # O1 partial refund, O2 full refund (later settlement), O3 A-to-z claim, O5 refund after the
    # cancellation, O7 partial refund: one memo each, and no cancellation memo for O5.
    assert sorted(memos) == sorted([O1, O2, O3, O5, O7])
    expected = {
        # One mug of two back: −12.50 to 40100 and its tax −1.12 to 21500; total −13.62
        # (DESIGN §4). Amazon's refunded commission and the refund fee are the journal's.
        O1: ("CM-R1000000001", "Amazon refund R1000000001 for " + O1, (
            [(1, "Stoneware Mug 350 ml", "LINE", "-12.50"),
             (2, "Marketplace facilitator tax: MUG-01", "TAX", "-1.12")],
            [("Receivable", "101.00.12100", "-13.62"),
             ("Revenue", "101.10.40100", "-12.50"),
             ("Tax", "101.00.21500", "-1.12")])),
        # Full refund in settlement US-2: −40.00 − 3.30 = −43.30, the whole invoice.
        O2: ("CM-R1000000002", "Amazon refund R1000000002 for " + O2, (
            [(1, "Electric Kettle 1.7 l", "LINE", "-40.00"),
             (2, "Marketplace facilitator tax: KETTLE-01", "TAX", "-3.30")],
            [("Receivable", "101.00.12100", "-43.30"),
             ("Revenue", "101.10.40120", "-40.00"),
             ("Tax", "101.00.21500", "-3.30")])),
        # A-to-z guarantee claim refunding the buyer in full: −49.99 − 4.12 = −54.11. The claim
        # names no REFUND_ID, so its transaction id is the reference.
        O3: (None, f"Amazon A-to-z guarantee claim {CLAIM} for {O3}", (
            [(1, "LED Desk Lamp", "LINE", "-49.99"),
             (2, "Marketplace facilitator tax: LAMP-03", "TAX", "-4.12")],
            [("Receivable", "101.00.12100", "-54.11"),
             ("Revenue", "101.10.40110", "-49.99"),
             ("Tax", "101.00.21500", "-4.12")])),
        # Cancelled after invoicing and refunded: the refund's memo, −12.50 − 1.03 = −13.53.
        O5: ("CM-R1000000005", "Amazon refund R1000000005 for " + O5, (
            [(1, "Stoneware Mug 350 ml", "LINE", "-12.50"),
             (2, "Marketplace facilitator tax: MUG-01", "TAX", "-1.03")],
            [("Receivable", "101.00.12100", "-13.53"),
             ("Revenue", "101.10.40100", "-12.50"),
             ("Tax", "101.00.21500", "-1.03")])),
        # amazon.fr, 30.00 of the VAT-inclusive 59.99 given back: split at the invoice line's
        # 20 %: VAT 30.00 × 20/120 = 5.00 to output VAT 21700, net 30.00 − 5.00 = 25.00.
        O7: ("CM-R1000000007", "Amazon refund R1000000007 for " + O7, (
            [(1, "Lampe de bureau LED", "LINE", "-25.00"),
             (2, "VAT 20%: LAMP-03", "TAX", "-5.00")],
            [("Receivable", "101.00.12100", "-30.00"),
             ("Revenue", "101.20.40110", "-25.00"),
             ("Tax", "101.00.21700", "-5.00")])),
    }  # fmt: skip
    invoices = _invoices(run)
    for order, (number, comments, view) in expected.items():
        memo = memos[order]
        assert memo_view(memo) == view, order
        assert memo.header["Comments"] == comments, order
        if number is not None:
            assert memo.number == number
        assert memo.number.startswith("CM-")
        # What stays open on the invoice: O1 30.23 − 13.62 = 16.61, O7 59.99 − 30.00 = 29.99;
        # the others 0.
        open_amount = invoices[order].amount + invoices[order].credited
        assert _d(open_amount) == {O1: "16.61", O7: "29.99"}.get(order, "0.00"), order


def test_a_sync_with_nothing_new_at_amazon_changes_nothing(run: Run) -> None:
    assert run.third_sync["exit_code"] == 3  # PAN-07's order still waits
    assert run.third_sync["counts"]["planned"] == 0
    assert run.third_sync["counts"]["posted"] == 0
    # 7 invoices (O1 O2 O3 O5 O6 O7 O8), 5 credit memos, 5 journals, before and after.
    assert run.documents_before_third == run.documents_after_third == (7, 5, 5)


def test_the_a_to_z_claim_is_in_the_audit_trail_with_its_credit_memo(run: Run) -> None:
    # `audit show <claim transaction id>`: read from Amazon, then the credit memo planned for
    # it against O3's invoice, for the −54.11 of test_every_credit_memo_line_and_distribution.
    events = run.claim_audit["events"]
    assert [e["action"] for e in events][:1] == ["fetched"]
    planned = [e for e in events if e["action"] == "planned"]
    assert [(e["details"]["kind"], _d(e["details"]["total"])) for e in planned] == [
        ("credit_memo", "-54.11")
    ]
    assert f"cm:{O3}:{CLAIM}" in planned[0]["amazon_ids"]
    # ... and what became of that memo: its posted event names the memo's key, not the claim.
    posted = [e for e in events if e["action"] == "posted"]
    assert [e["amazon_ids"] for e in posted] == [[O3, f"cm:{O3}:{CLAIM}"]]
    assert posted[0]["oracle_ids"]


# -- settlement journals ------------------------------------------------------------------------


def test_every_journal_line(run: Run) -> None:
    assert sorted(b.name for b in run.oracle.state.journal_batches) == [
        f"AMZ {s}" for s in (US1, US2, DE, FR, UK)
    ]
    expected = {
        # US-1 total 83.38 = O1 21.02 (30.23 − 2.24 − 3.75 − 3.22) + O1 refund −11.00
        # (−12.50 − 1.12 + 1.12 + 1.88 − 0.38) + O2 29.50 (43.30 − 3.30 − 6.00 − 4.50)
        # + O3 42.49 (54.11 − 4.12 − 7.50) + O4 33.96 (43.25 − 3.30 − 5.99)
        # + O5 7.40 (13.53 − 1.03 − 1.88 − 3.22) + subscription −39.99.
        # Proceeds (Sales + Promotions): 30.23 − 13.62 + 43.30 + 54.11 + 43.25 + 13.53 = 170.80.
        # Tax withheld: 2.24 − 1.12 + 3.30 + 4.12 + 3.30 + 1.03 = 12.87.
        # Commission charged 3.75 + 6.00 + 7.50 + 5.99 + 1.88 = 25.12, refunded 1.88 (own line).
        # FBA 3.22 + 4.50 + 3.22 = 10.94. Dr 83.38 + 12.87 + 25.12 + 10.94 + 39.99 + 0.38 =
        # 172.68 = Cr 170.80 + 1.88.
        US1: [
            ("101.00.10500", "83.38", None, "Net payout, settlement 70000000001"),
            ("101.00.12500", None, "170.80", "Order proceeds settled"),
            ("101.00.21500", "12.87", None, "Marketplace tax withheld"),
            ("101.10.61000", "25.12", None, "Amazon commission"),
            ("101.10.61000", None, "1.88", "Amazon commission"),
            ("101.10.61100", "10.94", None, "FBA fulfilment fee"),
            ("101.10.61300", "39.99", None, "Seller subscription"),
            ("101.10.61600", "0.38", None, "Refund administration fee"),
        ],
        # US-2 total −96.19 = O2 refund −35.20 (−43.30 + 3.30 + 6.00 − 1.20) + O3 claim −49.99
        # (−54.11 + 4.12) + O5 refund −11.00 (−13.53 + 1.03 + 1.88 − 0.38): Amazon charges the
        # seller, so cash in transit is credited. Proceeds −43.30 − 54.11 − 13.53 = −110.94;
        # tax withheld given back 3.30 + 4.12 + 1.03 = 8.45; commission refunded 6.00 + 1.88 =
        # 7.88; refund fees 1.20 + 0.38 = 1.58. Dr 110.94 + 1.58 = 112.52 = Cr 96.19 + 8.45 + 7.88.
        US2: [
            ("101.00.10500", None, "96.19", "Net payout, settlement 70000000002"),
            ("101.00.12500", "110.94", None, "Order proceeds settled"),
            ("101.00.21500", None, "8.45", "Marketplace tax withheld"),
            ("101.10.61000", None, "7.88", "Amazon commission"),
            ("101.10.61600", "1.58", None, "Refund administration fee"),
        ],
        # DE 38.92 = 42.01 + 7.98 − (6.30 + 1.20) − (3.00 + 0.57); fee VAT 1.20 + 0.57 = 1.77 to
        # input VAT; fees net of VAT on the EU cost center.
        DE: [
            ("101.00.10500", "38.92", None, "Net payout, settlement 70000000003"),
            ("101.00.12500", None, "49.99", "Order proceeds settled"),
            ("101.00.13500", "1.77", None, "Input VAT on Amazon fees"),
            ("101.20.61000", "6.30", None, "Amazon commission"),
            ("101.20.61100", "3.00", None, "FBA fulfilment fee"),
        ],
        # FR 23.51 = sale 49.19 (59.99 − 9.00 − 1.80, 20 % VAT on the commission: 9.00 × 0.20)
        # + refund −25.68 (−30.00 + 4.50 + 0.90 − 0.90 − 0.18). Proceeds 59.99 − 30.00 = 29.99;
        # input VAT 1.80 − 0.90 + 0.18 = 1.08 (balance sheet: netted); commission charged 9.00
        # and refunded 4.50 on their own lines; refund fee 0.90. Dr 23.51 + 1.08 + 9.00 + 0.90 =
        # 34.49 = Cr 29.99 + 4.50.
        FR: [
            ("101.00.10500", "23.51", None, "Net payout, settlement 70000000004"),
            ("101.00.12500", None, "29.99", "Order proceeds settled"),
            ("101.00.13500", "1.08", None, "Input VAT on Amazon fees"),
            ("101.20.61000", "9.00", None, "Amazon commission"),
            ("101.20.61000", None, "4.50", "Amazon commission"),
            ("101.20.61600", "0.90", None, "Refund administration fee"),
        ],
        # UK 16.40 = 20.00 + 4.00 − 4.00 withheld − 3.00 − 0.60.
        UK: [
            ("101.00.10500", "16.40", None, "Net payout, settlement 70000000005"),
            ("101.00.12500", None, "24.00", "Order proceeds settled"),
            ("101.00.13500", "0.60", None, "Input VAT on Amazon fees"),
            ("101.00.21500", "4.00", None, "Marketplace tax withheld"),
            ("101.20.61000", "3.00", None, "Amazon commission"),
        ],
    }
    currencies = {US1: "USD", US2: "USD", DE: "EUR", FR: "EUR", UK: "GBP"}
    for settlement, lines in expected.items():
        batch = _journal(run, settlement)
        assert journal_view(batch) == in_order(lines), settlement
        assert {j.currency for j in batch.journals} == {currencies[settlement]}


# -- reconcile --json ---------------------------------------------------------------------------


def _amount(value: Any) -> Decimal:
    return Decimal(str(value))


def test_reconcile_json_statuses_and_invariants(run: Run) -> None:
    # Exit 3: the only settlement that does not match is incomplete (an order held).
    assert run.reconcile_exit == 3
    statuses = {r["settlement_id"]: r["status"] for r in run.reconcile["settlements"]}
    assert statuses == {
        US1: "incomplete", US2: "matched", DE: "matched", FR: "matched", UK: "matched"
    }  # fmt: skip
    # (journal, Amazon, report total; proceeds settled, invoices, credit memos, books; orders
    # in the settlement; receivable clearing journal/documents; tax clearing journal/documents)
    expected = {
        # Invoices of the sales paid here: O1 30.23 + O2 43.30 + O3 54.11 + O5 13.53 = 141.17
        # (O4 has none); memos of the reversals paid here: O1's −13.62; books 127.55.
        # Tax clearing: journal Dr 12.87; documents −(2.24 + 3.30 + 4.12 + 1.03) + 1.12 = −9.57.
        US1: ("83.38", "170.80", "141.17", "-13.62", "127.55", 5,
              ("-170.80", "127.55"), ("12.87", "-9.57")),
        # Only reversals: memos −43.30 − 54.11 − 13.53 = −110.94; tax clearing journal Cr 8.45
        # against the memos' Dr 3.30 + 4.12 + 1.03 = 8.45.
        US2: ("-96.19", "-110.94", "0", "-110.94", "-110.94", 3,
              ("110.94", "-110.94"), ("-8.45", "8.45")),
        DE: ("38.92", "49.99", "49.99", "0", "49.99", 1, ("-49.99", "49.99"), ("0", "0")),
        # The sale's invoice 59.99 less the refund's memo 30.00.
        FR: ("23.51", "29.99", "59.99", "-30.00", "29.99", 1, ("-29.99", "29.99"), ("0", "0")),
        UK: ("16.40", "24.00", "24.00", "0", "24.00", 1, ("-24.00", "24.00"), ("4.00", "-4.00")),
    }  # fmt: skip
    for settlement, figures in expected.items():
        total, settled, invoiced, credited, books, orders, clearing, tax = figures
        row = _settlement(run, settlement)
        inv = row["invariants"]
        assert _amount(inv["journal_total"]["journal"]) == _amount(total), settlement
        assert _amount(inv["journal_total"]["amazon"]) == _amount(total), settlement
        assert _amount(inv["report_total"]["report"]) == _amount(total), settlement
        assert inv["journal_total"]["holds"] is True
        assert inv["report_total"]["holds"] is True
        proceeds = inv["proceeds"]
        assert [
            _amount(proceeds[k]) for k in ("proceeds_settled", "invoices", "credit_memos", "books")
        ] == [_amount(v) for v in (settled, invoiced, credited, books)], settlement
        assert proceeds["orders_in_settlement"] == orders, settlement
        accounts = {a["name"]: a for a in inv["clearing"]["accounts"]}
        for name, (journal, documents) in (
            ("receivable_clearing", clearing),
            ("tax_clearing", tax),
        ):
            assert _amount(accounts[name]["journal"]) == _amount(journal), (settlement, name)
            assert _amount(accounts[name]["documents"]) == _amount(documents), (settlement, name)
        if settlement != US1:
            assert all(check["holds"] is True for check in inv.values()), settlement
            assert proceeds["orders"] == [], settlement
            assert row["held_orders"] == 0, settlement
            assert _amount(row["variance"]) == 0


def test_reconcile_json_names_the_held_order_of_settlement_us1(run: Run) -> None:
    row = _settlement(run, US1)
    item = run.review[0]["id"]
    assert row["held_orders"] == 1
    assert row["review_items"] == [item]
    proceeds = row["invariants"]["proceeds"]
    assert proceeds["holds"] is False
    assert (proceeds["orders_differing"], proceeds["orders_held"]) == (1, 1)
    # O4: PAN-07 39.95 + tax 3.30 = 43.25 settled, nothing in the books: 127.55 − 170.80.
    (held,) = proceeds["orders"]
    assert held["order_id"] == O4
    assert held["cause"] == "held for review"
    assert (_amount(held["amazon"]), _amount(held["books"]), _amount(held["difference"])) == (
        Decimal("43.25"), Decimal(0), Decimal("-43.25")
    )  # fmt: skip
    assert held["transactions"] == ["hc0000000000000000000000000000s4"]
    assert held["review_items"] == [
        {"id": item, "kind": "unmapped_sku", "reason": "SKU(s) not in the catalog mapping: PAN-07"}
    ]
    assert _amount(proceeds["difference"]) == Decimal("-43.25")
    # Both clearing accounts are left open by exactly O4: its 43.25 of proceeds and the 3.30
    # of tax Amazon withheld on it (12.87 − 9.57).
    accounts = {a["name"]: a for a in row["invariants"]["clearing"]["accounts"]}
    assert row["invariants"]["clearing"]["holds"] is False
    for name, net in (("receivable_clearing", "-43.25"), ("tax_clearing", "3.30")):
        assert _amount(accounts[name]["net"]) == Decimal(net), name
        assert _amount(accounts[name]["explained_by_held_orders"]) == Decimal(net), name
    # Amazon, the journal and the report agree: only the held order keeps it from `matched`.
    assert _amount(row["variance"]) == 0
    assert _amount(row["report_variance"]) == 0
    # The table a person reads says the same.
    assert "incomplete" in run.table
    assert "held for review" in run.table
    assert "proceeds ✗" in run.table
    assert O4 in run.table


# -- COGS on: a second run of the same scenario with `[accounting] include_cogs = true`; then the
# finance team adds PAN-07 to the catalog (unit cost 13.60) and runs `review resolve --all` ------


def test_cogs_books_shipments_and_restocks_returns(cogs_run: Run) -> None:
    # Unit costs (catalog.csv, read in the settlement's currency): MUG-01 4.10, KETTLE-01 18.25,
    # LAMP-03 16.40. COGS takes the SKU's revenue cost center, inventory the balance sheet's.
    cogs = {"101.10.50100", "101.20.50100", "101.00.14000"}

    def cost_lines(settlement: str) -> list[JLine]:
        return [line for line in journal_view(_journal(cogs_run, settlement)) if line[0] in cogs]

    # US-2: O2's kettle and O5's mug come back (`returned_goods = "restock"`): Dr inventory,
    # Cr COGS, 1 × 18.25 and 1 × 4.10. The A-to-z claim (O3) moves no goods: no cost line.
    assert cost_lines(US2) == in_order([
        ("101.00.14000", "18.25", None, "Inventory KETTLE-01: 1 returned at 18.25"),
        ("101.10.50100", None, "18.25", "COGS KETTLE-01: 1 returned at 18.25"),
        ("101.00.14000", "4.10", None, "Inventory MUG-01: 1 returned at 4.10"),
        ("101.10.50100", None, "4.10", "COGS MUG-01: 1 returned at 4.10"),
    ])  # fmt: skip
    # UK: 2 mugs shipped, 2 × 4.10 = 8.20. DE: one lamp shipped, 16.40. FR: one lamp shipped,
    # and the partial refund's item (quantity 1) counts as a unit returned: 16.40 back.
    assert cost_lines(UK) == in_order([
        ("101.20.50100", "8.20", None, "COGS MUG-01: 2 shipped at 4.10"),
        ("101.00.14000", None, "8.20", "Inventory MUG-01: 2 shipped at 4.10"),
    ])  # fmt: skip
    shipped = [
        ("101.20.50100", "16.40", None, "COGS LAMP-03: 1 shipped at 16.40"),
        ("101.00.14000", None, "16.40", "Inventory LAMP-03: 1 shipped at 16.40"),
    ]
    assert cost_lines(DE) == in_order(shipped)
    assert cost_lines(FR) == in_order([
        *shipped,
        ("101.00.14000", "16.40", None, "Inventory LAMP-03: 1 returned at 16.40"),
        ("101.20.50100", None, "16.40", "COGS LAMP-03: 1 returned at 16.40"),
    ])  # fmt: skip
    # The rest of each journal is what it is without COGS (cash still = Amazon's total).
    cash = {US2: (None, "96.19"), DE: ("38.92", None), FR: ("23.51", None), UK: ("16.40", None)}
    for settlement, (dr, cr) in cash.items():
        line = next(
            x for x in journal_view(_journal(cogs_run, settlement)) if x[0] == "101.00.10500"
        )
        assert line[1:3] == (dr, cr), settlement
    # reconcile's cogs check: booked = (shipped − returned) × cost; US-2: −(18.25 + 4.10);
    # FR: (1 − 1) × 16.40 = 0.
    booked = {US2: "-22.35", DE: "16.40", FR: "0", UK: "8.20"}
    for settlement, amount in booked.items():
        check = _settlement(cogs_run, settlement)["invariants"]["cogs"]
        assert check["holds"] is True, settlement
        assert _amount(check["booked"]) == _amount(check["expected"]) == Decimal(amount)


def test_cogs_waits_for_the_unmapped_sku_in_its_settlement(cogs_run: Run) -> None:
    # PAN-07 has no row, so no cost: US-1's whole journal waits (docs/accounting-options.md,
    # "When the journal waits") and reconcile says the settlement is not posted.
    reasons = {(i["kind"], i["subject"], i["reason"]) for i in cogs_run.review}
    assert reasons == {
        ("unmapped_sku", O4, "SKU(s) not in the catalog mapping: PAN-07"),
        (
            "unmapped_sku",
            US1,
            "COGS: SKU(s) not in the catalog mapping: PAN-07 (add their rows with unit_cost)",
        ),
    }
    assert cogs_run.batches == [f"AMZ {s}" for s in (US2, DE, FR, UK)]
    assert _settlement(cogs_run, US1)["status"] == "not_posted"
    assert cogs_run.reconcile_exit == 1


def test_mapping_the_sku_and_resolving_posts_its_invoice_and_the_journal_with_cogs(
    cogs_run: Run,
) -> None:
    fixed = cogs_run.fixed
    assert fixed is not None
    assert fixed.resolve_exit == 0
    assert (fixed.resolve["closed"], fixed.resolve["open"]) == (2, 0)
    # The settlement's held journal is replayed as a settlement, never as an unknown order.
    replayed = {(i["amazon_id"], i["kind"]) for i in fixed.resolve["items"]}
    assert replayed == {(O4, "invoice"), (US1, "journal")}
    assert not [i for i in fixed.resolve["items"] if "not in the store" in (i["reason"] or "")]
    assert fixed.review == []
    # O4 now invoiced: PAN-07 39.95 to its kitchen revenue 40120, facilitator tax 3.30, 43.25.
    assert invoice_view(_invoices(cogs_run)[O4]) == (
        [(1, "Frying Pan 28 cm", 1, "39.95", "39.95", ("3.30",))],
        [("Receivable", "101.00.12100", "43.25", None),
         ("Revenue", "101.10.40120", "39.95", 1),
         ("Tax", "101.00.21500", "3.30", 1)],
    )  # fmt: skip
    # US-1 with its cost lines (cost center 10 for COGS, 00 for inventory), kept gross:
    # MUG-01 3 shipped (O1 2 + O5 1) × 4.10 = 12.30, 1 returned (O1's partial refund) 4.10;
    # KETTLE-01 1 × 18.25; LAMP-03 1 × 16.40; PAN-07 1 × 13.60. Every other line as without
    # COGS (test_every_journal_line).
    assert journal_view(_journal(cogs_run, US1)) == in_order([
        ("101.00.10500", "83.38", None, "Net payout, settlement 70000000001"),
        ("101.00.12500", None, "170.80", "Order proceeds settled"),
        ("101.00.21500", "12.87", None, "Marketplace tax withheld"),
        ("101.10.61000", "25.12", None, "Amazon commission"),
        ("101.10.61000", None, "1.88", "Amazon commission"),
        ("101.10.61100", "10.94", None, "FBA fulfilment fee"),
        ("101.10.61300", "39.99", None, "Seller subscription"),
        ("101.10.61600", "0.38", None, "Refund administration fee"),
        ("101.10.50100", "12.30", None, "COGS MUG-01: 3 shipped at 4.10"),
        ("101.00.14000", None, "12.30", "Inventory MUG-01: 3 shipped at 4.10"),
        ("101.00.14000", "4.10", None, "Inventory MUG-01: 1 returned at 4.10"),
        ("101.10.50100", None, "4.10", "COGS MUG-01: 1 returned at 4.10"),
        ("101.10.50100", "18.25", None, "COGS KETTLE-01: 1 shipped at 18.25"),
        ("101.00.14000", None, "18.25", "Inventory KETTLE-01: 1 shipped at 18.25"),
        ("101.10.50100", "16.40", None, "COGS LAMP-03: 1 shipped at 16.40"),
        ("101.00.14000", None, "16.40", "Inventory LAMP-03: 1 shipped at 16.40"),
        ("101.10.50100", "13.60", None, "COGS PAN-07: 1 shipped at 13.60"),
        ("101.00.14000", None, "13.60", "Inventory PAN-07: 1 shipped at 13.60"),
    ])  # fmt: skip
    # Every settlement now matched, reconcile exits 0. US-1: invoices 141.17 + 43.25 = 184.42,
    # less 13.62 = 170.80 = proceeds settled; tax clearing 12.87 − (9.57 + 3.30) = 0.
    # COGS booked: US-1 12.30 − 4.10 + 18.25 + 16.40 + 13.60 = 56.45.
    assert fixed.reconcile_exit == 0
    rows = {r["settlement_id"]: r for r in fixed.reconcile["settlements"]}
    assert {k: r["status"] for k, r in rows.items()} == dict.fromkeys(
        (US1, US2, DE, FR, UK), "matched"
    )
    us1 = rows[US1]["invariants"]
    assert _amount(us1["proceeds"]["invoices"]) == Decimal("184.42")
    assert _amount(us1["proceeds"]["books"]) == Decimal("170.80")
    assert _amount(us1["cogs"]["booked"]) == Decimal("56.45")
    for account in us1["clearing"]["accounts"]:
        assert _amount(account["net"]) == 0, account


def test_a_30_day_first_sync_reads_the_orders_its_settlements_pay_and_books_the_same(
    run: Run, short_history_run: Run
) -> None:
    """The order listing reaches 30 days back, the settlements it reads further: the orders
    they pay are read by id (getOrder), so the books are those of the 90-day run above."""

    def lines(doc: Transaction) -> list[tuple[str, str, str]]:
        return sorted(
            (d["AccountClass"], d["AccountCombination"], _d(d["Amount"])) for d in doc.distributions
        )

    def books(done: Run) -> tuple[Any, ...]:
        state = done.oracle.state
        return (
            sorted((doc.number, lines(doc)) for doc in state.invoices),
            sorted((doc.number, lines(doc)) for doc in state.credit_memos),
            sorted(b.name for b in state.journal_batches),
            sorted((s["settlement_id"], s["status"]) for s in done.reconcile["settlements"]),
        )

    assert short_history_run.first_sync["counts"]["orders_fetched"] > 1
    assert books(short_history_run) == books(run)
