"""How Oracle writes a Fusion pod's address and an identity domain, read from pasted text.

Pure text rules shared by the configuration model (``store``) and the clients (``remote``):
what a person pastes from the browser or the OCI console is reduced to DNS labels that a URL is
then rebuilt from. docs/configuration.md ("Oracle hosts") gives the sources.
"""

from __future__ import annotations

import re

__all__ = ["identity_domain_host", "oci_region_hint", "split_pod_url"]

# Each pattern is anchored at the host, and what is kept from a match is only the
# DNS labels a URL is rebuilt from: a path, user info or lookalike suffix never survives.
_POD_URL = re.compile(
    r"(?:https://)?(?P<pod>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.fa\."
    r"(?P<region>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.oraclecloud\.com\.?(?::443)?(?:[/?#].*)?",
    re.IGNORECASE | re.DOTALL,
)
_IDCS_ID = re.compile(r"idcs-[a-z0-9]{1,63}", re.IGNORECASE)
_IDCS_FORM = re.compile(
    r"(?:https://)?(?P<host>idcs-[a-z0-9]{1,63}(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"\.identity\.oraclecloud\.com)(?::443)?(?:/[A-Za-z0-9._~/-]*)?",
    re.IGNORECASE,
)
# OCI region identifiers (us-ashburn-1, eu-frankfurt-1, ap-mumbai-1, us-langley-1 …): the OCI
# console shows them, but a Fusion pod's host names a data-center code (us2, em2) or `ocs`.
_OCI_REGION = re.compile(r"[a-z]{2}-[a-z]+-[0-9]{1,2}")


def split_pod_url(text: str) -> tuple[str, str] | None:
    """(pod, region) from a pasted pod URL or host such as
    ``https://abcd-test.fa.us2.oraclecloud.com/fscmUI/faces/FuseWelcome`` → ``("abcd-test",
    "us2")``; None when ``text`` is not one (a plain pod label, say).

    Source of the form ``https://{system name}.fa.{data center}.oraclecloud.com``: Oracle
    Integration, ERP Cloud adapter, "Obtain the Service Catalog Service WSDL".
    """
    found = _POD_URL.fullmatch(text.strip())
    if found is None:
        return None
    return found["pod"].lower(), found["region"].lower()


def identity_domain_host(text: str) -> str | None:
    """The one host of an identity domain, from any form Oracle shows it in, or None.

    Accepted: the domain URL as the console shows it (``https://idcs-0123abcd.identity.
    oraclecloud.com:443``, with or without the port, a trailing ``/`` or a path such as
    ``/admin/v1/``), the bare host, or the bare domain id ``idcs-0123abcd`` (the host is
    ``{id}.identity.oraclecloud.com``). Only https; another port, user info or a lookalike
    suffix is not one of these forms. Source: OCI documentation, "Finding an Identity Domain
    URL" (``https://<IdentityDomainID>.identity.oraclecloud.com/admin/v1/``).
    """
    value = text.strip()
    if _IDCS_ID.fullmatch(value):
        return f"{value.lower()}.identity.oraclecloud.com"
    found = _IDCS_FORM.fullmatch(value)
    if found is None or len(found["host"]) > 253:
        return None
    return found["host"].lower()


def oci_region_hint(region: str) -> str | None:
    """Why ``region`` is refused when it is an OCI region id, with what to write instead."""
    if not _OCI_REGION.fullmatch(region.strip().lower()):
        return None
    return (
        f"{region.strip()!r} is an OCI region id, not a Fusion data-center code: write the code "
        "from the pod's address https://POD.fa.CODE.oraclecloud.com (such as us2 or em2, or "
        "ocs for a pod on OCI), or paste that address into oracle.pod"
    )
