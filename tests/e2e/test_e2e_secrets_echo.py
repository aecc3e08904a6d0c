"""Issue 9, acceptance for scope 1: a token endpoint (or a proxy in front of one) that echoes the
request it received must not make the connector print, log, store or show a credential — in any
spelling: raw, URL-encoded (``Atzr%7C…``, ``+`` or ``%20``), base64 (the Basic header), JSON-
escaped, or cut after an identifying prefix.

One loopback echo server plays both token endpoints (Login with Amazon and Oracle's identity
domain) and answers 400 with the request it got: headers and form body. `connection test` (text
and --json) and `sync` run as real processes at debug log level; the dashboard pages are read
with a redactor that knows no secret (as `serve` does, since it never decrypts one); every row
of every table and the database file's bytes are searched. A second round lets the echo server
issue access tokens and then echo the SP-API and Fusion REST calls that carry them.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import inspect, select, text

from ml_connector.observability import Metrics
from ml_connector.remote.http.redact import IDENTIFYING_PREFIX, Redactor
from ml_connector.run.web import create_app
from ml_connector.store import connection_config, get_connection, update_connection
from ml_connector.store.secrets import (
    LWA_CLIENT_SECRET,
    ORACLE_CLIENT_SECRET,
    put_secret,
    refresh_token_name,
)
from ml_connector.store.tables import AuditEvent

Factory = Callable[..., Any]
LOCAL = "http://127.0.0.1:8080"


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers every request with 400 and the request itself, as a misconfigured proxy would;
    in ``issue`` mode the token paths grant a token first."""

    server: _EchoServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _raw(self, body: bytes) -> str:
        head = f"{self.command} {self.path} {self.request_version}\r\n{self.headers}"
        return head + body.decode("utf-8", "replace")

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        raw = self._raw(body)
        self.server.seen.append(raw)
        token_path = self.path.endswith(("/auth/o2/token", "/oauth2/v1/token"))
        if token_path and self.server.issue:
            token = ("Atza|" if "o2" in self.path else "eyJ") + secrets.token_urlsafe(40)
            self.server.issued.append(token)
            self._send(200, "application/json", {"access_token": token, "expires_in": 3600})
            return
        if self.path.endswith("/auth/o2/token") or "/na/" in self.path:
            payload = {"error": "invalid_grant", "error_description": f"received {raw}"}
            self._send(400, "application/json", payload)
        else:
            self._send(400, "text/plain", raw)

    def _send(self, status: int, kind: str, payload: Any) -> None:
        data = (json.dumps(payload) if kind == "application/json" else str(payload)).encode()
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = _answer


class _EchoServer(http.server.ThreadingHTTPServer):
    seen: list[str]
    issued: list[str]
    issue: bool


@contextmanager
def echo_server() -> Iterator[_EchoServer]:
    server = _EchoServer(("127.0.0.1", 0), _Echo)
    server.seen, server.issued, server.issue = [], [], False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _spellings(secret: str, client_id: str | None = None) -> set[str]:
    """Every spelling of ``secret`` (and of an identifying prefix) that must never appear."""
    prefix = secret[:IDENTIFYING_PREFIX]
    found = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote_plus(secret).replace("%7C", "%7c"),
        quote(secret, safe="").replace("%2B", "+").replace("%20", "+"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=True)[1:-1],
        quote(quote(secret, safe=""), safe=""),
        prefix,
        quote_plus(prefix),
        quote(prefix, safe=""),
    }
    raw = secret.encode()
    found.add(base64.b64encode(raw).decode()[:-4])
    found.add(base64.urlsafe_b64encode(raw).decode()[:-4])
    if client_id is not None:
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        found |= {basic, quote_plus(basic)}
    return found


def _fresh_secrets(seller: Any) -> dict[str, str]:
    """Random credentials with the characters encoders rewrite (| / + = space)."""
    values = {
        LWA_CLIENT_SECRET: "amzn1.oa2-cs.v1." + secrets.token_hex(24) + "/+=",
        ORACLE_CLIENT_SECRET: "ora " + secrets.token_urlsafe(18) + "/+=|" + secrets.token_hex(4),
    }
    with seller.rt.sessions() as session, session.begin():
        row = get_connection(session, seller.name)
        for region in connection_config(row).amazon.regions:
            values[refresh_token_name(region)] = (
                "Atzr|IwEB" + secrets.token_urlsafe(30) + "/+=" + secrets.token_urlsafe(8)
            )
        for name, value in values.items():
            put_secret(session, seller.rt.require_keyring(), row.id, name, value)
    return values


