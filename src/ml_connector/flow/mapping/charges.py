"""Loading and resolving the charge/fee mapping into account combinations.

Resolution happens once, at load time: every account and cost center is checked against the
chart, and every `account = "tax_clearing"` reference is looked up, so accounting only ever sees
valid combinations or an explicit "unmapped" answer.

Keys are breakdown *paths* (docs/mapping.md): `Commission`, `Sales/ProductCharges`,
`Expenses/AmazonFees/Commission/Tax`, `AmazonFees/*/Tax`. A key matches a leaf when its segments
equal the end of the leaf's path (case and spaces ignored, `*` is any one segment); the longest
key wins, then the one with fewer `*`. A leaf no key matches is booked like the node it is part
of, if a key names that node (`Commission` books `.../Commission/Base`, the fee net of tax;
`Tax` books `Sales/Tax/OurPriceTax`), so simple mappings stay short. One rule keeps that safe:
a `Tax` leaf below a fee (three or more levels deep) is the VAT Amazon charges on its fee, never
the sale's tax and never the fee itself, so neither a bare `Tax` key nor the fee's key books it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.documents import CustomerRef
from ml_connector.domain.marketplaces import marketplace
from ml_connector.flow.mapping.catalog import FORMULA_PREFIXES
from ml_connector.flow.mapping.chart import Chart
from ml_connector.flow.mapping.config import (
    InvoicedRole,
    JournalConfig,
    MappingFile,
    RevenueRuleConfig,
)
from ml_connector.flow.mapping.errors import MappingError
from ml_connector.flow.normalize.settlements import REVERSAL_TYPES
from ml_connector.input_files import (
    CHARGE_MAPPING,
    InputFileError,
    decode_text,
    parse_toml,
    parse_yaml,
    read_bytes,
    shown,
)

NAMED_ACCOUNTS = (
    "input_vat",
    "receivable",
    "receivable_clearing",
    "cash_in_transit",
    "tax_clearing",
    "sales_tax_payable",
    "shipping_revenue",
    "gift_wrap_revenue",
    "promotions",
    "reserve",
    "deferred",
    "reimbursements",
    "cogs",
    "inventory",
    "returns_write_off",
    "output_vat",
)


@dataclass(frozen=True, slots=True)
class LeafTarget:
    """Where the leaves a mapping key matches are booked in the settlement journal."""

    key: str  # the key as written in the mapping file
    natural_account: str
    cost_center: str | None  # None: the transaction's marketplace cost center
    label: str
    invoiced: InvoicedRole | None


@dataclass(frozen=True, slots=True)
class VatRule:
    """What the mapping's ``[vat]`` says about the VAT inside one marketplace's prices, or one
    catalog category's there; a field left out is None (docs/mapping.md, ``[vat]``)."""

    where: str  # the key as written: "vat.FR" or "vat.FR.categories.books"
    rate: Decimal | None  # percent: Decimal("20"), Decimal("5.5"), Decimal("0")
    tax_classification_code: str | None


@dataclass(frozen=True, slots=True)
class MarketplaceVat:
    """One marketplace's ``[vat]`` entry: its own rule and its categories' (by folded name)."""

    rule: VatRule
    categories: Mapping[str, VatRule]


def fold_type(kind: str) -> str:
    """A transaction type as compared: `A-to-z Guarantee Claim` → `atozguaranteeclaim`."""
    return "".join(ch for ch in kind.casefold() if ch.isalnum())


def category_key(category: str) -> str:
    """A catalog category as compared with the mapping's: case and outer spaces ignored."""
    return category.strip().casefold()


KeyPath = tuple[str, ...]
_ANY = "*"
# Amazon's fee components: `Base` is the fee net of tax, `Tax` the VAT charged on it.
_TAX = "tax"
_FEE_TAX_DEPTH = 3
# Segments that only ever appear on what Amazon charges the seller, never on the buyer's invoice.
_CHARGE_ONLY = frozenset({"expenses", "amazonfees"})


