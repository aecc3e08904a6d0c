"""Orders 2026-01-01 read per the official model: what it requires, enums in any case, numbers
as strings, optional objects absent. Every unknown enum value names its field."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ml_connector.domain.orders import FulfillmentChannel, OrderState
from ml_connector.flow.normalize import NormalizeError, normalize_order
from ml_connector.remote.amazon.models.orders import (
    FulfilledBy,
    FulfillmentStatus,
    Order,
    OrderFulfillment,
)

D = Decimal


def _required(definition: str, models: Path) -> list[str]:
    spec = json.loads((models / "orders_2026-01-01.json").read_text(encoding="utf-8"))
    required: list[str] = spec["definitions"][definition].get("required", [])
    return required


def _taxed(shapes: Any) -> dict[str, Any]:
    """A shipped order: one item with principal, shipping, tax (split by subtype), a promotion."""
    item = shapes.item("MUG-01", 2, "20.00", shipping="4.00")
    item["proceeds"]["breakdowns"] += [
        {
            "type": "TAX",
            "subtotal": shapes.money("2.40"),
            "detailedBreakdowns": [
                {"subtype": "ITEM", "value": shapes.money("2.00")},
                {"subtype": "SHIPPING", "value": shapes.money("0.40")},
            ],
        },
        {
            "type": "DISCOUNT",
            "subtotal": shapes.money("-1.00"),
            "detailedBreakdowns": [{"subtype": "SHIPPING", "value": shapes.money("-1.00")}],
        },
    ]
    item["proceeds"]["proceedsTotal"] = shapes.money("25.40")
    order: dict[str, Any] = shapes.order("111-0000000-0000001", [item])
    order["proceeds"]["breakdowns"] = [{"type": "ITEM", "subtotal": shapes.money("20.00")}]
    return order


def _minimal(status: str | None = "PENDING") -> dict[str, Any]:
    """Only what the model requires of an Order and its items (plus a fulfillment status)."""
    order: dict[str, Any] = {
        "orderId": "111-0000000-0000002",
        "createdTime": "2026-03-01T10:00:00Z",
        "lastUpdatedTime": "2026-03-01T10:05:00Z",
        "salesChannel": {"channelName": "AMAZON"},
        "orderItems": [{"orderItemId": "1", "quantityOrdered": 1, "product": {}}],
    }
    if status is not None:
        order["fulfillment"] = {"fulfillmentStatus": status}
    return order


# -- only what the model requires --------------------------------------------------------------


def test_minimal_fixture_carries_exactly_what_the_model_requires(sp_api_models: Path) -> None:
    order = _minimal(status=None)
    assert sorted(order) == sorted(_required("Order", sp_api_models))
    assert sorted(order["orderItems"][0]) == sorted(_required("OrderItem", sp_api_models))
    assert sorted(order["salesChannel"]) == sorted(_required("SalesChannel", sp_api_models))
    assert _required("ItemProduct", sp_api_models) == []
    assert _required("OrderFulfillment", sp_api_models) == ["fulfillmentStatus"]


def test_an_order_with_only_required_fields_is_read() -> None:
    order = normalize_order(_minimal())
    assert order.state is OrderState.OPEN
    assert (order.marketplace_id, order.currency, order.grand_total) == ("", "", D("0"))
    assert order.fulfillment_channel is None
    (line,) = order.lines
    assert (line.sku, line.asin, line.title, line.quantity) == ("", None, None, 1)
    assert line.total == D("0")
    assert order.purchase_date.isoformat() == "2026-03-01T10:00:00+00:00"


def test_the_typed_view_needs_only_required_fields() -> None:
    model = Order.model_validate(_minimal(status=None))
    assert model.fulfillment is None
    assert model.order_items[0].product.seller_sku is None


def test_without_fulfillment_the_order_goes_to_review_naming_it() -> None:
    with pytest.raises(NormalizeError) as info:
        normalize_order(_minimal(status=None), path="order X")
    assert info.value.path == "order X.fulfillment"
    assert "whether the order shipped" in info.value.message


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [
        (
            lambda o: o["orderItems"][0]["product"].pop("sellerSku"),
            "orderItems[0].product.sellerSku",
            "revenue account comes from the SKU",
        ),
        (
            lambda o: o["orderItems"][0].pop("proceeds"),
            "orderItems[0].proceeds",
            "includedData=PROCEEDS",
        ),
        (
            lambda o: o.update(orderItems=[]),
            "orderItems",
            "nothing to invoice",
        ),
        (
            lambda o: o["salesChannel"].pop("marketplaceId"),
            "salesChannel.marketplaceId",
            "customer and cost center",
        ),
        (
            lambda o: o["salesChannel"].update(marketplaceId=None, marketplaceName="Amazon.moon"),
            "salesChannel.marketplaceId",
            "'Amazon.moon' names no known marketplace",
        ),
    ],
)
def test_a_shipped_order_missing_what_its_invoice_needs_goes_to_review(
    shapes: Any, mutate: Any, path: str, message: str
) -> None:
    raw = _taxed(shapes)
    normalize_order(raw)  # reads before the mutation
    mutate(raw)
    with pytest.raises(NormalizeError) as info:
        normalize_order(raw)
    assert info.value.path == path
    assert message in info.value.message


def test_the_marketplace_is_read_from_its_name_when_the_id_is_absent(shapes: Any) -> None:
    raw = _taxed(shapes)
    raw["salesChannel"] = {"channelName": "AMAZON", "marketplaceName": " amazon.CO.UK "}
    assert normalize_order(raw).marketplace_id == "A1F83G8C2ARO7P"


def test_a_pending_order_is_read_without_sku_marketplace_or_proceeds(shapes: Any) -> None:
    raw = _taxed(shapes)
    raw["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED"
    raw["salesChannel"].pop("marketplaceId")
    raw["orderItems"][0]["product"].pop("sellerSku")
    raw["orderItems"][0].pop("proceeds")
    raw.pop("proceeds")
    order = normalize_order(raw)
    assert order.state is OrderState.OPEN
    assert (order.marketplace_id, order.currency, order.lines[0].sku) == ("", "", "")
    raw["orderItems"] = []
    assert normalize_order(raw).lines == ()


# -- absent optional objects -------------------------------------------------------------------


def test_absent_optional_objects_do_not_stop_reading(shapes: Any) -> None:
    raw = _taxed(shapes)
    item = raw["orderItems"][0]
    for key in ("tax", "promotion", "fulfillment", "programs"):
        item.pop(key, None)
    item["product"] = {"sellerSku": "MUG-01"}  # no asin, title, price
    raw["proceeds"] = {"grandTotal": raw["proceeds"]["grandTotal"], "breakdowns": None}
    raw["packages"] = [{"packageReferenceId": "1"}]  # no shipTime
    line = normalize_order(raw).lines[0]
    assert (line.asin, line.title, line.promotion_ids) == (None, None, ())
    assert (line.seller_tax, line.facilitator_tax) == (D("2.40"), D("0"))  # no model: seller


def test_details_without_subtype_or_value_leave_their_money_in_the_remainder(
    shapes: Any,
) -> None:
    raw = _taxed(shapes)
    tax = raw["orderItems"][0]["proceeds"]["breakdowns"][2]
    tax["detailedBreakdowns"] = [
        {"value": shapes.money("0.40")},
        {"subtype": "SHIPPING"},
        {"subtype": "SHIPPING", "value": shapes.money("0.30")},
    ]
    line = normalize_order(raw).lines[0]
    assert line.tax == D("2.40")  # the whole subtotal, however the details are spread


def test_a_tax_collection_without_model_is_held_only_when_there_is_tax(shapes: Any) -> None:
    raw = _taxed(shapes)
    raw["orderItems"][0]["tax"] = {"taxCollections": []}  # no collection: no evidence
    assert normalize_order(raw, facilitator_default=True).lines[0].facilitator_tax == D("2.40")
    assert normalize_order(raw).lines[0].seller_tax == D("2.40")
    raw["orderItems"][0]["tax"] = {"taxCollections": [{"responsibleParty": "Amazon"}]}
    with pytest.raises(NormalizeError) as info:
        normalize_order(raw)
    assert info.value.path == "orderItems[0].tax.taxCollections[0].model"
    assert "who remits the tax is unknown" in info.value.message
    untaxed = normalize_order(shapes.order("1", [shapes.item("A", 1, "10.00", facilitator=False)]))
    untaxed_raw = shapes.order("1", [shapes.item("A", 1, "10.00", facilitator=False)])
    untaxed_raw["orderItems"][0]["tax"] = {"taxCollections": [{"model": None}]}
    assert normalize_order(untaxed_raw) == untaxed  # no tax: nothing to decide


# -- enums without regard to case --------------------------------------------------------------


def _lower_enums(raw: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(raw)
    fulfillment = changed["fulfillment"]
    fulfillment["fulfillmentStatus"] = fulfillment["fulfillmentStatus"].lower()
    if "fulfilledBy" in fulfillment:
        fulfillment["fulfilledBy"] = fulfillment["fulfilledBy"].title()
    for breakdown in (changed.get("proceeds") or {}).get("breakdowns") or []:
        breakdown["type"] = breakdown["type"].lower()
    for item in changed["orderItems"]:
        for breakdown in (item.get("proceeds") or {}).get("breakdowns") or []:
            breakdown["type"] = breakdown["type"].capitalize()
            for detail in breakdown.get("detailedBreakdowns") or []:
                detail["subtype"] = detail["subtype"].lower()
        for collection in (item.get("tax") or {}).get("taxCollections") or []:
            collection["model"] = f" {collection['model'].lower()}"
    return changed


def test_enums_in_any_case_read_like_the_models_spelling(shapes: Any) -> None:
    raw = _taxed(shapes)
    changed = _lower_enums(raw)
    assert changed["fulfillment"] == {"fulfillmentStatus": "shipped", "fulfilledBy": "Amazon"}
    assert changed["orderItems"][0]["proceeds"]["breakdowns"][2]["type"] == "Tax"
    assert normalize_order(changed) == normalize_order(raw)
    line = normalize_order(changed).lines[0]
    assert (line.principal, line.shipping, line.promotion_shipping) == (
        D("20.00"), D("4.00"), D("-1.00"),
    )  # fmt: skip
    assert line.facilitator_tax == D("2.40")
    assert normalize_order(changed).fulfillment_channel is FulfillmentChannel.AFN


def test_other_proceeds_types_keep_the_models_spelling(shapes: Any) -> None:
    raw = _taxed(shapes)
    item = raw["orderItems"][0]
    item["proceeds"]["breakdowns"].append({"type": "cod_Fee", "subtotal": shapes.money("1.00")})
    item["proceeds"]["proceedsTotal"] = shapes.money("26.40")
    raw["proceeds"]["grandTotal"] = shapes.money("26.40")
    assert normalize_order(raw).lines[0].other_charges == (("COD_FEE", D("1.00")),)


def test_official_examples_read_the_same_in_any_case(sp_api_models: Path) -> None:
    spec = json.loads((sp_api_models / "orders_2026-01-01.json").read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("orderId"), str) and "orderItems" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec["paths"])
    assert len(found) >= 5
    for raw in found:
        assert normalize_order(_lower_enums(raw)) == normalize_order(raw), raw["orderId"]


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [
        (
            lambda o: o["fulfillment"].update(fulfillmentStatus="Lost"),
            "fulfillment.fulfillmentStatus",
            "unknown fulfillmentStatus 'Lost'",
        ),
        (
            lambda o: o["fulfillment"].update(fulfilledBy="DRONE"),
            "fulfillment.fulfilledBy",
            "unknown fulfilledBy 'DRONE'",
        ),
        (
            lambda o: o["orderItems"][0]["proceeds"]["breakdowns"][0].update(type="BONUS"),
            "orderItems[0].proceeds.breakdowns[0].type",
            "unknown proceeds type 'BONUS'",
        ),
        (
            lambda o: o["orderItems"][0]["proceeds"]["breakdowns"][2]["detailedBreakdowns"][
                1
            ].update(subtype="HANDLING"),
            "orderItems[0].proceeds.breakdowns[2].detailedBreakdowns[1].subtype",
            "unknown subtype 'HANDLING'",
        ),
        (
            lambda o: o["proceeds"]["breakdowns"][0].update(type="TIP"),
            "proceeds.breakdowns[0].type",
            "unknown proceeds type 'TIP'",
        ),
        (
            lambda o: o["orderItems"][0].update(
                tax={"taxCollections": [{"model": "SELLER_REMITS"}]}
            ),
            "orderItems[0].tax.taxCollections[0].model",
            "unknown tax collection model 'SELLER_REMITS'",
        ),
    ],
)
def test_an_unknown_enum_value_names_its_field(
    shapes: Any, mutate: Any, path: str, message: str
) -> None:
    raw = _taxed(shapes)
    mutate(raw)
    with pytest.raises(NormalizeError) as info:
        normalize_order(raw, path="order 111-0000000-0000001")
    assert info.value.path == f"order 111-0000000-0000001.{path}"
    assert message in info.value.message


def test_the_typed_view_reads_enums_in_any_case_and_keeps_other_text() -> None:
    view = OrderFulfillment.model_validate(
        {"fulfillmentStatus": "Shipped", "fulfilledBy": "merchant"}
    )
    assert view.fulfillment_status is FulfillmentStatus.SHIPPED
    assert view.fulfilled_by is FulfilledBy.MERCHANT
    other = OrderFulfillment.model_validate({"fulfillmentStatus": "LOST", "fulfilledBy": "DRONE"})
    assert (other.fulfillment_status, other.fulfilled_by) == ("LOST", "DRONE")


# -- numbers as strings ------------------------------------------------------------------------


def test_numbers_sent_as_strings_or_json_numbers_parse(shapes: Any) -> None:
    raw = _taxed(shapes)
    item = raw["orderItems"][0]
    item["quantityOrdered"] = "2"
    item["proceeds"]["breakdowns"][0]["subtotal"]["amount"] = 20  # a JSON number
    item["proceeds"]["breakdowns"][1]["subtotal"]["amount"] = " 4.0 "
    item["proceeds"]["proceedsTotal"]["amount"] = Decimal("25.4")
    raw["proceeds"]["grandTotal"]["amount"] = 25.40
    order = normalize_order(raw)
    line = order.lines[0]
    assert (line.quantity, line.principal, line.shipping) == (2, D("20.00"), D("4.00"))
    assert str(line.principal) == "20.00"
    assert str(order.grand_total) == "25.40"
    item["quantityOrdered"] = "two"
    with pytest.raises(NormalizeError, match=r"orderItems\[0\]\.quantityOrdered"):
        normalize_order(raw)


def test_a_delivery_tip_in_another_currency_names_its_field(shapes: Any) -> None:
    raw = _taxed(shapes)
    raw["proceeds"]["breakdowns"].append(
        {"type": "delivery_tip", "subtotal": shapes.money("2.00", "EUR")}
    )
    with pytest.raises(NormalizeError) as info:
        normalize_order(raw)
    assert info.value.path == "proceeds.breakdowns[1].subtotal.currencyCode"
    raw["proceeds"]["breakdowns"][1]["subtotal"] = shapes.money("2.00")
    raw["proceeds"]["grandTotal"] = shapes.money("27.40")
    assert normalize_order(raw).order_charges == (("DELIVERY_TIP", D("2.00")),)
