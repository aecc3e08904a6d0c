"""Issue 9, scope 7: the dashboard answers only to its own Host names and every response carries
the security headers (CSP, X-Frame-Options, nosniff, Referrer-Policy)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from ml_connector.observability import Metrics
from ml_connector.run.commands.serve import allowed_hosts_for
from ml_connector.run.web import create_app
from ml_connector.run.web.app import SECURITY_HEADERS, host_allowed
from ml_connector.run.web.pages import CSS
from ml_connector.store import make_engine, make_sessionmaker, migrate, sqlite_url

PATHS = ["/", "/documents", "/review", "/reconciliation", "/audit/nothing", "/healthz",
         "/metrics", "/no-such-page", "/documents?state=not-a-state"]  # fmt: skip


@pytest.fixture
def app_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(sqlite_url(tmp_path / "store.db"))
    migrate(engine)

    def make(hosts: list[str] | None = None):  # type: ignore[no-untyped-def]
        kwargs = {} if hosts is None else {"allowed_hosts": hosts}
        return create_app(make_sessionmaker(engine), metrics=Metrics(CollectorRegistry()), **kwargs)

    yield make
    engine.dispose()


def _assert_headers(response) -> None:  # type: ignore[no-untyped-def]
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no script may run at all
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_security_headers(app_for, path: str) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app_for(), base_url="http://127.0.0.1:8080")
    response = client.get(path)
    assert response.status_code in (200, 404, 422)
    _assert_headers(response)


def test_the_inline_style_sheet_is_allowed_by_its_hash(app_for) -> None:  # type: ignore[no-untyped-def]
    response = TestClient(app_for(), base_url="http://localhost:8080").get("/")
    digest = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in response.headers["content-security-policy"]
    assert f"<style>{CSS}</style>" in response.text


@pytest.mark.parametrize(
    "host",
    ["evil.example", "attacker.com:8080", "127.0.0.1.evil.example", "localhost.evil.example",
     "127.0.0.2:8080", "0.0.0.0:8080", "LOCALHOST:9090", ""],
)  # fmt: skip
def test_a_foreign_host_is_refused(app_for, host: str) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app_for(["127.0.0.1:8080", "localhost:8080"]))
    response = client.get("/", headers={"host": host})
    assert response.status_code == 400
    assert "No connections" not in response.text
    _assert_headers(response)
    assert client.get("/healthz", headers={"host": host}).status_code == 400


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:8080", "LocalHost:8080"])
def test_the_configured_hosts_are_served(app_for, host: str) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app_for(["127.0.0.1:8080", "localhost:8080"]))
    response = client.get("/", headers={"host": host})
    assert response.status_code == 200
    assert "No connections yet" in response.text


def test_default_is_loopback_on_any_port(app_for) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app_for())
    assert client.get("/", headers={"host": "127.0.0.1:9999"}).status_code == 200
    assert client.get("/", headers={"host": "[::1]:9999"}).status_code == 200
    assert client.get("/", headers={"host": "testserver"}).status_code == 400


def test_host_matching_rules() -> None:
    assert host_allowed("dash.corp.example", ["dash.corp.example"])
    assert host_allowed("dash.corp.example:443", ["dash.corp.example"])
    assert not host_allowed("dash.corp.example:444", ["dash.corp.example:443"])
    assert not host_allowed(None, ["127.0.0.1"])
    assert host_allowed("[::1]:8080", ["[::1]:8080"])
    assert not host_allowed("[::1]:8081", ["[::1]:8080"])


def test_serve_defaults_and_allowed_host_option() -> None:
    assert allowed_hosts_for("127.0.0.1", 8080, []) == [
        "127.0.0.1:8080",
        "localhost:8080",
        "[::1]:8080",
    ]
    assert allowed_hosts_for("10.0.0.5", 80, ["dash.corp.example"]) == [
        "10.0.0.5:80",
        "dash.corp.example",
    ]


@pytest.mark.parametrize("bad", ["http://evil.example", "a@b", "x y", "a:b:c"])
def test_serve_refuses_a_malformed_allowed_host(bad: str, tmp_path: Path) -> None:
    from ml_connector.run.cli import app

    result = CliRunner().invoke(
        app, ["--db", sqlite_url(tmp_path / "x.db"), "serve", "--allowed-host", bad]
    )
    assert result.exit_code == 2, result.output


def test_an_internal_error_carries_the_headers_too(tmp_path: Path) -> None:
    def broken() -> None:
        raise RuntimeError("database exploded: Atzr|IwEBIsecret-in-message")

    app = create_app(broken, metrics=Metrics(CollectorRegistry()))  # type: ignore[arg-type]
    client = TestClient(app, base_url="http://127.0.0.1:8080", raise_server_exceptions=False)
    response = client.get("/review")
    assert response.status_code == 500
    assert "Atzr" not in response.text
    _assert_headers(response)
