"""The official static sandbox examples parse through the client without losing anything."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from ml_connector.remote.amazon.models.base import Record

from ..conftest import FakeClock
from .fakes import FakeAmazon, make_client


def _examples(models: Path, file: str, path: str, method: str = "get") -> list[dict[str, Any]]:
    spec = json.loads((models / file).read_text(encoding="utf-8"), parse_float=Decimal)
    responses = spec["paths"][path][method]["responses"]
    ok = next(r for code, r in responses.items() if code.startswith("2"))
    examples: list[dict[str, Any]] = ok["x-amzn-api-sandbox"]["static"]
    return examples


def _encode(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()  # Decimal → its exact text


def _as_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def same(a: Any, b: Any, where: str = "$") -> None:
    """Equal as JSON, with numbers compared as Decimal and timestamps as instants."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, bool) or isinstance(b, bool):
        assert a == b, where
    elif isinstance(a, int | Decimal | float) or isinstance(b, int | Decimal | float):
        assert Decimal(str(a)) == Decimal(str(b)), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, str) and isinstance(b, str) and a != b:
        ta, tb = _as_time(a), _as_time(b)
        if ta is not None and tb is not None:
            assert ta == tb, f"{where}: {a!r} != {b!r}"
        else:
            assert Decimal(a) == Decimal(b), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _serve(fake: FakeAmazon, method: str, path: str, body: Any) -> None:
    fake.routes[(method, path)] = lambda request: httpx.Response(200, content=_encode(body))


def _check(records: list[Record[Any]], raws: list[dict[str, Any]]) -> None:
    assert len(records) == len(raws) > 0
    for record, raw in zip(records, raws, strict=True):
        same(record.model.dump(), raw)
        same(record.raw, raw)


def test_search_orders_examples(sp_api_models: Path, clock: FakeClock) -> None:
    for example in _examples(sp_api_models, "orders_2026-01-01.json", "/orders/2026-01-01/orders"):
        fake = FakeAmazon(clock)
        body = dict(example["response"])
        body.pop("pagination", None)  # one page: the example's token would loop to itself
        _serve(fake, "GET", "/eu/orders/2026-01-01/orders", body)
        params = example["request"]["parameters"]
        client = make_client(fake, clock)
        pages = list(
            client.orders.search_pages(
                created_after=datetime.fromisoformat(params["createdAfter"]["value"]),
                marketplace_ids=params["marketplaceIds"]["value"],
                included_data=params["includedData"]["value"],
            )
        )
        _check(pages[0].records, example["response"]["orders"])
        assert pages[0].created_before == example["response"].get("createdBefore")
        sent = fake.requests[0].url.params
        assert sent["includedData"] == ",".join(params["includedData"]["value"])


def test_get_order_examples(sp_api_models: Path, clock: FakeClock) -> None:
    file, path = "orders_2026-01-01.json", "/orders/2026-01-01/orders/{orderId}"
    for example in _examples(sp_api_models, file, path):
        order_id = example["request"]["parameters"]["orderId"]["value"]
        fake = FakeAmazon(clock)
        _serve(fake, "GET", f"/eu/orders/2026-01-01/orders/{order_id}", example["response"])
        record = make_client(fake, clock).orders.get_order(order_id)
        _check([record], [example["response"]["order"]])


def test_list_financial_event_groups_example(sp_api_models: Path, clock: FakeClock) -> None:
    (example,) = _examples(sp_api_models, "financesV0.json", "/finances/v0/financialEventGroups")
    fake = FakeAmazon(clock)
    body = json.loads(_encode(example["response"]))
    body["payload"].pop("NextToken", None)
    _serve(fake, "GET", "/eu/finances/v0/financialEventGroups", body)
    records = list(make_client(fake, clock).finances.list_financial_event_groups())
    _check(records, example["response"]["payload"]["FinancialEventGroupList"])
    amount = records[0].model.original_total
    assert amount is not None
    assert isinstance(amount.currency_amount, Decimal)


@pytest.mark.parametrize(
    ("path", "call"),
    [
        (
            "/finances/v0/financialEventGroups/{eventGroupId}/financialEvents",
            lambda c, p: c.finances.list_financial_events_by_group_id(p["eventGroupId"]["value"]),
        ),
        (
            "/finances/v0/orders/{orderId}/financialEvents",
            lambda c, p: c.finances.list_financial_events_by_order_id(p["orderId"]["value"]),
        ),
        ("/finances/v0/financialEvents", lambda c, p: c.finances.list_financial_events()),
    ],
)
def test_list_financial_events_examples(
    sp_api_models: Path, clock: FakeClock, path: str, call: Any
) -> None:
    (example,) = _examples(sp_api_models, "financesV0.json", path)
    params = example["request"]["parameters"]
    url = path
    for name in ("eventGroupId", "orderId"):
        if name in params:
            url = url.replace("{" + name + "}", params[name]["value"])
    fake = FakeAmazon(clock)
    body = json.loads(_encode(example["response"]))
    body["payload"].pop("NextToken", None)
    _serve(fake, "GET", "/eu" + url, body)
    records = list(call(make_client(fake, clock), params))
    expected = dict(example["response"]["payload"])
    expected.pop("NextToken", None)
    _check(records, [expected])


def test_list_transactions_example(sp_api_models: Path, clock: FakeClock) -> None:
    file, path = "finances_2024-06-19.json", "/finances/2024-06-19/transactions"
    (example,) = _examples(sp_api_models, file, path)
    fake = FakeAmazon(clock)
    body = json.loads(_encode(example["response"]))
    body["payload"].pop("nextToken", None)
    _serve(fake, "GET", "/eu" + path, body)
    after = datetime.fromisoformat("2023-03-07T00:00:00+00:00")
    records = list(make_client(fake, clock).finances.list_transactions(posted_after=after))
    _check(records, example["response"]["payload"]["transactions"])