def _point_at(seller: Any, echo: str, *, apis: bool) -> tuple[str, str]:
    """Both token endpoints at the echo server (and, with ``apis``, SP-API and Fusion too)."""
    with seller.rt.sessions() as session, session.begin():
        row = get_connection(session, seller.name)
        config = connection_config(row)
        amazon = {"lwa_token_url": f"{echo}/auth/o2/token"}
        oracle: dict[str, Any] = {"identity_domain_url": echo}
        if apis:
            amazon["base_urls"] = {r: f"{echo}/{r.lower()}" for r in config.amazon.regions}
            oracle["base_url"] = echo
        updated = config.model_copy(
            update={
                "amazon": config.amazon.model_copy(update=amazon),
                "oracle": config.oracle.model_copy(update=oracle),
            }
        )
        update_connection(session, row, config=updated)
        return updated.amazon.lwa_client_id, updated.oracle.client_id


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "ML_CONNECTOR_LOG_LEVEL": "debug"}
    return subprocess.run(
        [sys.executable, "-m", "ml_connector", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _pages(seller: Any) -> list[str]:
    app = create_app(seller.rt.sessions, redactor=Redactor(), metrics=Metrics(CollectorRegistry()))
    client = TestClient(app, base_url=LOCAL)
    with seller.rt.sessions() as session:
        ids = [link.value for event in session.scalars(select(AuditEvent)) for link in event.links]
    paths = ["/", "/documents", "/review", "/reconciliation", "/metrics", "/healthz"]
    paths += [f"/audit/{value}" for value in ids[:20]]
    shown = []
    for path in paths:
        for accept in ("text/html", "application/json"):
            response = client.get(path, headers={"accept": accept})
            assert response.status_code in (200, 404), path
            shown.append(response.text)
    return shown


def _rows(seller: Any) -> list[str]:
    """Every column of every table except the sealed secrets themselves."""
    texts = []
    with seller.rt.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            if table in ("secrets", "key_checks"):
                continue
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                texts.append(json.dumps([str(value) for value in row]))
    return texts


def _database_bytes(seller: Any) -> bytes:
    url = str(seller.rt.engine.url)
    seller.rt.engine.dispose()
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def _leaks(forbidden: set[str], texts: list[str]) -> list[tuple[int, str]]:
    return [(i, s[:24]) for i, t in enumerate(texts) for s in forbidden if s and s in t]


@pytest.mark.slow
def test_an_echoing_token_endpoint_leaks_no_secret_anywhere(sim_seller: Factory) -> None:
    seller = sim_seller(orders=10)
    with echo_server() as echo:
        base = f"http://127.0.0.1:{echo.server_address[1]}"
        lwa_id, oracle_id = _point_at(seller, base, apis=False)
        values = _fresh_secrets(seller)
        outputs: list[str] = []
        for args in (
            ("connection", "test", seller.name),
            ("connection", "test", seller.name, "--json"),
            ("--log-json", "sync", seller.name),
            ("sync", seller.name, "--json"),
            ("connection", "show", seller.name),
        ):
            done = _cli(*args)
            outputs += [done.stdout, done.stderr]
            if args[0] == "connection" and args[1] == "test":
                assert done.returncode == 1, done.stdout + done.stderr
        assert "Traceback" not in "".join(outputs)
        assert any("invalid_grant" in o or "refused" in o for o in outputs)
        # Round two: tokens are issued, the API calls that carry them are echoed.
        echo.issue = True
        _point_at(seller, base, apis=True)
        for args in (("--log-json", "sync", seller.name), ("connection", "test", seller.name)):
            done = _cli(*args)
            outputs += [done.stdout, done.stderr]
        seen = "".join(echo.seen)

    refresh = [v for k, v in values.items() if k.startswith("lwa_refresh_token")]
    forbidden: set[str] = set()
    for value in refresh:
        forbidden |= _spellings(value)
    forbidden |= _spellings(values[LWA_CLIENT_SECRET], lwa_id)
    forbidden |= _spellings(values[ORACLE_CLIENT_SECRET], oracle_id)
    for token in echo.issued:
        forbidden |= _spellings(token)

    # The test can fail: the echo server really was sent every credential, encoded.
    assert quote_plus(refresh[0]) in seen
    assert quote_plus(values[LWA_CLIENT_SECRET]) in seen
    assert base64.b64encode(f"{oracle_id}:{values[ORACLE_CLIENT_SECRET]}".encode()).decode() in seen
    assert len(echo.issued) >= 2
    assert any(token in seen for token in echo.issued if token.startswith("Atza|"))
    log_lines = sum(o.count("\n") for o in outputs)
    assert log_lines > 50  # debug logs of every call are in the capture

    texts = outputs + _pages(seller) + _rows(seller)
    assert _leaks(forbidden, texts) == []
    for piece in ("Atzr|", "Atzr%7C", "Atza|", "Atza%7C"):
        assert all(piece not in t for t in texts), piece
    raw = _database_bytes(seller)
    assert [s[:24] for s in forbidden if s.encode() in raw] == []
