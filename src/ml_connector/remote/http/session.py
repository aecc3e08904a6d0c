"""The one place an ``httpx.Client`` is configured, so every remote call has sane timeouts.

A client can always be injected instead (tests pass one built on ``httpx.MockTransport``; the
runner may share one pool between connections); this module only supplies the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ml_connector import __version__

__all__ = ["DEFAULT_USER_AGENT", "HttpSettings", "build_client"]

DEFAULT_USER_AGENT = f"ml-connector/{__version__} (Language=Python; httpx/{httpx.__version__})"


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts in seconds and pool sizes; a read timeout long enough for a slow report page."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    write_timeout: float = 60.0
    pool_timeout: float = 10.0
    max_connections: int = 20
    max_keepalive_connections: int = 10
    user_agent: str = DEFAULT_USER_AGENT

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.write_timeout,
            pool=self.pool_timeout,
        )

    def limits(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_keepalive_connections,
        )


def build_client(
    settings: HttpSettings | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A client with our timeouts, pool limits and user agent; redirects are never followed
    because an API redirect is unexpected (a sign-on or maintenance page) and following it would
    resend credentials to another host: the 3xx reaches `outcome.error_from_response`, which
    makes it a `RedirectedError` naming the Location."""
    settings = settings or HttpSettings()
    return httpx.Client(
        timeout=settings.timeout(),
        limits=settings.limits(),
        headers={"user-agent": settings.user_agent},
        transport=transport,
        # Not max_redirects=0: httpx counts an auth flow's second request (the refresh after
        # an expired-token 403) against it. follow_redirects=False is what refuses redirects.
        follow_redirects=False,
    )
