"""The real 2024-06-19 breakdown tree, path-keyed charge mapping and the null/case status rules.

Every figure is computed by hand in the test. Shapes follow the official model
(finances_2024-06-19.json: nothing required, breakdowns recursive, status enum upper case while
its own example sends `Released`).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from ml_connector.domain.documents import Held, HoldCode, JournalDoc
from ml_connector.domain.settlements import TransactionStatus
from ml_connector.flow.accounting import plan_settlement_journal
from ml_connector.flow.mapping import ChargeMapping
from ml_connector.flow.mapping.charges import parse_mapping
from ml_connector.flow.mapping.errors import MappingError
from ml_connector.flow.normalize import normalize_settlement, normalize_transaction

D = Decimal
EUR = "EUR"
DE = "A1PA6795UKMFR9"


def money(amount: str, currency: str = EUR) -> dict[str, Any]:
    return {"currencyCode": currency, "currencyAmount": D(amount)}


def node(kind: str, amount: str, *children: dict[str, Any]) -> dict[str, Any]:
    return {"breakdownType": kind, "breakdownAmount": money(amount), "breakdowns": list(children)}


def transaction(
    txn_id: str,
    total: str,
    breakdowns: Any,
    *,
    kind: str = "Shipment",
    status: Any = "RELEASED",
    group: str = "G1",
    settlement: str | None = "S1",
) -> dict[str, Any]:
    related = [
        {"relatedIdentifierName": "FINANCIAL_EVENT_GROUP_ID", "relatedIdentifierValue": group}
    ]
    if settlement:
        related.append(
            {"relatedIdentifierName": "SETTLEMENT_ID", "relatedIdentifierValue": settlement}
        )
    return {
        "transactionId": txn_id,
        "transactionType": kind,
        "transactionStatus": status,
        "postedDate": "2026-11-20T10:00:00Z",
        "totalAmount": money(total),
        "marketplaceDetails": {"marketplaceId": DE, "marketplaceName": "Amazon.de"},
        "relatedIdentifiers": related,
        "breakdowns": breakdowns,
    }


def group(total: str, status: str = "Closed", group_id: str = "G1") -> dict[str, Any]:
    return {
        "FinancialEventGroupId": group_id,
        "ProcessingStatus": status,
        "OriginalTotal": {"CurrencyCode": EUR, "CurrencyAmount": D(total)},
        "FinancialEventGroupStart": "2026-11-10T00:00:00Z",
        "FinancialEventGroupEnd": "2026-11-24T00:00:00Z",
        "FundTransferDate": "2026-11-25T00:00:00Z",
    }


# The small input: sale 100.00, commission 12.00 plus 3.00 VAT on the commission.
NESTED = [
    node("Sales", "100.00", node("ProductCharges", "100.00")),
    node(
        "Expenses",
        "-15.00",
        node(
            "AmazonFees",
            "-15.00",
            node("Commission", "-15.00", node("Base", "-12.00"), node("Tax", "-3.00")),
        ),
    ),
]

MAPPING: dict[str, Any] = {
    "chart": {
        "pattern": "{company}.{cost_center}.{account}",
        "company": "101",
        "balance_sheet_accounts": "^[123]",
        "segments": {"company": r"^\d{3}$", "cost_center": r"^\d{2}$", "account": r"^\d{5}$"},
    },
    "cost_centers": {"balance_sheet": "00", "default": "10", "regions": {"EU": "20"}},
    "accounts": {
        "receivable": "12100",
        "receivable_clearing": "12500",
        "cash_in_transit": "10500",
        "tax_clearing": "21500",
        "sales_tax_payable": "21600",
        "shipping_revenue": "40200",
        "gift_wrap_revenue": "40300",
        "promotions": "40900",
        "reserve": "12600",
        "deferred": "12700",
        "reimbursements": "49000",
        "input_vat": "13500",
    },
    "journal": {"ledger": "EU Ledger", "source": "Amazon Settlements"},
    "invoiced": {
        "ProductCharges": "item",
        "Principal": "item",
        "Tax": "tax",
        "Shipping": "shipping",
    },
    "charges": {
        "Commission": {"account": "61000", "label": "Amazon commission"},
        "AmazonFees/*/Tax": {"account": "input_vat", "label": "Input VAT on Amazon fees"},
        "Transfer": {"account": "12800", "label": "Amazon balance transfer"},
    },
}


@pytest.fixture
def eu_mapping() -> ChargeMapping:
    return parse_mapping(copy.deepcopy(MAPPING), "test.toml")


def lines_by_account(journal: JournalDoc) -> dict[str, tuple[Decimal, Decimal]]:
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for line in journal.lines:
        dr, cr = out.get(str(line.account), (D(0), D(0)))
        out[str(line.account)] = (dr + line.entered_dr, cr + line.entered_cr)
    return out


def test_nested_tree_keeps_every_leaf_path_and_amount() -> None:
    txn = normalize_transaction(transaction("T1", "85.00", NESTED))
    assert [(leaf.key, leaf.amount) for leaf in txn.leaves] == [
        ("Sales/ProductCharges", D("100.00")),
        ("Expenses/AmazonFees/Commission/Base", D("-12.00")),
        ("Expenses/AmazonFees/Commission/Tax", D("-3.00")),
    ]


def test_eu_fee_vat_goes_to_input_vat_and_fee_expense_is_net(eu_mapping: ChargeMapping) -> None:
    settlement = normalize_settlement(group("85.00"), [transaction("T1", "85.00", NESTED)])
    journal = plan_settlement_journal(settlement, eu_mapping)
    assert isinstance(journal, JournalDoc), journal
    lines = lines_by_account(journal)
    # Hand-computed: Dr cash 85.00, Dr commission 12.00 (EU cost center 20), Dr input VAT 3.00,
    # Cr receivable clearing 100.00 (balance-sheet cost center 00).
    assert lines == {
        "101.00.10500": (D("85.00"), D(0)),
        "101.20.61000": (D("12.00"), D(0)),
        "101.00.13500": (D("3.00"), D(0)),
        "101.00.12500": (D(0), D("100.00")),
    }
    assert journal.total_dr == journal.total_cr == D("100.00")


def test_fee_vat_never_reads_as_the_sales_tax(eu_mapping: ChargeMapping) -> None:
    sale_tax = eu_mapping.target(("Sales", "Tax"))
    fee_tax = eu_mapping.target(("Expenses", "AmazonFees", "Commission", "Tax"))
    assert sale_tax is not None
    assert sale_tax.invoiced is not None
    assert fee_tax is not None
    assert fee_tax.invoiced is None
    assert fee_tax.natural_account == "13500"
    without_vat = copy.deepcopy(MAPPING)
    del without_vat["charges"]["AmazonFees/*/Tax"]
    mapping = parse_mapping(without_vat, "t.toml")
    # Without a key for it, fee VAT is unmapped (held), never booked as sales tax or proceeds.
    assert mapping.target(("Expenses", "AmazonFees", "Commission", "Tax")) is None
    settlement = normalize_settlement(group("85.00"), [transaction("T1", "85.00", NESTED)])
    held = plan_settlement_journal(settlement, mapping)
    assert isinstance(held, Held)
    assert held.code is HoldCode.UNMAPPED_CHARGE
    assert held.details == ("Expenses/AmazonFees/Commission/Tax",)


def test_keys_match_path_ends_longest_first_ignoring_case_and_spaces(
    eu_mapping: ChargeMapping,
) -> None:
    data = copy.deepcopy(MAPPING)
    data["charges"]["Expenses/AmazonFees/Commission/Tax"] = {"account": "13600"}
    mapping = parse_mapping(data, "t.toml")
    exact = mapping.target(("Expenses", "AmazonFees", "Commission", "Tax"))
    wildcard = mapping.target(("Expenses", "AmazonFees", "FBAPerUnitFulfillmentFee", "Tax"))
    assert exact is not None
    assert exact.natural_account == "13600"
    assert wildcard is not None
    assert wildcard.natural_account == "13500"
    base = mapping.target(("expenses", "amazon fees", "COMMISSION", "base"))
    assert base is not None
    assert base.natural_account == "61000"
    assert mapping.target(("Sales", "Product Charges")) == mapping.target(("ProductCharges",))
    assert mapping.target(("Expenses", "AmazonFees", "BrandNewFee", "Base")) is None
    assert mapping.target(("Commission",)) is not None  # the flat shape keeps working


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("charges", "*", {"account": "61000"}, "matches every leaf"),
        ("charges", "Fees//Tax", {"account": "61000"}, "empty path segment"),
        ("invoiced", "Expenses/AmazonFees/Commission", "item", "not part of the buyer's invoice"),
        ("charges", "Commission/Tax", {"account": "receivable_clearing"}, "receivable clearing"),
        ("charges", "product charges", {"account": "61000"}, "same path"),
    ],
)
def test_mapping_keys_that_would_misbook_are_refused(
    section: str, key: str, value: Any, message: str
) -> None:
    data = copy.deepcopy(MAPPING)
    data[section][key] = value
    with pytest.raises(MappingError) as caught:
        parse_mapping(data, "charges.toml")
    assert message in str(caught.value)
    assert "charges.toml" in str(caught.value)


def test_mixed_case_status_reads_as_the_enum() -> None:
    for spelling in ("Released", "released", "RELEASED", " Released "):
        txn = normalize_transaction(transaction("T1", "85.00", NESTED, status=spelling))
        assert txn.status is TransactionStatus.RELEASED


def test_null_status_counts_when_only_then_the_group_total_ties() -> None:
    fee = transaction("T2", "-5.00", [node("Expenses", "-5.00", node("Subscription", "-5.00"))])
    statusless = transaction("T1", "85.00", NESTED, status=None)
    released = normalize_settlement(group("80.00"), [statusless, fee])
    assert {t.transaction_id: t.status for t in released.transactions} == {
        "T1": TransactionStatus.RELEASED,
        "T2": TransactionStatus.RELEASED,
    }
    assert released.unreadable == ()
    assert any("read as RELEASED" in note for note in released.notes)

    not_here = normalize_settlement(group("-5.00"), [statusless, fee])
    assert not_here.released_total == D("-5.00")
    assert [t.transaction_id for t in not_here.released] == ["T2"]

    nobody_knows = normalize_settlement(group("12.34"), [statusless, fee])
    assert [(u.amazon_id, u.field) for u in nobody_knows.unreadable] == [
        ("T1", "transactionStatus")
    ]
    del statusless["transactionStatus"]  # absent reads like null
    assert normalize_settlement(group("80.00"), [statusless, fee]).unreadable == ()


def test_a_transfer_with_empty_breakdowns_is_read_by_its_total(
    eu_mapping: ChargeMapping,
) -> None:
    transfer = transaction("T9", "-20.00", [], kind="Transfer")
    txn = normalize_transaction(transfer)
    assert [(leaf.key, leaf.amount) for leaf in txn.leaves] == [("Transfer", D("-20.00"))]
    settlement = normalize_settlement(
        group("65.00"), [transaction("T1", "85.00", NESTED), transfer]
    )
    journal = plan_settlement_journal(settlement, eu_mapping)
    assert isinstance(journal, JournalDoc), journal
    assert lines_by_account(journal)["101.00.12800"] == (D("20.00"), D(0))


def test_breakdowns_given_as_an_object_as_in_the_models_own_example() -> None:
    wrapped = transaction("T1", "85.00", {"breakdowns": NESTED})
    assert (
        normalize_transaction(wrapped).leaves
        == normalize_transaction(transaction("T1", "85.00", NESTED)).leaves
    )


def test_one_bad_transaction_is_held_by_id_and_field_the_rest_is_read() -> None:
    good = transaction("T1", "85.00", NESTED)
    bad = transaction("T2", "1.00", NESTED)
    bad["totalAmount"] = {"currencyCode": EUR, "currencyAmount": "lots"}
    nameless = transaction("T3", "85.00", NESTED)
    nameless["transactionId"] = None
    settlement = normalize_settlement(group("85.00"), [good, bad, nameless])
    assert [t.transaction_id for t in settlement.transactions] == ["T1"]
    assert [(u.amazon_id, u.field) for u in settlement.unreadable] == [
        ("T2", "totalAmount.currencyAmount"),
        ("G1/transactions[2]", "transactionId"),
    ]
    assert all(u.reason for u in settlement.unreadable)


def test_a_settlement_with_an_unreadable_record_waits_and_says_which(
    eu_mapping: ChargeMapping,
) -> None:
    bad = transaction("T2", "1.00", NESTED, status="SOMETIMES")
    settlement = normalize_settlement(group("85.00"), [transaction("T1", "85.00", NESTED), bad])
    held = plan_settlement_journal(settlement, eu_mapping)
    assert isinstance(held, Held)
    assert held.code is HoldCode.UNREADABLE_RECORD
    assert held.details == ("T2",)
    assert "T2" in held.reason


def test_group_status_in_another_case_and_missing_status() -> None:
    assert normalize_settlement(group("85.00", status="CLOSED"), []).status.value == "Closed"
    missing = group("85.00")
    missing["ProcessingStatus"] = None
    with pytest.raises(ValueError, match="ProcessingStatus"):
        normalize_settlement(missing, [])


@pytest.mark.parametrize("posted", ["9999-01-01T00:00:00Z", "1970-01-01T00:00:00Z"])
def test_an_implausible_date_holds_the_transaction_naming_the_field(posted: str) -> None:
    txn = transaction("T1", "85.00", NESTED)
    txn["postedDate"] = posted
    settlement = normalize_settlement(group("85.00"), [txn])
    assert [(u.amazon_id, u.field) for u in settlement.unreadable] == [("T1", "postedDate")]
    assert "outside 1995-2100" in settlement.unreadable[0].reason


@pytest.mark.parametrize("quantity", [-1, 10_000_000])
def test_an_implausible_refund_quantity_is_refused(quantity: int) -> None:
    refund = transaction(
        "R1", "-10.00", [node("Sales", "-10.00", node("ProductCharges", "-10.00"))]
    )
    refund["transactionType"] = "Refund"
    refund["items"] = [
        {
            "totalAmount": money("-10.00"),
            "breakdowns": [node("ProductCharges", "-10.00")],
            "contexts": [
                {"contextType": "ProductContext", "sku": "MUG-01", "quantityShipped": quantity}
            ],
        }
    ]
    with pytest.raises(ValueError, match=r"items\[0\]\.contexts\[0\]\.quantityShipped"):
        normalize_transaction(refund)
    refund["items"][0]["contexts"][0]["quantityShipped"] = 2
    assert normalize_transaction(refund).items[0].quantity == 2
    # The v0 model's own example carries QuantityShipped 0: no unit moved, still readable.
    refund["items"][0]["contexts"][0]["quantityShipped"] = 0
    assert normalize_transaction(refund).items[0].quantity == 0


def test_an_unmapped_piece_is_booked_like_its_node_but_fee_vat_never_like_its_fee() -> None:
    data = copy.deepcopy(MAPPING)
    del data["charges"]["AmazonFees/*/Tax"]
    data["charges"]["AmazonFees"] = {"account": "61900", "label": "Other Amazon fees"}
    mapping = parse_mapping(data, "t.toml")
    sale_tax_piece = mapping.target(("Sales", "Tax", "OurPriceTax"))
    assert sale_tax_piece is not None
    assert sale_tax_piece.invoiced is not None
    new_fee = mapping.target(("Expenses", "AmazonFees", "BrandNewFee", "Base"))
    assert new_fee is not None
    assert new_fee.natural_account == "61900"
    # The VAT on that fee is not the fee: with no key for it, it is held, not booked to 61900.
    assert mapping.target(("Expenses", "AmazonFees", "BrandNewFee", "Tax")) is None
    assert mapping.target(("Expenses", "AmazonFees", "Commission", "Tax", "Detail")) is None


def test_an_open_group_without_its_running_total_is_read_in_its_transactions_currency() -> None:
    still_open = group("0", status="Open")
    del still_open["OriginalTotal"]
    settlement = normalize_settlement(still_open, [transaction("T1", "85.00", NESTED)])
    assert (settlement.currency, settlement.unreadable) == (EUR, ())
    closed = group("85.00")
    del closed["OriginalTotal"]
    with pytest.raises(ValueError, match="OriginalTotal"):
        normalize_settlement(closed, [transaction("T1", "85.00", NESTED)])


def test_an_unmapped_breakdown_names_the_transactions_that_carry_it(
    eu_mapping: ChargeMapping,
) -> None:
    odd = transaction("T7", "-4.00", [node("Expenses", "-4.00", node("MysteryFee", "-4.00"))])
    settlement = normalize_settlement(group("81.00"), [transaction("T1", "85.00", NESTED), odd])
    held = plan_settlement_journal(settlement, eu_mapping)
    assert isinstance(held, Held)
    assert held.details == ("Expenses/MysteryFee",)
    assert "Expenses/MysteryFee (transaction T7)" in held.reason


@pytest.mark.parametrize(
    ("section", "value"),
    [
        ("label", '=HYPERLINK("http://x","fee")'),
        ("label", " +1+1"),
        ("label", "@SUM(A1)"),
        ("ledger", "-2+3"),
    ],
)
def test_formula_looking_text_that_reaches_fbdi_files_is_refused(section: str, value: str) -> None:
    data = copy.deepcopy(MAPPING)
    if section == "label":
        data["charges"]["Commission"]["label"] = value
    else:
        data["journal"]["ledger"] = value
    with pytest.raises(MappingError, match="spreadsheet formula"):
        parse_mapping(data, "charges.toml")


def test_a_transaction_without_marketplace_takes_its_settlements_one_marketplace(
    eu_mapping: ChargeMapping,
) -> None:
    fee = transaction("T2", "-5.00", [node("Expenses", "-5.00", node("Commission", "-5.00"))])
    del fee["marketplaceDetails"]
    settlement = normalize_settlement(group("80.00"), [transaction("T1", "85.00", NESTED), fee])
    journal = plan_settlement_journal(settlement, eu_mapping)
    assert isinstance(journal, JournalDoc), journal
    # Amazon.de's cost center (EU → 20), as the other transaction says: 12.00 + 5.00.
    assert lines_by_account(journal)["101.20.61000"] == (D("17.00"), D(0))
    fee["sellingPartnerMetadata"] = {"marketplaceId": DE}
    assert normalize_transaction(fee).marketplace_id == DE


def test_no_marketplace_anywhere_holds_the_journal_naming_the_transaction(
    eu_mapping: ChargeMapping,
) -> None:
    alone = transaction("T1", "85.00", NESTED)
    del alone["marketplaceDetails"]
    held = plan_settlement_journal(normalize_settlement(group("85.00"), [alone]), eu_mapping)
    assert isinstance(held, Held)
    assert held.code is HoldCode.AMBIGUOUS
    assert "T1" in held.reason
    unknown = transaction("T1", "85.00", NESTED)
    unknown["marketplaceDetails"]["marketplaceId"] = "A0000NOTAMARKET"
    held = plan_settlement_journal(normalize_settlement(group("85.00"), [unknown]), eu_mapping)
    assert isinstance(held, Held)
    assert "T1" in held.reason


def test_a_closed_group_without_its_deposit_date_waits_for_it(eu_mapping: ChargeMapping) -> None:
    undated = group("85.00")
    del undated["FundTransferDate"]
    held = plan_settlement_journal(
        normalize_settlement(undated, [transaction("T1", "85.00", NESTED)]), eu_mapping
    )
    assert isinstance(held, Held)
    assert held.code is HoldCode.AMBIGUOUS
    assert "FundTransferDate" in held.reason


def test_an_unknown_processing_status_is_refused_naming_the_field() -> None:
    odd = group("85.00", status="Reconciling")
    with pytest.raises(ValueError, match="ProcessingStatus") as caught:
        normalize_settlement(odd, [transaction("T1", "85.00", NESTED)])
    assert "Reconciling" in str(caught.value)


def test_a_shallow_node_is_refined_only_from_the_items_same_branch() -> None:
    txn = transaction(
        "T1",
        "90.00",
        [
            node("Sales", "100.00", node("ProductCharges", "100.00")),
            node("Promotions", "-10.00", node("ProductCharges", "-10.00")),
        ],
    )
    txn["items"] = [
        {
            "totalAmount": money("90.00"),
            "breakdowns": [
                node(
                    "Sales",
                    "100.00",
                    node(
                        "ProductCharges",
                        "100.00",
                        node("Principal", "60.00"),
                        node("Other", "40.00"),
                    ),
                ),
                node(
                    "Promotions",
                    "-10.00",
                    node("ProductCharges", "-10.00", node("Coupon", "-10.00")),
                ),
            ],
        }
    ]
    leaves = {leaf.key: leaf.amount for leaf in normalize_transaction(txn).leaves}
    assert leaves == {
        "Sales/ProductCharges/Principal": D("60.00"),
        "Sales/ProductCharges/Other": D("40.00"),
        "Promotions/ProductCharges": D("-10.00"),
    }
