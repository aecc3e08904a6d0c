"""How one seller's books are kept where sellers differ: the accounting policy.

Built once per connection from its ``[accounting]`` settings (store/connections.py,
``AccountingSettings``) and handed to every derivation (plan, replay, reconcile), so the three
can never derive the same document with different options.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class VatInclusive(StrEnum):
    """What an order from a VAT-inclusive marketplace without a tax figure becomes.

    SPLIT: the connector separates the VAT by the configured rate (net line + tax line).
    TAX_CODE: the line is sent tax-inclusive with a tax classification code and Oracle's tax
    engine separates it.
    """

    SPLIT = "split"
    TAX_CODE = "tax_code"


class ReturnedGoods(StrEnum):
    """Where the cost of a returned unit goes back to when COGS is booked."""

    RESTOCK = "restock"  # Dr inventory, Cr COGS: the unit is sellable again
    WRITE_OFF = "write_off"  # Dr the write-off account, Cr COGS: the unit is lost


@dataclass(frozen=True, slots=True)
class AccountingPolicy:
    """The per-connection options of the accounting derivations (defaults: today's books)."""

    vat_inclusive: VatInclusive = VatInclusive.SPLIT
    include_cogs: bool = False
    returned_goods: ReturnedGoods = ReturnedGoods.RESTOCK
    #: The currency of the catalog's unit costs; None: each settlement's own.
    cost_currency: str | None = None
    invoicing_rule: str | None = None
    accounting_rule: str | None = None
    accounting_rule_duration: int | None = None


DEFAULT_POLICY = AccountingPolicy()
