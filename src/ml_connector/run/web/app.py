"""The read-only dashboard and its JSON API (DESIGN.md §6), as a FastAPI app factory.

Every page answers HTML to a browser and JSON to `Accept: application/json` or `?format=json`,
from the same data. Everything a page shows passes through the Redactor first: the store keeps
no credentials, but an Oracle error text stored as `last_error` could echo one back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.observability import Metrics
from ml_connector.observability import metrics as default_metrics
from ml_connector.remote.http.redact import Redactor, default_redactor
from ml_connector.run.web import render, views
from ml_connector.store import DocumentState

__all__ = ["create_app", "wants_json"]


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
) -> FastAPI:
    """The dashboard over one store; it never writes (no route opens a write transaction)."""
    app = FastAPI(title="ml-connector", docs_url=None, redoc_url=None, openapi_url=None)

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

    @app.get("/metrics")
    def metrics_text() -> Response:
        with sessions() as session:
            metrics.review_items_open.set(views.open_review_count(session))
        body = generate_latest(metrics.registry or REGISTRY)
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
