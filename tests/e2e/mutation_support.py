"""One bad Amazon record at a time: the seller, the mutations, and the checker of
test_e2e_mutations.py.

A small generated seller (seed 6: 12 orders on amazon.com and amazon.de, about 40 Finances
transactions in the simulator's real shapes, 4 Closed and 2 Open settlement groups, 3 refunds,
every SKU mapped, nothing held) is served by one Amazon simulator and booked into one Oracle
simulator, both on loopback sockets and started once. Each example changes ONE record of what
the Amazon simulator serves (its index, i.e. which listing it appears in, stays that of the
clean record: Amazon lists it where it lives, the body says something odd), gives the Oracle
simulator a fresh, empty ledger, copies a fresh store from a template, and runs
``ml-connector sync demo --json`` in-process through the real CLI, then
``ml-connector review list --json``.

What the books must show is decided by comparing with the clean run's Oracle documents, keyed by
their Amazon id (invoice → order id, credit memo → refund id, journal → settlement group id):

- a document NOT derived from the mutated record is exactly as in the clean run;
- a document derived from it is either there with the clean run's numbers (free text such as a
  line description may differ) or not there at all; if any is missing, an open review item
  names the record (its Amazon id as subject, or in the reason or details) with a reason (and a
  field, for invalid_data), and the exit status is 3 ("held");
- a transaction whose breakdown tree is cut at a node (``breakdowns`` dropped, null or empty)
  says the same money more coarsely: its journal may split it otherwise but keeps the totals;
- a transaction whose ``relatedIdentifiers`` are dropped, null or empty may lose the
  SETTLEMENT_ID that named its settlement: the journal may be named by the group id instead but
  keeps the totals;
- an order item whose tax statement (``tax`` or ``taxCollections``) is dropped, null or empty,
  or loses the collection in it, says, validly, that the seller collects the tax: its invoice
  and credit memos may book the tax on another account but keep the totals;
- every open review item is about the record or its neighbours (its order, refund, group or
  settlement): one bad record does not put innocent ones in the queue;
- nothing else is posted, the sync never crashes, and the exit status is 0 or 3.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from e2e_support import (
    AMAZON_SCALE,
    CASH_IN_TRANSIT,
    CONNECTION,
    ORACLE_SCALE,
    amazon_options,
    new_runtime,
    related,
    write_mapping,
)
from typer.testing import CliRunner

from ml_connector.run import demo
from ml_connector.run.cli import app as cli_app
from ml_connector.store import generate_master_key
from ml_connector_sim.amazon import (
    AmazonWorld,
    GeneratorParams,
    generate_world,
    running_amazon_sim,
    seller_catalog,
    write_catalog_csv,
)
from ml_connector_sim.amazon import RunningSim as AmazonSim
from ml_connector_sim.amazon.context import IndexedGroup, IndexedOrder, IndexedTransaction
from ml_connector_sim.oracle import RunningSim as OracleSim
from ml_connector_sim.oracle import SimOptions as OracleOptions
from ml_connector_sim.oracle import running_oracle_sim
from ml_connector_sim.oracle.state import JournalBatch, SimState, Transaction

Path_ = tuple[str | int, ...]
DocKey = tuple[str, str]  # ("invoice", order id) / ("credit_memo", refund id) / ("journal", group)

SEED = 6
ORDERS = 12
MARKETPLACES = ("US", "DE")
MARKETPLACE_IDS = ["ATVPDKIKX0DER", "A1PA6795UKMFR9"]
REGIONS = ("NA", "EU")
HELD_EXIT = 3

ORDER, TRANSACTION, GROUP = "order", "transaction", "group"
RECORD_KINDS = (ORDER, TRANSACTION, GROUP)
ID_FIELD = {ORDER: "orderId", TRANSACTION: "transactionId", GROUP: "FinancialEventGroupId"}

# -- the mutations ---------------------------------------------------------------------------

DROP, NULL, CASE, UNKNOWN_ENUM, WRONG_TYPE, EXTRA_FIELD, EMPTY_LIST, UNICODE = (
    "drop",
    "null",
    "case",
    "unknown_enum",
    "wrong_type",
    "extra_field",
    "empty_list",
    "unicode",
)
CASE_CHANGES = ("lower", "upper", "swap")
UNKNOWN_VALUES = ("NotAKnownValue", "UNKNOWN_VALUE", "")
EXTRA_VALUES: tuple[Any, ...] = ("surprise", 42, {"nested": ["x"]}, None)
# Combining acute accent, right-to-left mark, zero-width space, right-to-left override, emoji.
ODD_CHARACTERS = ("\u0301", "\u200f", "\u200b", "\u202e", "\U0001f4e6")
PLACES = ("prefix", "middle", "suffix")
_ENUM_LIKE = re.compile(r"^[A-Za-z][A-Za-z_]*$")


@dataclass(frozen=True)
class Mutation:
    """One change to one record: ``op`` applied at ``path`` inside the record's JSON."""

    kind: str  # order / transaction / group
    amazon_id: str
    path: Path_
    op: str
    argument: Any = None

    def describe(self) -> str:
        where = json_path(self.path)
        extra = "" if self.argument is None else f" {self.argument!r}"
        return f"{self.kind} {self.amazon_id}: {self.op}{extra} at {where}"


