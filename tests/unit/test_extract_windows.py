"""Watermark windows: the 2-minute rule, overlaps, 180-day splits and the retention clamp."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from ml_connector.flow.extract.windows import (
    GroupState,
    Window,
    finances_windows,
    groups_to_read,
    next_watermark,
    orders_window,
    outside_retention,
    split_window,
)

NOW = datetime(2026, 6, 15, 12, 0, 30, 123456, tzinfo=UTC)
US, JP = "ATVPDKIKX0DER", "A1VC38T7YXB528"


def test_window_ends_at_least_two_minutes_before_now() -> None:
    w = orders_window(
        watermark=None, now=NOW, initial_start=NOW - timedelta(days=1), marketplace_ids=[US]
    )
    assert w is not None
    assert w.end == datetime(2026, 6, 15, 11, 58, 30, tzinfo=UTC)
    assert NOW - w.end >= timedelta(minutes=2)


def test_lag_shorter_than_two_minutes_is_refused() -> None:
    with pytest.raises(ValueError, match="2 minutes"):
        orders_window(
            watermark=None,
            now=NOW,
            initial_start=NOW - timedelta(days=1),
            marketplace_ids=[US],
            lag=timedelta(seconds=30),
        )


def test_next_poll_rereads_the_overlap() -> None:
    mark = NOW - timedelta(hours=1)
    w = orders_window(
        watermark=mark, now=NOW, initial_start=NOW - timedelta(days=30), marketplace_ids=[US]
    )
    assert w is not None
    assert w.start == mark - timedelta(minutes=10)
    w2 = orders_window(
        watermark=mark,
        now=NOW,
        initial_start=NOW,
        marketplace_ids=[US],
        overlap=timedelta(minutes=30),
    )
    assert w2 is not None
    assert w2.start == mark - timedelta(minutes=30)


def test_nothing_to_read_right_after_a_poll() -> None:
    assert (
        orders_window(
            watermark=NOW, now=NOW, initial_start=NOW, marketplace_ids=[US], overlap=timedelta(0)
        )
        is None
    )


def test_watermark_follows_amazons_echo_but_never_beyond_the_window() -> None:
    w = Window(NOW - timedelta(hours=1), NOW - timedelta(minutes=2))
    assert next_watermark(w) == w.end
    assert next_watermark(w, "2026-06-15T11:30:00Z") == datetime(2026, 6, 15, 11, 30, tzinfo=UTC)
    assert next_watermark(w, NOW + timedelta(days=1)) == w.end


def test_two_year_rule_clamps_and_reports() -> None:
    w = orders_window(
        watermark=None,
        now=NOW,
        initial_start=datetime(2020, 1, 1, tzinfo=UTC),
        marketplace_ids=[US],
    )
    assert w is not None
    assert w.start == datetime(2024, 6, 15, 12, 0, 30, 123456, tzinfo=UTC)
    assert w.clamped
    (clamp,) = w.clamps
    assert clamp.marketplace_id == US
    assert clamp.requested == datetime(2020, 1, 1, tzinfo=UTC)


def test_jp_keeps_history_from_2016() -> None:
    w = orders_window(
        watermark=None,
        now=NOW,
        initial_start=datetime(2017, 3, 1, tzinfo=UTC),
        marketplace_ids=["JP"],
    )
    assert w is not None
    assert not w.clamped
    assert w.start == datetime(2017, 3, 1, tzinfo=UTC)
    w2 = orders_window(
        watermark=None,
        now=NOW,
        initial_start=datetime(2010, 1, 1, tzinfo=UTC),
        marketplace_ids=["AU", "SG"],
    )
    assert w2 is not None
    assert w2.start == datetime(2016, 1, 1, tzinfo=UTC)
    assert len(w2.clamps) == 2


def test_mixed_marketplaces_clamp_only_the_short_history() -> None:
    w = orders_window(
        watermark=None,
        now=NOW,
        initial_start=datetime(2018, 1, 1, tzinfo=UTC),
        marketplace_ids=[US, JP],
    )
    assert w is not None
    assert w.start == datetime(2018, 1, 1, tzinfo=UTC)
    assert [c.marketplace_id for c in w.clamps] == [US]


def test_records_outside_retention_are_flagged() -> None:
    assert outside_retention(NOW - timedelta(days=731), US, NOW)
    assert not outside_retention(NOW - timedelta(days=729), US, NOW)
    assert not outside_retention(NOW - timedelta(days=3000), JP, NOW)


def test_leap_day_retention() -> None:
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert not outside_retention(datetime(2026, 2, 28, tzinfo=UTC), US, leap)


def test_finances_overlap_is_48_hours_and_windows_stay_under_180_days() -> None:
    mark = NOW - timedelta(days=1)
    (w,) = finances_windows(watermark=mark, now=NOW, initial_start=NOW, marketplace_ids=[US])
    assert w.start == mark - timedelta(hours=48)
    many = finances_windows(
        watermark=None, now=NOW, initial_start=NOW - timedelta(days=400), marketplace_ids=[US]
    )
    assert len(many) == 3
    assert all(x.span <= timedelta(days=180) for x in many)
    assert all(a.end == b.start for a, b in itertools.pairwise(many))
    assert many[-1].end == NOW.replace(microsecond=0) - timedelta(minutes=2)


def test_split_rejects_nonpositive_span() -> None:
    with pytest.raises(ValueError, match="positive"):
        split_window(Window(NOW - timedelta(days=1), NOW), timedelta(0))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        orders_window(
            watermark=datetime(2026, 1, 1), now=NOW, initial_start=NOW, marketplace_ids=[US]
        )


def test_groups_to_read() -> None:
    end = NOW - timedelta(days=3)
    groups = [
        GroupState("new", "Open"),
        GroupState("open", "Open", end=None, last_read=NOW),
        GroupState("just-closed", "Closed", end=end, last_read=end + timedelta(hours=10)),
        GroupState("settled", "Closed", end=end, last_read=end + timedelta(hours=49)),
    ]
    assert groups_to_read(groups) == ["new", "open", "just-closed"]


def test_a_group_read_while_open_is_read_again_when_it_closes_however_late() -> None:
    """Read Open 3 days after its end, found Closed a week later: its record changed after our
    read, so its last transactions are read, although the end is long past the 48 h overlap."""
    end = NOW - timedelta(days=10)
    read_open = end + timedelta(days=3)
    closed_seen = read_open + timedelta(days=7)
    changed = GroupState("closed-late", "Closed", end=end, last_read=read_open,
                         changed_at=closed_seen)  # fmt: skip
    unchanged = GroupState("settled", "Closed", end=end, last_read=read_open,
                           changed_at=read_open)  # fmt: skip
    assert groups_to_read([changed, unchanged]) == ["closed-late"]
