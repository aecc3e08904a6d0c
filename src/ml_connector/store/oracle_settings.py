"""The ``[oracle]`` section of a connection's configuration: the pod, its login, Oracle names.

A pasted pod address gives pod and region; every form of the identity domain the console shows
is stored as its host; an OCI region id is refused with what to write instead
(``domain.oracle_addresses``, docs/configuration.md).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ml_connector.domain.oracle_addresses import (
    identity_domain_host,
    oci_region_hint,
    split_pod_url,
)

__all__ = ["FrozenSettings", "NonEmpty", "OracleSettings"]

_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
NonEmpty = Annotated[str, Field(min_length=1, max_length=240)]


class FrozenSettings(BaseModel):
    """Settings are read-only, refuse unknown keys, and never echo what was typed."""

    # hide_input_in_errors: a secret pasted into the wrong field must not reappear in the error.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class OracleSettings(FrozenSettings):
    """The Fusion pod, how to log in to it, and the Oracle names every document carries."""

    pod: str = Field(
        description="The pod: POD in `https://POD.fa.REGION.oraclecloud.com`, or that whole "
        "address pasted from the browser (pod and region are then taken from it)."
    )
    region: str = Field(
        description="The pod's data-center code: REGION in `https://POD.fa.REGION.oraclecloud"
        ".com` (`us2`, `em2`; `ocs` for a pod on OCI). An OCI region id (`us-ashburn-1`) is "
        "refused. May be left out when `pod` is an address."
    )
    identity_domain_url: NonEmpty = Field(
        description="The identity domain that issues OAuth tokens, in any form the console "
        "shows it: `https://idcs-….identity.oraclecloud.com` (with `:443` or a path), the bare "
        "host, or the id `idcs-…`; stored as the host. A simulator's loopback URL also works."
    )
    client_id: NonEmpty = Field(
        description="The OAuth client (confidential application) id, or the user name for "
        '`auth = "basic"`.'
    )
    scope: NonEmpty = Field(
        description="The OAuth scope of the Fusion resource, ending in "
        "`urn:opc:resource:consumer::all`."
    )
    auth: Literal["client_credentials", "jwt_assertion", "basic"] = Field(
        default="client_credentials",
        description="How to log in: OAuth client credentials, a JWT user assertion signed "
        "with the stored private key, or Basic user and password.",
    )
    business_unit: NonEmpty = Field(
        description="The Receivables business unit invoices and credit memos are created in."
    )
    ledger: NonEmpty = Field(
        description="The ledger's name; the charge mapping's `[journal] ledger` must be the same."
    )
    legal_entity: NonEmpty = Field(
        description="The business unit's legal entity (part of the seller's settings; journals "
        "take the charge mapping's `[journal] legal_entity`)."
    )
    invoice_source: NonEmpty = Field(
        description="The Receivables transaction source of the invoices (manual numbering)."
    )
    invoice_transaction_type: NonEmpty = Field(
        description="The Receivables transaction type (class INV) of the invoices."
    )
    credit_memo_transaction_type: NonEmpty = Field(
        description="The Receivables transaction type (class CM) of the credit memos."
    )
    journal_source: NonEmpty = Field(
        description="The GL journal source of settlement journals; the charge mapping's "
        "`[journal] source` must be the same."
    )
    journal_category: NonEmpty = Field(
        description="The GL journal category of settlement journals; the charge mapping's "
        "`[journal] category` must be the same."
    )
    conversion_rate_type: NonEmpty = Field(
        default="Corporate",
        description="The conversion rate type of documents in a currency other than "
        "`ledger_currency`.",
    )
    ledger_id: NonEmpty = Field(description="The ledger's numeric id (GL journal imports).")
    ledger_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = Field(
        default="USD",
        description="The ledger's currency (ISO 4217). Set it: a EUR ledger left at the "
        "default would have every EUR document sent with a conversion rate type.",
    )
    payment_terms: str | None = Field(
        default="IMMEDIATE", description="The payment terms name invoices carry."
    )
    credit_method_for_rules: Literal["PRORATE", "LIFO", "UNIT"] = Field(
        default="PRORATE",
        description="How a credit memo reverses the revenue schedule of an invoice line with an "
        "accounting rule (`[accounting] accounting_rule`): `PRORATE` over every period (a refund "
        "gives back a share of the whole sale), `LIFO` from the last periods, `UNIT` by "
        "quantity. Unused without rules (docs/oracle-setup.md).",
    )
    jwt_username: str | None = Field(
        default=None,
        description='For `auth = "jwt_assertion"`: the Fusion user the assertion is for '
        "(default: `client_id`).",
    )
    jwt_key_id: str | None = Field(
        default=None,
        description='For `auth = "jwt_assertion"`: the key id (`kid`) of the uploaded '
        "certificate (default: `ml-connector`).",
    )
    # Oracle publishes no REST rate limit; this is our own politeness per operation.
    requests_per_second: float = Field(
        default=5.0,
        gt=0,
        description="Our own pace per REST operation (Oracle publishes no REST rate limit).",
    )
    import_poll_seconds: float = Field(
        default=10.0, gt=0, description="How often a running FBDI import (ESS job) is polled."
    )
    import_max_wait: float = Field(
        default=1800.0,
        gt=0,
        description="How long, in seconds, to wait for an import before leaving it for the "
        "next cycle.",
    )
    # After a crash, how long an import we may have submitted can still create its documents.
    import_settle_seconds: float = Field(
        default=900.0,
        ge=0,
        description="After a crash, how long (seconds) an import we may have submitted can "
        "still create its documents before it is looked up and re-sent.",
    )
    # marketplace id → Oracle customer account number (one customer per marketplace, §4).
    customer_accounts: dict[str, NonEmpty] = Field(
        default_factory=dict,
        description="Not read: the Oracle customer of each marketplace comes from the charge "
        "mapping's `[customers]` (docs/mapping.md).",
    )
    base_url: str | None = Field(
        default=None,
        description="An origin to use instead of the pod's: a simulator on loopback (`sim "
        "oracle --print-config`), or a host listed in `allowed_remote_hosts`.",
    )
    allow_remote_base_url: bool = Field(
        default=False,
        description="Allow `base_url` and `identity_domain_url` on a non-loopback host listed "
        "in `allowed_remote_hosts` (a proxy).",
    )
    # With allow_remote_base_url, the only non-loopback hosts base_url and identity_domain_url
    # (as a URL) may name: credentials never go to "any https host".
    allowed_remote_hosts: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(
        default_factory=list,
        description="With `allow_remote_base_url`, the only non-loopback hosts `base_url` and "
        "`identity_domain_url` may name (https, port 443).",
    )

    @model_validator(mode="before")
    @classmethod
    def _pod_address(cls, data: Any) -> Any:
        """A pasted pod address in ``pod`` gives both the pod and the region."""
        if not isinstance(data, dict) or not isinstance(data.get("pod"), str):
            return data
        split = split_pod_url(data["pod"])
        if split is None:
            return data
        pod, region = split
        given = data.get("region")
        if isinstance(given, str) and given.strip() and given.strip() != region:
            message = (
                f"oracle.pod is the address of a pod in region {region!r} but oracle.region is "
                f"{given.strip()!r}: leave oracle.region out (it is taken from the address) or "
                "correct it"
            )
            raise PydanticCustomError("pod_region", "{message}", {"message": message})
        return {**data, "pod": pod, "region": region}

    @field_validator("pod", "region")
    @classmethod
    def _dns_label(cls, value: str, info: ValidationInfo) -> str:
        # These become part of a host name: anything else could redirect credentials elsewhere.
        hint = oci_region_hint(value) if info.field_name == "region" else None
        if hint is not None:
            raise PydanticCustomError("oci_region", "{hint}", {"hint": hint})
        if not _DNS_LABEL.match(value):
            what = (
                "the pod's name (the POD of https://POD.fa.REGION.oraclecloud.com) or that "
                "whole address"
                if info.field_name == "pod"
                else "the data-center code of https://POD.fa.REGION.oraclecloud.com (us2, em2, ocs)"
            )
            raise PydanticCustomError(
                "dns_label",
                "must be a DNS label (a-z, 0-9, '-', at most 63 characters): {what}",
                {"what": what},
            )
        return value

    @field_validator("identity_domain_url")
    @classmethod
    def _one_identity_domain_form(cls, value: str) -> str:
        # Every form the Oracle console shows (URL, with :443 or a path, bare host, bare id) is
        # stored as the bare host; anything else (a simulator's loopback URL, a listed host)
        # is kept as written and judged where the token URL is built (context.oracle_token_url).
        host = identity_domain_host(value)
        return host if host is not None else value.strip().rstrip("/")