def json_path(path: Path_) -> str:
    """``orderItems[0].product.sellerSku``: the path as a reader writes it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(record)"


def walk(value: Any, prefix: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) inside a record, parents before children; the root itself excluded."""
    if isinstance(value, dict):
        children: Iterator[tuple[str | int, Any]] = iter(value.items())
    elif isinstance(value, list):
        children = iter(enumerate(value))
    else:
        return
    for key, child in children:
        path = (*prefix, key)
        yield path, child
        yield from walk(child, path)


def value_at(record: Any, path: Path_) -> Any:
    for part in path:
        record = record[part]
    return record


def is_identity(kind: str, path: Path_) -> bool:
    return path == (ID_FIELD[kind],)


def applicable_ops(kind: str, path: Path_, value: Any) -> list[str]:
    """The mutations that make sense at this place (a record's own id is only dropped or
    nulled: any other value would simply be another record)."""
    ops = [DROP, NULL]
    if is_identity(kind, path):
        return ops
    if isinstance(value, str):
        if value.lower() != value.upper():
            ops.append(CASE)
        if _ENUM_LIKE.match(value):
            ops.append(UNKNOWN_ENUM)
        ops.append(UNICODE)
    if value is not None:
        ops.append(WRONG_TYPE)
    if isinstance(value, dict):
        ops.append(EXTRA_FIELD)
    if isinstance(value, list) and value:
        ops.append(EMPTY_LIST)
    if kind == ORDER and path[:1] == ("orderItems",) and len(path) <= 2:
        # The simulator itself shapes each order's items (includedData), so it can only serve
        # orderItems as a list of objects: a null or wrong-typed list or item would make it
        # answer 500, which tests the simulator rather than the connector.
        ops = [op for op in ops if op not in (NULL, WRONG_TYPE)]
    return ops


