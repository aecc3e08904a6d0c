"""Shipped order → Receivables invoice (DESIGN §4).

Revenue goes where the catalog says for each SKU; an order with any SKU the catalog does not
know is held with the list of SKUs, never booked to a default account.

VAT-inclusive orders (docs/accounting-options.md): an order from a marketplace whose prices
include VAT/GST (`Marketplace.prices_include_tax`) that carries no tax figure at all (no line
with seller or facilitator tax, none Amazon says it collects tax for) still holds the VAT in its
item, shipping, gift wrap and promotion amounts. By the connection's `vat_inclusive` policy it is
either split here (each of those amounts: tax = gross × rate / (100 + rate) half-up to the
currency, net = gross − tax, one VAT line per item to `output_vat`, else `sales_tax_payable`) or
sent tax-inclusive with the mapping's tax classification code for Oracle's tax engine. With
nothing usable in the mapping's `[vat]` the order is held (MISSING_VAT), never booked wholly as
revenue; a rate of 0 is an explicit "no VAT here".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.checks import InvariantViolation, check_invoice_total
from ml_connector.domain.documents import Held, HoldCode, InvoiceDoc, InvoiceLine, LineKind
from ml_connector.domain.ids import invoice_key, invoice_number
from ml_connector.domain.marketplaces import marketplace
from ml_connector.domain.money import ZERO, quantize, total
from ml_connector.domain.orders import NormalizedOrder, OrderLine, OrderState
from ml_connector.flow.accounting.policy import DEFAULT_POLICY, AccountingPolicy, VatInclusive
from ml_connector.flow.mapping import Catalog, ChargeMapping

_UNIT_PRICE_PLACES = Decimal("0.000001")
_HUNDRED = Decimal(100)
# The line kinds whose amounts are tax-inclusive prices the buyer saw (a promotion lowers one).
_PRICED = (LineKind.ITEM, LineKind.SHIPPING, LineKind.GIFT_WRAP, LineKind.PROMOTION)


def vat_in(gross: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The VAT inside a tax-inclusive amount: gross × rate / (100 + rate), half-up to the
    currency's precision (``vat_in(Decimal("59.99"), Decimal("20"), "EUR")`` = 10.00); the sign
    follows ``gross``. ``rate`` is in percent."""
    return quantize(gross * rate / (_HUNDRED + rate), currency)


@dataclass(frozen=True, slots=True)
class _Vat:
    """How one order line's tax-inclusive amounts are treated."""

    rate: Decimal | None = None  # split by this rate (percent)
    code: str | None = None  # or: tax-inclusive with this tax classification code
    missing: str | None = None  # or: the mapping key to add (the order is held)


def _needs_vat(order: NormalizedOrder) -> bool:
    """A tax-inclusive marketplace's order in which Amazon reported no tax at all."""
    market = marketplace(order.marketplace_id) if order.marketplace_id else None
    if market is None or not market.prices_include_tax:
        return False  # a marketplace we do not know stays as today: no split
    return not any(
        line.seller_tax or line.facilitator_tax or line.tax_collected_by_amazon
        for line in order.lines
    )


def _vat_for(
    order: NormalizedOrder, category: str | None, mapping: ChargeMapping, policy: AccountingPolicy
) -> _Vat:
    rule = mapping.vat_rule(order.marketplace_id, category)
    market = marketplace(order.marketplace_id)
    where = rule.where if rule is not None else f"vat.{market.country if market else ''}"
    if policy.vat_inclusive is VatInclusive.TAX_CODE:
        if rule is not None and rule.tax_classification_code is not None:
            return _Vat(code=rule.tax_classification_code)
        if rule is not None and rule.rate == ZERO:
            return _Vat()  # zero-rated / not registered there: nothing to separate
        return _Vat(missing=f'[{where}] tax_classification_code = "<Oracle tax code>"')
    if rule is not None and rule.rate is not None:
        return _Vat(rate=rule.rate) if rule.rate != ZERO else _Vat()
    return _Vat(missing=f'[{where}] rate = "<percent>"')


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


