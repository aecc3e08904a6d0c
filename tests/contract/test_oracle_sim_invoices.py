"""receivablesInvoices / receivablesCreditMemos on the Oracle simulator, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ml_connector_sim.oracle import RunningSim, running_oracle_sim


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with running_oracle_sim() as running:
        yield running


@pytest.fixture
def client(sim: RunningSim) -> Iterator[httpx.Client]:
    token = httpx.post(
        sim.token_url,
        data={"grant_type": "client_credentials", "scope": "urn:opc:resource:consumer::all"},
        auth=("ml-connector", "secret"),
    ).json()["access_token"]
    with httpx.Client(base_url=sim.rest_url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def invoice(number: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "BusinessUnit": "US1 Business Unit",
        "TransactionSource": "Amazon Orders",
        "TransactionType": "Amazon Invoice",
        "TransactionNumber": number,
        "TransactionDate": "2026-11-03",
        "BillToCustomerNumber": "AMZ-US",
        "CrossReference": number,
        "InvoiceCurrencyCode": "USD",
        "receivablesInvoiceLines": [
            {"LineNumber": 1, "Description": "MUG-01", "Quantity": 2, "UnitSellingPrice": 12.50},
            {"LineNumber": 2, "Description": "Shipping", "Quantity": 1, "UnitSellingPrice": 4.99},
            {"LineNumber": 3, "Description": "Promotion", "LineAmount": -2.00},
        ],
        "receivablesInvoiceDistributions": [
            {
                "AccountClass": "Revenue",
                "InvoiceLineNumber": 1,
                "AccountCombination": "101.10.40100",
                "Amount": 25.00,
            },
            {"AccountClass": "Receivable", "AccountCombination": "101.00.12100", "Amount": 27.99},
        ],
        "receivablesInvoiceDFF": [{"__FLEX_Context": "AMAZON", "orderId": number}],
    }
    body.update(changes)
    return body


def test_deep_create_returns_201_with_location_etag_and_totals(client: httpx.Client) -> None:
    response = client.post("/receivablesInvoices", json=invoice("111-0000001-0000001"))
    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"].endswith(
        f"/receivablesInvoices/{body['CustomerTransactionId']}"
    )
    assert response.headers["ETag"]
    assert body["TransactionNumber"] == "111-0000001-0000001"
    assert body["EnteredAmount"] == pytest.approx(27.99)
    assert body["BillToSite"] == "AMZ-US-BILL"
    assert len(body["receivablesInvoiceLines"]) == 3
    assert body["receivablesInvoiceDFF"][0]["orderId"] == "111-0000001-0000001"
    again = client.get(f"/receivablesInvoices/{body['CustomerTransactionId']}")
    assert again.status_code == 200
    assert again.json()["CrossReference"] == "111-0000001-0000001"


def test_duplicate_manual_number_is_rejected_and_not_stored(
    client: httpx.Client, sim: RunningSim
) -> None:
    assert (
        client.post("/receivablesInvoices", json=invoice("111-0000002-0000001")).status_code == 201
    )
    before = len(sim.state.invoices)
    second = client.post("/receivablesInvoices", json=invoice("111-0000002-0000001"))
    assert second.status_code == 400
    assert "already exists" in second.text
    assert len(sim.state.invoices) == before


def test_automatic_source_numbers_and_refuses_a_supplied_number(client: httpx.Client) -> None:
    body = invoice("", TransactionSource="Manual Invoices")
    del body["TransactionNumber"]
    first = client.post("/receivablesInvoices", json=body).json()["TransactionNumber"]
    second = client.post("/receivablesInvoices", json=body).json()["TransactionNumber"]
    assert int(second) == int(first) + 1
    refused = client.post(
        "/receivablesInvoices", json=invoice("X-1", TransactionSource="Manual Invoices")
    )
    assert refused.status_code == 400
    assert "manual transaction numbering" in refused.text


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"BusinessUnit": "Nope BU"}, "The business unit you entered doesn't exist."),
        ({"TransactionSource": "Nope"}, "The transaction source you entered doesn't exist."),
        ({"TransactionType": "Amazon Credit Memo"}, "isn't of class INV"),
        ({"BillToCustomerNumber": "AMZ-XX"}, "didn't return a bill-to customer"),
        ({"BillToSite": "AMZ-DE-BILL"}, "bill-to site you entered doesn't exist"),
        ({"InvoiceCurrencyCode": "EUR"}, "You can only create an invoice in the ledger currency"),
        ({"InvoiceStatus": "Incomplete"}, "AR-857798"),
        ({"TransactionDate": "2023-06-01"}, "isn't in an open accounting period"),
        (
            {
                "receivablesInvoiceDistributions": [
                    {
                        "AccountClass": "Revenue",
                        "InvoiceLineNumber": 1,
                        "AccountCombination": "101.10.99999",
                        "Amount": 25,
                    }
                ]
            },
            "101.10.99999",
        ),
    ],
)
def test_validation_failures_come_back_as_oracle_text(
    client: httpx.Client, changes: dict[str, Any], text: str
) -> None:
    response = client.post("/receivablesInvoices", json=invoice("VAL-1", **changes))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert text in response.text


def test_framework_version_4_errors_are_json_error_details(client: httpx.Client) -> None:
    response = client.post(
        "/receivablesInvoices",
        json=invoice("VAL-2", BusinessUnit="Nope"),
        headers={"REST-Framework-Version": "4"},
    )
    assert response.status_code == 400
    detail = response.json()["o:errorDetails"][0]
    assert detail["o:errorCode"] == "AR_BU_NOT_FOUND"


def test_foreign_currency_needs_conversion_data(client: httpx.Client) -> None:
    user_without_rate = invoice(
        "FX-1", InvoiceCurrencyCode="EUR", ConversionRateType="User", ConversionDate="2026-11-03"
    )
    assert client.post("/receivablesInvoices", json=user_without_rate).status_code == 400
    ok = client.post("/receivablesInvoices", json={**user_without_rate, "ConversionRate": 1.08})
    assert ok.status_code == 201
    assert ok.json()["ConversionRate"] == pytest.approx(1.08)


def test_finder_q_and_paging_envelope(client: httpx.Client) -> None:
    for n in range(3):
        client.post("/receivablesInvoices", json=invoice(f"PAGE-{n}", CrossReference="PAGED"))
    page = client.get(
        "/receivablesInvoices",
        params={"q": "CrossReference=PAGED", "limit": 2, "totalResults": "true"},
    ).json()
    assert (page["count"], page["hasMore"], page["totalResults"], page["limit"]) == (2, True, 3, 2)
    rest = client.get(
        "/receivablesInvoices", params={"q": "CrossReference = 'PAGED'", "limit": 2, "offset": 2}
    ).json()
    assert (rest["count"], rest["hasMore"]) == (1, False)
    found = client.get(
        "/receivablesInvoices",
        params={"finder": "invoiceSearch;TransactionNumber=PAGE-1,BusinessUnit=US1 Business Unit"},
    ).json()
    assert [i["TransactionNumber"] for i in found["items"]] == ["PAGE-1"]
    bad = client.get("/receivablesInvoices", params={"q": "Nonsense=1"})
    assert bad.status_code == 400


def test_latest_alias_serves_the_same_resource(client: httpx.Client, sim: RunningSim) -> None:
    url = sim.rest_url.replace("11.13.18.05", "latest") + "/receivablesInvoices"
    response = client.get(url, params={"q": "TransactionNumber=111-0000001-0000001"})
    assert response.status_code == 200


def test_patch_is_limited_to_allowed_header_fields(client: httpx.Client) -> None:
    created = client.post("/receivablesInvoices", json=invoice("PATCH-1"))
    href = f"/receivablesInvoices/{created.json()['CustomerTransactionId']}"
    refused = client.patch(href, json={"CrossReference": "changed"})
    assert refused.status_code == 400
    ok = client.patch(href, json={"InvoiceStatus": "Incomplete"})
    assert ok.status_code == 200
    stale = client.patch(
        href, json={"InvoiceStatus": "Complete"}, headers={"If-Match": created.headers["ETag"]}
    )
    assert stale.status_code == 412
    assert client.get(href).json()["CrossReference"] == "PATCH-1"


def test_on_account_credit_memo_has_negative_amount(client: httpx.Client) -> None:
    body = {
        "BusinessUnit": "US1 Business Unit",
        "TransactionSource": "Amazon Orders",
        "TransactionType": "Amazon Credit Memo",
        "TransactionNumber": "CM-111-0000001",
        "BillToCustomerNumber": "AMZ-US",
        "CreditMemoCurrency": "USD",
        "TransactionDate": "2026-11-05",
        "receivablesCreditMemoLines": [
            {
                "LineNumber": 1,
                "LineDescription": "MUG-01",
                "LineQuantityCredit": 1,
                "UnitSellingPrice": -12.50,
            }
        ],
    }
    response = client.post("/receivablesCreditMemos", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["EnteredAmount"] == pytest.approx(-12.50)
    positive = {
        **body,
        "TransactionNumber": "CM-2",
        "receivablesCreditMemoLines": [
            {
                "LineNumber": 1,
                "LineDescription": "x",
                "LineQuantityCredit": 1,
                "UnitSellingPrice": 5,
            }
        ],
    }
    assert client.post("/receivablesCreditMemos", json=positive).status_code == 400


def test_missing_or_bad_token_is_401(sim: RunningSim) -> None:
    url = sim.rest_url + "/receivablesInvoices"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
