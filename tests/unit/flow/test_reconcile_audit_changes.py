"""Reconcile writes a settlement's `reconciled` audit event when its outcome changes, not every
cycle (simulators on loopback, one real sync first)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ml_connector.flow.reconcile.run import reconcile_connection
from ml_connector.store import AuditAction, RawKind, list_raw_records, upsert_raw_record
from ml_connector.store.tables import AuditEvent

Seller = Any
Factory = Callable[..., Seller]


def _events(seller: Seller) -> Counter[str]:
    """Group id → how many `reconciled` events name it."""
    with seller.rt.sessions() as session:
        details = session.scalars(
            select(AuditEvent.details).where(
                AuditEvent.connection_id == seller.connection_id,
                AuditEvent.action == AuditAction.RECONCILED.value,
            )
        )
        return Counter(str(d["group_id"]) for d in details)


def test_three_cycles_with_nothing_new_write_one_event_per_settlement_and_a_change_one_more(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40)
    first = seller.sync()
    settlements = {str(s["group_id"]) for s in first.reconciliation}
    assert settlements, "the world has Closed settlements"

    def cycle(minutes: int) -> None:
        with seller.connect() as ctx:
            reconcile_connection(
                seller.rt.sessions,
                ctx.id,
                ctx.mapping,
                now=first.started + timedelta(minutes=minutes),
                catalog=ctx.catalog,
                policy=ctx.policy,
            )

    cycle(15)
    cycle(30)
    assert _events(seller) == dict.fromkeys(settlements, 1)

    # Amazon posts one more transaction into a Closed settlement: its figures move.
    changed = sorted(settlements)[0]
    with seller.rt.sessions() as session, session.begin():
        model = next(
            r
            for r in list_raw_records(session, seller.connection_id, RawKind.TRANSACTION)
            if r.parent_amazon_id == changed and isinstance(r.payload.get("totalAmount"), dict)
        )
        late = copy.deepcopy(model.payload)
        late["transactionId"] = "LATE-" + str(model.amazon_id)
        upsert_raw_record(
            session,
            seller.connection_id,
            RawKind.TRANSACTION,
            late["transactionId"],
            late,
            parent_id=changed,
        )
    cycle(45)
    cycle(60)
    expected = dict.fromkeys(settlements, 1) | {changed: 2}
    assert _events(seller) == expected
