"""Pull Amazon records into the store: the I/O half of extract.

Each page's records are upserted by Amazon id and content hash in one transaction, so a re-read
(the overlaps of DESIGN.md §2) costs a hash comparison and creates nothing. The watermark moves
only after the whole window has been read: a crash mid-window re-reads it, never skips it.

Regions are read one after the other, each with its own watermarks (``orders@NA``,
``finances@FE``; a store from before per-region watermarks starts each region from the shared
``orders`` / ``finances`` one). A region Amazon will not serve this cycle — its refresh token
refused, its host unreachable, its calls failing after retries — is recorded in
``PullSummary.region_failures`` with one plain line, keeps its watermarks, and the other
regions are read as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.domain.quarantine import RecordKind, Unreadable
from ml_connector.domain.settlements import GroupStatus, group_status_of
from ml_connector.errors import AuthError, RemoteError, TransientError
from ml_connector.flow.extract.windows import (
    FINANCES_OVERLAP,
    GroupState,
    Window,
    groups_to_read,
    latest_end,
    listing_due,
    next_watermark,
    orders_window,
    split_window,
)
from ml_connector.remote.amazon.client import SpApiClient
from ml_connector.remote.explain import describe_failure
from ml_connector.run import crashpoints
from ml_connector.store import (
    AuditAction,
    RawKind,
    ReviewKind,
    UpsertOutcome,
    advance_cursor,
    append_event,
    content_hash,
    delete_raw_records,
    get_cursor,
    list_raw_records,
    list_review_items,
    open_review_item,
    resolve_subject,
    upsert_raw_record,
)
from ml_connector.store.cursors import cursors_with_prefix
from ml_connector.store.tables import RawRecord

_log = structlog.get_logger(__name__)

ORDERS_STREAM = "orders"
GROUPS_STREAM = "finances"
GROUP_READ_PREFIX = "group-read:"
#: ``groups-listed@NA``: when NA's settlement groups and settlement reports were last listed.
GROUPS_LISTED_PREFIX = "groups-listed@"
#: ``group-region@NA:<group id>``: the region that listed a group, so that a cycle which does not
#: list can still re-read the group by its id through the right region's client.
GROUP_REGION_PREFIX = "group-region@"
# The cursors table's stream column; a longer name (a very long group id) is not kept.
_MAX_STREAM = 64
# Settlement periods are 14 days (7 or 1 for some accounts); a group open this long before the
# history start can still end inside the history window.
SETTLEMENT_SPAN = timedelta(days=35)
# Amazon answers an empty list when the started-after/before span exceeds 180 days.
GROUP_LIST_SPAN = timedelta(days=179)


# The store's id column; an id Amazon sends longer than this, or with control characters, is not
# one a person could look up either.
_MAX_ID = 128
UNIDENTIFIED = "#unidentified-"


def usable_id(value: object) -> str | None:
    """An Amazon id as stored: text, not blank, at most 128 characters, no control characters."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > _MAX_ID or any(ord(c) < 32 or c == "\x7f" for c in text):
        return None
    return text


@dataclass
class PullSummary:
    new: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    pages: int = 0
    clamped: list[str] = field(default_factory=list)
    #: Records that could not even be identified (no usable id): each has its review item.
    unidentified: int = 0
    #: Region → one plain line why it could not be read this cycle (its watermarks stayed).
    region_failures: dict[str, str] = field(default_factory=dict)
    #: The regions of ``region_failures`` whose credentials Amazon refused (``AuthError``: a
    #: refresh token, the LWA client, a role): unlike an outage, that never heals by itself.
    regions_refused: set[str] = field(default_factory=set)

    def count(self, kind: RawKind, outcome: UpsertOutcome) -> None:
        if outcome is UpsertOutcome.NEW:
            self.new[kind.value] = self.new.get(kind.value, 0) + 1
        elif outcome is UpsertOutcome.CHANGED:
            self.changed[kind.value] = self.changed.get(kind.value, 0) + 1
        else:
            self.unchanged += 1


Progress = Callable[[str, int], None]

#: What takes one region out of a cycle instead of stopping the whole sync: refused
#: credentials (LWA or a role) and failures that outlived the request's retries (no
#: connection, timeouts, 5xx, throttling).
REGION_FAILURES = (AuthError, TransientError)


def region_failure(region: str, exc: RemoteError, connection: str) -> str:
    """One plain line for a region that could not be read, in `connection test`'s words
    (``remote/explain.py``)."""
    return describe_failure(exc, connection=connection, region=region)


