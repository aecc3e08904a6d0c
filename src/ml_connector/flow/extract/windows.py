"""Watermark arithmetic for incremental extraction: which time window to read next.

Pure functions (no clock, no I/O): the caller passes ``now``. The rules come from Amazon's
behaviour (reference/sp-api.md §3.2, §4.1): a window must end at least two minutes before now or
Amazon refuses it (orders) or misses late writes; each poll re-reads an overlap because Amazon
updates orders late and posts money up to 48 hours late; posted windows wider than 180 days come
back *empty without an error*, so they are split; history beyond the retention window does not
exist, so an older start is clamped and the clamp is reported instead of silently shrinking.
Re-reading is harmless: raw records are upserted by Amazon id and content hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ml_connector.remote.amazon.marketplaces import marketplace, retention_start

__all__ = [
    "DEFAULT_ORDERS_OVERLAP",
    "FINANCES_OVERLAP",
    "MAX_POSTED_SPAN",
    "SAFETY_LAG",
    "Clamp",
    "GroupState",
    "Window",
    "clamp_to_retention",
    "finances_windows",
    "groups_to_read",
    "listing_due",
    "next_watermark",
    "orders_window",
    "outside_retention",
    "split_window",
]

SAFETY_LAG = timedelta(minutes=2)
DEFAULT_ORDERS_OVERLAP = timedelta(minutes=10)
FINANCES_OVERLAP = timedelta(hours=48)
MAX_POSTED_SPAN = timedelta(days=180)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Clamp:
    """A requested start older than a marketplace's history: what was asked and what is possible."""

    marketplace_id: str
    requested: datetime
    earliest: datetime


@dataclass(frozen=True)
class Window:
    """Half-open ``[start, end)`` in UTC, with any retention clamps applied to ``start``."""

    start: datetime
    end: datetime
    clamps: tuple[Clamp, ...] = field(default=())

    @property
    def clamped(self) -> bool:
        return bool(self.clamps)

    @property
    def span(self) -> timedelta:
        return self.end - self.start


def latest_end(now: datetime, lag: timedelta = SAFETY_LAG) -> datetime:
    """The newest moment a window may end: ``now - lag``, floored to the second we send."""
    if lag < SAFETY_LAG:
        raise ValueError("Amazon requires windows to end at least 2 minutes before now")
    return (_aware(now, "now") - lag).replace(microsecond=0)


def clamp_to_retention(
    start: datetime, marketplace_ids: Sequence[str], now: datetime
) -> tuple[datetime, tuple[Clamp, ...]]:
    """Move ``start`` forward to the oldest history any of the marketplaces still has.

    Each marketplace whose history begins after ``start`` is reported; the start moves to the
    earliest retention among them, since a marketplace with longer history (JP, AU, SG) still
    has data there.
    """
    start = _aware(start, "start")
    clamps: list[Clamp] = []
    earliest: list[datetime] = []
    for key in marketplace_ids:
        first = retention_start(key, now)
        earliest.append(first)
        if start < first:
            clamps.append(Clamp(marketplace(key).marketplace_id, start, first))
    if not clamps:
        return start, ()
    return max(start, min(earliest)), tuple(clamps)


def outside_retention(record_time: datetime, marketplace_id: str, now: datetime) -> bool:
    """Flag a stored record Amazon no longer keeps (it can never be re-read or repaired)."""
    return _aware(record_time, "record_time") < retention_start(marketplace_id, now)


def orders_window(
    *,
    watermark: datetime | None,
    now: datetime,
    initial_start: datetime,
    marketplace_ids: Sequence[str],
    overlap: timedelta = DEFAULT_ORDERS_OVERLAP,
    lag: timedelta = SAFETY_LAG,
) -> Window | None:
    """The next ``lastUpdatedAfter``/``lastUpdatedBefore`` window, or ``None`` if too early."""
    if overlap < timedelta(0):
        raise ValueError("overlap must not be negative")
    start = _aware(watermark, "watermark") - overlap if watermark else initial_start
    start, clamps = clamp_to_retention(start, marketplace_ids, now)
    end = latest_end(now, lag)
    if start >= end:
        return None
    return Window(start, end, clamps)


def next_watermark(window: Window, echoed_before: datetime | str | None = None) -> datetime:
    """After a window is fully read: Amazon's echoed upper bound if it sent one, else our end.

    The echoed bound is never allowed to move the watermark past what we asked for.
    """
    if echoed_before is None:
        return window.end
    if isinstance(echoed_before, str):
        echoed_before = datetime.fromisoformat(echoed_before.replace("Z", "+00:00"))
    return min(_aware(echoed_before, "echoed_before"), window.end)


def split_window(window: Window, max_span: timedelta = MAX_POSTED_SPAN) -> list[Window]:
    """Consecutive sub-windows no wider than ``max_span`` (clamps kept on the first)."""
    if max_span <= timedelta(0):
        raise ValueError("max_span must be positive")
    out: list[Window] = []
    cursor = window.start
    while cursor < window.end:
        end = min(cursor + max_span, window.end)
        out.append(Window(cursor, end, window.clamps if not out else ()))
        cursor = end
    return out


def finances_windows(
    *,
    watermark: datetime | None,
    now: datetime,
    initial_start: datetime,
    marketplace_ids: Sequence[str],
    overlap: timedelta = FINANCES_OVERLAP,
    lag: timedelta = SAFETY_LAG,
    max_span: timedelta = MAX_POSTED_SPAN,
) -> list[Window]:
    """Posted-date windows for ``listTransactions``: 48 h re-read, ≤ 180 days each."""
    window = orders_window(
        watermark=watermark,
        now=now,
        initial_start=initial_start,
        marketplace_ids=marketplace_ids,
        overlap=overlap,
        lag=lag,
    )
    return split_window(window, max_span) if window else []


@dataclass(frozen=True)
class GroupState:
    """What we know about a settlement (financial event group) from earlier reads."""

    group_id: str
    processing_status: str
    end: datetime | None = None
    last_read: datetime | None = None
    #: When Amazon's group record last changed (status, end, total) as extract stored it.
    changed_at: datetime | None = None


def groups_to_read(
    groups: Iterable[GroupState], *, overlap: timedelta = FINANCES_OVERLAP
) -> list[str]:
    """Settlements whose transactions must be (re)read: never read, still Open, changed since
    our last read (an Open group that closed: its last transactions arrive with the close, however
    long after its end we notice), or Closed less than ``overlap`` before our last read (Amazon
    posts late; a just-closed group can still move).
    """
    return [group.group_id for group in groups if _needs_read(group, overlap)]


def _needs_read(group: GroupState, overlap: timedelta) -> bool:
    if group.last_read is None or group.end is None:
        return True
    if group.processing_status != "Closed":
        return True
    last_read = _aware(group.last_read, "last_read")
    if group.changed_at is not None and _aware(group.changed_at, "changed_at") > last_read:
        return True
    return last_read < group.end + overlap


def listing_due(last_listed: datetime | None, now: datetime, every: timedelta | None) -> bool:
    """Whether settlement groups and settlement reports are listed this cycle: on the first
    cycle (never listed), when ``every`` (the settlements cadence) has passed since the last
    listing, or every cycle when ``every`` is None. Between listings the groups already known
    Open are re-read by their ids; a group only shows it closed in a listing, so a close is
    seen at most one cadence late.
    """
    if every is None or last_listed is None:
        return True
    return _aware(now, "now") - _aware(last_listed, "last_listed") >= every
