"""The SP-API look-alike as an ASGI app: LWA at the root, every SP-API route at the root (all
regions) and under `/na`, `/eu`, `/fe` (that region's data only)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ml_connector_sim.amazon import api_finances, api_orders, api_reports
from ml_connector_sim.amazon.context import (
    REGION_SCOPE_KEY,
    SimContext,
    SimOptions,
    rate_limit_headers,
)
from ml_connector_sim.amazon.marketplaces import REGIONS
from ml_connector_sim.amazon.wire import ApiError, json_response
from ml_connector_sim.amazon.world import AmazonWorld

_UNFAULTED_PREFIXES = ("/auth/", "/_documents/", "/_sim/")


class RegionAndFaults:
    """Strip the region prefix, stamp `x-amzn-RequestId`, and inject transport-level faults."""

    def __init__(self, app: ASGIApp, context: SimContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        for region in REGIONS:
            prefix = f"/{region}"
            if path == prefix or path.startswith(prefix + "/"):
                scope = dict(scope)
                scope["path"] = path[len(prefix) :] or "/"
                scope["raw_path"] = scope["path"].encode()
                scope[REGION_SCOPE_KEY] = region
                break
        request_id = str(uuid.uuid4())

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-amzn-requestid", request_id.encode()))
                message = dict(message) | {"headers": headers}
            await send(message)

        if not scope["path"].startswith(_UNFAULTED_PREFIXES):
            faults = self.context.options.faults
            with self.context.lock:
                rng = self.context.fault_rng
                slow = faults.slow_rate > 0 and rng.random() < faults.slow_rate
                drop = faults.drop_rate > 0 and rng.random() < faults.drop_rate
                error = faults.error_rate > 0 and rng.random() < faults.error_rate
                unavailable = rng.random() < 0.5
                redirect = faults.redirect_rate > 0 and rng.random() < faults.redirect_rate
            if redirect:
                # A sign-in page (or captive proxy) answering instead of the API.
                location = b"https://sellercentral.amazon.com/ap/signin?openid.return_to=sim"
                await stamped({"type": "http.response.start", "status": 302,
                               "headers": [(b"location", location),
                                           (b"content-length", b"0")]})  # fmt: skip
                await send({"type": "http.response.body", "body": b""})
                return
            if slow:
                await asyncio.sleep(faults.slow_seconds)
            if drop:
                # Promise a body, send part of it, stop: the client sees the peer hang up.
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", b"4096")]})  # fmt: skip
                await send(
                    {"type": "http.response.body", "body": b'{"payload":', "more_body": False}
                )
                return
            if error:
                status, code, message = (
                    (503, "ServiceUnavailable", "Service temporarily unavailable.")
                    if unavailable
                    else (
                        500,
                        "InternalFailure",
                        "We encountered an internal error. Please try again.",
                    )
                )
                body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
                length = str(len(body)).encode()
                await stamped({"type": "http.response.start", "status": status,
                               "headers": [(b"content-type", b"application/json"),
                                           (b"content-length", length)]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, stamped)


def create_app(world: AmazonWorld, options: SimOptions | None = None) -> FastAPI:
    """Build the simulator app for one seller world; state lives on `app.state.sim`."""
    context = SimContext(world, options or SimOptions())
    app = FastAPI(title="SP-API simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = context

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        headers = rate_limit_headers(request) if exc.status in (400, 404) else {}
        return json_response(exc.body(), exc.status, headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = "NotFound" if exc.status_code == 404 else "InvalidInput"
        message = "Resource not found." if exc.status_code == 404 else str(exc.detail)
        return json_response({"errors": [{"code": code, "message": message}]}, exc.status_code)

    @app.post("/auth/o2/token")
    async def lwa_token(request: Request) -> Response:
        return await _lwa_token(request, context)

    @app.get("/_sim/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "orders": len(world.orders), "groups": len(world.groups)}

    app.include_router(api_orders.router)
    app.include_router(api_finances.router)
    app.include_router(api_reports.router)
    app.add_middleware(RegionAndFaults, context=context)
    return app


def _lwa_error(status: int, error: str, description: str) -> Response:
    return json_response({"error_description": description, "error": error}, status)


async def _lwa_token(request: Request, context: SimContext) -> Response:
    """Login with Amazon refresh_token grant; form or JSON body, as Amazon's SDKs send both."""
    raw = await request.body()
    fields: dict[str, str]
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            loaded = json.loads(raw or b"{}")
        except ValueError:
            return _lwa_error(400, "invalid_request", "The request body is not valid JSON.")
        fields = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
    else:
        fields = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    grant = fields.get("grant_type", "")
    if not grant:
        return _lwa_error(
            400, "invalid_request", "The request is missing a required parameter : grant_type"
        )
    if grant != "refresh_token":
        return _lwa_error(
            400, "unsupported_grant_type", f"The authorization grant type is not supported: {grant}"
        )
    client_id, secret = fields.get("client_id", ""), fields.get("client_secret", "")
    refresh = fields.get("refresh_token", "")
    if not client_id or not secret:
        return _lwa_error(401, "invalid_client", "Client authentication failed")
    if not refresh:
        return _lwa_error(
            400, "invalid_request", "The request is missing a required parameter : refresh_token"
        )
    region: str | None = None
    if context.options.strict_credentials:
        apps = [
            c
            for c in context.world.credentials
            if c.client_id == client_id and c.client_secret == secret
        ]
        if not apps:
            return _lwa_error(401, "invalid_client", "Client authentication failed")
        grants = [c for c in apps if c.refresh_token == refresh]
        if not grants:
            return _lwa_error(
                400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
            )
        region = grants[0].region
    token = context.issue_token(client_id, region)
    return json_response(
        {
            "access_token": token,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": context.options.token_lifetime,
        }
    )
