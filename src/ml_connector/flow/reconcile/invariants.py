"""The order-level invariants of a settlement (pure): proceeds (c) and clearing accounts (d).

(c) **Proceeds settled = invoices − credit memos of the orders in the settlement.** Amazon's
invoiced leaves of each order (what the buyer paid, less what was given back) are compared with
the order's documents in the books, order by order, so every order that differs is named with
its cause: not invoiced, held for review, not yet posted, invoiced for another amount, under-
or over-credited.

(d) **Every clearing account nets to zero for the settlement.** Receivable clearing takes the
proceeds the journal credits and the invoices less credit memos the orders were booked with;
tax clearing takes the marketplace tax the invoices credit and the tax Amazon withholds in the
journal. Whatever an account does not net is attributed to the orders that cause it.

Which documents belong to a settlement: a credit memo naming one of the settlement's Amazon
transactions (a refund, a claim) belongs to it; an order's invoices (every revision) and the
credit memos that name no Amazon transaction (cancellation, correction) belong to the
settlement(s) holding the order's sale. When a sale is settled across several settlements
(split shipments), each settlement takes the part Amazon did not settle elsewhere.

Sign conventions: the proceeds bucket is money the buyer owes (invoice +, credit memo −,
Amazon's sale leaves +); a clearing account's figures are Amazon's leaves on it and the
documents' lines on it, which net to zero when added.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.documents import CreditMemoDoc, InvoiceDoc, JournalDoc
from ml_connector.domain.money import ZERO, total
from ml_connector.domain.settlements import Settlement, SettlementTransaction
from ml_connector.flow.mapping import ChargeMapping

__all__ = [
    "PROCEEDS",
    "ClearingCheck",
    "OrderBooks",
    "OrderCause",
    "OrderDifference",
    "ProceedsCheck",
    "ReviewRef",
    "check_clearing",
    "check_proceeds",
    "clearing_accounts",
    "sale_footprint",
]

PROCEEDS = "proceeds"
"""The footprint bucket of the invoiced leaves (what settles against receivable clearing)."""

_RECEIVABLE_CLEARING = "receivable_clearing"
# Connection accounts that hold money only until the other side of it is booked.
_CLEARING_NAMES = ("tax_clearing",)


class OrderCause(StrEnum):
    """Why an order's books differ from what Amazon settled for it."""

    NOT_INVOICED = "not invoiced"
    HELD = "held for review"
    NOT_POSTED = "not yet posted"
    INVOICE_DIFFERS = "invoiced for another amount"
    UNDER_CREDITED = "under-credited"
    OVER_CREDITED = "over-credited"
    NO_ORDER = "no order named"

    @property
    def waits(self) -> bool:
        """Held or not yet posted: the books are incomplete, not wrong (status `incomplete`)."""
        return self in (OrderCause.HELD, OrderCause.NOT_POSTED)


@dataclass(frozen=True, slots=True)
class ReviewRef:
    """An open review item about an order: what a person must do for it to be booked."""

    item_id: int
    kind: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.item_id, "kind": self.kind, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class OrderBooks:
    """An order as the books have it: documents Oracle holds, those still on the way, and the
    open review items about it."""

    order_id: str
    invoices: tuple[InvoiceDoc, ...] = ()
    credit_memos: tuple[CreditMemoDoc, ...] = ()
    pending: tuple[str, ...] = ()
    """Keys of the order's documents planned but not (yet) accepted by Oracle."""
    review: tuple[ReviewRef, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderDifference:
    order_id: str
    cause: OrderCause
    amazon: Decimal
    books: Decimal
    detail: str
    transactions: tuple[str, ...] = ()
    review: tuple[ReviewRef, ...] = ()

    @property
    def difference(self) -> Decimal:
        return self.books - self.amazon

    def to_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "cause": self.cause.value,
            "amazon": str(self.amazon),
            "books": str(self.books),
            "difference": str(self.difference),
            "detail": self.detail,
            "transactions": list(self.transactions),
            "review_items": [ref.to_json() for ref in self.review],
        }


