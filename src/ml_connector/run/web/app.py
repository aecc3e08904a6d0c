"""The read-only dashboard and its JSON API (DESIGN.md §6), as a FastAPI app factory.

Every page answers HTML to a browser and JSON to `Accept: application/json` or `?format=json`,
from the same data. Everything a page shows passes through the Redactor first: the store keeps
no credentials, but an Oracle error text stored as `last_error` could echo one back.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.observability import Metrics
from ml_connector.observability import metrics as default_metrics
from ml_connector.remote.http.redact import Redactor, default_redactor
from ml_connector.run.metrics import scrape_view
from ml_connector.run.web import render, views
from ml_connector.run.web.pages import CSS
from ml_connector.store import DocumentState

__all__ = ["LOOPBACK_HOSTS", "SECURITY_HEADERS", "create_app", "host_allowed", "wants_json"]

# Names a browser on this machine uses for a dashboard bound to loopback (any port).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_STYLE_HASH = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
SECURITY_HEADERS = {
    # No script at all; the one inline style sheet by its hash; forms only back to us.
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _name_and_port(value: str) -> tuple[str, str | None]:
    text = value.strip().lower()
    if text.startswith("["):
        close = text.find("]")
        rest = text[close + 1 :]
        return text[: close + 1], rest[1:] if rest.startswith(":") else None
    if text.count(":") == 1:
        name, port = text.split(":")
        return name, port
    return text, None


def host_allowed(host_header: str | None, allowed: Iterable[str]) -> bool:
    """Whether a request's ``Host`` names this dashboard: an entry ``name:port`` must match
    exactly, a bare ``name`` matches on any port. Case-insensitive; no header, no entry."""
    if not host_header:
        return False
    name, port = _name_and_port(host_header)
    for entry in allowed:
        wanted_name, wanted_port = _name_and_port(entry)
        if name == wanted_name and wanted_port in (None, port):
            return True
    return False


def wants_json(request: Request) -> bool:
    """`?format=` wins; otherwise JSON only when the client asks for it and not for HTML."""
    fmt = request.query_params.get("format")
    if fmt:
        return fmt.lower() == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def create_app(
    sessions: sessionmaker[Session],
    *,
    redactor: Redactor = default_redactor,
    metrics: Metrics = default_metrics,
    allowed_hosts: Iterable[str] = LOOPBACK_HOSTS,
) -> FastAPI:
    """The dashboard over one store; it never writes (no route opens a write transaction).

    A request whose ``Host`` is not one of ``allowed_hosts`` is refused (400) before any route
    runs: a web page elsewhere that rebinds its DNS name to 127.0.0.1 would otherwise read the
    dashboard. Every response carries ``SECURITY_HEADERS``.
    """
    app = FastAPI(title="ml-connector", docs_url=None, redoc_url=None, openapi_url=None)
    hosts = tuple(allowed_hosts)

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response: Response
        if host_allowed(request.headers.get("host"), hosts):
            response = await call_next(request)
        else:
            response = PlainTextResponse(
                "this dashboard answers only to its configured host names (see serve "
                "--allowed-host)",
                status_code=400,
            )
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(Exception)
    async def crashed(_request: Request, exc: Exception) -> Response:
        # Answered by the outermost layer, past the guard: the headers are set here too.
        return PlainTextResponse(
            f"internal error ({type(exc).__name__})", status_code=500, headers=SECURITY_HEADERS
        )

    def page(
        request: Request,
        build: Callable[[Session], dict[str, Any]],
        html: Callable[[dict[str, Any]], str],
        *,
        status_code: Callable[[dict[str, Any]], int] = lambda _data: 200,
    ) -> Response:
        with sessions() as session:
            data = redactor.data(build(session))
        code = status_code(data)
        if wants_json(request):
            return JSONResponse(data, status_code=code)
        return HTMLResponse(html(data), status_code=code)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            with sessions() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            # The class name only: a driver message can contain the database URL.
            return JSONResponse(
                {"status": "unavailable", "error": type(exc).__name__}, status_code=503
            )
        return JSONResponse({"status": "ok"})

    scraped = scrape_view(sessions, metrics)

    @app.get("/metrics")
    def metrics_text() -> Response:
        with sessions() as session:
            metrics.review_items_open.set(views.open_review_count(session))
        # The per-connection gauges come from the store; this process's counters stay at zero
        # unless it also runs cycles (`run --metrics-port` serves those).
        body = generate_latest(scraped)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_model=None)
    def overview(request: Request) -> Response:
        return page(request, views.overview, render.overview)

    @app.get("/documents", response_model=None)
    def documents(
        request: Request, amazon_id: str | None = None, state: DocumentState | None = None
    ) -> Response:
        return page(
            request,
            lambda s: views.documents(s, amazon_id=(amazon_id or "").strip() or None, state=state),
            render.documents,
        )

    @app.get("/review", response_model=None)
    def review(request: Request) -> Response:
        return page(request, views.review, render.review)

    @app.get("/audit/{any_id}", response_model=None)
    def audit(request: Request, any_id: str) -> Response:
        return page(
            request,
            lambda s: views.audit(s, any_id),
            render.audit,
            status_code=lambda data: 200 if data["events"] or data["bindings"] else 404,
        )

    @app.get("/reconciliation", response_model=None)
    def reconciliation(request: Request) -> Response:
        return page(request, views.reconciliation, render.reconciliation)

    return app