def output_vat_account(mapping: ChargeMapping, marketplace_id: str) -> AccountCombination:
    """Where VAT the connector separates from tax-inclusive prices is booked: ``[accounts]
    output_vat``, or ``sales_tax_payable`` when the mapping names no ``output_vat``."""
    name = "output_vat" if mapping.file.accounts.output_vat is not None else "sales_tax_payable"
    return mapping.named(name, marketplace_id)


def _revenue_rule(
    category: str | None, mapping: ChargeMapping, policy: AccountingPolicy
) -> tuple[str | None, int | None]:
    """(accounting rule, duration) of a SKU's item line: its category's ``[revenue_rules]``
    entry, else the connection's; (None, None) recognizes the revenue at shipment."""
    rule = mapping.revenue_rule(category)
    if rule is not None:
        return rule.accounting_rule, rule.accounting_rule_duration
    return policy.accounting_rule, policy.accounting_rule_duration


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
    the ship date's period is closed. Held: NOT_SHIPPED, UNMAPPED_SKU, UNMAPPED_CHARGE,
    MISSING_CUSTOMER, MISSING_VAT (a VAT-inclusive order the mapping's `[vat]` cannot
    separate: the reason names the marketplace and the key to add), MISSING_INVOICING_RULE,
    INVARIANT. Item lines carry the category's (`[revenue_rules]`) or the connection's
    accounting rule, and the invoice the connection's invoicing rule, when one is configured.
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
    vat_inclusive = _needs_vat(order)
    treatments = {
        line.sku: _vat_for(order, catalog[line.sku].category, mapping, policy)
        for line in order.lines
        if vat_inclusive
    }
    missing = sorted({t.missing for t in treatments.values() if t.missing})
    if missing:
        market = marketplace(order.marketplace_id)
        name = market.name if market else order.marketplace_id
        return Held(
            key,
            HoldCode.MISSING_VAT,
            f"{name} ({order.marketplace_id}) prices include VAT and order {order.order_id} "
            f"carries no tax figure: add {' and '.join(missing)} to the charge mapping "
            '(rate = "0" if no VAT is due there; docs/mapping.md, [vat]); the next sync or '
            "`review resolve` invoices it",
            (order.marketplace_id, *missing),
        )
    lines: list[InvoiceLine] = []
    for line in order.lines:
        entry = catalog[line.sku]
        rules = _revenue_rule(entry.category, mapping, policy)
        treatment = treatments.get(line.sku, _Vat())
        vat: list[Decimal] = []
        for kind, description, amount, account, quantity in _order_lines(
            line, order, catalog, mapping
        ):
            is_item = kind is LineKind.ITEM
            priced = kind in _PRICED
            if priced and treatment.rate is not None:
                vat.append(vat_in(amount, treatment.rate, order.currency))
                amount -= vat[-1]
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
                    oracle_item=entry.oracle_item if is_item else None,
                    tax_rate=treatment.rate if priced else None,
                    tax_classification_code=treatment.code if priced else None,
                    amount_includes_tax=priced and treatment.code is not None,
                    accounting_rule=rules[0] if is_item else None,
                    accounting_rule_duration=rules[1] if is_item else None,
                )
            )
        if treatment.rate is not None and total(vat) != ZERO:
            lines.append(
                InvoiceLine(
                    line_number=len(lines) + 1,
                    kind=LineKind.TAX,
                    description=f"VAT {treatment.rate}%: {line.sku}",
                    amount=total(vat),
                    account=output_vat_account(mapping, order.marketplace_id),
                    sku=line.sku,
                    tax_rate=treatment.rate,
                )
            )
    invoicing_rule = policy.invoicing_rule
    if not any(line.accounting_rule for line in lines):
        invoicing_rule = None  # an invoicing rule alone builds no revenue schedule
    elif invoicing_rule is None:
        return Held(
            key,
            HoldCode.MISSING_INVOICING_RULE,
            f"order {order.order_id}'s item lines carry an accounting rule but the connection "
            "names no invoicing rule: set [accounting] invoicing_rule on the connection "
            "(docs/accounting-options.md, Revenue schedules)",
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
        invoicing_rule=invoicing_rule,
    )
    try:
        check_invoice_total(invoice, order.grand_total)
    except InvariantViolation as exc:
        return Held(key, HoldCode.INVARIANT, str(exc), (exc.check,))
    return invoice
