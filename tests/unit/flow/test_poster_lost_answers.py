"""A POST whose answer was lost: which failures leave a document "may have landed", and the
poster waiting out an import it cannot follow instead of submitting it again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from ml_connector.errors import (
    ConnectionFailedError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from ml_connector.flow.post.poster import Poster, PosterSettings
from ml_connector.remote.oracle import Receivables
from ml_connector.remote.oracle.client import RequestNotSent, answer_lost, may_have_landed
from ml_connector.store import DocumentKind, DocumentState, timeline
from ml_connector_sim.oracle import Fault, FaultKind

Seller = Any
Factory = Callable[..., Seller]


@pytest.mark.parametrize(
    ("error", "rest", "job"),
    [
        (RateLimitedError("throttled", status=429), False, False),
        (RequestNotSent("ConnectError: no connection, nothing sent"), False, False),
        (ConnectionFailedError("ReadTimeout: no usable response"), True, True),
        (ServerError("gateway timeout", status=504), True, True),
        (ServerError("bad gateway", status=502), True, True),
        (ServerError("internal", status=500), False, True),
        (ServerError("unavailable", status=503), False, True),
        (ValidationError("refused", status=400), False, False),
    ],
)
def test_which_failed_posts_may_have_landed(error: Exception, rest: bool, job: bool) -> None:
    assert may_have_landed(error, starts_a_job=False) is rest
    assert may_have_landed(error, starts_a_job=True) is job
    assert answer_lost(error) is rest


def poster(seller: Seller, ctx: Any, settle: float) -> Poster:
    return Poster(
        seller.rt.sessions,
        ctx.id,
        ctx.profile,
        Receivables(ctx.fusion, sleep=lambda _seconds: None),
        ctx.imports,
        clock=seller.rt.clock,
        settings=PosterSettings(concurrency=1, import_settle=timedelta(seconds=settle)),
    )


def states(seller: Seller, kind: DocumentKind) -> dict[str, int]:
    counts: dict[str, int] = {}
    for doc in seller.documents(kind):
        counts[doc.state.value] = counts.get(doc.state.value, 0) + 1
    return counts


def test_lost_import_answers_are_waited_out_then_found_not_resubmitted(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=30)
    seller.extract_and_plan()
    journals = len(seller.documents(DocumentKind.JOURNAL))
    assert journals >= 2
    seller.oracle.add_fault(
        Fault(FaultKind.DROP_AFTER_COMMIT, path="erpintegrations", method="POST", times=None)
    )
    with seller.connect() as ctx:
        lost = poster(seller, ctx, settle=3600).post_all()
    assert lost.unconfirmed >= journals
    assert states(seller, DocumentKind.JOURNAL) == {"sending": journals}
    submitted = len([j for j in seller.oracle.state.ess_jobs if j.parent_id is None])

    seller.oracle.faults.clear()
    with seller.connect() as ctx:
        waiting = poster(seller, ctx, settle=3600).post_all()  # within the settle time
    assert waiting.waiting_on_import >= journals
    assert len([j for j in seller.oracle.state.ess_jobs if j.parent_id is None]) == submitted
    assert states(seller, DocumentKind.JOURNAL) == {"sending": journals}

    with seller.connect() as ctx:
        settled = poster(seller, ctx, settle=0).post_all()  # the settle time is over
    assert settled.found_existing >= journals
    assert states(seller, DocumentKind.JOURNAL) == {"posted": journals}
    assert len([j for j in seller.oracle.state.ess_jobs if j.parent_id is None]) == submitted
    names = [b.name for b in seller.oracle.state.batches.values()]
    assert len(names) == len(set(names)) == journals
    with seller.rt.sessions() as session:
        key = seller.documents(DocumentKind.JOURNAL)[0].idempotency_key
        actions = [e.action for e in timeline(session, key)]
    assert actions[-3:] == ["sending", "unconfirmed", "posted"]
    assert all(d.state is DocumentState.POSTED for d in seller.documents(DocumentKind.JOURNAL))
