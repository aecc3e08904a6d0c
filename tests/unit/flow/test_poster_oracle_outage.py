"""Oracle goes away in the middle of a posting pass: the pass ends within seconds, says so in
one line, loses nothing and marks nothing rejected; the next pass posts the rest once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from test_poster_failures import assert_each_document_once_in_oracle, states

from ml_connector.flow.post.poster import Poster, PosterSettings
from ml_connector.run import crashpoints
from ml_connector.store import DocumentKind, ReviewKind
from sim_outage import port_of, restarted, stop

Seller = Any
Factory = Callable[..., Seller]


def default_poster(seller: Seller, ctx: Any) -> Poster:
    """The poster with production settings (back-off sleeps, retry budgets, breaker), one
    document at a time so the failures before the breaker opens can be counted."""
    return Poster(
        seller.rt.sessions,
        ctx.id,
        ctx.profile,
        ctx.receivables,
        ctx.imports,
        clock=seller.rt.clock,
        settings=PosterSettings(concurrency=1),
    )


def stop_after_invoices(
    seller: Seller, monkeypatch: pytest.MonkeyPatch, count: int
) -> Callable[[], float | None]:
    """Stop Oracle as soon as the ``count``-th invoice is recorded; returns when it stopped."""
    real_hit = crashpoints.hit
    recorded: list[int] = []
    stopped: list[float] = []

    def hit(point: str) -> None:
        real_hit(point)
        if point == "post.invoice.recorded":
            recorded.append(1)
            if len(recorded) == count:
                stop(seller.oracle)
                stopped.append(time.monotonic())

    monkeypatch.setattr(crashpoints, "hit", hit)
    return lambda: stopped[0] if stopped else None


def test_oracle_refusing_connections_after_the_third_invoice(
    sim_seller: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = sim_seller(orders=40)
    seller.extract_and_plan()
    invoices = len(seller.documents(DocumentKind.INVOICE))
    everything = len(seller.documents())
    assert invoices >= 20
    stopped_at = stop_after_invoices(seller, monkeypatch, 3)

    with seller.connect() as ctx:
        summary = default_poster(seller, ctx).post_all()
    finished = time.monotonic()
    went_away = stopped_at()
    assert went_away is not None
    assert finished - went_away < 60

    assert summary.posted == {"invoice": 3}
    # The 4th, 5th and 6th invoices met the refused port; then the breaker opened and no
    # further document was started: three in flight without an answer, the rest planned.
    assert states(seller, DocumentKind.INVOICE) == {
        "posted": 3,
        "sending": 3,
        "planned": invoices - 6,
    }
    assert summary.unconfirmed == 3
    assert summary.rejected == 0
    assert not seller.review(ReviewKind.ORACLE_REJECTED)
    assert states(seller, DocumentKind.JOURNAL).keys() == {"planned"}
    left = everything - 3
    assert summary.left_for_next_cycle == left
    port = port_of(seller.oracle)
    assert summary.oracle_unreachable == (
        f"Oracle unreachable: cannot reach 127.0.0.1:{port}: connection refused (nothing "
        f"listens on that port) — "
        f"{left} documents left for the next cycle"
    )

    monkeypatch.setattr(crashpoints, "hit", lambda _point: None)
    with restarted(seller.oracle), seller.connect() as ctx:
        again = default_poster(seller, ctx).post_all()
    assert again.oracle_unreachable is None
    assert again.left_for_next_cycle == 0
    assert again.posted["invoice"] == invoices - 3
    assert again.found_existing == 0  # the three in flight had never reached Oracle
    assert {d.state.value for d in seller.documents()} == {"posted"}
    assert_each_document_once_in_oracle(seller)


def test_oracle_gone_while_a_journal_import_runs(
    sim_seller: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ESS wait of a submitted import fails like any other call: that journal stays in
    flight on its request (never submitted twice), two more failures open the breaker, and the
    next pass follows the same request and posts every journal once."""
    seller = sim_seller(orders=40)
    seller.extract_and_plan()
    journals = len(seller.documents(DocumentKind.JOURNAL))
    assert journals >= 4
    real_hit = crashpoints.hit

    def hit(point: str) -> None:
        real_hit(point)
        if point == "post.journals.submitted" and not stopped:
            stop(seller.oracle)
            stopped.append(True)

    stopped: list[bool] = []
    monkeypatch.setattr(crashpoints, "hit", hit)
    with seller.connect() as ctx:
        summary = default_poster(seller, ctx).post_all()
    assert stopped
    assert states(seller, DocumentKind.JOURNAL) == {
        "sending": 1,
        "retry": 2,
        "planned": journals - 3,
    }
    assert summary.rejected == 0
    assert summary.left_for_next_cycle == journals
    assert (summary.oracle_unreachable or "").startswith("Oracle unreachable: cannot reach")

    monkeypatch.setattr(crashpoints, "hit", real_hit)
    with restarted(seller.oracle), seller.connect() as ctx:
        again = default_poster(seller, ctx).post_all()
    assert again.oracle_unreachable is None
    assert states(seller, DocumentKind.JOURNAL) == {"posted": journals}
    names = [b.name for b in seller.oracle.state.batches.values()]
    assert len(names) == len(set(names)) == journals