def _numeric(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def changed_case(value: str, how: str) -> str:
    """The value in another case; falls through the variants until one differs."""
    variants = {"lower": value.lower(), "upper": value.upper(), "swap": value.swapcase()}
    order = [how, *(v for v in CASE_CHANGES if v != how)]
    return next((variants[v] for v in order if variants[v] != value), value.swapcase())


def wrong_type(value: Any) -> Any:
    """number ↔ string, object ↔ list, anything else → a number."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        number = _numeric(value)
        return number if number is not None else 7
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return {"items": value}
    return 7


def odd_unicode(value: str, argument: tuple[str, str]) -> str:
    character, place = argument
    if place == "prefix":
        return character + value
    if place == "suffix":
        return value + character
    middle = len(value) // 2
    return value[:middle] + character + value[middle:]


def mutate(record: dict[str, Any], mutation: Mutation) -> dict[str, Any]:
    """A deep copy of ``record`` with the mutation applied (the original is left alone)."""
    changed = copy.deepcopy(record)
    *parent_path, last = mutation.path
    parent = value_at(changed, tuple(parent_path))
    value = parent[last]
    op, argument = mutation.op, mutation.argument
    if op == DROP:
        del parent[last]
    elif op == NULL:
        parent[last] = None
    elif op == CASE:
        parent[last] = changed_case(value, argument)
    elif op == UNKNOWN_ENUM:
        parent[last] = argument
    elif op == WRONG_TYPE:
        parent[last] = wrong_type(value)
    elif op == EXTRA_FIELD:
        name, extra = argument
        while name in value:  # an extra field, never a replaced one
            name += "_"
        value[name] = extra
    elif op == EMPTY_LIST:
        parent[last] = []
    elif op == UNICODE:
        parent[last] = odd_unicode(value, argument)
    else:
        raise ValueError(f"unknown mutation {op}")
    return changed


# -- the clean seller and its related documents -------------------------------------------------


def make_world() -> AmazonWorld:
    return generate_world(
        GeneratorParams(seed=SEED, orders=ORDERS, days=30, marketplaces=MARKETPLACES)
    )


def records_of(world: AmazonWorld, kind: str) -> list[dict[str, Any]]:
    return {ORDER: world.orders, TRANSACTION: world.transactions, GROUP: world.groups}[kind]


def related_documents(world: AmazonWorld, kind: str, amazon_id: str) -> set[DocKey]:
    """The documents a record feeds, by the clean world's identifiers.

    An order → its invoice and the credit memos of its refunds. A transaction → the journal of
    its settlement group and, for a refund, its credit memo. A group → its journal, and the
    credit memos of the refunds listed in it (transactions are read group by group, so a group
    that cannot be read hides its refunds as if it did not exist).
    """
    docs: set[DocKey] = set()
    if kind == ORDER:
        docs.add(("invoice", amazon_id))
        for tx in world.transactions:
            if tx["transactionType"] == "Refund" and related(tx, "ORDER_ID") == amazon_id:
                docs.add(("credit_memo", str(related(tx, "REFUND_ID"))))
    elif kind == TRANSACTION:
        tx = next(t for t in world.transactions if t["transactionId"] == amazon_id)
        docs.add(("journal", str(related(tx, "FINANCIAL_EVENT_GROUP_ID"))))
        if tx["transactionType"] == "Refund":
            docs.add(("credit_memo", str(related(tx, "REFUND_ID"))))
    else:
        docs.add(("journal", amazon_id))
        for tx in world.transactions:
            if tx["transactionType"] == "Refund" and (
                related(tx, "FINANCIAL_EVENT_GROUP_ID") == amazon_id
            ):
                docs.add(("credit_memo", str(related(tx, "REFUND_ID"))))
    return docs


def neighbour_ids(world: AmazonWorld, kind: str, amazon_id: str) -> set[str]:
    """The Amazon ids next to a record: a transaction's order, refund, group and settlement;
    a group's settlement (review items about a settlement journal name its settlement id)."""
    if kind == TRANSACTION:
        tx = next(t for t in world.transactions if t["transactionId"] == amazon_id)
        names = ("ORDER_ID", "REFUND_ID", "FINANCIAL_EVENT_GROUP_ID", "SETTLEMENT_ID")
        return {value for value in (related(tx, name) for name in names) if value}
    if kind == GROUP:
        members = [
            t for t in world.transactions if related(t, "FINANCIAL_EVENT_GROUP_ID") == amazon_id
        ]
        settlements = {related(t, "SETTLEMENT_ID") for t in members}
        reports = {
            r.settlement_id for r in world.settlement_reports
            if r.financial_event_group_id == amazon_id
        }  # fmt: skip
        return {value for value in settlements | reports if value}
    return set()


# -- what Oracle holds, keyed by Amazon id ----------------------------------------------------

# Keys the simulator assigns itself (ids, request ids, timestamps) or that follow from other
# documents (how much of an invoice is credited): not part of what the connector posted.
_VOLATILE = frozenset(
    {
        "transaction_id",
        "created_at",
        "updated_at",
        "request_id",
        "applied_to",
        "credited",
        "CustomerTransactionLineId",
        "DistributionId",
        "batch_id",
        "header_id",
        "group_id",
    }
)
# Free text: a harmless change to a title may show in it; numbers may never change.
_TEXT = frozenset(
    {"Description", "LineDescription", "Comments", "InternalNotes", "description", "references"}
)


def _canonical(value: Any, drop: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list | tuple):
        return [_canonical(v, drop) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


@dataclass(frozen=True)
class OracleDocument:
    """One posted document: everything the connector sent (``full``), its numbers only
    (``numbers``: free text left out) and its totals (``totals``: what any reading of the same
    money must keep, however the lines are split)."""

    key: DocKey
    full: Any
    numbers: Any
    totals: Any

    @classmethod
    def of(cls, key: DocKey, raw: dict[str, Any]) -> OracleDocument:
        numbers = _canonical(raw, _VOLATILE | _TEXT)
        return cls(key, _canonical(raw, _VOLATILE), numbers, _totals(key[0], numbers))


def _totals(kind: str, numbers: dict[str, Any]) -> dict[str, Any]:
    if kind != "journal":
        amounts = [Decimal(str(line["_amount"])) for line in numbers["lines"]]
        heads = ("number", "currency", "customer_number", "transaction_date", "accounting_date")
        return {name: numbers.get(name) for name in (*heads, "applied_to_invoice")} | {
            "amount": str(sum(amounts, Decimal(0)))
        }
    journals = []
    for journal in numbers["journals"]:
        lines = journal["lines"]
        cash = sum(
            (
                Decimal(str(line["entered_dr"] or 0)) - Decimal(str(line["entered_cr"] or 0))
                for line in lines
                if str(line["account"]).endswith(f".{CASH_IN_TRANSIT}")
            ),
            Decimal(0),
        )
        journals.append(
            {name: journal.get(name) for name in ("currency", "period", "accounting_date")}
            | {
                "debits": str(sum((Decimal(str(x["entered_dr"] or 0)) for x in lines), Decimal(0))),
                "credits": str(
                    sum((Decimal(str(x["entered_cr"] or 0)) for x in lines), Decimal(0))
                ),
                "cash": str(cash),
            }
        )
    return {"name": numbers.get("name"), "journals": journals}


def cuts_breakdown_tree(mutation: Mutation) -> bool:
    """A transaction's breakdown tree cut at a node (its ``breakdowns`` dropped, null or
    empty): the node keeps its amount and is read as a leaf (or the transaction by its
    totalAmount, per the model), which is a valid, coarser statement of the same money. Its
    documents may then split the money differently, but keep the clean run's totals."""
    return (
        mutation.kind == TRANSACTION
        and mutation.op in (DROP, NULL, EMPTY_LIST)
        and mutation.path[-1] == "breakdowns"
    )


def restates_identifiers(mutation: Mutation) -> bool:
    """A transaction's `relatedIdentifiers` dropped, null or emptied. Its money is the same,
    but its SETTLEMENT_ID may be the one that named the settlement (the id is the group's when
    no transaction carries one): the journal may be named otherwise but keeps its totals."""
    return (
        mutation.kind == TRANSACTION
        and mutation.op in (DROP, NULL, EMPTY_LIST)
        and mutation.path[:1] == ("relatedIdentifiers",)
    )


def _kept(totals: Any, mutation: Mutation) -> Any:
    """The totals a restatement must keep: a batch renamed by its group id keeps the rest."""
    if restates_identifiers(mutation) and isinstance(totals, dict):
        return {key: value for key, value in totals.items() if key != "name"}
    return totals


def restates_tax_collector(mutation: Mutation) -> bool:
    """An order item's tax statement (`tax` or `tax.taxCollections`) dropped, null or empty, or
    a collection dropped from `taxCollections`.

    The Orders model's only collection model is MARKETPLACE_FACILITATOR, so no statement is a
    valid statement that the seller collects (docs/amazon-vocabulary.md): the same tax moves
    from tax clearing to sales tax payable. The record then says something else, validly; its
    documents keep the clean run's totals."""
    whole = mutation.op in (DROP, NULL, EMPTY_LIST) and mutation.path[-1] in (
        "tax",
        "taxCollections",
    )
    # Dropping a collection from the list (the seed's items have one) leaves no statement too.
    one_dropped = mutation.op == DROP and mutation.path[-2:-1] == ("taxCollections",)
    return mutation.kind == ORDER and (whole or one_dropped)


def _invoice_key(invoice: Transaction) -> DocKey:
    reference = str(invoice.header.get("CrossReference") or "")
    return ("invoice", reference.removeprefix("amazon-order:") or invoice.number)


def _memo_key(memo: Transaction) -> DocKey:
    return ("credit_memo", memo.number.removeprefix("CM-"))


def _journal_key(batch: JournalBatch, group_ids: Set[str]) -> DocKey:
    """The settlement group a batch books, by whichever reference or description carries it
    (the connector chooses the REFERENCE column; the group id is what identifies the batch)."""
    texts = [batch.description, *(j.description for j in batch.journals)]
    for journal in batch.journals:
        texts.extend(journal.references.values())
        for line in journal.lines:
            texts.extend(line.references.values())
    named = {group for group in group_ids if any(group in str(text) for text in texts)}
    return ("journal", ",".join(sorted(named)) or batch.name)


def oracle_documents(state: SimState, group_ids: Set[str]) -> dict[DocKey, list[OracleDocument]]:
    """Every invoice, credit memo and journal batch in the ledger, by Amazon id."""
    numbers = {t.transaction_id: t.number for t in state.invoices}
    docs: dict[DocKey, list[OracleDocument]] = {}
    for invoice in state.invoices:
        key = _invoice_key(invoice)
        docs.setdefault(key, []).append(OracleDocument.of(key, dataclasses.asdict(invoice)))
    for memo in state.credit_memos:
        key = _memo_key(memo)
        raw = dataclasses.asdict(memo) | {"applied_to_invoice": numbers.get(memo.applied_to or 0)}
        docs.setdefault(key, []).append(OracleDocument.of(key, raw))
    for batch in state.journal_batches:
        key = _journal_key(batch, group_ids)
        docs.setdefault(key, []).append(OracleDocument.of(key, dataclasses.asdict(batch)))
    return docs


# -- one sync --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one sync left: its exit status, output, the ledger and the review queue."""

    exit_code: int
    crash: str | None  # the traceback of an exception that escaped the CLI
    stdout: str
    stderr: str
    documents: dict[DocKey, list[OracleDocument]]
    review_items: list[dict[str, Any]] = field(default_factory=list)


def check(
    clean: Outcome,
    outcome: Outcome,
    mutation: Mutation,
    derived: set[DocKey],
    neighbours: Set[str] = frozenset(),
) -> list[str]:
    """Every way ``outcome`` breaks the rules of the module docstring, in words (empty: fine).

    ``derived`` are the documents the mutated record feeds; ``neighbours`` the Amazon ids a
    review item may name besides the record's own (its order, refund, group): holding the
    settlement of a bad transaction names the settlement.
    """
    problems: list[str] = []
    if outcome.crash is not None:
        problems.append(f"the sync crashed:\n{outcome.crash}")
    if outcome.exit_code not in (0, HELD_EXIT):
        problems.append(
            f"exit status {outcome.exit_code} (expected 0 or {HELD_EXIT}); "
            f"stderr: {outcome.stderr.strip()[-600:]!r}"
        )
    for key in sorted(set(outcome.documents) - set(clean.documents)):
        problems.append(f"posted a document the clean run does not have: {key}")
    missing_derived: list[DocKey] = []
    missing_unrelated: list[DocKey] = []
    for key, expected in sorted(clean.documents.items()):
        got = outcome.documents.get(key, [])
        if key not in derived:
            if not got:
                missing_unrelated.append(key)
            elif [d.full for d in got] != [d.full for d in expected]:
                problems.append(f"unrelated document {key} is different: {_diff(expected, got)}")
        elif not got:
            missing_derived.append(key)
        elif [d.numbers for d in got] != [d.numbers for d in expected] and (
            not (
                cuts_breakdown_tree(mutation)
                or restates_tax_collector(mutation)
                or restates_identifiers(mutation)
            )
            or [_kept(d.totals, mutation) for d in got]
            != [_kept(d.totals, mutation) for d in expected]
        ):
            problems.append(
                f"document {key} of the mutated record posted with other numbers: "
                f"{_diff(expected, got, numbers=True)}"
            )
    if missing_unrelated:
        shown = ", ".join(f"{kind} {amazon_id}" for kind, amazon_id in missing_unrelated[:4])
        more = len(missing_unrelated) - 4
        problems.append(
            f"{len(missing_unrelated)} unrelated documents missing: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
    naming = [i for i in outcome.review_items if names_record(i, mutation)]
    allowed = {key[1] for key in derived} | set(neighbours)
    strays = [
        i
        for i in outcome.review_items
        if i not in naming and not any(names_id(i, amazon_id) for amazon_id in allowed)
    ]
    for item in strays:
        problems.append(f"review item about something else: {_item_text(item)}")
    if missing_derived:
        if not naming:
            problems.append(
                f"{missing_derived} not posted, and no open review item names "
                f"{mutation.amazon_id} (items: {[_item_text(i) for i in outcome.review_items]})"
            )
        if outcome.exit_code != HELD_EXIT:
            problems.append(
                f"{missing_derived} held, but the exit status is {outcome.exit_code}, "
                f"not {HELD_EXIT}"
            )
    for item in naming:
        details = item.get("details") or {}
        if not str(item.get("reason") or "").strip():
            problems.append(f"review item without a reason: {_item_text(item)}")
        if item.get("kind") == "invalid_data" and not str(details.get("field") or "").strip():
            problems.append(f"invalid_data item without a field: {_item_text(item)}")
    if outcome.review_items and outcome.exit_code == 0:
        problems.append("review items are open but the exit status is 0")
    if outcome.exit_code == HELD_EXIT and not outcome.review_items:
        problems.append(f"exit status {HELD_EXIT} with an empty review queue")
    return problems


def names_record(item: Mapping[str, Any], mutation: Mutation) -> bool:
    """The item is about the mutated record: its id, or (when the id itself is what is gone)
    an invalid_data item of that kind of record whose field is the id's."""
    if names_id(item, mutation.amazon_id):
        return True
    details = item.get("details") or {}
    return (
        is_identity(mutation.kind, mutation.path)
        and item.get("kind") == "invalid_data"
        and ID_FIELD[mutation.kind] in str(details.get("field") or "")
    )


def names_id(item: Mapping[str, Any], amazon_id: str) -> bool:
    if not amazon_id:
        return False
    if item.get("subject") == amazon_id:
        return True
    text = str(item.get("reason") or "") + json.dumps(item.get("details"), default=str)
    return amazon_id in text


def _item_text(item: Mapping[str, Any]) -> str:
    return (
        f"[{item.get('kind')}] {item.get('subject')}: {item.get('reason')} "
        f"{json.dumps(item.get('details'), default=str)}"
    )


def _diff(
    expected: Sequence[OracleDocument], got: Sequence[OracleDocument], *, numbers: bool = False
) -> str:
    def pick(d: OracleDocument) -> Any:
        return d.numbers if numbers else d.full

    if not got:
        return "not in Oracle"
    if len(got) != len(expected):
        return f"{len(got)} copies instead of {len(expected)}"
    for want, have in zip(expected, got, strict=True):
        lines = _first_difference(pick(want), pick(have))
        if lines:
            moved = _moved_money(pick(want), pick(have)) if want.key[0] == "journal" else ""
            return f"{lines}{moved}"
    return "(equal)"


def _moved_money(want: Any, have: Any) -> str:
    """Journal lines are positional: also say which accounts gained or lost money."""

    def net(batch: Any) -> dict[str, Decimal]:
        sums: dict[str, Decimal] = {}
        for journal in batch.get("journals") or []:
            for line in journal.get("lines") or []:
                amount = Decimal(str(line.get("entered_dr") or 0))
                amount -= Decimal(str(line.get("entered_cr") or 0))
                sums[str(line.get("account"))] = sums.get(str(line.get("account")), Decimal(0))
                sums[str(line.get("account"))] += amount
        return sums

    before, after = net(want), net(have)
    changes = [
        f"{account} {before.get(account, Decimal(0))} -> {after.get(account, Decimal(0))}"
        for account in sorted(set(before) | set(after))
        if before.get(account, Decimal(0)) != after.get(account, Decimal(0))
    ]
    return f" (net debit by account: {'; '.join(changes)})" if changes else ""


def _first_difference(want: Any, have: Any, where: str = "") -> str:
    if type(want) is not type(have):
        return f"{where or 'document'}: {want!r} -> {have!r}"
    if isinstance(want, dict):
        for key in sorted(set(want) | set(have)):
            if want.get(key) != have.get(key):
                return _first_difference(want.get(key), have.get(key), f"{where}.{key}")
        return ""
    if isinstance(want, list):
        if len(want) != len(have):
            return f"{where}: {len(want)} entries -> {len(have)}"
        for index, (a, b) in enumerate(zip(want, have, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{where}[{index}]")
        return ""
    return "" if want == have else f"{where}: {want!r} -> {have!r}"


class _KeptId(dict[str, Any]):
    """A served record whose id may be gone from its body, while the simulator's own index
    (which sorts and finds records by id) still knows it: the body is what Amazon sends, the
    index is where Amazon keeps it. Serialisation and ``.get`` see only the body."""

    def __init__(self, body: dict[str, Any], id_field: str, amazon_id: str) -> None:
        super().__init__(body)
        self._id_field = id_field
        self._amazon_id = amazon_id

    def __missing__(self, key: str) -> Any:
        if key == self._id_field:
            return self._amazon_id
        raise KeyError(key)


# -- the running seller ------------------------------------------------------------------------


@dataclass
class Seller:
    """Both simulators, a template store with the connection, and the clean run."""

    world: AmazonWorld
    amazon: AmazonSim
    oracle: OracleSim
    workdir: Path
    template: Path
    master_key: str
    orders: list[IndexedOrder]
    transactions: list[IndexedTransaction]
    groups: list[IndexedGroup]
    runner: CliRunner = field(default_factory=CliRunner)
    clean: Outcome | None = None

    def __repr__(self) -> str:
        return f"Seller(seed={SEED}, amazon={self.amazon.base_url}, oracle={self.oracle.base_url})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints the arguments of a failing example: not the whole world."""
        printer.text(repr(self))

    def record(self, kind: str, amazon_id: str) -> dict[str, Any]:
        return next(r for r in records_of(self.world, kind) if r[ID_FIELD[kind]] == amazon_id)

    def serve(self, mutation: Mutation | None) -> None:
        """Make the Amazon simulator serve the clean world, with at most one record changed."""
        orders, transactions, groups = list(self.orders), list(self.transactions), list(self.groups)
        if mutation is not None:
            changed = _KeptId(
                mutate(self.record(mutation.kind, mutation.amazon_id), mutation),
                ID_FIELD[mutation.kind],
                mutation.amazon_id,
            )
            if mutation.kind == ORDER:
                orders = [
                    dataclasses.replace(o, order=changed)
                    if o.order["orderId"] == mutation.amazon_id
                    else o
                    for o in orders
                ]
            elif mutation.kind == TRANSACTION:
                transactions = [
                    dataclasses.replace(t, transaction=changed)
                    if t.transaction["transactionId"] == mutation.amazon_id
                    else t
                    for t in transactions
                ]
            else:
                groups = [
                    dataclasses.replace(g, group=changed)
                    if g.group["FinancialEventGroupId"] == mutation.amazon_id
                    else g
                    for g in groups
                ]
        context = self.amazon.context
        with context.lock:
            context.orders = orders
            # Keyed by the clean ids: getOrder finds the record where Amazon keeps it.
            context.orders_by_id = {
                clean.order["orderId"]: served
                for clean, served in zip(self.orders, orders, strict=True)
            }
            context.transactions = transactions
            context.groups = groups

    def problems(self, mutation: Mutation, outcome: Outcome | None = None) -> list[str]:
        """Sync with ``mutation`` (unless its outcome is given) and check it against the clean
        run. A reproduction of one example:

            with running_seller(Path(tmp)) as seller:
                seller.clean = seller.sync()
                print(seller.problems(Mutation("group", "<id>", ("FundTransferDate",), "null")))
        """
        assert self.clean is not None, "run the clean sync first"
        kind, amazon_id = mutation.kind, mutation.amazon_id
        return check(
            self.clean,
            outcome if outcome is not None else self.sync(mutation),
            mutation,
            related_documents(self.world, kind, amazon_id),
            neighbour_ids(self.world, kind, amazon_id),
        )

    def cli(self, database: Path, *args: str) -> Any:
        return self.runner.invoke(
            cli_app,
            ["--db", f"sqlite:///{database}", *args],
            env={"ML_CONNECTOR_MASTER_KEY": self.master_key, "COLUMNS": "200"},
        )

    def sync(self, mutation: Mutation | None = None) -> Outcome:
        """Serve the (mutated) world, empty the Oracle ledger, sync a fresh store, read back."""
        self.serve(mutation)
        self.oracle.context.state = SimState(self.oracle.context.options.clock)
        database = self.workdir / f"store-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(self.template, database)
        try:
            result = self.cli(database, "sync", CONNECTION, "--json")
            crash = None
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                import traceback

                crash = "".join(traceback.format_exception(result.exception))[-4000:]
            review = self.cli(database, "review", "list", "--json")
            items: list[dict[str, Any]] = []
            if review.exit_code == 0 and review.stdout.strip():
                items = list(json.loads(review.stdout.strip().splitlines()[-1])["items"])
            elif crash is None:
                crash = f"review list failed ({review.exit_code}): {review.output[-2000:]}"
            return Outcome(
                exit_code=result.exit_code,
                crash=crash,
                stdout=result.stdout,
                stderr=result.stderr,
                documents=oracle_documents(
                    self.oracle.state, {str(g["FinancialEventGroupId"]) for g in self.world.groups}
                ),
                review_items=items,
            )
        finally:
            self.serve(None)
            for path in self.workdir.glob(f"{database.name}*"):
                path.unlink(missing_ok=True)


def _config(amazon: AmazonSim, oracle: OracleSim, workdir: Path) -> Any:
    endpoints = demo.SimEndpoints(amazon.base_url, oracle.base_url)
    config = demo.simulator_config(
        endpoints,
        catalog=workdir / "catalog.csv",
        charges=workdir / "charges.toml",
        regions=REGIONS,
        time_scale=AMAZON_SCALE,
    )
    return config.model_copy(
        update={
            "amazon": config.amazon.model_copy(update={"marketplace_ids": MARKETPLACE_IDS}),
            "oracle": config.oracle.model_copy(
                update={"import_poll_seconds": 0.01, "import_settle_seconds": 0.3}
            ),
        }
    )


@contextmanager
def running_seller(workdir: Path) -> Iterator[Seller]:
    """Start both simulators for the small seller and make the template store; no sync yet."""
    world = make_world()
    write_catalog_csv(seller_catalog(world), workdir / "amazon-catalog.csv")
    demo.prepare_mappings(workdir, mapping=None)
    write_mapping(workdir, leave_out=0)
    master_key = generate_master_key()
    template = workdir / "template.db"
    with (
        running_amazon_sim(world, amazon_options()) as amazon,
        running_oracle_sim(None, OracleOptions(time_scale=ORACLE_SCALE)) as oracle,
    ):
        rt = new_runtime(f"sqlite:///{template}", master_key)
        try:
            with rt.sessions() as session, session.begin():
                demo.add_simulator_connection(
                    session, rt.require_keyring(), CONNECTION, _config(amazon, oracle, workdir)
                )
        finally:
            rt.close()
        context = amazon.context
        yield Seller(
            world=world,
            amazon=amazon,
            oracle=oracle,
            workdir=workdir,
            template=template,
            master_key=master_key,
            orders=list(context.orders),
            transactions=list(context.transactions),
            groups=list(context.groups),
        )
