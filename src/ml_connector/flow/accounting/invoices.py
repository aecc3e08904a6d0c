"""Shipped order → Receivables invoice (DESIGN §4).

Revenue goes where the catalog says for each SKU; an order with any SKU the catalog does not
know is held with the list of SKUs, never booked to a default account.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.checks import InvariantViolation, check_invoice_total
from ml_connector.domain.documents import Held, HoldCode, InvoiceDoc, InvoiceLine, LineKind
from ml_connector.domain.ids import invoice_key, invoice_number
from ml_connector.domain.money import ZERO, quantize
from ml_connector.domain.orders import NormalizedOrder, OrderLine, OrderState
from ml_connector.flow.accounting.policy import DEFAULT_POLICY, AccountingPolicy
from ml_connector.flow.mapping import Catalog, ChargeMapping

_UNIT_PRICE_PLACES = Decimal("0.000001")


def unit_price(amount: Decimal, quantity: int, currency: str) -> Decimal:
    """Amount ÷ quantity: at currency precision when exact, else to 6 places (the amount rules)."""
    price = abs(amount) / quantity
    rounded = quantize(price, currency)
    if rounded * quantity == abs(amount):
        return rounded
    return price.quantize(_UNIT_PRICE_PLACES)


def _order_lines(
    line: OrderLine, order: NormalizedOrder, catalog: Catalog, mapping: ChargeMapping
) -> list[tuple[LineKind, str, Decimal, AccountCombination, int | None]]:
    entry = catalog[line.sku]
    market = order.marketplace_id
    revenue = mapping.combination(entry.revenue_account, market, entry.cost_center)
    name = line.title or line.sku
    promotions = line.promotion_principal + line.promotion_shipping
    sku = line.sku
    named = mapping.named
    candidates = [
        (LineKind.ITEM, name, line.principal, revenue, line.quantity),
        (LineKind.SHIPPING, f"Shipping: {sku}", line.shipping,
         named("shipping_revenue", market), None),
        (LineKind.GIFT_WRAP, f"Gift wrap: {sku}", line.gift_wrap,
         named("gift_wrap_revenue", market), None),
        (LineKind.PROMOTION, f"Promotion: {sku}", promotions, named("promotions", market), None),
        (LineKind.TAX, f"Sales tax: {sku}", line.seller_tax,
         named("sales_tax_payable", market), None),
        (LineKind.FACILITATOR_TAX, f"Marketplace facilitator tax: {sku}", line.facilitator_tax,
         named("tax_clearing", market), None),
    ]  # fmt: skip
    return [c for c in candidates if c[0] is LineKind.ITEM or c[2] != ZERO]


def plan_invoice(
    order: NormalizedOrder,
    catalog: Catalog,
    mapping: ChargeMapping,
    *,
    policy: AccountingPolicy = DEFAULT_POLICY,
    accounting_date: date | None = None,
) -> InvoiceDoc | Held:
    """The invoice for a shipped order, or why it must wait in the review queue.

    The transaction date is the ship date (UTC); `accounting_date` overrides the GL date when
    the ship date's period is closed.
    """
    key = invoice_key(order.order_id)
    if order.state is not OrderState.SHIPPED or order.ship_date is None:
        return Held(key, HoldCode.NOT_SHIPPED, f"order {order.order_id} is {order.state.value}")
    unmapped = [sku for sku in order.skus if sku not in catalog]
    if unmapped:
        return Held(
            key,
            HoldCode.UNMAPPED_SKU,
            f"SKU(s) not in the catalog mapping: {', '.join(unmapped)}",
            tuple(unmapped),
        )
    others = sorted(
        {kind for line in order.lines for kind, _ in line.other_charges}
        | {kind for kind, _ in order.order_charges}
    )
    if others:
        return Held(
            key,
            HoldCode.UNMAPPED_CHARGE,
            f"order charges with no invoice line: {', '.join(others)}",
            tuple(others),
        )
    customer = mapping.customer(order.marketplace_id)
    if customer is None:
        return Held(
            key,
            HoldCode.MISSING_CUSTOMER,
            f"no Oracle customer configured for marketplace {order.marketplace_id}",
            (order.marketplace_id,),
        )
    lines: list[InvoiceLine] = []
    for line in order.lines:
        oracle_item = catalog[line.sku].oracle_item
        for kind, description, amount, account, quantity in _order_lines(
            line, order, catalog, mapping
        ):
            is_item = kind is LineKind.ITEM
            lines.append(
                InvoiceLine(
                    line_number=len(lines) + 1,
                    kind=kind,
                    description=description,
                    amount=amount,
                    account=account,
                    sku=line.sku,
                    quantity=quantity,
                    unit_price=unit_price(amount, quantity, order.currency)
                    if is_item and quantity
                    else None,
                    oracle_item=oracle_item if is_item else None,
                )
            )
    ship_day = order.ship_date.date()
    invoice = InvoiceDoc(
        key=key,
        transaction_number=invoice_number(order.order_id),
        amazon_order_id=order.order_id,
        marketplace_id=order.marketplace_id,
        customer=customer,
        currency=order.currency,
        transaction_date=ship_day,
        accounting_date=accounting_date or ship_day,
        receivable_account=mapping.named("receivable", order.marketplace_id),
        lines=tuple(lines),
    )
    try:
        check_invoice_total(invoice, order.grand_total)
    except InvariantViolation as exc:
        return Held(key, HoldCode.INVARIANT, str(exc), (exc.check,))
    return invoice
