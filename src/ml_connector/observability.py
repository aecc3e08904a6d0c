"""Logs and metrics: what an operator reads when a sync misbehaves at 3 a.m.

Logging: structlog for our own events, and the stdlib root logger (httpx, uvicorn, alembic)
routed through the *same* processor chain, so the Redactor scrubs third-party lines too — an
httpx debug line can echo a URL with a token in it. The redactor runs last before rendering so
nothing added by an earlier processor escapes it.

Metrics: Prometheus counters and gauges the pipeline updates, grouped in one `Metrics` object so
tests can build a private registry instead of fighting over the process-wide one.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TextIO

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from structlog.typing import Processor

from ml_connector.remote.http.redact import Redactor

__all__ = ["THIRD_PARTY_LOGGERS", "Metrics", "configure_logging", "metrics"]

# Loggers that install their own handlers (uvicorn) or are chatty about URLs (httpx); they are
# made to propagate to the root handler, which redacts.
THIRD_PARTY_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "httpx",
    "httpcore",
    "sqlalchemy.engine",
    "alembic",
)


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(
    *, json: bool, level: str, redactor: Redactor, stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging through one redacting chain to `stream` (stderr).

    Safe to call more than once (tests, `serve` after `init`): the root handler is replaced.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    renderer: Processor
    if json:
        renderer = structlog.processors.JSONRenderer(default=str)
    else:
        # Plain tracebacks: "pretty" ones print local variables, which can hold credentials.
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    shared = _shared_processors()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    for name in THIRD_PARTY_LOGGERS:
        third = logging.getLogger(name)
        third.handlers = []
        third.propagate = True
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


_LATENCY_BUCKETS: Sequence[float] = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


class Metrics:
    """Every metric the pipeline updates; labels are small fixed vocabularies, never ids."""

    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        self.registry = registry
        self.documents_posted = Counter(
            "mlc_documents_posted",
            "Oracle documents posted, by kind (invoice, credit_memo, journal).",
            ["kind"],
            registry=registry,
        )
        self.documents_rejected = Counter(
            "mlc_documents_rejected",
            "Oracle documents Oracle refused, by kind.",
            ["kind"],
            registry=registry,
        )
        self.review_items_open = Gauge(
            "mlc_review_items_open",
            "Review items waiting for a person.",
            registry=registry,
        )
        self.sync_duration = Histogram(
            "mlc_sync_duration_seconds",
            "Wall time of one sync cycle, per stream.",
            ["stream"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.remote_requests = Counter(
            "mlc_remote_requests",
            "HTTP requests to Amazon or Oracle, by system and status (or 'error').",
            ["system", "status"],
            registry=registry,
        )
        self.remote_retries = Counter(
            "mlc_remote_retries",
            "Retried HTTP requests to Amazon or Oracle, by system and the status that caused it.",
            ["system", "status"],
            registry=registry,
        )

        # Per connection, incremented by `run` at the end of each cycle it ran (see
        # `cycle_documents` / `cycle_failed`); the store-derived gauges are in run/metrics.py.
        self.connection_documents_posted = Counter(
            "mlc_connection_documents_posted",
            "Documents posted to Oracle (or found already there) by this process, by connection "
            "and kind.",
            ["connection", "kind"],
            registry=registry,
        )
        self.connection_documents_rejected = Counter(
            "mlc_connection_documents_rejected",
            "Documents Oracle refused (each opens an oracle_rejected review item), by connection "
            "and kind.",
            ["connection", "kind"],
            registry=registry,
        )
        self.connection_documents_retried = Counter(
            "mlc_connection_documents_retried",
            "Document sends that failed for a reason worth retrying (sent again next cycle), by "
            "connection and kind.",
            ["connection", "kind"],
            registry=registry,
        )
        self.run_failures = Counter(
            "mlc_run_failures",
            "Cycles of `run` that failed (configuration, credentials, a remote outage), by "
            "connection.",
            ["connection"],
            registry=registry,
        )

    def cycle_documents(self, connection: str, outcomes: dict[str, dict[str, int]]) -> None:
        """Count what one cycle did to documents: ``outcomes`` is ``{"posted" | "rejected" |
        "retried": {kind: count}}``; other keys are ignored."""
        counters = {
            "posted": self.connection_documents_posted,
            "rejected": self.connection_documents_rejected,
            "retried": self.connection_documents_retried,
        }
        for outcome, by_kind in outcomes.items():
            counter = counters.get(outcome)
            if counter is None:
                continue
            for kind, count in by_kind.items():
                counter.labels(connection=connection, kind=kind).inc(count)

    def cycle_failed(self, connection: str) -> None:
        """Count one failed cycle of ``connection``."""
        self.run_failures.labels(connection=connection).inc()

    def request(self, system: str, status: int | None, *, retried: bool = False) -> None:
        """Count one request; `status` None means no response (timeout, reset)."""
        label = "error" if status is None else str(status)
        self.remote_requests.labels(system=system, status=label).inc()
        if retried:
            self.remote_retries.labels(system=system, status=label).inc()


metrics = Metrics()
"""The process-wide metrics, served by the dashboard's /metrics."""