def _segment(text: str) -> str:
    """A path segment as compared: case and white space ignored (`Product Charges`)."""
    return "".join(text.split()).casefold()


def key_path(key: str) -> KeyPath:
    """`"Expenses/AmazonFees/*/Tax"` → ("expenses", "amazonfees", "*", "tax"); ValueError if a
    segment is empty or the key is only `*` (that would be a default account)."""
    segments = tuple(_segment(part) for part in key.split("/"))
    if any(not segment for segment in segments):
        raise ValueError(f"{key!r} has an empty path segment")
    if all(segment == _ANY for segment in segments):
        raise ValueError(f"{key!r} matches every leaf: name at least one breakdown type")
    return segments


def _is_fee_tax(path: KeyPath) -> bool:
    """A `Tax` node below a fee (`Expenses/AmazonFees/Commission/Tax`): VAT on Amazon's fee."""
    return path[-1] == _TAX and len(path) >= _FEE_TAX_DEPTH


def _matches(key: KeyPath, path: KeyPath) -> bool:
    if len(key) > len(path):
        return False
    tail = path[len(path) - len(key) :]
    return all(k in (_ANY, p) for k, p in zip(key, tail, strict=True))


@dataclass(frozen=True)
class ChargeMapping:
    chart: Chart
    file: MappingFile
    targets: dict[str, LeafTarget]
    keys: tuple[tuple[KeyPath, LeafTarget], ...] = ()
    #: ``[vat]`` by marketplace id (keys written as country codes are resolved at load).
    vat: Mapping[str, MarketplaceVat] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.keys and self.targets:
            keys = tuple((key_path(key), target) for key, target in self.targets.items())
            object.__setattr__(self, "keys", keys)

    @property
    def journal(self) -> JournalConfig:
        return self.file.journal

    def account_value(self, name: str) -> str:
        """The natural account of a connection-level role such as `tax_clearing`."""
        value = getattr(self.file.accounts, name)
        if value is None:
            raise KeyError(f"account {name!r} is not configured in [accounts]")
        return str(value)

    def places(self, marketplace_id: str | None) -> bool:
        """Whether a record of this marketplace gets its cost center by rule, not by accident.

        When marketplaces or regions have cost centers of their own, a record with no
        marketplace id, or one that is neither listed nor a known Amazon marketplace, would
        silently take the default: such a record is not placed.
        """
        centers = self.file.cost_centers
        if not (centers.marketplaces or centers.regions):
            return True
        if not marketplace_id:
            return False
        return marketplace_id in centers.marketplaces or marketplace(marketplace_id) is not None

    def cost_center_for(self, marketplace_id: str | None) -> str:
        """Marketplace override, then the marketplace's region, then the default."""
        centers = self.file.cost_centers
        if marketplace_id:
            if marketplace_id in centers.marketplaces:
                return centers.marketplaces[marketplace_id]
            known = marketplace(marketplace_id)
            if known is not None and known.region.value in centers.regions:
                return centers.regions[known.region.value]
        if centers.default is None:
            raise KeyError(f"no cost center for marketplace {marketplace_id!r} and no default")
        return centers.default

    def combination(
        self, account: str, marketplace_id: str | None, cost_center: str | None = None
    ) -> AccountCombination:
        """Full combination: balance-sheet accounts take the balance-sheet cost center."""
        if cost_center is None:
            if self.chart.is_balance_sheet(account):
                cost_center = self.file.cost_centers.balance_sheet
            else:
                cost_center = self.cost_center_for(marketplace_id)
        return self.chart.combination(account, cost_center)

    def named(self, name: str, marketplace_id: str | None = None) -> AccountCombination:
        return self.combination(self.account_value(name), marketplace_id)

    def target(self, path: tuple[str, ...] | str) -> LeafTarget | None:
        """The mapping of a leaf (its breakdown path, or a one-segment leaf type), or None:
        a leaf no key matches is never given a default account."""
        segments = tuple(_segment(part) for part in ((path,) if isinstance(path, str) else path))
        while segments:
            found = self._best(segments)
            if found is not None:
                return found
            if _is_fee_tax(segments):
                return None  # its parent is the fee net of VAT: never book the VAT there
            # No key for this piece: it is booked like the node it is part of (a fee's `Base` is
            # the fee; `Sales/Tax/OurPriceTax` is the sale's tax), if a key names that node.
            segments = segments[:-1]
        return None

    def _best(self, path: KeyPath) -> LeafTarget | None:
        fee_tax = _is_fee_tax(path)
        best: tuple[tuple[int, int], LeafTarget] | None = None
        for key, target in self.keys:
            if fee_tax and len(key) == 1:
                continue  # a bare `Tax` is the sale's tax, never the VAT on a fee
            if not _matches(key, path):
                continue
            score = (len(key), -key.count(_ANY))
            if best is None or score > best[0]:
                best = (score, target)
        return best[1] if best else None

    def vat_rule(self, marketplace_id: str, category: str | None = None) -> VatRule | None:
        """The VAT rule for a SKU of ``category`` sold on a marketplace: the category's entry
        when ``[vat]`` lists it for the marketplace, else the marketplace's; None when the
        mapping has no ``[vat]`` entry for the marketplace."""
        found = self.vat.get(marketplace_id)
        if found is None:
            return None
        if category is not None:
            specific = found.categories.get(category_key(category))
            if specific is not None:
                return specific
        return found.rule

    def revenue_rule(self, category: str | None) -> RevenueRuleConfig | None:
        """The ``[revenue_rules.<category>]`` entry for a catalog category, or None."""
        if category is None:
            return None
        wanted = category_key(category)
        for name, rule in self.file.revenue_rules.items():
            if category_key(name) == wanted:
                return rule
        return None

    def books_by_breakdowns(self, transaction_type: str | None) -> bool:
        """Whether ``[transaction_types] book_by_breakdowns`` lists this Finances transaction
        type (compared without case, spaces, hyphens or underscores, as Amazon's types are)."""
        if transaction_type is None:
            return False
        wanted = fold_type(transaction_type)
        return any(
            fold_type(kind) == wanted for kind in self.file.transaction_types.book_by_breakdowns
        )

    def customer(self, marketplace_id: str) -> CustomerRef | None:
        config = self.file.customers.get(marketplace_id)
        if config is None:
            return None
        return CustomerRef(config.account_number, config.site_number)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _text_settings(model: MappingFile) -> list[tuple[str, str]]:
    """The free-text values of a mapping that end up in Oracle documents (labels, names)."""
    found = [
        (f"journal.{name}", value)
        for name in ("ledger", "legal_entity", "source", "category", "batch_prefix")
        if isinstance(value := getattr(model.journal, name), str)
    ]
    found += [
        (f"charges.{key}.label", charge.label)
        for key, charge in model.charges.items()
        if charge.label is not None
    ]
    for marketplace_id, customer in model.customers.items():
        found.append((f"customers.{marketplace_id}.account_number", customer.account_number))
        found.append((f"customers.{marketplace_id}.site_number", customer.site_number))
    for key, vat in model.vat.items():
        if vat.tax_classification_code is not None:
            found.append((f"vat.{key}.tax_classification_code", vat.tax_classification_code))
        found += [
            (f"vat.{key}.categories.{name}.tax_classification_code", entry.tax_classification_code)
            for name, entry in vat.categories.items()
            if entry.tax_classification_code is not None
        ]
    found += [
        (f"revenue_rules.{name}.accounting_rule", rule.accounting_rule)
        for name, rule in model.revenue_rules.items()
    ]
    return found


