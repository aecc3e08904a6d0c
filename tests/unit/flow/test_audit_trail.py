"""Every Oracle document traces back to its Amazon order, with both sides' request ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ml_connector.store import DocumentKind, DocumentState, timeline

Factory = Callable[..., Any]


def test_an_invoice_traces_to_its_order_with_both_request_ids(sim_seller: Factory) -> None:
    seller = sim_seller(orders=20)
    seller.sync()
    posted = next(
        d for d in seller.documents(DocumentKind.INVOICE) if d.state is DocumentState.POSTED
    )
    with seller.rt.sessions() as session:
        by_order = timeline(session, posted.amazon_source_id)
        by_oracle = timeline(session, str(posted.oracle_id))
    actions = [event.action for event in by_order]
    assert actions[0] == "fetched"
    assert {"planned", "sending", "posted"} <= set(actions)
    fetched = by_order[0]
    assert fetched.amazon_request_id, "the Amazon request that brought the order is recorded"
    posted_event = next(e for e in by_order if e.action == "posted")
    assert posted_event.oracle_request_id, "Oracle's ECID of the create is recorded"
    assert str(posted.oracle_id) in posted_event.oracle_ids
    # Looking up by the Oracle id leads back to the same order's story.
    assert {e.id for e in by_oracle} >= {posted_event.id}


def test_metrics_count_what_was_posted(sim_seller: Factory) -> None:
    from prometheus_client import REGISTRY

    def posted(kind: str) -> float:
        value = REGISTRY.get_sample_value("mlc_documents_posted_total", {"kind": kind})
        return value or 0.0

    seller = sim_seller(orders=20)
    before = posted("invoice")
    report = seller.sync()
    assert posted("invoice") - before == report.post.posted["invoice"]
    runs = REGISTRY.get_sample_value(
        "mlc_sync_duration_seconds_count", {"stream": "orders+finances"}
    )
    assert runs is not None
    assert runs >= 1
