"""The Scope 7 fixtures (tests/fixtures/amazon) through the real client and normalize path.

Each fixture is served over an httpx MockTransport to `SpApiClient` (LWA token call included),
read by the operation the connector uses, then normalized; the settlement fixtures are also
planned into a journal with the example mapping, so the accounts are the ones a seller gets.
Every expected figure is written out by hand from the fixture.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.documents import InvoiceDoc, JournalDoc
from ml_connector.domain.orders import FulfillmentChannel, OrderState
from ml_connector.domain.settlements import GroupStatus, Settlement, TransactionStatus
from ml_connector.flow.accounting.invoices import plan_invoice
from ml_connector.flow.accounting.journals import plan_settlement_journal
from ml_connector.flow.mapping import Catalog, ChargeMapping, load_catalog, load_mapping
from ml_connector.flow.normalize import (
    NormalizeError,
    normalize_order,
    normalize_settlement,
    normalize_transaction,
)
from ml_connector.remote.amazon.auth import LwaCredentials
from ml_connector.remote.amazon.client import SpApiClient
from ml_connector.remote.amazon.models.orders import FulfilledBy, FulfillmentStatus

D = Decimal
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amazon"
EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "ml_connector" / "examples"
GROUP = "FIXGROUP-0001"
TOKEN_URL = "https://lwa.fixture.test/auth/o2/token"
BASE_URL = "https://sellingpartnerapi-eu.fixture.test"
JOURNAL_DAY = date(2026, 2, 20)


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return body


@dataclass
class Served:
    """Answers the LWA token call and every SP-API path with one fixture body."""

    bodies: dict[str, bytes]
    seen: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if str(request.url) == TOKEN_URL:
            return httpx.Response(200, json={"access_token": "Atza|fixture", "expires_in": 3600})
        body = self.bodies.get(request.url.path)
        if body is None:
            return httpx.Response(404, json={"errors": [{"code": "NotFound", "message": "x"}]})
        headers = {"content-type": "application/json", "x-amzn-RequestId": "fixture-request"}
        return httpx.Response(200, content=body, headers=headers)


@pytest.fixture
def serve() -> Iterator[Any]:
    clients: list[SpApiClient] = []

    def make(bodies: dict[str, str]) -> tuple[SpApiClient, Served]:
        served = Served({path: (FIXTURES / name).read_bytes() for path, name in bodies.items()})
        client = SpApiClient(
            seller_id="A3FIXTURESELLER",
            region="EU",
            credentials=LwaCredentials("amzn1.application-oa2-client.fx", "secret", "Atzr|fx"),
            base_url=BASE_URL,
            lwa_url=TOKEN_URL,
            http=httpx.Client(transport=httpx.MockTransport(served)),
        )
        clients.append(client)
        return client, served

    yield make
    for client in clients:
        client.http.close()


@pytest.fixture(scope="module")
def mapping() -> ChargeMapping:
    return load_mapping(EXAMPLES / "charges.toml")


@pytest.fixture(scope="module")
def catalog(mapping: ChargeMapping) -> Catalog:
    return load_catalog(EXAMPLES / "catalog.csv", mapping.chart)


TRANSACTIONS = "/finances/2024-06-19/transactions"
GROUPS = "/finances/v0/financialEventGroups"
ORDERS = "/orders/2026-01-01/orders"


def transactions(serve: Any, name: str) -> list[dict[str, Any]]:
    """The raw records `listTransactions` returns for the group, as the client yields them."""
    client, served = serve({TRANSACTIONS: name})
    records = list(client.finances.list_transactions(group_id=GROUP))
    (call,) = [r for r in served.seen if r.url.path == TRANSACTIONS]
    assert call.url.params["relatedIdentifierName"] == "FINANCIAL_EVENT_GROUP_ID"
    assert call.url.params["relatedIdentifierValue"] == GROUP
    for record in records:
        # The typed view must take every real shape, or the record reads as unreadable.
        assert getattr(record, "problem", None) is None, record.raw["transactionId"]
        assert record.model.transaction_id == record.raw["transactionId"]
    return [record.raw for record in records]


def group(serve: Any, total: str, currency: str) -> dict[str, Any]:
    """The minimal v0 group fixture as the client reads it, with this settlement's total."""
    client, _ = serve({GROUPS: "settlement_group_v0_minimal.json"})
    (record,) = list(client.finances.list_financial_event_groups())
    raw: dict[str, Any] = copy.deepcopy(record.raw)
    raw["OriginalTotal"] = {"CurrencyCode": currency, "CurrencyAmount": D(total)}
    return raw