def _vat_rules(model: MappingFile, source: str, problems: list[str]) -> dict[str, MarketplaceVat]:
    """``[vat]`` by marketplace id; a key that names no marketplace whose prices include tax,
    a marketplace named twice, or a category listed twice is a problem (file and key)."""
    rules: dict[str, MarketplaceVat] = {}
    written: dict[str, str] = {}
    for key, vat in model.vat.items():
        where = f"vat.{key}"
        market = marketplace(key)
        if market is None:
            problems.append(
                f"{source}: {where}: {key!r} is not an Amazon marketplace: use its country code "
                "(FR) or marketplace id (A13V1IB3VIYZZH)"
            )
            continue
        if not market.prices_include_tax:
            problems.append(
                f"{source}: {where}: {market.name} prices exclude tax (it is added at checkout "
                "and Amazon reports it), so a VAT rate there would never be used"
            )
            continue
        if market.marketplace_id in written:
            problems.append(
                f"{source}: {where}: {market.name} is already configured as "
                f"vat.{written[market.marketplace_id]}"
            )
            continue
        written[market.marketplace_id] = key
        categories: dict[str, VatRule] = {}
        for name, entry in vat.categories.items():
            folded = category_key(name)
            if folded in categories:
                problems.append(
                    f"{source}: {where}.categories.{name}: the same category as "
                    f"{categories[folded].where.rsplit('.', 1)[-1]!r} (case is ignored)"
                )
                continue
            categories[folded] = VatRule(
                f"{where}.categories.{name}",
                Decimal(entry.rate) if entry.rate is not None else None,
                entry.tax_classification_code,
            )
        rule = VatRule(
            where, Decimal(vat.rate) if vat.rate is not None else None, vat.tax_classification_code
        )
        rules[market.marketplace_id] = MarketplaceVat(rule, categories)
    return rules


