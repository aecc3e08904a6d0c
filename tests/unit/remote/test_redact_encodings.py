"""Issue 9, scope 1: a registered secret is found by value in every spelling an encoder on the
way to a log line, an error text or a page can give it, and when a length limit cut it off."""

from __future__ import annotations

import base64
import html
import json
import secrets
from collections.abc import Callable
from urllib.parse import quote, quote_plus, urlencode

import pytest

from ml_connector.remote.http.redact import IDENTIFYING_PREFIX, MASK, Redactor

# A refresh token with the characters encoders rewrite: bar, slash, plus, equals, space, quote.
REFRESH = "Atzr|IwEBI" + secrets.token_urlsafe(24) + "/+=a b'\"c" + secrets.token_urlsafe(8)
CLIENT_ID = "amzn1.application-oa2-client.0123456789"
CLIENT_SECRET = "amzn1.oa2-cs.v1." + secrets.token_hex(32)
ORACLE_SECRET = "ora-" + secrets.token_urlsafe(18)
UNICODE_SECRET = "pässwörd-" + secrets.token_hex(8) + "-日本"

ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda v: v,
    "url-quote": lambda v: quote(v, safe=""),
    "url-quote-default-safe": quote,
    "url-quote-plus": quote_plus,
    "url-lower-hex": lambda v: quote(v, safe="").replace("%7C", "%7c").replace("%2F", "%2f"),
    "url-twice": lambda v: quote(quote(v, safe=""), safe=""),
    "form-body": lambda v: urlencode({"grant_type": "refresh_token", "x": v}),
    "json": lambda v: json.dumps(v),
    "json-ascii": lambda v: json.dumps(v, ensure_ascii=True),
    "json-of-form": lambda v: json.dumps({"echo": urlencode({"x": v})}),
    "html": lambda v: html.escape(v),
    "basic": lambda v: base64.b64encode(f"{CLIENT_ID}:{v}".encode()).decode(),
    "basic-offset-1": lambda v: base64.b64encode(f"u:{v}".encode()).decode(),
    "basic-offset-2": lambda v: base64.b64encode(f"us:{v}".encode()).decode(),
    "base64url": lambda v: base64.urlsafe_b64encode(v.encode()).decode(),
    "cut-prefix": lambda v: v[: IDENTIFYING_PREFIX + 3],
    "cut-url-prefix": lambda v: quote_plus(v[: IDENTIFYING_PREFIX + 3]) + "%C",
}


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    r = Redactor()
    for value in (REFRESH, CLIENT_SECRET, ORACLE_SECRET, UNICODE_SECRET):
        r.add_secret(value)
    return r


def _leaks(secret: str, text: str) -> list[str]:
    """Which encodings of `secret` (or an identifying piece of one) survive in `text`."""
    found = []
    for name, encode in ENCODINGS.items():
        spelled = encode(secret)
        if name.startswith("basic") or name == "base64url":
            # the base64 of the secret alone, whatever its offset, must not survive
            raw = secret.encode()
            probes = [base64.b64encode(raw).decode()[4:-4], base64.urlsafe_b64encode(raw)[4:-4]]
            if any(str(p) in text for p in probes if len(p) > 8):
                found.append(name)
        elif spelled in text or secret in text:
            found.append(name)
    return found


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
# Ids by name: the values are random per process, and pytest-xdist workers must collect the
# same test ids.
@pytest.mark.parametrize(
    "secret",
    [REFRESH, CLIENT_SECRET, ORACLE_SECRET, UNICODE_SECRET],
    ids=["refresh-token", "lwa-secret", "oracle-secret", "unicode-secret"],
)
def test_every_spelling_is_masked(redactor: Redactor, secret: str, encoding: str) -> None:
    spelled = ENCODINGS[encoding](secret)
    text = redactor.text(f"the token endpoint said: {spelled} (HTTP 400)")
    assert MASK in text
    assert spelled not in text
    assert text.startswith("the token endpoint said: ")
    assert text.endswith(" (HTTP 400)") or encoding.startswith("cut")
    core = secret[IDENTIFYING_PREFIX : IDENTIFYING_PREFIX + 8]
    assert core not in text
    assert quote_plus(core) not in text


def test_the_whole_secret_goes_not_only_its_prefix(redactor: Redactor) -> None:
    text = redactor.text("x=" + quote_plus(REFRESH) + "&y=1")
    assert text == f"x={MASK}&y=1"


def test_basic_header_of_client_id_and_secret_is_masked(redactor: Redactor) -> None:
    header = base64.b64encode(f"{CLIENT_ID}:{ORACLE_SECRET}".encode()).decode()
    text = redactor.text(f"Authorization: Basic {header}")
    assert header not in text
    # also when the header is not introduced by "Basic" (echoed as a bare value)
    bare = redactor.text(f'{{"auth": "{header}"}}')
    assert header not in bare
    assert MASK in bare


def test_structured_data_and_log_lines(redactor: Redactor) -> None:
    data = {
        "error": {"body": urlencode({"refresh_token": REFRESH, "client_secret": CLIENT_SECRET})}
    }
    shown = json.dumps(redactor.data(data))
    assert _leaks(REFRESH, shown) == []
    assert _leaks(CLIENT_SECRET, shown) == []


def test_innocent_text_is_untouched(redactor: Redactor) -> None:
    text = "posted INV-000123 for order 111-2222222-3333333 in 0.42 s; Atz is a word"
    assert redactor.text(text) == text


def test_a_short_prefix_is_not_identifying(redactor: Redactor) -> None:
    short = CLIENT_SECRET[: IDENTIFYING_PREFIX - 4]
    assert redactor.text(short) == short


def test_unregistered_token_shapes_url_encoded() -> None:
    r = Redactor()
    text = r.text("refresh_token=Atzr%7CIwEBIabcdef123456&x=1 and Atza%257Cabc and Atza\\u007cQQQ")
    assert "IwEBI" not in text
    assert "abc" not in text
    assert "QQQ" not in text


def test_many_secrets_stay_fast() -> None:
    import time

    r = Redactor()
    for _ in range(40):
        r.add_secret("Atza|" + secrets.token_urlsafe(300))
    line = "sync.finished connection=acme-us status=succeeded posted=12 held=0 " * 4
    started = time.perf_counter()
    for _ in range(1000):
        r.text(line)
    assert time.perf_counter() - started < 1.0


def test_a_word_sized_value_is_not_registered() -> None:
    r = Redactor()
    r.add_secret("secret")  # e.g. a test double's client secret
    r.add_secret("admin12")
    text = "give --lwa-client-secret-env: the client secret is missing (admin12 asked)"
    assert r.text(text) == text
    r.add_secret("admin123")
    assert "admin123" not in r.text("user admin123 refused")
