"""Logs never show a secret, whether they come from our code or from a library; metrics export."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from prometheus_client import CollectorRegistry, generate_latest

from ml_connector.observability import Metrics, configure_logging
from ml_connector.remote.http.redact import MASK, Redactor

SECRET = "s3cr3t-refresh-value-42"


@pytest.fixture
def redactor() -> Redactor:
    redactor = Redactor()
    redactor.add_secret(SECRET)
    return redactor


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


def _lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("as_json", [True, False])
def test_registered_secret_is_masked_in_our_logs(redactor: Redactor, as_json: bool) -> None:
    stream = io.StringIO()
    configure_logging(json=as_json, level="info", redactor=redactor, stream=stream)
    structlog.get_logger("ml_connector.test").info(
        f"token refresh failed for {SECRET}", detail=f"body said {SECRET}", client_secret="x"
    )
    output = stream.getvalue()
    assert SECRET not in output
    assert MASK in output
    assert "token refresh failed" in output
    if as_json:
        record = json.loads(_lines(stream)[0])
        assert record["event"] == f"token refresh failed for {MASK}"
        assert record["detail"] == f"body said {MASK}"
        assert record["client_secret"] == MASK
        assert record["level"] == "info"


@pytest.mark.parametrize("as_json", [True, False])
def test_library_logs_go_through_the_redactor(redactor: Redactor, as_json: bool) -> None:
    stream = io.StringIO()
    configure_logging(json=as_json, level="debug", redactor=redactor, stream=stream)
    logging.getLogger("httpx").info("HTTP Request: GET https://x/?q=%s", SECRET)
    logging.getLogger("uvicorn.error").warning("Authorization: Bearer abcdefghijkl")
    output = stream.getvalue()
    assert SECRET not in output
    assert "abcdefghijkl" not in output
    assert "HTTP Request: GET" in output
    if as_json:
        first = json.loads(_lines(stream)[0])
        assert first["logger"] == "httpx"


def test_exception_text_is_scrubbed(redactor: Redactor) -> None:
    stream = io.StringIO()
    configure_logging(json=True, level="info", redactor=redactor, stream=stream)
    try:
        raise RuntimeError(f"remote echoed {SECRET}")
    except RuntimeError:
        structlog.get_logger().exception("post failed")
    record = json.loads(_lines(stream)[0])
    assert SECRET not in stream.getvalue()
    assert "RuntimeError" in record["exception"]


def test_level_filters_and_bad_level_is_refused(redactor: Redactor) -> None:
    stream = io.StringIO()
    configure_logging(json=True, level="WARNING", redactor=redactor, stream=stream)
    structlog.get_logger().info("quiet")
    structlog.get_logger().warning("loud")
    assert [json.loads(line)["event"] for line in _lines(stream)] == ["loud"]
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging(json=True, level="chatty", redactor=redactor)


def test_metrics_are_exported() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.documents_posted.labels(kind="invoice").inc(3)
    metrics.documents_rejected.labels(kind="journal").inc()
    metrics.review_items_open.set(2)
    metrics.sync_duration.labels(stream="orders").observe(1.5)
    metrics.request("amazon", 429, retried=True)
    metrics.request("oracle", None)
    text = generate_latest(registry).decode()
    assert 'mlc_documents_posted_total{kind="invoice"} 3.0' in text
    assert 'mlc_documents_rejected_total{kind="journal"} 1.0' in text
    assert "mlc_review_items_open 2.0" in text
    assert 'mlc_sync_duration_seconds_count{stream="orders"} 1.0' in text
    assert 'mlc_remote_requests_total{status="429",system="amazon"} 1.0' in text
    assert 'mlc_remote_retries_total{status="429",system="amazon"} 1.0' in text
    assert 'mlc_remote_requests_total{status="error",system="oracle"} 1.0' in text
