from __future__ import annotations

import structlog

from ml_connector.remote.http.redact import MASK, Redactor

ACCESS = "Atza|IwEBIExampleAccessTokenValue123"
REFRESH = "Atzr|IwEBIExampleRefreshTokenValue456"


def test_headers_by_name() -> None:
    r = Redactor()
    out = r.headers({"Authorization": "Bearer abc.def", "x-amz-access-token": ACCESS, "a": "b"})
    assert out == {"Authorization": MASK, "x-amz-access-token": MASK, "a": "b"}


def test_url_query_and_userinfo() -> None:
    r = Redactor()
    url = r.url("https://user:pw@host/path?refresh_token=abc123&client_secret=zz&page=2")
    assert "abc123" not in url
    assert "pw" not in url
    assert "zz" not in url
    assert "page=2" in url


def test_form_body() -> None:
    body = Redactor().query("grant_type=refresh_token&refresh_token=xyz789&client_id=amzn1.app")
    assert "xyz789" not in body
    assert "client_id=amzn1.app" in body


def test_json_like_data_masks_keys_deeply() -> None:
    r = Redactor()
    data = {"a": [{"assertion": "jwt..."}, {"access_token": "t0k3n!"}], "n": 1}
    assert r.data(data) == {"a": [{"assertion": MASK}, {"access_token": MASK}], "n": 1}


def test_registered_values_are_scrubbed_from_free_text() -> None:
    r = Redactor()
    r.add_secret("s3cr3t-client-secret")
    assert (
        r.text("upstream said: bad s3cr3t-client-secret here") == f"upstream said: bad {MASK} here"
    )


def test_token_shapes_are_scrubbed_even_unregistered() -> None:
    text = Redactor().text(f"token {ACCESS} and {REFRESH}; Bearer eyJhbGciOi.x.y")
    assert "IwEBI" not in text
    assert "eyJhbGciOi" not in text


def test_structlog_processor_scrubs_keys_and_values() -> None:
    r = Redactor()
    r.add_secret("my-client-secret-value")
    cap = structlog.testing.LogCapture()
    logger = structlog.wrap_logger(None, processors=[r, cap])
    logger.info(
        "lwa", refresh_token=REFRESH, note="echo my-client-secret-value", headers={"Cookie": "c=1"}
    )
    entry = cap.entries[0]
    assert entry["refresh_token"] == MASK
    assert entry["note"] == f"echo {MASK}"
    assert entry["headers"] == {"Cookie": MASK}


def test_short_values_are_not_registered() -> None:
    r = Redactor()
    r.add_secret("ab")
    assert r.text("abc") == "abc"
