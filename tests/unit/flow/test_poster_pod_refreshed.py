"""Issue 11, D3: the Oracle pod comes back empty (refreshed from another environment, or
restored), so Oracle's ids start over and hand out ids our records give to documents posted
before. Each such document goes to review with one plain line; the rest of the pass posts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from test_poster_failures import states
from test_poster_oracle_outage import stop_after_invoices

from ml_connector.flow.post.poster import Poster, PosterSettings
from ml_connector.run import crashpoints
from ml_connector.store import DocumentKind, DocumentState, ReviewKind
from sim_outage import restarted_empty

Factory = Callable[..., Any]
FIRST_ID = 300100170000001  # the simulator's first Receivables transaction id (state.py)


def poster(seller: Any, ctx: Any) -> Poster:
    return Poster(
        seller.rt.sessions,
        ctx.id,
        ctx.profile,
        ctx.receivables,
        ctx.imports,
        clock=seller.rt.clock,
        settings=PosterSettings(concurrency=1),
    )


def test_an_emptied_pod_reusing_our_ids_sends_those_documents_to_review(
    sim_seller: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = sim_seller(orders=30)
    seller.extract_and_plan()
    invoices = len(seller.documents(DocumentKind.INVOICE))
    assert invoices >= 10
    # Three invoices are posted (ids FIRST_ID .. FIRST_ID + 2); then the pod goes away.
    stop_after_invoices(seller, monkeypatch, 3)
    with seller.connect() as ctx:
        first = poster(seller, ctx).post_all()
    assert first.posted == {"invoice": 3}
    posted = sorted(
        (d for d in seller.documents(DocumentKind.INVOICE) if d.state is DocumentState.POSTED),
        key=lambda d: int(d.oracle_id or 0),
    )
    assert [d.oracle_id for d in posted] == [str(FIRST_ID + n) for n in range(3)]
    monkeypatch.setattr(crashpoints, "hit", lambda _point: None)

    with restarted_empty(seller.oracle), seller.connect() as ctx:
        again = poster(seller, ctx).post_all()

    # The next three invoices Oracle creates get the three ids already bound: each is held with
    # a plain line naming both invoices; every other invoice is posted.
    held = seller.review(ReviewKind.ORACLE_REJECTED)
    reasons = {item.subject_amazon_id: item.reason for item in held}
    rejected = [d for d in seller.documents(DocumentKind.INVOICE) if d.state.value == "rejected"]
    assert len(rejected) == 3
    owners = {d.oracle_id: d.amazon_source_id for d in posted}
    for doc in rejected:
        assert doc.amazon_source_id in reasons
    said = sorted(reasons[d.amazon_source_id] for d in rejected)
    assert said == sorted(
        f"Oracle gave invoice {doc.amazon_source_id} the id {oracle_id}, which already belongs "
        f"to invoice {owners[oracle_id]} in our records: was the Oracle pod refreshed or "
        "restored, or does the connection point at another pod? It is not recorded as posted "
        "here; check it in Oracle before resolving this item"
        for doc, oracle_id in zip(
            sorted(rejected, key=lambda d: d.id), [str(FIRST_ID + n) for n in range(3)], strict=True
        )
    )
    assert again.posted["invoice"] == invoices - 6
    assert states(seller, DocumentKind.INVOICE) == {"posted": invoices - 3, "rejected": 3}
    assert again.rejected >= 3
    assert again.oracle_unreachable is None
