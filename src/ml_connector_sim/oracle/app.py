"""The FastAPI app: identity domain, Fusion REST roots, fault injection and an admin API.

REST lives under ``/fscmRestApi/resources/11.13.18.05`` and ``/fscmRestApi/resources/latest``.
Faults run in an ASGI layer in front of everything, so a dropped connection can happen after
the handler has committed its document — the case a connector's "look up before retry" rule
exists for.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ml_connector_sim.oracle.auth import token_router
from ml_connector_sim.oracle.context import SimContext, SimOptions
from ml_connector_sim.oracle.erpintegrations import erpintegrations_router
from ml_connector_sim.oracle.errors import OracleError, framework_version, render_error
from ml_connector_sim.oracle.faults import (
    AFTER_COMMIT,
    REFUSALS,
    Fault,
    FaultKind,
    parse_fault,
    slow_ess_requests,
)
from ml_connector_sim.oracle.journals_rest import journals_router
from ml_connector_sim.oracle.receivables_rest import receivables_router
from ml_connector_sim.oracle.tenant import TenantSetup

REST_VERSIONS = ("11.13.18.05", "latest")
Transports = MutableMapping[tuple[str, int], asyncio.BaseTransport]


def rest_base(request: Request) -> str:
    parts = request.url.path.split("/")
    version = parts[3] if len(parts) > 3 else REST_VERSIONS[0]
    return f"{str(request.base_url).rstrip('/')}/fscmRestApi/resources/{version}"


def rest_user(request: Request) -> str:
    return str(request.state.user)


class FaultLayer:
    """ASGI middleware: refuses, delays, slows ESS or cuts requests as the fault book says."""

    def __init__(self, app: ASGIApp, ctx: SimContext, transports: Transports) -> None:
        self.app, self.ctx, self.transports = app, ctx, transports

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/__sim"):
            await self.app(scope, receive, send)
            return
        method, book = scope["method"], self.ctx.faults
        refusal = book.take(REFUSALS, method, path)
        if refusal is not None:
            status = int(refusal.kind.value)
            headers = {"Retry-After": str(int(refusal.seconds))} if refusal.seconds else {}
            await Response(_REASONS[status], status, headers=headers, media_type="text/plain")(
                scope, receive, send
            )
            return
        redirect = book.take({FaultKind.REDIRECT}, method, path)
        if redirect is not None:
            # What a pod behind single sign-on answers when the session is not accepted.
            location = "/oam/server/obrareq.cgi?encquery=sim-redirect"
            await Response("", 302, headers={"Location": location})(scope, receive, send)
            return
        slow = book.take({FaultKind.SLOW}, method, path)
        if slow is not None:
            await asyncio.sleep(slow.seconds)
        ess_slow = book.take({FaultKind.ESS_SLOW}, method, path)
        if ess_slow is not None:
            with slow_ess_requests(ess_slow.seconds):
                await self._after_commit(scope, receive, send)
            return
        await self._after_commit(scope, receive, send)

    async def _after_commit(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path, book = scope["method"], scope.get("path", ""), self.ctx.faults
        if not book.may_fire(AFTER_COMMIT, method, path):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        status = next((m["status"] for m in held if m["type"] == "http.response.start"), 500)
        client = scope.get("client")
        transport = self.transports.get((client[0], client[1])) if client else None
        # A connection can only be cut where the server sees its transport.
        kinds = AFTER_COMMIT if transport is not None else {FaultKind.ERROR_AFTER_COMMIT}
        fault = book.take(kinds, method, path) if status < 300 else None
        if fault is not None and fault.kind is FaultKind.ERROR_AFTER_COMMIT:
            # The handler committed; the caller only learns that "something went wrong".
            await Response(_REASONS[500], 500, media_type="text/plain")(scope, receive, send)
            return
        if fault is not None and transport is not None:
            transport.abort()  # type: ignore[attr-defined]
            return
        for message in held:
            await send(message)


_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def create_app(
    setup: TenantSetup,
    options: SimOptions,
    *,
    context: SimContext | None = None,
    transports: Transports | None = None,
) -> FastAPI:
    """Build the simulator; ``context`` lets the runner share the state it exposes to tests."""
    ctx = context or SimContext.build(setup, options)
    app = FastAPI(
        title="Oracle Fusion simulator (ml-connector)",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.sim = ctx
    app.include_router(token_router(ctx.identity))
    for version in REST_VERSIONS:
        prefix = f"/fscmRestApi/resources/{version}"
        app.include_router(receivables_router(ctx, rest_base, rest_user), prefix=prefix)
        app.include_router(journals_router(ctx, rest_base), prefix=prefix)
        app.include_router(erpintegrations_router(ctx), prefix=prefix)

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Response:
        ecid = secrets.token_hex(12)
        if request.url.path.startswith("/fscmRestApi/"):
            user = ctx.identity.authenticate(request.headers.get("Authorization"))
            if user is None:
                refusal = render_error(
                    OracleError.one(401, "Authentication failed.", "SIM_401"),
                    framework_version(request),
                )
                refusal.headers["WWW-Authenticate"] = 'Bearer realm="Oracle Fusion"'
                return refusal
            request.state.user = user
        response: Response = await call_next(request)
        response.headers.setdefault("X-ORACLE-DMS-ECID", ecid)
        response.headers.setdefault("Cache-Control", "no-cache, no-store, must-revalidate")
        return response

    @app.exception_handler(OracleError)
    async def oracle_error(request: Request, exc: OracleError) -> Response:
        return render_error(exc, framework_version(request))

    @app.get("/__sim/faults", include_in_schema=False)
    async def list_faults() -> JSONResponse:
        return JSONResponse([f.to_json() for f in ctx.faults.armed()])

    @app.post("/__sim/faults", include_in_schema=False)
    async def add_faults(request: Request) -> JSONResponse:
        body = await request.json()
        specs = body if isinstance(body, list) else [body]
        try:
            faults = [
                parse_fault(s)
                if isinstance(s, str)
                else Fault(**{**s, "kind": FaultKind(s["kind"])})
                for s in specs
            ]
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        for fault in faults:
            ctx.faults.add(fault)
        return JSONResponse([f.to_json() for f in ctx.faults.armed()], status_code=201)

    @app.delete("/__sim/faults", include_in_schema=False)
    async def clear_faults() -> Response:
        ctx.faults.clear()
        return Response(status_code=204)

    @app.post("/__sim/expire-tokens", include_in_schema=False)
    async def expire_tokens() -> Response:
        ctx.identity.expire_all()
        return Response(status_code=204)

    app.add_middleware(FaultLayer, ctx=ctx, transports=transports if transports is not None else {})
    return app