@dataclass(frozen=True, slots=True)
class ProceedsCheck:
    """Invariant (c) for one settlement."""

    settled: Decimal
    """Proceeds settled: the journal's credit to receivable clearing (Amazon's invoiced leaves
    while no journal is posted)."""
    invoices: Decimal
    credit_memos: Decimal
    """Negative: what the credit memos give back."""
    orders: tuple[OrderDifference, ...]
    order_count: int

    @property
    def books(self) -> Decimal:
        return self.invoices + self.credit_memos

    @property
    def difference(self) -> Decimal:
        return self.books - self.settled

    @property
    def holds(self) -> bool:
        return not self.orders and self.difference == ZERO

    @property
    def held(self) -> tuple[OrderDifference, ...]:
        return tuple(o for o in self.orders if o.cause.waits)

    @property
    def wrong(self) -> tuple[OrderDifference, ...]:
        return tuple(o for o in self.orders if not o.cause.waits)

    @property
    def unexplained(self) -> Decimal:
        """What the listed orders do not explain (a journal that books proceeds wrongly)."""
        return self.difference - total(o.difference for o in self.orders)

    def to_json(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
            "proceeds_settled": str(self.settled),
            "invoices": str(self.invoices),
            "credit_memos": str(self.credit_memos),
            "books": str(self.books),
            "difference": str(self.difference),
            "orders_in_settlement": self.order_count,
            "orders_differing": len(self.orders),
            "orders_held": len({o.order_id for o in self.held}),
            "orders": [order.to_json() for order in self.orders],
        }


@dataclass(frozen=True, slots=True)
class ClearingAccount:
    name: str
    account: str
    journal: Decimal
    """The journal's debits minus credits on the account (None-posted journals: Amazon's)."""
    documents: Decimal
    """The invoices' and credit memos' debits minus credits on it."""
    held: Decimal
    """The part of the net that the held (or not yet posted) orders explain."""

    @property
    def net(self) -> Decimal:
        return self.journal + self.documents

    @property
    def holds(self) -> bool:
        return self.net == ZERO

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "account": self.account,
            "holds": self.holds,
            "journal": str(self.journal),
            "documents": str(self.documents),
            "net": str(self.net),
            "explained_by_held_orders": str(self.held),
        }


@dataclass(frozen=True, slots=True)
class ClearingCheck:
    """Invariant (d) for one settlement."""

    accounts: tuple[ClearingAccount, ...] = field(default_factory=tuple)

    @property
    def holds(self) -> bool:
        return all(a.holds for a in self.accounts)

    @property
    def only_held(self) -> bool:
        """Every account's net is explained by orders that wait (held or not yet posted)."""
        return all(a.net == a.held for a in self.accounts)

    def to_json(self) -> dict[str, Any]:
        return {"holds": self.holds, "accounts": [a.to_json() for a in self.accounts]}


def clearing_accounts(mapping: ChargeMapping) -> dict[str, str]:
    """Natural account → role name of every clearing account the connection configures."""
    found: dict[str, str] = {}
    for name in (_RECEIVABLE_CLEARING, *_CLEARING_NAMES):
        try:
            found.setdefault(mapping.account_value(name), name)
        except KeyError:
            continue
    return found


def _natural(account: AccountCombination) -> str:
    try:
        return account.value("account")
    except KeyError:
        return str(account)


def _invoiced(txn: SettlementTransaction, mapping: ChargeMapping) -> Decimal:
    amounts = []
    for leaf in txn.leaves:
        target = mapping.target(leaf.path)
        if target is not None and target.invoiced is not None:
            amounts.append(leaf.amount)
    return total(amounts)


def _on_account(txn: SettlementTransaction, mapping: ChargeMapping, natural: str) -> Decimal:
    amounts = []
    for leaf in txn.leaves:
        target = mapping.target(leaf.path)
        if target is not None and target.invoiced is None and target.natural_account == natural:
            amounts.append(leaf.amount)
    return total(amounts)


def _tied_ids(books: Iterable[OrderBooks]) -> set[str]:
    return {
        memo.refund_transaction_id
        for order in books
        for memo in order.credit_memos
        if memo.refund_transaction_id
    }


def _is_sale(txn: SettlementTransaction, mapping: ChargeMapping, tied: set[str]) -> bool:
    return txn.transaction_id not in tied and _invoiced(txn, mapping) > ZERO


def sale_footprint(
    settlement: Settlement, mapping: ChargeMapping, tied: set[str] | None = None
) -> dict[str, dict[str, Decimal]]:
    """Per order, what the settlement's sale transactions put in each bucket: ``PROCEEDS``
    (invoiced leaves) and every clearing natural account (its leaves). Sale = a released
    transaction naming an order, with positive invoiced leaves, that no credit memo names."""
    accounts = [a for a, name in clearing_accounts(mapping).items() if name != _RECEIVABLE_CLEARING]
    out: dict[str, dict[str, Decimal]] = {}
    for txn in settlement.released:
        if txn.order_id is None or not _is_sale(txn, mapping, tied or set()):
            continue
        buckets = out.setdefault(str(txn.order_id), {})
        buckets[PROCEEDS] = buckets.get(PROCEEDS, ZERO) + _invoiced(txn, mapping)
        for account in accounts:
            buckets[account] = buckets.get(account, ZERO) + _on_account(txn, mapping, account)
    return out


