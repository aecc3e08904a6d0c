"""What ``/metrics`` shows per connection, and the small HTTP server `run --metrics-port` starts.

`run` and `serve` are separate processes over one database, so the series come from two places:

* gauges read from the store at every scrape, true for every connection whichever process
  serves them: ``mlc_last_successful_sync_timestamp_seconds{connection}`` (unix seconds of the
  newest cycle that ran to the end, ``succeeded`` or ``partial``) and
  ``mlc_review_items_held{connection,cause}`` (open review items by their kind);
* counters the `run` process increments after each cycle it ran (``observability.Metrics``):
  documents posted / rejected / retried by connection and kind, and failed cycles. They count
  what *this* process did since it started, as Prometheus counters do; sum them over processes.

The per-cycle document outcomes are read from the audit trail (the outbox writes one ``posted``,
``rejected`` or ``retried`` event per document, with its kind) after the cycle: the connection's
lease keeps any other worker from posting for it meanwhile, so nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from prometheus_client import REGISTRY, start_http_server
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.errors import ConfigError
from ml_connector.observability import Metrics
from ml_connector.store import AuditAction, ReviewKind, ReviewStatus, RunStatus, list_connections
from ml_connector.store.tables import AuditEvent, ReviewItem, Run

__all__ = [
    "StoreGauges",
    "audit_mark",
    "document_outcomes",
    "metrics_server",
    "scrape_view",
]

_OUTCOMES = {
    AuditAction.POSTED.value: "posted",
    AuditAction.REJECTED.value: "rejected",
    AuditAction.RETRIED.value: "retried",
}


def audit_mark(session: Session) -> int:
    """The newest audit event id (0 for none): count a cycle's events from here."""
    return int(session.scalar(select(func.max(AuditEvent.id))) or 0)


def document_outcomes(
    session: Session, connection_id: int, *, after: int
) -> dict[str, dict[str, int]]:
    """``{"posted" | "rejected" | "retried": {kind: count}}`` for the connection's audit events
    newer than the id ``after`` (one event per document and outcome)."""
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.details).where(
            AuditEvent.id > after,
            AuditEvent.connection_id == connection_id,
            AuditEvent.action.in_(list(_OUTCOMES)),
        )
    )
    counted: dict[str, dict[str, int]] = {}
    for action, details in rows:
        kind = str((details or {}).get("kind", "unknown"))
        by_kind = counted.setdefault(_OUTCOMES[action], {})
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return counted


def _unix(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


class StoreGauges(Collector):
    """The per-connection gauges, read from the store when scraped (one query each)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterable[Metric]:
        last = GaugeMetricFamily(
            "mlc_last_successful_sync_timestamp_seconds",
            "When the connection's newest cycle that ran to the end (succeeded or partial) "
            "finished, unix seconds; absent before its first one.",
            labels=["connection"],
        )
        held = GaugeMetricFamily(
            "mlc_review_items_held",
            "Open review items of the connection, by cause (the review item kind); 0 for a "
            "cause with none.",
            labels=["connection", "cause"],
        )
        with self._sessions() as session:
            names = {row.id: row.name for row in list_connections(session)}
            finished = session.execute(
                select(Run.connection_id, func.max(Run.finished_at))
                .where(Run.status.in_([RunStatus.SUCCEEDED, RunStatus.PARTIAL]))
                .group_by(Run.connection_id)
            ).all()
            open_items = session.execute(
                select(ReviewItem.connection_id, ReviewItem.kind, func.count())
                .where(ReviewItem.status == ReviewStatus.OPEN)
                .group_by(ReviewItem.connection_id, ReviewItem.kind)
            ).all()
        for connection_id, at in finished:
            if connection_id in names and at is not None:
                last.add_metric([names[connection_id]], _unix(at))
        counts = {(cid, ReviewKind(kind)): int(n) for cid, kind, n in open_items}
        for connection_id, name in sorted(names.items(), key=lambda item: item[1]):
            for cause in ReviewKind:
                held.add_metric([name, cause.value], counts.get((connection_id, cause), 0))
        return [last, held]


class _ScrapeView(Collector):
    """The process's metrics followed by the store's gauges, as one scrape."""

    def __init__(self, metrics: Metrics, store: StoreGauges) -> None:
        self._metrics = metrics
        self._store = store

    def collect(self) -> Iterable[Metric]:
        yield from (self._metrics.registry or REGISTRY).collect()
        yield from self._store.collect()


def scrape_view(sessions: sessionmaker[Session], metrics: Metrics) -> Collector:
    """What a ``/metrics`` page renders (``prometheus_client.generate_latest`` of it)."""
    return _ScrapeView(metrics, StoreGauges(sessions))


def parse_address(value: str) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` (``[::1]:PORT`` for IPv6) → (host, port); the host defaults
    to 127.0.0.1. Raises ``ConfigError`` for anything else."""
    text = value.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"--metrics-port {value!r}: give a port (9464) or host:port")
    return host, int(port)


@contextmanager
def metrics_server(
    address: str, sessions: sessionmaker[Session], metrics: Metrics
) -> Iterator[str]:
    """Serve ``scrape_view`` over HTTP at ``address`` (`parse_address`) in a daemon thread for
    the life of the block; yields its URL (``http://host:port/metrics``).

    Raises ``ConfigError`` with one line when the address cannot be listened on (port in use).
    """
    host, port = parse_address(address)
    try:
        server, thread = start_http_server(port, addr=host, registry=scrape_view(sessions, metrics))
    except OSError as exc:
        raise ConfigError(
            f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}"
            " (choose another --metrics-port)"
        ) from None
    bound = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{bound}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