def parse_mapping(data: Mapping[str, Any], source: str) -> ChargeMapping:
    """Validate a parsed mapping document; errors name `source` and the key path."""
    try:
        model = MappingFile.model_validate(data)
    except ValidationError as exc:
        raise MappingError(
            [f"{source}: {_location(err['loc'])}: {err['msg']}" for err in exc.errors()]
        ) from None
    try:
        chart = Chart.from_pattern(
            model.chart.pattern,
            model.chart.segments,
            {"company": model.chart.company, **model.chart.fixed},
            model.chart.balance_sheet_accounts,
        )
    except ValueError as exc:
        raise MappingError([f"{source}: chart: {exc}"]) from None
    problems: list[str] = []
    problems.extend(
        f"{source}: {where}: {value!r} starts like a spreadsheet formula; it is written into "
        "Oracle's FBDI files, so it is refused (docs/mapping.md)"
        for where, value in _text_settings(model)
        if value.lstrip(" ").startswith(FORMULA_PREFIXES)
    )

    def check(where: str, segment: str, value: str) -> None:
        problem = chart.problem(segment, value)
        if problem:
            problems.append(f"{source}: {where}: {problem}")

    centers = model.cost_centers
    check("cost_centers.balance_sheet", "cost_center", centers.balance_sheet)
    if centers.default is not None:
        check("cost_centers.default", "cost_center", centers.default)
    for table, values in (("regions", centers.regions), ("marketplaces", centers.marketplaces)):
        for key, value in values.items():
            check(f"cost_centers.{table}.{key}", "cost_center", value)
    for name in NAMED_ACCOUNTS:
        value = getattr(model.accounts, name)
        if value is not None:
            check(f"accounts.{name}", "account", value)
    vat = _vat_rules(model, source, problems)
    for index, kind in enumerate(model.transaction_types.book_by_breakdowns):
        if fold_type(kind) in REVERSAL_TYPES:
            problems.append(
                f"{source}: transaction_types.book_by_breakdowns.{index}: {kind!r} gives order "
                "money back to the buyer: it always gets a credit memo, never only a journal line"
            )

    targets: dict[str, LeafTarget] = {}
    seen: dict[KeyPath, str] = {}

    def path_of(where: str, key: str) -> KeyPath | None:
        try:
            path = key_path(key)
        except ValueError as exc:
            problems.append(f"{source}: {where}: {exc}")
            return None
        if path in seen:
            problems.append(f"{source}: {where}: {key!r} is the same path as {seen[path]!r}")
            return None
        seen[path] = key
        return path

    for leaf_type, role in model.invoiced.items():
        where = f"invoiced.{leaf_type}"
        path = path_of(where, leaf_type)
        if path is None:
            continue
        if _CHARGE_ONLY & set(path):
            problems.append(
                f"{source}: {where}: {leaf_type!r} is something Amazon charges the seller, "
                "not part of the buyer's invoice; map it under [charges]"
            )
            continue
        clearing = model.accounts.receivable_clearing
        targets[leaf_type] = LeafTarget(leaf_type, clearing, None, leaf_type, role)
    for leaf_type, charge in model.charges.items():
        where = f"charges.{leaf_type}"
        if leaf_type in targets:
            problems.append(f"{source}: {where}: {leaf_type!r} is also listed under [invoiced]")
            continue
        path = path_of(where, leaf_type)
        if path is None:
            continue
        account = charge.account
        if account in NAMED_ACCOUNTS:
            named = getattr(model.accounts, account)
            if named is None:
                problems.append(f"{source}: {where}.account: [accounts] has no {account!r}")
                continue
            account = named
        else:
            check(f"{where}.account", "account", account)
        if path[-1] == _TAX and len(path) > 1 and account == model.accounts.receivable_clearing:
            problems.append(
                f"{source}: {where}: the VAT Amazon charges on a fee cannot settle against "
                "receivable clearing (that account holds the buyers' proceeds)"
            )
            continue
        if charge.cost_center is not None:
            check(f"{where}.cost_center", "cost_center", charge.cost_center)
        label = charge.label or leaf_type
        targets[leaf_type] = LeafTarget(leaf_type, account, charge.cost_center, label, None)
    if problems:
        raise MappingError(problems)
    return ChargeMapping(chart=chart, file=model, targets=targets, vat=vat)


