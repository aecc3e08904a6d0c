"""Issue 11, D2: an Oracle that accepts connections and never answers (a hung pod, a proxy in
front of a dead one). The token request times out; nothing of any document left the process,
so no document is "sent without an answer"; the breaker opens on that one failure and the pass
ends within seconds, leaving every document for the next cycle, which posts each once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from test_poster_failures import assert_each_document_once_in_oracle, states
from typer.testing import CliRunner

from ml_connector.flow.post.breaker import TOKEN_CALL
from ml_connector.flow.post.poster import Poster, PosterSettings
from ml_connector.remote.oracle.auth import ClientCredentialsAuth
from ml_connector.run.cli import app
from ml_connector.store import DocumentKind, ReviewKind
from sim_outage import port_of, restarted, silent

Factory = Callable[..., Any]
TIMEOUT_S = 0.5


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read timeout of half a second instead of a minute, so the test takes seconds."""
    init = httpx.Client.__init__

    def short(self: httpx.Client, *args: Any, **kwargs: Any) -> None:
        kwargs["timeout"] = httpx.Timeout(TIMEOUT_S)
        init(self, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "__init__", short)


def poster(seller: Any, ctx: Any) -> Poster:
    """Production settings: four invoice workers, the default breaker."""
    return Poster(
        seller.rt.sessions,
        ctx.id,
        ctx.profile,
        ctx.receivables,
        ctx.imports,
        clock=seller.rt.clock,
        settings=PosterSettings(),
    )


def test_the_token_operation_is_the_one_the_oauth_client_names() -> None:
    assert ClientCredentialsAuth.operation == TOKEN_CALL == "oauth.token"


@pytest.mark.usefixtures("short_timeouts")
def test_an_oracle_that_never_answers_stops_the_pass_at_the_first_token_request(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=30)
    seller.extract_and_plan()
    invoices = len(seller.documents(DocumentKind.INVOICE))
    everything = len(seller.documents())
    assert invoices >= 10
    port = port_of(seller.oracle)

    with silent(seller.oracle) as reached, seller.connect() as ctx:
        began = time.monotonic()
        summary = poster(seller, ctx).post_all()
        took = time.monotonic() - began
        requests = len(reached)

    # One token request with its own three attempts, then nothing more was asked.
    assert requests <= 3
    assert took < 15
    assert summary.posted == {}
    assert summary.unconfirmed == 0  # no document left the process: none "may have landed"
    assert summary.rejected == 0
    assert not summary.oracle_refused
    assert states(seller, DocumentKind.INVOICE) == {"planned": invoices}
    assert summary.left_for_next_cycle == everything
    assert summary.oracle_unreachable == (
        f"Oracle unreachable: cannot reach 127.0.0.1:{port}: connected, but no answer came "
        f"within {TIMEOUT_S:g} s (read timeout) — {everything} documents left for the next cycle"
    )
    assert not seller.review(ReviewKind.ORACLE_REJECTED)

    with restarted(seller.oracle), seller.connect() as ctx:
        again = poster(seller, ctx).post_all()
    assert again.oracle_unreachable is None
    assert again.posted["invoice"] == invoices
    assert again.found_existing == 0
    assert {d.state.value for d in seller.documents()} == {"posted"}
    assert_each_document_once_in_oracle(seller)


@pytest.mark.usefixtures("short_timeouts")
def test_sync_against_a_silent_oracle_exits_4_with_the_line(sim_seller: Factory) -> None:
    """The CLI: Amazon is read and planned, Oracle never answers; the sync returns within
    seconds, exit 4 (an outage heals: the next cycle posts), one line saying what waits."""
    seller = sim_seller(orders=12)
    seller.write_mapping()
    port = port_of(seller.oracle)
    with silent(seller.oracle):
        began = time.monotonic()
        synced = CliRunner().invoke(app, ["sync", "demo"])
        took = time.monotonic() - began
    assert synced.exit_code == 4, synced.output
    assert took < 30
    everything = len(seller.documents())
    assert everything > 0
    lines = [" ".join(line.split()) for line in synced.stdout.splitlines()]
    assert (
        f"Oracle unreachable: cannot reach 127.0.0.1:{port}: connected, but no answer came "
        f"within {TIMEOUT_S:g} s (read timeout) — {everything} documents left for the next cycle"
    ) in lines, synced.stdout
    assert not any("sent without an answer" in line for line in lines)
    assert not any("set-secret" in line for line in lines)
    assert "Traceback" not in synced.output
