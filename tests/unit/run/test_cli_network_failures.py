"""Issue 11: an unreachable host is named with the cause in plain words, by `connection test` and
by `sync` alike, as one line and a documented exit code (`test_cli_no_traceback.py` shows
`--debug` adding the traceback of a command that fails as a whole).

Real sockets on loopback, one per cause: a closed port (refused), a listener that never answers
(read timeout), https to a plain-http server (TLS), and a name that does not resolve (DNS: the
connection keeps Amazon's and Oracle's real host names and the resolver refuses every name that
is not loopback, as it does for ``nonexistent.invalid``).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from tests_support_cli import SECRET_ENV, SECRET_OPTIONS, config_toml_for_examples
from typer.testing import CliRunner

from ml_connector.remote.http.retry import RetryPolicy
from ml_connector.run.cli import app

runner = CliRunner()
TIMEOUT_S = 0.2


@dataclass(frozen=True)
class Unreachable:
    """Where both sides of the connection point (None: Amazon's and Oracle's real hosts) and
    the plain words each host is reported with."""

    url: str | None
    amazon_host: str
    oracle_host: str
    words: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Plain(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(params=["refused", "timeout", "tls", "dns"])
def unreachable(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    cause = request.param
    if cause == "refused":
        port = _free_port()
        words = "connection refused (nothing listens on that port)"
        yield Unreachable(
            f"http://127.0.0.1:{port}", f"127.0.0.1:{port}", f"127.0.0.1:{port}", words
        )
    elif cause == "timeout":
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            held: list[socket.socket] = []  # accepted and never answered

            def accept() -> None:
                while True:
                    try:
                        held.append(silent.accept()[0])
                    except OSError:  # the listener was closed: the test is over
                        return

            threading.Thread(target=accept, daemon=True).start()
            host = f"127.0.0.1:{silent.getsockname()[1]}"
            words = f"connected, but no answer came within {TIMEOUT_S:g} s (read timeout)"
            try:
                yield Unreachable(f"http://{host}", host, host, words)
            finally:
                silent.close()
                for conn in held:
                    conn.close()
    elif cause == "tls":
        server = HTTPServer(("127.0.0.1", 0), _Plain)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host = f"127.0.0.1:{server.server_address[1]}"
        words = "TLS handshake failed: the server does not speak https on that port (plain http?)"
        try:
            yield Unreachable(f"https://{host}", host, host, words)
        finally:
            server.shutdown()
            server.server_close()
    else:
        real = socket.getaddrinfo

        def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host in ("127.0.0.1", "localhost", "::1"):
                return real(host, *args, **kwargs)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        monkeypatch.setattr(socket, "getaddrinfo", resolve)
        words = "the host name does not resolve (DNS lookup failed)"
        yield Unreachable(None, "api.amazon.com", "idcs-123.identity.oraclecloud.com", words)


@pytest.fixture(autouse=True)
def quick_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short timeouts and no back-off, so each cause is met in about a second, not minutes."""
    init = httpx.Client.__init__

    def short(self: httpx.Client, *args: Any, **kwargs: Any) -> None:
        kwargs["timeout"] = httpx.Timeout(TIMEOUT_S)
        init(self, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "__init__", short)
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)


@pytest.fixture
def connection(
    unreachable: Unreachable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Unreachable:
    """Connection ``acme`` in a fresh home, both sides pointing where ``unreachable`` says."""
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    assert runner.invoke(app, ["init"]).exit_code == 0
    if unreachable.url is None:
        text = config_toml_for_examples()
    else:
        url = unreachable.url
        text = config_toml_for_examples(
            extra_amazon=f'base_urls = {{NA = "{url}/na"}}\nlwa_token_url = "{url}/auth/o2/token"',
            extra_oracle=f'base_url = "{url}"',
        ).replace('identity_domain_url = "idcs-123"', f'identity_domain_url = "{url}"')
    config = tmp_path / "acme.toml"
    config.write_text(text)
    added = runner.invoke(
        app, ["connection", "add", "acme", "--config", str(config), *SECRET_OPTIONS]
    )
    assert added.exit_code == 0, added.output
    return unreachable


def _cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def test_connection_test_names_each_host_and_the_cause(connection: Unreachable) -> None:
    tested = _cli("connection", "test", "acme", "--json")
    assert tested.exit_code == 1, tested.output
    answer = json.loads(tested.stdout)
    assert answer["ok"] is False
    checks = {(c["system"], c["check"]): c for c in answer["checks"]}
    assert checks[("Amazon NA", "login")]["message"] == (
        f"Amazon's login service (LWA): cannot reach {connection.amazon_host}: {connection.words}"
    )
    assert checks[("Oracle", "login")]["message"] == (
        f"Oracle's identity domain: cannot reach {connection.oracle_host}: {connection.words}"
    )
    table = _cli("connection", "test", "acme")
    assert table.exit_code == 1
    assert f"cannot reach {connection.amazon_host}: {connection.words}" in table.stdout
    assert "Traceback" not in table.output


def test_sync_says_it_in_the_same_words_as_one_line(connection: Unreachable) -> None:
    same = (
        f"Amazon's login service (LWA): cannot reach {connection.amazon_host}: {connection.words}"
    )
    synced = _cli("sync", "acme")
    # The region is left out and the rest of the cycle runs (nothing to post): partial, 4.
    assert synced.exit_code == 4, synced.output
    assert f"region NA not synced: {same}" in synced.stdout.splitlines()
    assert "Traceback" not in synced.output
    assert "error:" not in synced.stderr

    as_json = _cli("sync", "acme", "--json")
    assert as_json.exit_code == 4
    (line,) = as_json.stdout.strip().splitlines()
    answer = json.loads(line)
    assert (answer["ok"], answer["exit_code"]) == (False, 4)
    assert answer["region_failures"] == {"NA": same}


def test_debug_keeps_the_outcome_and_the_words(connection: Unreachable) -> None:
    synced = _cli("--debug", "sync", "acme")
    assert synced.exit_code == 4
    host, words = connection.amazon_host, connection.words
    line = f"region NA not synced: Amazon's login service (LWA): cannot reach {host}: {words}"
    assert line in synced.stdout.splitlines()