_PARSED_MAPPINGS: dict[tuple[str, str], ChargeMapping] = {}
_PARSED_MAPPINGS_SIZE = 4
_PARSED_MAPPINGS_LOCK = threading.Lock()


def load_mapping(path: Path) -> ChargeMapping:
    """Read a `.toml` (preferred) or `.yaml`/`.yml` charge mapping file.

    The file is refused in one line naming its path when it is not a regular UTF-8 file of at
    most 1 MiB, or nests deeper than `input_files.MAX_DEPTH` (see `ml_connector.input_files`).
    A file whose bytes were parsed before (same SHA-256 and format) is not parsed again.
    """
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise MappingError([f"{shown(path)}: unknown format (use .toml, .yaml or .yml)"])
    try:
        raw = read_bytes(path, CHARGE_MAPPING)
    except InputFileError as exc:
        raise MappingError([str(exc)]) from None
    key = (hashlib.sha256(raw).hexdigest(), ".toml" if suffix == ".toml" else ".yaml")
    with _PARSED_MAPPINGS_LOCK:
        found = _PARSED_MAPPINGS.get(key)
    if found is not None:
        return found
    try:
        text = decode_text(raw, path)
        data: Any = parse_toml(text, path) if suffix == ".toml" else parse_yaml(text, path)
    except InputFileError as exc:
        raise MappingError([str(exc)]) from None
    if not isinstance(data, dict):
        raise MappingError([f"{shown(path)}: expected a table of settings at the top level"])
    mapping = parse_mapping(data, shown(path))
    with _PARSED_MAPPINGS_LOCK:
        while len(_PARSED_MAPPINGS) >= _PARSED_MAPPINGS_SIZE:
            _PARSED_MAPPINGS.pop(next(iter(_PARSED_MAPPINGS)))
        _PARSED_MAPPINGS[key] = mapping
    return mapping
