"""Where a credential may be sent: one strict reading of a configured URL, for both sides.

A URL from configuration decides where a refresh token, a client secret or a bearer token goes.
It is accepted only when it is plain: ASCII, no whitespace or backslash, no user-info, query or
fragment, and both URL parsers we know (``urllib`` and httpx, which sends the request) agree on
its host. The host must then be one of an explicit list, compared as text: an IP spelt as a
number (``2852039166``, ``0xA9FEA9FE``), a lookalike suffix or an IDN never equals a listed name.
Loopback (``127.x.x.x`` written out, ``::1``, ``localhost``) is where the simulators run; it may
use http and any port and is reported as such.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from ml_connector.errors import ConfigError

__all__ = ["CheckedUrl", "EndpointError", "check_url", "is_loopback_host"]


class EndpointError(ConfigError, ValueError):
    """A URL, pod or region that must not be contacted; raised before any request."""


@dataclass(frozen=True, slots=True)
class CheckedUrl:
    url: str
    host: str
    loopback: bool

    def describe(self) -> str:
        return f"{self.url} (loopback: simulator)" if self.loopback else self.url


def is_loopback_host(host: str) -> bool:
    """Loopback written plainly: ``localhost``, a dotted-quad 127.x.x.x, or ``::1``."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return str(address) == name and address.is_loopback and address.version in (4, 6)


def _plain(url: str, what: str) -> None:
    if not isinstance(url, str) or not url:
        raise EndpointError(f"{what} is empty")
    if not url.isascii():
        raise EndpointError(f"{what} must be plain ASCII (no internationalised host names)")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url) or "\\" in url:
        raise EndpointError(f"{what} must not contain spaces, control characters or backslashes")
    if "@" in url or "?" in url or "#" in url:
        raise EndpointError(f"{what} must not carry user info, a query or a fragment")


def check_url(
    url: str,
    *,
    what: str,
    allowed_hosts: Collection[str],
    loopback: bool = True,
    paths: Collection[str] | None = None,
) -> CheckedUrl:
    """``url`` if it may receive credentials: https on a listed host (port 443, one of
    ``paths`` when given), or, when ``loopback``, any http(s) URL on loopback."""
    _plain(url, what)
    try:
        parsed = httpx.URL(url)
        # The host as sent on the wire (punycode stays punycode: never decoded into a lookalike).
        host = parsed.raw_host.decode("ascii").strip("[]").lower()
        split = urlsplit(url)
        split_host = split.hostname or ""
        split_port = split.port
    except (httpx.InvalidURL, ValueError):
        raise EndpointError(f"{what} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise EndpointError(f"{what} must be an http(s) URL with a host")
    if host != split_host.lower() or parsed.port != split_port or parsed.userinfo:
        raise EndpointError(f"{what} is ambiguous: URL parsers disagree on its host")
    if loopback and is_loopback_host(host):
        return CheckedUrl(url, host, loopback=True)
    allowed = {h.lower() for h in allowed_hosts}
    if host not in allowed:
        shown = ", ".join(sorted(allowed)) or "none configured"
        raise EndpointError(f"{what} points at {host!r}, which is not an allowed host ({shown})")
    if parsed.scheme != "https":
        raise EndpointError(f"{what} must use https (credentials travel on it)")
    if parsed.port not in (None, 443):
        raise EndpointError(f"{what} must use the standard https port")
    if paths is not None and parsed.path not in paths:
        raise EndpointError(f"{what} must have the path {' or '.join(sorted(paths))}")
    return CheckedUrl(url, host, loopback=False)