def _untied(order: OrderBooks, ids: set[str]) -> list[CreditMemoDoc]:
    """Credit memos that name none of the Amazon transactions known: they go with the invoice."""
    return [m for m in order.credit_memos if m.refund_transaction_id not in ids]


def _ref_text(refs: Sequence[ReviewRef]) -> str:
    return "; ".join(f"review item {r.item_id} ({r.kind}): {r.reason}" for r in refs[:3]) + (
        f" and {len(refs) - 3} more" if len(refs) > 3 else ""
    )


def _order_lines(settlement: Settlement) -> dict[str, list[SettlementTransaction]]:
    by_order: dict[str, list[SettlementTransaction]] = {}
    for txn in settlement.released:
        if txn.order_id is not None:
            by_order.setdefault(str(txn.order_id), []).append(txn)
    return by_order


def _sale_difference(
    order_id: str,
    sales: list[SettlementTransaction],
    amazon: Decimal,
    books: OrderBooks | None,
    known_ids: set[str],
    elsewhere: Decimal,
) -> tuple[Decimal, OrderDifference | None]:
    """The order's invoice share in this settlement, and how it differs from Amazon's sale."""
    ids = tuple(t.transaction_id for t in sales)
    review = books.review if books else ()
    invoices = books.invoices if books else ()
    if not invoices:
        pending = books.pending if books else ()
        if review:
            cause, detail = OrderCause.HELD, _ref_text(review)
        elif pending:
            cause = OrderCause.NOT_POSTED
            detail = f"planned, not yet accepted by Oracle: {', '.join(pending)}"
        else:
            cause = OrderCause.NOT_INVOICED
            detail = "Amazon settled the sale; no invoice exists and nothing is in review"
        return ZERO, OrderDifference(order_id, cause, amazon, ZERO, detail, ids, review)
    assert books is not None
    net = total(i.total for i in invoices) + total(m.total for m in _untied(books, known_ids))
    share = net - elsewhere
    if share == amazon:
        return share, None
    where = f", {elsewhere} of it settled in other settlements" if elsewhere else ""
    detail = f"invoiced {net}{where}; Amazon settled {amazon} for the sale here"
    cause = OrderCause.HELD if review else OrderCause.INVOICE_DIFFERS
    if review:
        detail += "; " + _ref_text(review)
    return share, OrderDifference(order_id, cause, amazon, share, detail, ids, review)


def _reversal_difference(
    order_id: str, txn: SettlementTransaction, amazon: Decimal, books: OrderBooks | None
) -> tuple[Decimal, OrderDifference | None]:
    """A transaction giving money back (refund, claim): its credit memo against Amazon's."""
    memos = [
        m
        for m in (books.credit_memos if books else ())
        if m.refund_transaction_id == (txn.transaction_id)
    ]
    credited = total(m.total for m in memos)
    if credited == amazon:
        return credited, None
    review = books.review if books else ()
    label = f"{txn.transaction_type} {txn.transaction_id}"
    pending = [k for k in (books.pending if books else ()) if txn.transaction_id in k]
    if review:
        cause = OrderCause.HELD
        detail = f"{label} gives back {-amazon}, credited {-credited}; " + _ref_text(review)
    elif pending and not memos:
        cause = OrderCause.NOT_POSTED
        detail = f"{label}: credit memo planned, not yet accepted by Oracle: {', '.join(pending)}"
    elif credited > amazon:
        cause = OrderCause.UNDER_CREDITED
        detail = f"{label} gives back {-amazon}, credit memos give back {-credited}"
    else:
        cause = OrderCause.OVER_CREDITED
        detail = f"{label} gives back {-amazon}, credit memos give back {-credited}"
    return credited, OrderDifference(
        order_id, cause, amazon, credited, detail, (txn.transaction_id,), review
    )


