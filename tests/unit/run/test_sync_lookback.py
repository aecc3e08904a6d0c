"""Issue 10, Scope 8: one look-back. Two syncs with nothing new at Amazon: the second creates
nothing.

The seller's settlements span 30 days; the connection asks for 10 days of history. Before the
fix the first sync listed groups from 10 days back and the second from its watermark minus 60
days, so the second found older Closed settlements and posted their journals: the books changed
with nothing new at Amazon.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ml_connector.flow.extract.pull import GROUP_HISTORY_STREAM
from ml_connector.store import RawKind, connection_config, get_connection, list_raw_records
from ml_connector.store.connections import update_connection
from ml_connector.store.cursors import get_cursor


def _starts(world: Any) -> list[datetime]:
    return sorted(
        datetime.fromisoformat(str(g["FinancialEventGroupStart"]).replace("Z", "+00:00"))
        for g in world.groups
    )


def test_second_sync_with_nothing_new_creates_nothing(sim_seller: Callable[..., Any]) -> None:
    seller = sim_seller(orders=60)
    seller.write_mapping()  # every SKU mapped: only the look-back can make a difference
    with seller.rt.sessions() as session, session.begin():
        row = get_connection(session, seller.name)
        config = connection_config(row)
        cadences = config.cadences.model_copy(update={"initial_history_days": 10})
        update_connection(session, row, config=config.model_copy(update={"cadences": cadences}))
    now = seller.rt.clock()
    starts = _starts(seller.world)
    assert starts[0] < now - timedelta(days=12), "the seller has settlements older than 10 days"

    seller.sync()
    with seller.rt.sessions() as session:
        groups_first = {
            r.amazon_id for r in list_raw_records(session, seller.connection_id, RawKind.GROUP)
        }
        history = get_cursor(session, seller.connection_id, GROUP_HISTORY_STREAM)
    documents_first = sorted((d.idempotency_key, d.state.value) for d in seller.documents())
    numbers_first = seller.oracle_numbers()
    assert len(groups_first) < len(seller.world.groups), "the first sync read 10 days only"

    seller.sync()
    with seller.rt.sessions() as session:
        groups_second = {
            r.amazon_id for r in list_raw_records(session, seller.connection_id, RawKind.GROUP)
        }
    assert groups_second == groups_first, "the second sync reads the same settlement history"
    assert sorted((d.idempotency_key, d.state.value) for d in seller.documents()) == documents_first
    assert seller.oracle_numbers() == numbers_first
    assert history is not None, "the first sync's start is recorded"
    assert abs(history - (now - timedelta(days=10))) < timedelta(minutes=5)