def _region_cursor(
    session: Session, connection_id: int, stream: str, region: str
) -> datetime | None:
    """The region's own watermark, else the shared one an older store kept for all regions."""
    own = get_cursor(session, connection_id, f"{stream}@{region}")
    return own if own is not None else get_cursor(session, connection_id, stream)


def _region_failed(summary: PullSummary, region: str, exc: RemoteError, connection: str) -> None:
    line = region_failure(region, exc, connection)
    if region not in summary.region_failures and isinstance(exc, AuthError):
        summary.regions_refused.add(region)
    summary.region_failures.setdefault(region, line)
    _log.warning("extract.region_failed", region=region, reason=line, error=str(exc)[:300])


@contextmanager
def _tx(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session, session.begin():
        yield session


def _store(
    session: Session,
    connection_id: int,
    kind: RawKind,
    amazon_id: str,
    raw: Mapping[str, object],
    summary: PullSummary,
    now: datetime,
    request_id: str | None = None,
    parent_id: str | None = None,
) -> UpsertOutcome:
    outcome = upsert_raw_record(
        session, connection_id, kind, amazon_id, dict(raw), now=now, parent_id=parent_id
    )
    summary.count(kind, outcome)
    if outcome is not UpsertOutcome.UNCHANGED:
        append_event(
            session,
            connection_id,
            AuditAction.FETCHED if outcome is UpsertOutcome.NEW else AuditAction.CHANGED,
            amazon_ids=[amazon_id],
            amazon_request_id=request_id,
            details={"kind": kind.value},
            at=now,
        )
    return outcome


def _unidentified(
    session: Session,
    connection_id: int,
    record: RecordKind,
    raw: Mapping[str, object],
    id_field: str,
    where: str,
    summary: PullSummary,
) -> None:
    """A listed record without a usable id: it cannot be stored under its id, so it is held
    under one derived from its content (the same bad record opens one item, not one a cycle)."""
    summary.unidentified += 1
    subject = f"unidentified-{record.value}:{content_hash(raw)[:16]}"
    value = raw.get(id_field)
    problem = Unreadable(
        record, subject, id_field, f"{id_field} is {value!r}, not an id we can use ({where})"
    )
    open_review_item(
        session,
        connection_id,
        ReviewKind.INVALID_DATA,
        subject,
        problem.describe(),
        details=problem.details(),
    )


def _flag_clamps(
    sessions: sessionmaker[Session], connection_id: int, window: Window, summary: PullSummary
) -> None:
    if not window.clamps:
        return
    with _tx(sessions) as session:
        for clamp in window.clamps:
            reason = (
                f"Amazon keeps order history for {clamp.marketplace_id} only from "
                f"{clamp.earliest:%Y-%m-%d}; the request from {clamp.requested:%Y-%m-%d} was "
                "shortened to that date. Older orders must come from your own records."
            )
            summary.clamped.append(reason)
            open_review_item(
                session,
                connection_id,
                ReviewKind.OUTSIDE_RETENTION,
                clamp.marketplace_id,
                reason,
                details={"earliest": clamp.earliest.isoformat()},
            )
            append_event(
                session,
                connection_id,
                AuditAction.CLAMPED,
                amazon_ids=[clamp.marketplace_id],
                details={"earliest": clamp.earliest.isoformat()},
            )


def pull_orders(
    sessions: sessionmaker[Session],
    connection_id: int,
    clients: Mapping[str, SpApiClient],
    marketplaces: Mapping[str, Sequence[str]],
    *,
    now: datetime,
    initial_start: datetime,
    since: datetime | None = None,
    overlap: timedelta = timedelta(minutes=10),
    progress: Progress | None = None,
    connection: str = "NAME",
) -> PullSummary:
    """Orders updated since each region's watermark (minus the overlap), for its marketplaces.

    A region that fails (``REGION_FAILURES``) is named in ``region_failures`` (``connection``
    is the name its advice uses) and keeps its watermark; the others are read.
    """
    summary = PullSummary()
    for region, client in clients.items():
        ids = list(marketplaces.get(region, ()))
        if not ids:
            continue
        stream = f"{ORDERS_STREAM}@{region}"
        with _tx(sessions) as session:
            watermark = (
                None if since else _region_cursor(session, connection_id, ORDERS_STREAM, region)
            )
        window = orders_window(
            watermark=watermark,
            now=now,
            initial_start=since or initial_start,
            marketplace_ids=ids,
            overlap=overlap,
        )
        if window is None:
            continue
        _flag_clamps(sessions, connection_id, window, summary)
        try:
            echoed = _pull_region_orders(
                sessions, connection_id, client, ids, window, summary, now, progress
            )
        except REGION_FAILURES as exc:
            _region_failed(summary, region, exc, connection)
            continue
        with _tx(sessions) as session:
            advance_cursor(session, connection_id, stream, next_watermark(window, echoed), now=now)
    crashpoints.hit("extract.orders.cursor_committed")
    return summary


def _pull_region_orders(
    sessions: sessionmaker[Session],
    connection_id: int,
    client: SpApiClient,
    ids: list[str],
    window: Window,
    summary: PullSummary,
    now: datetime,
    progress: Progress | None,
) -> str | None:
    """Every page of one region's window; returns Amazon's echoed upper bound, if any."""
    echoed: str | None = None
    for page in client.orders.search_pages(
        marketplace_ids=ids, last_updated_after=window.start, last_updated_before=window.end
    ):
        summary.pages += 1
        echoed = page.last_updated_before or echoed
        with _tx(sessions) as session:
            for record in page.records:
                order_id = usable_id(record.raw.get("orderId"))
                if order_id is None:
                    where = f"searchOrders page {summary.pages}"
                    _unidentified(
                        session,
                        connection_id,
                        RecordKind.ORDER,
                        record.raw,
                        "orderId",
                        where,
                        summary,
                    )
                    continue
                _store(
                    session,
                    connection_id,
                    RawKind.ORDER,
                    order_id,
                    record.raw,
                    summary,
                    now,
                    client.last_request_id,
                )
        crashpoints.hit("extract.orders.page_committed")
        if progress:
            progress("orders", len(page.records))
    return echoed


def _forget_stand_ins(
    session: Session, connection_id: int, group_id: str, listed: set[str]
) -> None:
    """Drop stand-ins for unidentified transactions the latest listing no longer has."""
    prefix = f"{group_id}{UNIDENTIFIED}"
    stale = [
        row.amazon_id
        for row in session.query(RawRecord).filter(
            RawRecord.connection_id == connection_id,
            RawRecord.kind == RawKind.TRANSACTION,
            RawRecord.amazon_id.startswith(prefix, autoescape=True),
        )
        if row.amazon_id not in listed
    ]
    delete_raw_records(session, connection_id, RawKind.TRANSACTION, stale)
    for amazon_id in stale:
        resolve_subject(
            session,
            connection_id,
            amazon_id,
            kind=ReviewKind.INVALID_DATA,
            resolution="Amazon no longer lists this record",
        )


def _groups_awaiting_repair(session: Session, connection_id: int) -> list[str]:
    """Groups holding a transaction we could not read: re-listed every cycle, however old, so
    that a record Amazon fixes is seen (and its review item closes) without anyone asking."""
    subjects = [
        item.subject_amazon_id
        for item in list_review_items(
            session, connection_id=connection_id, kind=ReviewKind.INVALID_DATA
        )
        if item.details.get("record") == RecordKind.TRANSACTION.value
    ]
    if not subjects:
        return []
    parents = session.scalars(
        select(RawRecord.parent_amazon_id).where(
            RawRecord.connection_id == connection_id,
            RawRecord.kind == RawKind.TRANSACTION,
            RawRecord.amazon_id.in_(subjects),
        )
    )
    return sorted({parent for parent in parents if parent})


def _group_record_awaiting_repair(session: Session, connection_id: int) -> bool:
    """A settlement group record we could not read waits for review: only a listing can show
    Amazon's repaired record, so groups are listed every cycle until it is resolved."""
    return any(
        item.details.get("record") == RecordKind.GROUP.value
        for item in list_review_items(
            session, connection_id=connection_id, kind=ReviewKind.INVALID_DATA
        )
    )


def _remember_region(
    session: Session, connection_id: int, group_id: str, region: str, now: datetime
) -> None:
    stream = f"{GROUP_REGION_PREFIX}{region}:{group_id}"
    if len(stream) <= _MAX_STREAM and get_cursor(session, connection_id, stream) is None:
        advance_cursor(session, connection_id, stream, now, now=now)


def _known_regions(session: Session, connection_id: int) -> dict[str, str]:
    """Group id → the region that listed it, for every group a listing has recorded."""
    out: dict[str, str] = {}
    for rest in cursors_with_prefix(session, connection_id, GROUP_REGION_PREFIX):
        region, _, group_id = rest.partition(":")
        out.setdefault(group_id, region)
    return out


def _aware_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _group_states(session: Session, connection_id: int) -> list[GroupState]:
    states = []
    for row in list_raw_records(session, connection_id, RawKind.GROUP):
        group = row.payload
        # A group whose status or end cannot be read is treated as still open: re-read it.
        status = group_status_of(group)
        states.append(
            GroupState(
                group_id=row.amazon_id,
                processing_status=(status or GroupStatus.OPEN).value,
                end=_aware_time(group.get("FinancialEventGroupEnd")),
                last_read=get_cursor(session, connection_id, GROUP_READ_PREFIX + row.amazon_id),
                changed_at=row.changed_at,
            )
        )
    return states


GROUP_HISTORY_STREAM = "finances-history-start"
"""Where the first finances sync started listing groups: later syncs never list further back,
so the books hold the same settlement history whichever sync read it (issue 10, Scope 8)."""

OPEN_GROUP_LOOKBACK = timedelta(days=60)
"""A group stays Open for up to weeks: later syncs re-list every group started this long before
the watermark, so a group still Open is listed (and re-read) again."""


def _oldest_group_start(session: Session, connection_id: int) -> datetime | None:
    starts = [
        _aware_time(row.payload.get("FinancialEventGroupStart"))
        for row in list_raw_records(session, connection_id, RawKind.GROUP)
        if isinstance(row.payload, dict)
    ]
    known = [start for start in starts if start is not None]
    return min(known) if known else None


def _listing_start(
    session: Session,
    connection_id: int,
    initial_start: datetime,
    now: datetime,
    region: str | None = None,
) -> datetime:
    """The first sync lists from ``initial_start`` and records it; a later one lists from the
    watermark minus ``OPEN_GROUP_LOOKBACK``, never before the first sync's start. (A store
    synced before the start was recorded takes its oldest stored group's start, or this
    sync's ``initial_start``.) ``region``: whose watermark (see the module doc)."""
    watermark = (
        get_cursor(session, connection_id, GROUPS_STREAM)
        if region is None
        else _region_cursor(session, connection_id, GROUPS_STREAM, region)
    )
    history = get_cursor(session, connection_id, GROUP_HISTORY_STREAM)
    if history is None:
        history = initial_start
        if watermark is not None:
            history = _oldest_group_start(session, connection_id) or initial_start
        advance_cursor(session, connection_id, GROUP_HISTORY_STREAM, history, now=now)
    if watermark is None:
        return history
    return max(watermark - OPEN_GROUP_LOOKBACK, history)


def pull_finances(
    sessions: sessionmaker[Session],
    connection_id: int,
    clients: Mapping[str, SpApiClient],
    *,
    now: datetime,
    initial_start: datetime,
    since: datetime | None = None,
    overlap: timedelta = FINANCES_OVERLAP,
    list_every: timedelta | None = None,
    progress: Progress | None = None,
    connection: str = "NAME",
) -> PullSummary:
    """Settlement groups started since the watermark, then the transactions of every group that
    is new, still Open, or closed recently enough that Amazon may still post into it (48 h).

    ``list_every`` (the settlements cadence; None: every cycle) spaces out
    ``listFinancialEventGroups`` and ``getReports``: a region lists on its first cycle, on a
    backfill (``since``), once the cadence has passed since its last listing, and while a group
    record waits for repair; in between, the groups due a read (Open, just closed, awaiting
    repair) are re-read by their ids. With ``since`` every group that overlaps ``[since, now)``
    is read: those started up to ``SETTLEMENT_SPAN`` before it that end after it or are Open.

    Region by region: one that fails (``REGION_FAILURES``) is named in ``region_failures`` and
    keeps its watermark (and its groups their read marks); the others are read.
    """
    summary = PullSummary()
    owner: dict[str, str] = {}  # group id → the region that lists it (each reads its own)
    listed_since: dict[str, datetime] = {}
    for region, client in clients.items():
        with _tx(sessions) as session:
            last_listed = get_cursor(session, connection_id, GROUPS_LISTED_PREFIX + region)
            due = (
                since is not None
                or listing_due(last_listed, now, list_every)
                or _group_record_awaiting_repair(session, connection_id)
            )
        if not due:
            continue
        with _tx(sessions) as session:
            started_after = since or _listing_start(
                session, connection_id, initial_start, now, region
            )
            history = (
                since or get_cursor(session, connection_id, GROUP_HISTORY_STREAM) or started_after
            )
        # A settlement that started before the history window may end inside it (its orders are
        # in the books): list far enough back to find it, and keep only those that reach it.
        listing = Window(started_after - SETTLEMENT_SPAN, latest_end(now))
        try:
            records = [
                record
                for window in split_window(listing, GROUP_LIST_SPAN)
                for record in client.finances.list_financial_event_groups(
                    started_after=window.start, started_before=window.end
                )
            ]
        except REGION_FAILURES as exc:
            _region_failed(summary, region, exc, connection)
            continue
        listed_since[region] = started_after
        with _tx(sessions) as session:
            for record in records:
                group_id = usable_id(record.raw.get("FinancialEventGroupId"))
                if group_id is None:
                    _unidentified(
                        session,
                        connection_id,
                        RecordKind.GROUP,
                        record.raw,
                        "FinancialEventGroupId",
                        "listFinancialEventGroups",
                        summary,
                    )
                    continue
                ended = _aware_time(record.raw.get("FinancialEventGroupEnd"))
                if ended is not None and ended < history:
                    continue  # wholly before the history the books start from
                owner[group_id] = region
                _remember_region(session, connection_id, group_id, region, now)
                _store(
                    session,
                    connection_id,
                    RawKind.GROUP,
                    group_id,
                    record.raw,
                    summary,
                    now,
                    client.last_request_id,
                )
        summary.pages += 1
        crashpoints.hit("extract.groups.committed")
    with _tx(sessions) as session:
        to_read = groups_to_read(_group_states(session, connection_id), overlap=overlap)
        to_read += [g for g in _groups_awaiting_repair(session, connection_id) if g not in to_read]
        known = _known_regions(session, connection_id)
    only = next(iter(clients)) if len(clients) == 1 else None
    for group_id in to_read:
        # A group listed this cycle is read through the region that listed it; one known from an
        # earlier listing through the region recorded then (a store from before regions were
        # recorded: the only region, if there is one).
        region_of_group = owner.get(group_id) or known.get(group_id) or only
        if (
            region_of_group is None
            or region_of_group not in clients
            or region_of_group in summary.region_failures
        ):
            continue
        group_client = clients[region_of_group]
        try:
            transactions = list(group_client.finances.list_transactions(group_id=group_id))
        except REGION_FAILURES as exc:
            _region_failed(summary, region_of_group, exc, connection)
            continue
        with _tx(sessions) as session:
            listed: set[str] = set()
            for transaction in transactions:
                transaction_id = usable_id(transaction.raw.get("transactionId"))
                if transaction_id is None:
                    # Kept (the settlement must wait for it) under an id of its content; the
                    # stand-in goes away when Amazon no longer lists that content.
                    transaction_id = f"{group_id}{UNIDENTIFIED}{content_hash(transaction.raw)[:16]}"
                listed.add(transaction_id)
                _store(
                    session,
                    connection_id,
                    RawKind.TRANSACTION,
                    transaction_id,
                    transaction.raw,
                    summary,
                    now,
                    group_client.last_request_id,
                    parent_id=group_id,
                )
            _forget_stand_ins(session, connection_id, group_id, listed)
            advance_cursor(session, connection_id, GROUP_READ_PREFIX + group_id, now, now=now)
        crashpoints.hit("extract.transactions.group_committed")
        if progress:
            progress("settlements", 1)
    for region, started_after in listed_since.items():
        if region in summary.region_failures:
            continue
        try:
            _pull_settlement_reports(
                sessions, connection_id, {region: clients[region]}, started_after, summary, now
            )
        except REGION_FAILURES as exc:
            _region_failed(summary, region, exc, connection)
            continue
        with _tx(sessions) as session:
            advance_cursor(session, connection_id, f"{GROUPS_STREAM}@{region}", now, now=now)
            advance_cursor(session, connection_id, GROUPS_LISTED_PREFIX + region, now, now=now)
    return summary


def _pull_settlement_reports(
    sessions: sessionmaker[Session],
    connection_id: int,
    clients: Mapping[str, SpApiClient],
    created_since: datetime,
    summary: PullSummary,
    now: datetime,
) -> None:
    """Settlement V2 report totals (see ``flow/extract/reports.py``)."""
    from ml_connector.flow.extract.reports import pull_settlement_reports

    pull_settlement_reports(sessions, connection_id, clients, created_since, summary, now)