def check_proceeds(
    settlement: Settlement,
    journal: JournalDoc | None,
    mapping: ChargeMapping,
    books: Mapping[str, OrderBooks],
    *,
    elsewhere: Mapping[str, Mapping[str, Decimal]] | None = None,
    known_transaction_ids: Iterable[str] = (),
) -> ProceedsCheck:
    """Invariant (c): every order of the settlement, Amazon's invoiced money against its books.

    ``books`` holds the orders of the settlement (others are ignored); ``elsewhere`` what other
    settlements' sale transactions settled per order (see ``sale_footprint``);
    ``known_transaction_ids`` every Amazon transaction id the connection has (a credit memo
    naming one of them belongs to that transaction's settlement).
    """
    elsewhere = elsewhere or {}
    known = set(known_transaction_ids) | {t.transaction_id for t in settlement.transactions}
    tied = _tied_ids(books.values())
    rc = mapping.account_value(_RECEIVABLE_CLEARING)
    amazon_total = total(_invoiced(t, mapping) for t in settlement.released)
    if journal is not None:
        settled = -total(journal.net(a) for a in _unique_accounts(journal) if _natural(a) == rc)
    else:
        settled = amazon_total
    invoices = ZERO
    memos = ZERO
    differences: list[OrderDifference] = []
    by_order = _order_lines(settlement)
    for order_id, txns in sorted(by_order.items()):
        order_books = books.get(order_id)
        sales = [t for t in txns if _is_sale(t, mapping, tied)]
        if sales:
            amazon = total(_invoiced(t, mapping) for t in sales)
            other = elsewhere.get(order_id, {}).get(PROCEEDS, ZERO)
            share, diff = _sale_difference(order_id, sales, amazon, order_books, known, other)
            invoices += share
            if diff is not None:
                differences.append(diff)
        for txn in txns:
            if txn in sales:
                continue
            amazon = _invoiced(txn, mapping)
            tied_here = txn.transaction_id in tied
            if amazon == ZERO and not tied_here:
                continue
            credited, diff = _reversal_difference(order_id, txn, amazon, order_books)
            memos += credited
            if diff is not None:
                differences.append(diff)
    for txn in settlement.released:
        if txn.order_id is None:
            amazon = _invoiced(txn, mapping)
            if amazon != ZERO:
                differences.append(
                    OrderDifference(
                        f"(transaction {txn.transaction_id})",
                        OrderCause.NO_ORDER,
                        amazon,
                        ZERO,
                        f"{txn.transaction_type} {txn.transaction_id} carries order money and "
                        "names no order",
                        (txn.transaction_id,),
                    )
                )
    return ProceedsCheck(
        settled=settled,
        invoices=invoices,
        credit_memos=memos,
        orders=tuple(differences),
        order_count=len(by_order),
    )


def _unique_accounts(journal: JournalDoc) -> list[AccountCombination]:
    seen: list[AccountCombination] = []
    for line in journal.lines:
        if line.account not in seen:
            seen.append(line.account)
    return seen


def _doc_net(docs: Iterable[InvoiceDoc | CreditMemoDoc], natural: str) -> Decimal:
    """Debits minus credits the documents put on an account (their lines are credits)."""
    return total(
        -line.amount for doc in docs for line in doc.lines if _natural(line.account) == natural
    )


def check_clearing(
    settlement: Settlement,
    journal: JournalDoc | None,
    mapping: ChargeMapping,
    books: Mapping[str, OrderBooks],
    proceeds: ProceedsCheck,
    *,
    elsewhere: Mapping[str, Mapping[str, Decimal]] | None = None,
    known_transaction_ids: Iterable[str] = (),
) -> ClearingCheck:
    """Invariant (d): each clearing account, journal and documents together, nets to zero."""
    elsewhere = elsewhere or {}
    known = set(known_transaction_ids) | {t.transaction_id for t in settlement.transactions}
    tied = _tied_ids(books.values())
    ids_here = {t.transaction_id for t in settlement.released}
    held_orders = {o.order_id for o in proceeds.held}
    sales = sale_footprint(settlement, mapping, tied)
    by_order = _order_lines(settlement)
    out: list[ClearingAccount] = []
    for natural, name in clearing_accounts(mapping).items():
        if name == _RECEIVABLE_CLEARING:
            journal_net = -proceeds.settled
            documents = proceeds.books
            held = total(o.difference for o in proceeds.held)
            out.append(ClearingAccount(name, natural, journal_net, documents, held))
            continue
        if journal is not None:
            journal_net = total(
                journal.net(a) for a in _unique_accounts(journal) if _natural(a) == natural
            )
        else:
            journal_net = -total(_on_account(t, mapping, natural) for t in settlement.released)
        documents = ZERO
        held = ZERO
        for order_id, order_books in books.items():
            part = ZERO
            if order_id in sales:
                docs: list[InvoiceDoc | CreditMemoDoc] = [
                    *order_books.invoices,
                    *_untied(order_books, known),
                ]
                # The part other settlements already took (Amazon's figures, book sign).
                part += _doc_net(docs, natural) - elsewhere.get(order_id, {}).get(natural, ZERO)
            tied_here = [m for m in order_books.credit_memos if m.refund_transaction_id in ids_here]
            part += _doc_net(tied_here, natural)
            documents += part
            if order_id in held_orders:
                own = by_order.get(order_id, [])
                held += part - total(_on_account(t, mapping, natural) for t in own)
        out.append(ClearingAccount(name, natural, journal_net, documents, held))
    return ClearingCheck(tuple(out))
