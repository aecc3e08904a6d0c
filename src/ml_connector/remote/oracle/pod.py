"""Where a Fusion pod lives: the only place a host name for Oracle is ever built.

A pod name comes from configuration that a person typed. Gluing it into a URL unchecked would
let `evil.com/x` or a metadata address such as `169.254.169.254` redirect our bearer tokens, so
every label is validated as a DNS label before any URL exists, and free-form base URLs (used by
the simulators) are refused for non-loopback hosts unless the caller opts in explicitly.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import httpx

# A DNS label: letters, digits and inner hyphens, 1-63 characters. Dots, slashes, colons and
# at-signs are what an injection needs, and none of them can pass.
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_IDCS_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+identity\.oraclecloud\.com")

FSCM_REST_ROOT = "/fscmRestApi/resources/11.13.18.05"
TOKEN_PATH = "/oauth2/v1/token"


class EndpointError(ValueError):
    """A pod, region or URL that must not be contacted; raised before any request."""


def dns_label(value: str, what: str) -> str:
    """Return the label lower-cased, or refuse it with a message naming the field."""
    label = value.strip().lower()
    if not _DNS_LABEL.fullmatch(label):
        raise EndpointError(f"{what} must be a single DNS label (letters, digits, hyphens)")
    return label


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _checked_override(url: str, *, allow_remote: bool, what: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise EndpointError(f"{what} is not a valid URL") from exc
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise EndpointError(f"{what} must be an http(s) URL with a host")
    if parsed.userinfo or parsed.query or parsed.fragment:
        raise EndpointError(f"{what} must not carry credentials, a query or a fragment")
    if not _is_loopback(parsed.host):
        if not allow_remote:
            raise EndpointError(
                f"{what} points at a non-loopback host; set allow_remote to use it deliberately"
            )
        if parsed.scheme != "https":
            raise EndpointError(f"{what} must use https for a non-loopback host")
    return parsed


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
    def from_base_url(cls, url: str, *, allow_remote: bool = False) -> FusionEndpoint:
        """An explicit origin (simulators, tests); loopback only unless `allow_remote`."""
        parsed = _checked_override(url, allow_remote=allow_remote, what="base URL")
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
    """`https://{idcs-host}/oauth2/v1/token` for a host under identity.oraclecloud.com."""
    host = idcs_host.strip().lower()
    if not _IDCS_HOST.fullmatch(host) or len(host) > 253:
        raise EndpointError("identity domain host must be a name under identity.oraclecloud.com")
    return f"https://{host}{TOKEN_PATH}"


def token_url_override(url: str, *, allow_remote: bool = False) -> str:
    """An explicit token endpoint (simulators); loopback only unless `allow_remote`."""
    parsed = _checked_override(url, allow_remote=allow_remote, what="token URL")
    return str(parsed)
