from __future__ import annotations

import httpx

from ml_connector.remote.http.session import HttpSettings, build_client


def test_client_has_timeouts_user_agent_and_no_redirects() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"location": "http://elsewhere.example/"})

    settings = HttpSettings(read_timeout=12.0, user_agent="ua-test/1")
    with build_client(settings, transport=httpx.MockTransport(handler)) as client:
        response = client.get("http://127.0.0.1:1/x")
        assert client.timeout.read == 12.0
    assert response.status_code == 302
    assert len(seen) == 1
    assert seen[0].headers["user-agent"] == "ua-test/1"
