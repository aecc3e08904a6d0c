"""The first sync finds every settlement that reaches into its history, not only those that
started inside it (simulators on loopback)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ml_connector.flow.extract.pull import pull_finances
from ml_connector.store import RawKind, list_raw_records

Seller = Any
Factory = Callable[..., Seller]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_settlement_that_started_before_the_history_but_ends_in_it_is_read(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40)
    closed = sorted(
        (g for g in seller.world.groups if str(g.get("ProcessingStatus")).lower() == "closed"),
        key=lambda g: _when(g["FinancialEventGroupStart"]),
    )
    # History starts a day into a Closed settlement, late enough that another one ended before.
    straddling = next(
        g
        for g in closed
        if any(
            _when(h["FinancialEventGroupEnd"])
            < _when(g["FinancialEventGroupStart"]) + timedelta(days=1)
            for h in closed
        )
    )
    history = _when(straddling["FinancialEventGroupStart"]) + timedelta(days=1)
    before = [g for g in closed if _when(g["FinancialEventGroupEnd"]) < history]
    assert before

    with seller.connect() as ctx:
        pull_finances(
            seller.rt.sessions, ctx.id, ctx.amazon, now=seller.rt.clock(), initial_start=history
        )
    with seller.rt.sessions() as session:
        stored = {r.amazon_id for r in list_raw_records(session, ctx.id, RawKind.GROUP)}
        read = {r.parent_amazon_id for r in list_raw_records(session, ctx.id, RawKind.TRANSACTION)}
    assert straddling["FinancialEventGroupId"] in stored
    assert straddling["FinancialEventGroupId"] in read, "its transactions are read too"
    assert not {g["FinancialEventGroupId"] for g in before} & stored, "older ones stay out"


def test_a_group_read_while_open_is_read_again_once_it_closes_days_after_its_end(
    sim_seller: Factory,
) -> None:
    """What extract stores decides the re-read: a group read Open long after its end, then
    stored Closed, is due again (its last transactions come with the close); one read after
    its close is not."""
    from ml_connector.flow.extract.pull import GROUP_READ_PREFIX, _group_states
    from ml_connector.flow.extract.windows import groups_to_read
    from ml_connector.store import advance_cursor, upsert_raw_record

    seller = sim_seller(orders=5)
    now = seller.rt.clock()
    end = now - timedelta(days=5)
    group = {
        "FinancialEventGroupId": "G-LATE",
        "ProcessingStatus": "Open",
        "FinancialEventGroupStart": (end - timedelta(days=14)).isoformat(),
        "FinancialEventGroupEnd": end.isoformat(),
    }
    cid = seller.connection_id

    def due(at: datetime) -> list[str]:
        with seller.rt.sessions() as session, session.begin():
            upsert_raw_record(session, cid, RawKind.GROUP, "G-LATE", group, now=at)
            states = [s for s in _group_states(session, cid) if s.group_id == "G-LATE"]
            return groups_to_read(states)

    assert due(now) == ["G-LATE"]  # Open: read
    with seller.rt.sessions() as session, session.begin():
        advance_cursor(session, cid, GROUP_READ_PREFIX + "G-LATE", now, now=now)
    group["ProcessingStatus"] = "Closed"
    later = now + timedelta(hours=6)
    assert due(later) == ["G-LATE"], "closed after our last read: read again"
    with seller.rt.sessions() as session, session.begin():
        advance_cursor(session, cid, GROUP_READ_PREFIX + "G-LATE", later, now=later)
    assert due(later + timedelta(hours=6)) == [], "read since it closed, 5 days after its end"
