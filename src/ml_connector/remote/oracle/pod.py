"""Where a Fusion pod lives: the only place a host name for Oracle is ever built.

A pod name comes from configuration that a person typed. Gluing it into a URL unchecked would
let `evil.com/x` or a metadata address such as `169.254.169.254` redirect our bearer tokens, so
every label is validated as a DNS label before any URL exists, and free-form base URLs (used by
the simulators) are refused for non-loopback hosts unless the caller opts in explicitly and
names the host (``remote.http.hosts`` reads the URL).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import httpx

from ml_connector.domain.oracle_addresses import identity_domain_host
from ml_connector.remote.http.hosts import EndpointError, check_url

# A DNS label: letters, digits and inner hyphens, 1-63 characters. Dots, slashes, colons and
# at-signs are what an injection needs, and none of them can pass.
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_IDCS_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+identity\.oraclecloud\.com")

FSCM_REST_ROOT = "/fscmRestApi/resources/11.13.18.05"
TOKEN_PATH = "/oauth2/v1/token"


def dns_label(value: str, what: str) -> str:
    """Return the label lower-cased, or refuse it with a message naming the field."""
    label = value.strip().lower()
    if not _DNS_LABEL.fullmatch(label):
        raise EndpointError(f"{what} must be a single DNS label (letters, digits, hyphens)")
    return label


def _checked_override(
    url: str, *, allow_remote: bool, what: str, allowed_hosts: Collection[str] = ()
) -> httpx.URL:
    """Loopback (the simulators), or an https host named in ``allowed_hosts`` when
    ``allow_remote``: "any https host" is never enough to receive Oracle credentials."""
    try:
        checked = check_url(url, what=what, allowed_hosts=allowed_hosts if allow_remote else ())
    except EndpointError as exc:
        if "not an allowed host" not in str(exc):
            raise
        hint = "" if allow_remote else "set allow_remote_base_url and "
        raise EndpointError(
            f"{what} points at a non-loopback host that is not allowed; {hint}list it in "
            "oracle.allowed_remote_hosts to use it deliberately"
        ) from None
    return httpx.URL(checked.url)


@dataclass(frozen=True, slots=True)
class FusionEndpoint:
    """The validated origin of one Fusion pod (scheme + host [+ port]), never a path."""

    origin: str

    @classmethod
    def for_pod(cls, pod: str, region: str) -> FusionEndpoint:
        """`https://{pod}.fa.{region}.oraclecloud.com`; region `ocs` gives the OCI-generation
        form `{pod}.fa.ocs.oraclecloud.com`."""
        return cls(
            f"https://{dns_label(pod, 'pod')}.fa.{dns_label(region, 'region')}.oraclecloud.com"
        )

    @classmethod
    def from_base_url(
        cls, url: str, *, allow_remote: bool = False, allowed_hosts: Collection[str] = ()
    ) -> FusionEndpoint:
        """An explicit origin (simulators, tests); loopback only unless `allow_remote` and the
        host is one of `allowed_hosts`."""
        parsed = _checked_override(
            url, allow_remote=allow_remote, what="base URL", allowed_hosts=allowed_hosts
        )
        if parsed.path not in {"", "/"}:
            raise EndpointError("base URL must be an origin without a path")
        return cls(str(parsed.copy_with(path="/")).rstrip("/"))

    @property
    def rest_root(self) -> str:
        return self.origin + FSCM_REST_ROOT

    def url(self, resource_path: str) -> str:
        """Absolute URL of a REST resource path such as `receivablesInvoices`."""
        return f"{self.rest_root}/{resource_path.lstrip('/')}"


def token_url_for_identity_domain(idcs_host: str) -> str:
    """`https://{idcs-host}/oauth2/v1/token` for a host under identity.oraclecloud.com (or any
    form `identity_domain_host` reads)."""
    host = identity_domain_host(idcs_host) or idcs_host.strip().lower()
    if not _IDCS_HOST.fullmatch(host) or len(host) > 253:
        raise EndpointError(
            "the identity domain must be given as Oracle shows it: its URL "
            "(https://idcs-….identity.oraclecloud.com), that host, or its id (idcs-…)"
        )
    return f"https://{host}{TOKEN_PATH}"


def token_url_override(
    url: str, *, allow_remote: bool = False, allowed_hosts: Collection[str] = ()
) -> str:
    """An explicit token endpoint (simulators); loopback only unless `allow_remote` and the
    host is one of `allowed_hosts`."""
    parsed = _checked_override(
        url, allow_remote=allow_remote, what="token URL", allowed_hosts=allowed_hosts
    )
    return str(parsed)
