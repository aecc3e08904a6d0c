"""The outbox against a misbehaving Oracle: what a finance user needs is "each document in Oracle
exactly once, or clearly waiting / refused" — never a double post, never a silent loss."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ml_connector.context import ConnectionContext
from ml_connector.flow.post.breaker import BreakerSettings
from ml_connector.flow.post.codec import load_invoice
from ml_connector.flow.post.oracle_docs import invoice_payload
from ml_connector.flow.post.poster import Poster, PosterSettings
from ml_connector.remote.oracle import Receivables
from ml_connector.store import (
    DocumentKind,
    DocumentState,
    ReviewKind,
    bindings_for,
    get_document,
    put_secret,
    timeline,
    transition,
)
from ml_connector.store.secrets import ORACLE_CLIENT_SECRET
from ml_connector_sim.oracle import Fault, FaultKind, parse_fault

Seller = Any
Factory = Callable[..., Seller]

ORACLE_CLIENT = "ml-connector-demo"  # the client id of the demo connection config
ORACLE_SECRET = "sim-oracle-secret"  # what add_simulator_connection stores


def poster(
    seller: Seller, ctx: ConnectionContext, *, concurrency: int = 4, threshold: int = 3
) -> Poster:
    """The pipeline's poster, with the create-or-find back-off sleep taken out (tests are fast).
    ``threshold``: consecutive outage failures before its circuit breaker opens (3 by default,
    as in production)."""
    return Poster(
        seller.rt.sessions,
        ctx.id,
        ctx.profile,
        Receivables(ctx.fusion, sleep=lambda _seconds: None),
        ctx.imports,
        clock=seller.rt.clock,
        settings=PosterSettings(
            concurrency=concurrency,
            import_settle=timedelta(seconds=2),
            breaker=BreakerSettings(threshold=threshold),
        ),
    )


def states(seller: Seller, kind: DocumentKind) -> dict[str, int]:
    counts: dict[str, int] = {}
    for doc in seller.documents(kind):
        counts[doc.state.value] = counts.get(doc.state.value, 0) + 1
    return counts


def assert_each_document_once_in_oracle(seller: Seller) -> None:
    numbers = seller.oracle_numbers()
    assert numbers, "Oracle holds nothing"
    assert all(count == 1 for count in numbers.values()), numbers.most_common(3)
    posted = [
        d
        for d in seller.documents()
        if d.kind is not DocumentKind.JOURNAL and d.state is DocumentState.POSTED
    ]
    assert {d.oracle_number for d in posted} == set(numbers)
    batch_names = [b.name for b in seller.oracle.state.batches.values()]
    assert len(batch_names) == len(set(batch_names))


def test_503_storm_on_invoices_opens_the_breaker_then_the_next_pass_posts_each_once(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=50)
    seller.extract_and_plan()
    invoices = len(seller.documents(DocumentKind.INVOICE))
    memos = len(seller.documents(DocumentKind.CREDIT_MEMO))
    journals = len(seller.documents(DocumentKind.JOURNAL))
    assert invoices >= 30
    assert journals >= 2
    seller.oracle.add_fault(
        Fault(FaultKind.HTTP_503, path="receivablesInvoices", method="POST", times=None)
    )
    with seller.connect() as ctx:
        stormy = poster(seller, ctx, concurrency=1).post_all()
    # Three invoices in a row met the 503: invoices stopped there instead of trying the rest;
    # the imports (another Fusion service, answering) went on: every journal is posted.
    assert stormy.retry == 3
    assert "invoice" not in stormy.posted
    assert states(seller, DocumentKind.INVOICE) == {"retry": 3, "planned": invoices - 3}
    assert stormy.posted["journal"] == journals
    assert stormy.rejected == 0
    assert stormy.waiting_on_invoice == memos
    assert stormy.left_for_next_cycle == invoices + memos
    line = stormy.oracle_unreachable or ""
    assert line.startswith("Oracle unreachable: "), line
    assert "answered HTTP 503" in line, line
    assert "for invoices" in line, line
    assert line.endswith(f"— {invoices + memos} documents left for the next cycle"), line
    assert not seller.oracle_numbers(), "a 503 must not leave invoices in Oracle"
    first = seller.documents(DocumentKind.INVOICE)[0]
    assert "503" in (first.last_error or "") or "unavailable" in (first.last_error or "").lower()

    seller.oracle.faults.clear()
    with seller.connect() as ctx:
        calm = poster(seller, ctx).post_all()
    assert calm.posted["invoice"] == invoices
    assert calm.found_existing == 0
    assert calm.left_for_next_cycle == 0
    assert calm.oracle_unreachable is None
    assert states(seller, DocumentKind.INVOICE) == {"posted": invoices}
    assert states(seller, DocumentKind.CREDIT_MEMO).keys() <= {"posted"}
    assert_each_document_once_in_oracle(seller)


def test_connection_dropped_after_oracle_committed_posts_once(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.extract_and_plan()
    invoices = len(seller.documents(DocumentKind.INVOICE))
    seller.oracle.add_fault(parse_fault("drop-after-commit@receivablesInvoicesx1"))
    with seller.connect() as ctx:
        summary = poster(seller, ctx).post_all()
    assert summary.posted["invoice"] == invoices
    assert summary.found_existing == 1
    assert summary.retry == 0
    assert summary.rejected == 0
    assert_each_document_once_in_oracle(seller)
    with seller.rt.sessions() as session:
        ids = [b.oracle_id for b in bindings_for(session, seller.connection_id)]
    assert len(ids) == len(set(ids))


def test_recover_resolves_documents_left_sending_by_a_crash(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.extract_and_plan()
    landed, lost = seller.documents(DocumentKind.INVOICE)[:2]
    with seller.connect() as ctx:
        created = ctx.receivables.create_invoice(
            invoice_payload(load_invoice(landed.payload), ctx.profile)
        )
        with seller.rt.sessions() as session, session.begin():
            for doc_id in (landed.id, lost.id):
                doc = get_document(session, doc_id)
                assert doc is not None
                transition(session, doc, DocumentState.SENDING)
        recovered = poster(seller, ctx).recover()
    assert recovered == 2
    with seller.rt.sessions() as session:
        first, second = get_document(session, landed.id), get_document(session, lost.id)
        assert first is not None
        assert second is not None
        assert first.state is DocumentState.POSTED
        assert first.oracle_id == str(created.CustomerTransactionId)
        assert first.oracle_number == created.TransactionNumber
        assert second.state is DocumentState.RETRY
        assert "not found in Oracle" in (second.last_error or "")
    with seller.connect() as ctx:
        poster(seller, ctx).post_all()
    assert_each_document_once_in_oracle(seller)
    assert seller.oracle_numbers()[str(created.TransactionNumber)] == 1


def test_refused_oracle_credentials_stop_the_pass_with_one_clear_line(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40, oracle_clients={ORACLE_CLIENT: ORACLE_SECRET})
    seller.extract_and_plan()
    invoices = len(seller.documents(DocumentKind.INVOICE))
    everything = len(seller.documents())
    with seller.rt.sessions() as session, session.begin():
        keyring = seller.rt.require_keyring()
        put_secret(session, keyring, seller.connection_id, ORACLE_CLIENT_SECRET, "rotated-away")
    with seller.connect() as ctx:
        summary = poster(seller, ctx, concurrency=4).post_all()
    line = summary.oracle_unreachable or ""
    assert line.startswith("Oracle's identity domain refused the client id or secret"), line
    assert line.endswith(f"— {everything} documents left for the next cycle"), line
    assert "rotated-away" not in line
    assert summary.left_for_next_cycle == everything
    counts = states(seller, DocumentKind.INVOICE)
    # Only the documents already in flight on the 4 workers were tried; the rest were left
    # alone instead of each failing the same way, and none is stuck half-sent.
    assert counts.get("planned", 0) >= invoices - 4, counts
    assert set(counts) <= {"planned", "retry"}, counts
    assert not seller.review(ReviewKind.ORACLE_REJECTED)


def test_refused_oracle_credentials_are_not_a_rejection(sim_seller: Factory) -> None:
    """Sequentially (concurrency 1) the pass stops at the first refusal (no second document is
    refused the same way); once the secret is fixed everything posts and nothing went to the
    review queue as 'rejected'."""
    seller = sim_seller(orders=40, oracle_clients={ORACLE_CLIENT: ORACLE_SECRET})
    seller.extract_and_plan()
    invoices = len(seller.documents(DocumentKind.INVOICE))
    keyring = seller.rt.require_keyring()
    with seller.rt.sessions() as session, session.begin():
        put_secret(session, keyring, seller.connection_id, ORACLE_CLIENT_SECRET, "rotated-away")
    with seller.connect() as ctx:
        refused = poster(seller, ctx, concurrency=1).post_all()
    message = (refused.oracle_unreachable or "").lower()
    assert "rotated-away" not in message
    assert any(word in message for word in ("client", "credential", "secret", "401", "refused"))
    assert refused.rejected == 0
    assert refused.oracle_refused
    # The token is asked for before a document is begun: refused, no document was started.
    counts = states(seller, DocumentKind.INVOICE)
    assert counts == {"planned": invoices}
    assert not seller.review(ReviewKind.ORACLE_REJECTED)
    with seller.rt.sessions() as session, session.begin():
        put_secret(session, keyring, seller.connection_id, ORACLE_CLIENT_SECRET, ORACLE_SECRET)
    with seller.connect() as ctx:
        summary = poster(seller, ctx).post_all()
    assert summary.posted["invoice"] == invoices
    assert_each_document_once_in_oracle(seller)


def test_journal_import_whose_child_job_fails_is_rejected_with_oracles_log(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40)
    seller.extract_and_plan()
    journals = seller.documents(DocumentKind.JOURNAL)
    assert len(journals) >= 2
    # Invoices fail transiently, so credit memos wait and the first import is a journal's.
    seller.oracle.add_fault(
        Fault(FaultKind.HTTP_503, path="receivablesInvoices", method="POST", times=None)
    )
    seller.oracle.add_fault(Fault(FaultKind.ESS_CHILD_ERROR, path="erpintegrations", times=1))
    with seller.connect() as ctx:
        summary = poster(seller, ctx).post_all()
    assert summary.rejected == 1
    assert summary.posted["journal"] == len(journals) - 1
    rejected = [d for d in seller.documents(DocumentKind.JOURNAL) if d.state.value == "rejected"]
    assert len(rejected) == 1
    error = rejected[0].last_error or ""
    assert "Journal Import=ERROR" in error, error
    assert "request_id=" in error  # what Oracle support asks for
    items = seller.review(ReviewKind.ORACLE_REJECTED)
    assert [item.subject_amazon_id for item in items] == [rejected[0].amazon_source_id]
    assert "Journal Import=ERROR" in items[0].reason
    batch = str(rejected[0].payload["batch_name"])
    assert batch not in {b.name for b in seller.oracle.state.batches.values()}


def test_rejected_journal_reason_quotes_oracles_error_line(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.extract_and_plan()
    seller.oracle.add_fault(
        Fault(FaultKind.HTTP_503, path="receivablesInvoices", method="POST", times=None)
    )
    seller.oracle.add_fault(Fault(FaultKind.ESS_CHILD_ERROR, path="erpintegrations", times=1))
    with seller.connect() as ctx:
        poster(seller, ctx).post_all()
    (item,) = seller.review(ReviewKind.ORACLE_REJECTED)
    assert "ended in error" in item.reason, item.reason
    assert "line(s) imported" not in item.reason


def test_an_import_job_waiting_for_a_person_opens_a_review_item_at_once(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40)
    seller.extract_and_plan()
    seller.oracle.add_fault(
        Fault(FaultKind.HTTP_503, path="receivablesInvoices", method="POST", times=None)
    )
    # The first import's ESS job goes on HOLD in Oracle (someone must release it).
    seller.oracle.add_fault(Fault(FaultKind.ESS_HOLD, path="erpintegrations", times=1))
    with seller.connect() as ctx:
        poster(seller, ctx).post_all()  # one poll
    (item,) = seller.review(ReviewKind.ORACLE_JOB_WAITING)
    assert "HOLD" in item.reason
    assert "Scheduled Processes" in item.reason
    key = str(item.details["key"])
    (waiting,) = [d for d in seller.documents() if d.idempotency_key == key]
    assert waiting.state.value == "sending", "stays in flight on its request"
    with seller.connect() as ctx:
        # The next poll: still waiting, one item, not resent.
        poster(seller, ctx).post_all()
    assert len(seller.review(ReviewKind.ORACLE_JOB_WAITING)) == 1
    with seller.rt.sessions() as session:
        submitted = [e for e in timeline(session, key) if e.action == "submitted"]
    assert len(submitted) == 1


def test_a_rejected_journal_row_is_quoted_with_oracles_reason_in_the_review_item(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40)
    charges = next(seller.workdir.rglob("charges*.toml"))
    text = charges.read_text(encoding="utf-8")
    marker = '[charges.Commission]\naccount = "61000"'
    assert marker in text
    # A natural account the mapping's chart accepts but Oracle's chart of accounts lacks.
    charges.write_text(text.replace(marker, '[charges.Commission]\naccount = "61999"'), "utf-8")
    seller.sync()
    rejected = [
        d for d in seller.documents(DocumentKind.JOURNAL) if d.state is DocumentState.REJECTED
    ]
    assert rejected
    items = {i.subject_amazon_id: i for i in seller.review(ReviewKind.ORACLE_REJECTED)}
    for doc in rejected:
        reason = items[doc.amazon_source_id].reason
        assert "61999" in reason, reason
        assert "isn't a valid combination" in reason, reason
        assert "rejected row" in reason, reason
        assert str(doc.payload["batch_name"]) in reason, reason
