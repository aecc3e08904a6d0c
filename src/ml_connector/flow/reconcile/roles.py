"""What each account and Amazon leaf type stands for when a settlement is reconciled.

A reconciliation compares Amazon's money with the posted journal *by line type* (proceeds, fees,
tax withheld, reserves, other). Both sides are classified from the same charge mapping: a leaf
type's line type is the line type of the account it is booked to, so a correct journal matches
Amazon line type by line type, and a wrong one shows where it went wrong.

Accounts are classified by their natural-account segment, not the whole combination, because the
journal books the same fee to a different cost center per marketplace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ml_connector.domain.accounts import AccountCombination
from ml_connector.flow.mapping import ChargeMapping


class LineType(StrEnum):
    PROCEEDS = "proceeds"
    FEES = "fees"
    TAX_WITHHELD = "tax_withheld"
    RESERVES = "reserves"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class AccountRoles:
    """The cash-in-transit combination plus line types by natural account and by leaf type.

    Anything not listed is `other`: a reconciliation must still add up when the mapping grows.
    """

    cash_in_transit: AccountCombination
    accounts: Mapping[str, LineType] = field(default_factory=dict)
    leaf_types: Mapping[str, LineType] = field(default_factory=dict)
    segment: str = "account"
    mapping: ChargeMapping | None = None

    def for_leaf(self, path: tuple[str, ...] | str) -> LineType:
        """A leaf's line type: that of the mapping key that books it (path rules included)."""
        target = self.mapping.target(path) if self.mapping is not None else None
        if target is None:
            key = path if isinstance(path, str) else "/".join(path)
            return self.leaf_types.get(key, LineType.OTHER)
        return self.leaf_types.get(target.key, LineType.OTHER)

    def for_account(self, account: AccountCombination) -> LineType:
        try:
            natural = account.value(self.segment)
        except KeyError:
            natural = str(account)
        return self.accounts.get(natural, LineType.OTHER)


_NAMED_TYPES: tuple[tuple[str, LineType], ...] = (
    ("receivable_clearing", LineType.PROCEEDS),
    ("tax_clearing", LineType.TAX_WITHHELD),
    ("sales_tax_payable", LineType.TAX_WITHHELD),
    ("reserve", LineType.RESERVES),
    ("deferred", LineType.RESERVES),
    ("reimbursements", LineType.OTHER),
)


def roles_from_mapping(mapping: ChargeMapping) -> AccountRoles:
    """Classify every account and leaf type the charge mapping knows."""
    accounts: dict[str, LineType] = {}
    for name, line_type in _NAMED_TYPES:
        accounts.setdefault(mapping.account_value(name), line_type)
    leaf_types: dict[str, LineType] = {}
    for leaf_type, target in mapping.targets.items():
        if target.invoiced is not None:
            leaf_types[leaf_type] = LineType.PROCEEDS
            continue
        account = target.natural_account
        if account not in accounts:
            # A P&L account reached by a charge is an Amazon fee (or a fee refund).
            is_fee = not mapping.chart.is_balance_sheet(account)
            accounts[account] = LineType.FEES if is_fee else LineType.OTHER
        leaf_types[leaf_type] = accounts[account]
    return AccountRoles(
        cash_in_transit=mapping.named("cash_in_transit"),
        accounts=accounts,
        leaf_types=leaf_types,
        mapping=mapping,
    )