def leaves(settlement_or_txn: Any) -> dict[str, Decimal]:
    txns = getattr(settlement_or_txn, "transactions", (settlement_or_txn,))
    return {leaf.key: leaf.amount for txn in txns for leaf in txn.leaves}


def natural(account: AccountCombination) -> str:
    return dict(account.segments)["account"]


def journal_lines(journal: JournalDoc) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(natural account, description) → (debit, credit)."""
    out: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for line in journal.lines:
        key = (natural(line.account), line.description)
        dr, cr = out.get(key, (D(0), D(0)))
        out[key] = (dr + line.entered_dr, cr + line.entered_cr)
    return out


def journal(settlement: Settlement, mapping: ChargeMapping) -> JournalDoc:
    planned = plan_settlement_journal(settlement, mapping, accounting_date=JOURNAL_DAY)
    assert isinstance(planned, JournalDoc), planned
    assert planned.total_dr == planned.total_cr
    return planned


def account_of(mapping: ChargeMapping, path: tuple[str, ...]) -> str:
    target = mapping.target(path)
    assert target is not None, f"the example mapping does not map {'/'.join(path)}"
    if target.invoiced is not None:
        return "receivable_clearing"
    return target.natural_account


# -- Finances 2024-06-19 transactions ----------------------------------------------------------


def test_null_status_counts_only_when_the_group_total_says_so(serve: Any) -> None:
    raws = transactions(serve, "transactions_status_null.json")
    assert [r["transactionStatus"] for r in raws] == ["RELEASED", None]
    fee = normalize_transaction(raws[1])
    assert fee.status is None
    assert (fee.total, fee.currency, fee.transaction_type) == (D("-4.99"), "SEK", "ServiceFee")
    assert fee.posted_date == datetime(2026, 2, 4, tzinfo=UTC)
    assert leaves(fee) == {"Expenses/Subscription": D("-4.99")}

    # 20.00 - 4.99: the group ties only with the status-less fee counted → RELEASED.
    counted = normalize_settlement(group(serve, "15.01", "SEK"), raws)
    assert [t.status for t in counted.transactions] == [TransactionStatus.RELEASED] * 2
    assert counted.released_total == D("15.01")
    assert counted.unreadable == ()
    assert any("FIXTXN-NULL-FEE-0002" in note for note in counted.notes)

    # The group ties without it → it is not money of this settlement.
    apart = normalize_settlement(group(serve, "20.00", "SEK"), raws)
    assert [t.transaction_id for t in apart.released] == ["FIXTXN-NULL-SHIP-0001"]
    assert apart.released_total == D("20.00")

    # Neither ties → nobody can tell: held for review, naming the record and the field.
    unclear = normalize_settlement(group(serve, "99.00", "SEK"), raws)
    (held,) = unclear.unreadable
    assert (held.amazon_id, held.field) == ("FIXTXN-NULL-FEE-0002", "transactionStatus")


def test_released_in_the_models_own_spelling_counts(serve: Any, mapping: ChargeMapping) -> None:
    raws = transactions(serve, "transactions_status_mixed_case.json")
    txn = normalize_transaction(raws[0])
    assert txn.status is TransactionStatus.RELEASED
    assert (txn.total, txn.currency) == (D("25.50"), "USD")
    assert txn.posted_date == datetime(2026, 2, 5, 14, 30, tzinfo=UTC)
    assert txn.order_id == "111-0000000-0000003"
    # Transaction-level leaves only: the item repeats the same money and is kept apart.
    assert leaves(txn) == {"Sales/Principal": D("30.00"), "Expenses/Commission": D("-4.50")}
    (item,) = txn.items
    assert (item.sku, item.quantity, item.fulfillment_network) == ("MUG-01", 1, "AFN")
    assert {leaf.key: leaf.amount for leaf in item.leaves} == leaves(txn)

    settlement = normalize_settlement(group(serve, "25.50", "USD"), raws)
    assert settlement.released_total == D("25.50")
    assert account_of(mapping, ("Sales", "Principal")) == "receivable_clearing"
    assert account_of(mapping, ("Expenses", "Commission")) == "61000"
    lines = journal_lines(journal(settlement, mapping))
    assert lines[("12500", "Order proceeds settled")] == (D("0"), D("30.00"))
    assert lines[("61000", "Amazon commission")] == (D("4.50"), D("0"))
    assert lines[("10500", f"Net payout, settlement {GROUP}")] == (D("25.50"), D("0"))


def test_nested_tree_books_fee_vat_on_input_vat(serve: Any, mapping: ChargeMapping) -> None:
    raws = transactions(serve, "transactions_nested_fee_vat.json")
    txn = normalize_transaction(raws[0])
    assert leaves(txn) == {
        "Sales/ProductCharges": D("100.00"),
        "Expenses/AmazonFees/Commission/Base": D("-12.00"),
        "Expenses/AmazonFees/Commission/Tax": D("-3.00"),
    }
    assert [leaf.path for leaf in txn.leaves][1] == ("Expenses", "AmazonFees", "Commission", "Base")
    assert (txn.total, txn.currency, txn.marketplace_id) == (D("85.00"), "EUR", "A1PA6795UKMFR9")
    assert txn.posted_date == datetime(2026, 2, 6, 7, 45, tzinfo=UTC)
    (item,) = txn.items
    assert (item.sku, item.asin, item.quantity) == ("MUG-01", "B000FIXT01", 2)

    settlement = normalize_settlement(group(serve, "85.00", "EUR"), raws)
    assert settlement.status is GroupStatus.CLOSED
    assert settlement.settlement_id == "24000000001"
    input_vat = mapping.file.accounts.input_vat
    assert input_vat, "the example mapping names no [accounts] input_vat"
    assert account_of(mapping, ("Sales", "ProductCharges")) == "receivable_clearing"
    assert account_of(mapping, ("Expenses", "AmazonFees", "Commission", "Base")) == "61000"
    assert account_of(mapping, ("Expenses", "AmazonFees", "Commission", "Tax")) == input_vat
    # The sale's tax and the fee's VAT never meet: a bare `Tax` is the sale's.
    assert account_of(mapping, ("Sales", "Tax")) == "receivable_clearing"

    lines = journal_lines(journal(settlement, mapping))
    expense = [(k, v) for k, v in lines.items() if k[0] == "61000"]
    vat = [(k, v) for k, v in lines.items() if k[0] == input_vat]
    assert [v for _, v in expense] == [(D("12.00"), D("0"))]  # commission net of VAT
    assert [v for _, v in vat] == [(D("3.00"), D("0"))]  # input VAT, recoverable
    assert lines[("12500", "Order proceeds settled")] == (D("0"), D("100.00"))
    assert sum(dr for dr, _ in lines.values()) == D("100.00")


def test_a_transfer_with_empty_breakdowns_is_read_by_its_total(
    serve: Any, mapping: ChargeMapping
) -> None:
    raws = transactions(serve, "transactions_transfer_empty_breakdowns.json")
    assert raws[0]["breakdowns"] == []
    txn = normalize_transaction(raws[0])
    assert [(leaf.path, leaf.amount) for leaf in txn.leaves] == [(("Transfer",), D("-40.00"))]
    assert (txn.total, txn.currency, txn.items) == (D("-40.00"), "GBP", ())
    assert txn.posted_date == datetime(2026, 2, 14, 3, tzinfo=UTC)
    settlement = normalize_settlement(group(serve, "-40.00", "GBP"), raws)
    assert settlement.released_total == D("-40.00")
    assert settlement.unreadable == ()
    lines = journal_lines(journal(settlement, mapping))
    assert lines[("12800", "Balance moved between Amazon accounts")] == (D("40.00"), D("0"))
    assert lines[("10500", f"Net payout, settlement {GROUP}")] == (D("0"), D("40.00"))


def test_transaction_breakdowns_given_as_an_object_read_like_the_list(
    serve: Any, mapping: ChargeMapping
) -> None:
    raws = transactions(serve, "transactions_breakdowns_object.json")
    assert isinstance(raws[0]["breakdowns"], dict)
    txn = normalize_transaction(raws[0])
    assert leaves(txn) == {
        "Sales/Product Charges/Principal": D("18.00"),
        "Expenses/Amazon Fees/Commission": D("-2.70"),
    }
    assert txn.total == D("15.30")
    assert txn.posted_date == datetime(2026, 2, 7, 18, 20, 0, 500000, tzinfo=UTC)
    (item,) = txn.items
    assert {leaf.key: leaf.amount for leaf in item.leaves} == {
        "Product Charges/Principal": D("18.00"),
        "Amazon Fees/Commission": D("-2.70"),
    }
    assert (item.sku, item.fulfillment_network, item.order_adjustment_item_id) == (
        "MUG-01", "MFN", "FIXADJ-0005",
    )  # fmt: skip
    settlement = normalize_settlement(group(serve, "15.30", "USD"), raws)
    lines = journal_lines(journal(settlement, mapping))
    assert lines[("12500", "Order proceeds settled")] == (D("0"), D("18.00"))
    assert lines[("61000", "Amazon commission")] == (D("2.70"), D("0"))


def test_a_transaction_without_settlement_id_keeps_the_group_id(
    serve: Any, mapping: ChargeMapping
) -> None:
    raws = transactions(serve, "transactions_without_settlement_id.json")
    names = [r["relatedIdentifierName"] for r in raws[0]["relatedIdentifiers"]]
    assert "SETTLEMENT_ID" not in names
    txn = normalize_transaction(raws[0])
    assert (txn.refund_id, txn.order_id) == ("FIXREFUND-0006", "403-0000000-0000006")
    # No transaction-level breakdowns: the item's leaves are the transaction's.
    assert leaves(txn) == {
        "Sales/ProductCharges": D("-20.00"),
        "Sales/Tax": D("-4.00"),
        "Expenses/AmazonFees/Commission/Base": D("2.50"),
        "Expenses/AmazonFees/Commission/Tax": D("0.50"),
        "Expenses/AmazonFees/RefundCommission/Base": D("-0.25"),
        "Expenses/AmazonFees/RefundCommission/Tax": D("-0.05"),
    }
    assert (txn.total, txn.currency) == (D("-21.30"), "EUR")
    settlement = normalize_settlement(group(serve, "-21.30", "EUR"), raws)
    assert settlement.settlement_id == GROUP  # linked to its report by period, not by id
    input_vat = mapping.file.accounts.input_vat
    assert account_of(mapping, ("Sales", "Tax")) == "receivable_clearing"
    refund_base = ("Expenses", "AmazonFees", "RefundCommission", "Base")
    assert account_of(mapping, refund_base) == "61600"
    assert account_of(mapping, ("Expenses", "AmazonFees", "RefundCommission", "Tax")) == input_vat
    lines = journal_lines(journal(settlement, mapping))
    vat = {k: v for k, v in lines.items() if k[0] == input_vat}
    assert sum(cr - dr for dr, cr in vat.values()) == D("0.45")  # 0.50 refunded - 0.05 charged
    assert lines[("12500", "Order proceeds settled")] == (D("24.00"), D("0"))


def test_a_shallow_transaction_tree_is_read_from_the_items_deeper_one(
    serve: Any, mapping: ChargeMapping
) -> None:
    raws = transactions(serve, "transactions_shallow_top_deep_items.json")
    txn = normalize_transaction(raws[0])
    assert txn.total == D("104.00")
    assert sum(leaf.amount for leaf in txn.leaves) == D("104.00")
    fees = {leaf.path[-2:]: leaf for leaf in txn.leaves if "AmazonFees" in leaf.path}
    assert set(fees) == {("Commission", "Base"), ("Commission", "Tax")}
    assert fees["Commission", "Base"].amount == D("-12.00")
    assert fees["Commission", "Tax"].amount == D("-3.00")
    assert account_of(mapping, fees["Commission", "Base"].path) == "61000"
    assert account_of(mapping, fees["Commission", "Tax"].path) == mapping.file.accounts.input_vat


def test_item_level_names_of_a_real_tree_are_all_booked(serve: Any, mapping: ChargeMapping) -> None:
    raws = transactions(serve, "transactions_item_level_tax_split.json")
    settlement = normalize_settlement(group(serve, "220.00", "SEK"), raws)
    assert settlement.released_total == D("220.00")
    lines = journal_lines(journal(settlement, mapping))
    input_vat = mapping.file.accounts.input_vat
    assert lines[("12500", "Order proceeds settled")] == (D("0"), D("300.00"))  # 200 + 50 + 50
    assert sum(dr for (acct, _), (dr, _) in lines.items() if acct == input_vat) == D("10.00")
    assert sum(dr for (acct, _), (dr, _) in lines.items() if acct == "61000") == D("30.00")
    assert sum(dr for (acct, _), (dr, _) in lines.items() if acct == "61100") == D("40.00")


# -- Finances v0 settlement group --------------------------------------------------------------


def test_a_minimal_group_is_read(serve: Any) -> None:
    client, _ = serve({GROUPS: "settlement_group_v0_minimal.json"})
    (record,) = list(client.finances.list_financial_event_groups())
    assert record.model.financial_event_group_id == GROUP
    assert record.model.financial_event_group_start is None
    settlement = normalize_settlement(record.raw, [])
    assert (settlement.group_id, settlement.settlement_id) == (GROUP, GROUP)
    assert settlement.status is GroupStatus.CLOSED
    assert (settlement.total, settlement.currency) == (D("85.00"), "EUR")
    assert (settlement.start, settlement.end, settlement.fund_transfer_date) == (None, None, None)
    lower = copy.deepcopy(record.raw)
    lower["ProcessingStatus"] = "closed"
    assert normalize_settlement(lower, []).status is GroupStatus.CLOSED


# -- Orders 2026-01-01 -------------------------------------------------------------------------


def test_an_order_with_only_required_fields_is_read_or_held_naming_the_field(
    serve: Any,
) -> None:
    client, _ = serve({ORDERS: "orders_required_fields_only.json"})
    start = datetime(2026, 2, 1, tzinfo=UTC)
    (record,) = list(client.orders.search_orders(last_updated_after=start))
    assert record.model.fulfillment is None
    assert record.model.order_items[0].product.seller_sku is None
    with pytest.raises(NormalizeError) as info:
        normalize_order(record.raw, path=f"order {record.model.order_id}")
    assert info.value.path == "order 111-0000000-0000007.fulfillment"
    # With the status Amazon gives a new order, everything else may stay absent.
    pending = copy.deepcopy(record.raw)
    pending["fulfillment"] = {"fulfillmentStatus": "PENDING"}
    order = normalize_order(pending)
    assert order.state is OrderState.OPEN
    assert order.purchase_date == datetime(2026, 2, 1, 16, tzinfo=UTC)
    assert order.last_updated == datetime(2026, 2, 1, 16, 4, 30, tzinfo=UTC)
    assert (order.currency, order.marketplace_id, order.grand_total) == ("", "", D("0"))
    assert [(line.sku, line.quantity) for line in order.lines] == [("", 1)]


def test_an_order_with_mixed_case_enums_is_read_and_invoiced(
    serve: Any, mapping: ChargeMapping, catalog: Catalog
) -> None:
    client, _ = serve({ORDERS: "orders_mixed_case_enums.json"})
    start = datetime(2026, 2, 1, tzinfo=UTC)
    (record,) = list(client.orders.search_orders(last_updated_after=start))
    fulfillment = record.model.fulfillment
    assert fulfillment is not None
    assert fulfillment.fulfillment_status is FulfillmentStatus.SHIPPED
    assert fulfillment.fulfilled_by is FulfilledBy.MERCHANT
    assert record.raw["fulfillment"]["fulfillmentStatus"] == "Shipped"  # stored as sent

    order = normalize_order(record.raw)
    assert (order.state, order.fulfillment_channel) == (OrderState.SHIPPED, FulfillmentChannel.MFN)
    assert (order.currency, order.marketplace_id) == ("EUR", "A1PA6795UKMFR9")
    assert order.ship_date == datetime(2026, 2, 3, 10, 30, tzinfo=UTC)
    assert order.last_updated == datetime(2026, 2, 3, 11, tzinfo=UTC)  # +01:00 read as UTC
    (line,) = order.lines
    assert (line.sku, line.quantity) == ("MUG-01", 2)  # "2" on the wire
    assert (line.principal, line.shipping) == (D("40.00"), D("5.00"))
    assert (line.promotion_principal, line.promotion_shipping) == (D("-4.00"), D("-1.95"))
    assert (line.facilitator_tax, line.seller_tax) == (D("8.55"), D("0"))
    assert order.grand_total == D("47.60")

    invoice = plan_invoice(order, catalog, mapping)
    assert isinstance(invoice, InvoiceDoc), invoice
    by_account = {natural(line.account): line.amount for line in invoice.lines}
    assert by_account == {
        "40100": D("40.00"),
        "40200": D("5.00"),
        "40900": D("-5.95"),
        "21500": D("8.55"),
    }


# -- the fixtures against the official models --------------------------------------------------

# What each fixture sends on purpose that the official schema does not allow (the real shapes
# this issue is about); anything else failing validation is a mistake in the fixture.
DEVIATIONS: dict[str, tuple[str, str, set[str]]] = {
    "transactions_status_null.json": (
        "finances_2024-06-19.json", "ListTransactionsResponse",
        {"payload/transactions/1/transactionStatus"},
    ),
    "transactions_status_mixed_case.json": (
        "finances_2024-06-19.json", "ListTransactionsResponse", set(),
    ),
    "transactions_nested_fee_vat.json": (
        "finances_2024-06-19.json", "ListTransactionsResponse", set(),
    ),
    "transactions_transfer_empty_breakdowns.json": (
        "finances_2024-06-19.json", "ListTransactionsResponse", set(),
    ),
    "transactions_breakdowns_object.json": (
        "finances_2024-06-19.json", "ListTransactionsResponse",
        {"payload/transactions/0/breakdowns"},
    ),
    "transactions_without_settlement_id.json": (
        "finances_2024-06-19.json", "ListTransactionsResponse", set(),
    ),
    "transactions_shallow_top_deep_items.json": (
        "finances_2024-06-19.json", "ListTransactionsResponse",
        {
            "payload/transactions/0/breakdowns/0/breakdowns/0/breakdowns",
            "payload/transactions/0/breakdowns/0/breakdowns/1/breakdowns",
            "payload/transactions/0/breakdowns/1/breakdowns/0/breakdowns",
            "payload/transactions/0/contexts",
        },
    ),
    "transactions_item_level_tax_split.json": (
        "finances_2024-06-19.json", "ListTransactionsResponse",
        {
            "payload/transactions/0/breakdowns/0/breakdowns/0/breakdowns",
            "payload/transactions/0/breakdowns/0/breakdowns/1/breakdowns",
            "payload/transactions/0/breakdowns/0/breakdowns/2/breakdowns",
            "payload/transactions/0/breakdowns/1/breakdowns/0/breakdowns",
            "payload/transactions/0/contexts",
        },
    ),
    "orders_required_fields_only.json": ("orders_2026-01-01.json", "SearchOrdersResponse", set()),
    "orders_mixed_case_enums.json": (
        "orders_2026-01-01.json", "SearchOrdersResponse",
        {
            "orders/0/fulfillment/fulfillmentStatus",
            "orders/0/orderItems/0/quantityOrdered",
            "orders/0/packages/0/packageStatus/status",
        },
    ),
    "settlement_group_v0_minimal.json": (
        "financesV0.json", "ListFinancialEventGroupsResponse", set(),
    ),
}  # fmt: skip


def test_every_fixture_is_listed() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.json")) == sorted(DEVIATIONS)


@pytest.mark.parametrize("name", sorted(DEVIATIONS))
def test_fixtures_follow_the_official_models_but_for_their_point(
    sp_api_models: Path, name: str
) -> None:
    model_file, definition, expected = DEVIATIONS[name]
    spec = json.loads((sp_api_models / model_file).read_text(encoding="utf-8"))
    schema = {"definitions": spec["definitions"], "$ref": f"#/definitions/{definition}"}
    errors = jsonschema.Draft4Validator(schema).iter_errors(fixture(name))
    found = {"/".join(str(p) for p in error.absolute_path) for error in errors}
    assert found == expected
