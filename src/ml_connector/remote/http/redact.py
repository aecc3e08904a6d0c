"""Keep secrets out of logs, errors and reprs.

Two complementary nets: by *name* (a header, query parameter, form or JSON key that is known to
carry a credential is masked whatever its value) and by *value* (every secret the process has
loaded is registered, and any text containing it is scrubbed — this catches a token echoed back
inside an error body or a URL we did not anticipate).
"""

from __future__ import annotations

import base64
import functools
import re
import string
import threading
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["IDENTIFYING_PREFIX", "MASK", "SECRET_KEYS", "Redactor", "default_redactor"]

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

# Amazon token prefixes: an access token (Atza|), refresh token (Atzr|), RDT (Atz.sprdt|); the
# bar also URL-encoded (once or twice) or JSON-escaped, as an echoed form body carries it.
_TOKEN_SHAPES = re.compile(r"Atz[a-z.]*(?:\||%7[cC]|%257[cC]|\\u007[cC])[A-Za-z0-9_\-+/=.|%]+")
_BEARER = re.compile(r"(?i)(bearer|basic)(\s+|%20|\+)[A-Za-z0-9_\-+/=.~%]+")
# Shorter values are words ("secret", "admin1"): scrubbing them would mask ordinary text, such as
# an error naming the `client_secret` option. No real credential is this short.
_MIN_SECRET_LEN = 8
# A prefix of a registered secret this long is scrubbed too (a line cut by a length limit).
IDENTIFYING_PREFIX = 16
# Shorter base64 runs are not distinctive enough to scrub without hiding innocent text.
_MIN_BASE64_CORE = 12
_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}


# Characters no URL, JSON or HTML encoder rewrites: a run of them appears as-is in any spelling.
_STABLE = frozenset(string.ascii_letters + string.digits + "-_.~")


def _hex_digits(value: int, width: int) -> str:
    """`value` in hex as a pattern accepting either case of each letter."""
    return "".join(f"[{d.upper()}{d.lower()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


def _char_pattern(char: str) -> str:
    """Every spelling of one character that an encoder on the way to a log line may produce:
    itself, percent-encoded (once or twice, either hex case, ``+`` for a space), JSON- or
    HTML-escaped. Letters, digits and ``-_.~`` are left alone by all of them."""
    if char in _STABLE:
        return re.escape(char)
    spellings = [re.escape(char)]
    utf8 = char.encode("utf-8")
    spellings.append("".join("%" + _hex_digits(b, 2) for b in utf8))
    spellings.append("".join("%25" + _hex_digits(b, 2) for b in utf8))
    if char == " ":
        spellings.append(r"\+")
    code = ord(char)
    if code <= 0xFFFF:
        spellings.append(r"\\u" + _hex_digits(code, 4))
    else:
        high, low = divmod(code - 0x10000, 0x400)
        spellings.append(
            r"\\u" + _hex_digits(0xD800 + high, 4) + r"\\u" + _hex_digits(0xDC00 + low, 4)
        )
    if char in _JSON_ESCAPES:
        spellings.append(re.escape(_JSON_ESCAPES[char]))
    if char in _HTML_ESCAPES:
        spellings.append(re.escape(_HTML_ESCAPES[char]))
    spellings.append(f"&#0*{code};")
    spellings.append("&#[xX]0*" + _hex_digits(code, 1) + ";")
    return "(?:" + "|".join(spellings) + ")"


def _base64_cores(value: str) -> list[str]:
    """The base64 runs every encoding of a text containing ``value`` contains, whatever the
    secret's offset in that text (an HTTP Basic header encodes ``client_id:secret``)."""
    raw = value.encode("utf-8")
    cores: list[str] = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        start = -(-8 * offset // 6)
        end = 8 * (offset + len(raw)) // 6
        core = encoded[start:end]
        if len(core) >= _MIN_BASE64_CORE:
            cores += [core, core.replace("+", "-").replace("/", "_")]
    return cores


class _Form:
    """One registered spelling of a secret, found character by character."""

    __slots__ = ("anchor", "chars", "head")

    def __init__(self, chars: str) -> None:
        self.chars = chars
        self.head = re.compile("".join(_char_pattern(c) for c in chars[:IDENTIFYING_PREFIX]))
        # The longest stable run of the head: a cheap `in` test before any regex runs.
        runs = re.findall(r"[A-Za-z0-9_.~-]+", chars[:IDENTIFYING_PREFIX])
        self.anchor = max(runs, key=len, default="")


@functools.lru_cache(maxsize=256)
def _char(char: str) -> re.Pattern[str]:
    return re.compile(_char_pattern(char))


class _Matcher:
    """Finds registered secrets, in any of their spellings, whole or cut after a long prefix."""

    def __init__(self, forms: Iterable[_Form]) -> None:
        self._forms = sorted(forms, key=lambda f: len(f.chars), reverse=True)

    def _spans(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for form in self._forms:
            if form.anchor and form.anchor not in text:
                continue
            for match in form.head.finditer(text):
                end = match.end()
                for char in form.chars[IDENTIFYING_PREFIX:]:
                    if char in _STABLE:
                        if not text.startswith(char, end):
                            break
                        end += 1
                        continue
                    found = _char(char).match(text, end)
                    if found is None:
                        break
                    end = found.end()
                spans.append((match.start(), end))
        return spans

    def sub(self, text: str) -> str:
        spans = sorted(self._spans(text))
        if not spans:
            return text
        pieces: list[str] = []
        last = 0
        for start, end in spans:
            if end <= last:
                continue
            pieces += [text[last : max(start, last)], MASK]
            last = end
        pieces.append(text[last:])
        return "".join(pieces)


class Redactor:
    """Masks secret keys and registered secret values; also usable as a structlog processor.

    A registered value is found raw, URL-encoded (``%7C``, ``+`` or ``%20`` for a space, even
    twice), JSON- or HTML-escaped, inside any base64 text (a Basic header), and as a prefix of
    at least ``IDENTIFYING_PREFIX`` characters where a length limit cut it off.
    """

    def __init__(self, keys: Iterable[str] = SECRET_KEYS) -> None:
        self._keys = frozenset(k.lower() for k in keys)
        self._forms: dict[str, _Form] = {}
        self._lock = threading.Lock()
        self._matcher: _Matcher | None = None

    def add_secret(self, value: str | None) -> None:
        """Remember a secret value so it is scrubbed wherever it shows up later."""
        if not value or len(value) < _MIN_SECRET_LEN:
            return
        with self._lock:
            if value in self._forms:
                return
            for spelling in (value, *_base64_cores(value)):
                if spelling not in self._forms:
                    self._forms[spelling] = _Form(spelling)
            self._matcher = _Matcher(self._forms.values())

    def is_secret_key(self, key: str) -> bool:
        return key.lower() in self._keys

    def text(self, value: str) -> str:
        """Scrub registered secrets and token-shaped strings from free text."""
        matcher = self._matcher
        if matcher is not None:
            value = matcher.sub(value)
        value = _TOKEN_SHAPES.sub(MASK, value)
        return _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", value)

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

    def values(self, value: Any) -> Any:
        """Like ``data`` but keys are kept: only secret *values* are scrubbed (for stored rows,
        whose keys are the product's own vocabulary)."""
        if isinstance(value, Mapping):
            return {k: self.values(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.values(v) for v in value]
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
