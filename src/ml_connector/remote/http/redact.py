"""Keep secrets out of logs, errors and reprs.

Two complementary nets: by *name* (a header, query parameter, form or JSON key that is known to
carry a credential is masked whatever its value) and by *value* (every secret the process has
loaded is registered, and any text containing it is scrubbed — this catches a token echoed back
inside an error body or a URL we did not anticipate).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "SECRET_KEYS", "Redactor", "default_redactor"]

MASK = "***"

SECRET_KEYS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-amz-access-token",
        "x-amz-security-token",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "client_assertion",
        "assertion",
        "password",
        "secret",
        "api_key",
        "apikey",
        "token",
        "restrictedDataToken",
        "cookie",
        "set-cookie",
    }
)

# Amazon token prefixes: an access token (Atza|), refresh token (Atzr|), RDT (Atz.sprdt|).
_TOKEN_SHAPES = re.compile(r"Atz[a-z.]*\|[A-Za-z0-9_\-+/=.|%]+")
_BEARER = re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9_\-+/=.~]+")
_MIN_SECRET_LEN = 6


class Redactor:
    """Masks secret keys and registered secret values; also usable as a structlog processor."""

    def __init__(self, keys: Iterable[str] = SECRET_KEYS) -> None:
        self._keys = frozenset(k.lower() for k in keys)
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def add_secret(self, value: str | None) -> None:
        """Remember a secret value so it is scrubbed wherever it shows up later."""
        if not value or len(value) < _MIN_SECRET_LEN:
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def is_secret_key(self, key: str) -> bool:
        return key.lower() in self._keys

    def text(self, value: str) -> str:
        """Scrub registered secrets and token-shaped strings from free text."""
        pattern = self._pattern
        if pattern is not None:
            value = pattern.sub(MASK, value)
        value = _TOKEN_SHAPES.sub(MASK, value)
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", value)

    def headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
        items = headers.items() if isinstance(headers, Mapping) else headers
        return {k: (MASK if self.is_secret_key(k) else self.text(v)) for k, v in items}

    def url(self, url: str) -> str:
        """Mask secret query parameters (and userinfo) in a URL."""
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
        query = self.query(parts.query) if parts.query else parts.query
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    def query(self, query: str) -> str:
        """Mask secret fields in a query string or form-encoded body."""
        pairs = parse_qsl(query, keep_blank_values=True)
        masked = [(k, MASK if self.is_secret_key(k) else v) for k, v in pairs]
        return urlencode(masked, safe="*")

    def data(self, value: Any) -> Any:
        """Deep-copy a JSON-like structure with secret keys masked and secret values scrubbed."""
        if isinstance(value, Mapping):
            return {
                k: (MASK if isinstance(k, str) and self.is_secret_key(k) else self.data(v))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """structlog processor: put it last before the renderer."""
        for key in list(event_dict):
            if self.is_secret_key(key):
                event_dict[key] = MASK
            else:
                event_dict[key] = self.data(event_dict[key])
        return event_dict


default_redactor = Redactor()
"""The process-wide redactor: clients register the secrets they load here."""
