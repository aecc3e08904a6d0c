"""Runs record each cycle; leases let many workers share streams without double work."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ml_connector.store import (
    IllegalTransitionError,
    LeaseLostError,
    LeaseToken,
    RunStatus,
    advance_cursor,
    check_fence,
    claim_lease,
    finish_run,
    get_cursor,
    heartbeat,
    last_run,
    list_leases,
    list_runs,
    make_sessionmaker,
    release_lease,
    start_run,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


def test_a_run_is_started_and_finished_once(session: Session, connection_id: int) -> None:
    run = start_run(session, connection_id, "orders", now=T0)
    assert run.status is RunStatus.RUNNING
    finish_run(session, run, RunStatus.SUCCEEDED, counts={"fetched": 12}, now=T0 + TTL)
    with pytest.raises(IllegalTransitionError, match="already finished"):
        finish_run(session, run, RunStatus.FAILED)
    later = start_run(session, connection_id, "orders", now=T0 + timedelta(minutes=15))
    assert [r.id for r in list_runs(session, connection_id=connection_id)] == [later.id, run.id]
    assert last_run(session, connection_id, "orders", status=RunStatus.SUCCEEDED) == run
    assert last_run(session, connection_id, "finances") is None
    assert run.counts == {"fetched": 12}
    assert run.finished_at == T0 + TTL


def test_a_held_lease_is_not_claimed_by_another_worker(
    session: Session, connection_id: int
) -> None:
    mine = claim_lease(session, connection_id, "orders", "worker-a", TTL, now=T0)
    assert mine is not None
    assert mine.generation == 1
    assert claim_lease(session, connection_id, "orders", "worker-b", TTL, now=T0 + TTL / 2) is None
    other_stream = claim_lease(session, connection_id, "finances", "worker-b", TTL, now=T0)
    assert other_stream is not None


def test_an_expired_lease_is_stolen_and_the_old_holder_fenced_off(
    session: Session, connection_id: int
) -> None:
    stale = claim_lease(session, connection_id, "orders", "worker-a", TTL, now=T0)
    assert stale is not None
    thief = claim_lease(session, connection_id, "orders", "worker-b", TTL, now=T0 + TTL)
    assert thief is not None
    assert thief.generation == stale.generation + 1

    with pytest.raises(LeaseLostError, match="worker-a"):
        advance_cursor(session, connection_id, "orders", T0, fence=stale)
    with pytest.raises(LeaseLostError):
        heartbeat(session, stale, TTL, now=T0 + TTL)
    assert not release_lease(session, stale)
    assert get_cursor(session, connection_id, "orders") is None

    advance_cursor(session, connection_id, "orders", T0, fence=thief)
    assert get_cursor(session, connection_id, "orders") == T0


def test_heartbeats_keep_a_lease_alive(session: Session, connection_id: int) -> None:
    token = claim_lease(session, connection_id, "orders", "worker-a", TTL, now=T0)
    assert token is not None
    token = heartbeat(session, token, TTL, now=T0 + TTL * 0.9)
    assert claim_lease(session, connection_id, "orders", "worker-b", TTL, now=T0 + TTL) is None
    check_fence(session, token)
    [lease] = list_leases(session, connection_id)
    assert (lease.owner, lease.generation) == ("worker-a", 1)


def test_a_released_lease_is_free_at_once(session: Session, connection_id: int) -> None:
    token = claim_lease(session, connection_id, "orders", "worker-a", TTL, now=T0)
    assert token is not None
    assert release_lease(session, token)
    taken = claim_lease(session, connection_id, "orders", "worker-b", TTL, now=T0)
    assert taken is not None
    assert taken.generation == 2
    with pytest.raises(LeaseLostError):
        check_fence(session, token)


def test_two_workers_racing_for_a_lease_one_wins(engine: Engine, connection_id: int) -> None:
    factory = make_sessionmaker(engine)
    start = threading.Barrier(2)
    won: dict[str, LeaseToken | None] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with factory() as session:
                start.wait(timeout=10)
                won[name] = claim_lease(session, connection_id, "orders", name, TTL)
                session.commit()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("worker-a", "worker-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    winners = [token for token in won.values() if token is not None]
    assert len(won) == 2
    assert len(winners) == 1
    assert winners[0].generation == 1
