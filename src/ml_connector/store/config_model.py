"""A seller's non-secret configuration, validated before it is stored and when it is read.

Secrets (LWA client secret, refresh tokens, Oracle client secret or private key) are not part of
this model at all: they live encrypted in ``secrets``. ``extra="forbid"`` makes a stray
``client_secret`` key in a config file a validation error instead of a plaintext column. Each
field's ``description`` is its line in docs/configuration.md (``run/config_reference.py``).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from ml_connector.domain.marketplaces import MARKETPLACES, marketplace
from ml_connector.store.oracle_settings import FrozenSettings, NonEmpty, OracleSettings

__all__ = [
    "AccountingSettings",
    "AmazonSettings",
    "Cadences",
    "ConnectionConfig",
    "MappingFiles",
    "OracleSettings",
    "marketplace_problem",
    "normalized_marketplace_id",
    "taken_from",
]

AmazonRegion = Literal["NA", "EU", "FE"]


class AmazonSettings(FrozenSettings):
    """Where the seller sells; each region needs its own refresh token (stored as a secret)."""

    regions: list[AmazonRegion] = Field(
        min_length=1,
        description="The SP-API regions the seller is authorised in; each needs its own refresh "
        "token (`connection add --refresh-token-env REGION=VAR`).",
    )
    marketplace_ids: list[NonEmpty] = Field(
        min_length=1,
        description="Amazon marketplace ids to sync (table below), each in one of `regions` "
        "and with an Oracle customer in the charge mapping's `[customers]`; read without "
        "surrounding spaces and in Amazon's upper case (`atvpdkikx0der` is `ATVPDKIKX0DER`, "
        "with a note); a country code, a name such as `amazon.com` or an unknown id is refused.",
    )
    seller_id: NonEmpty = Field(
        default="default",
        description="The selling partner id (Seller Central, Settings → Account Info → Merchant "
        "Token). It names whose books these are: one connection per seller; without it the "
        "LWA app stands for the seller.",
    )
    lwa_client_id: NonEmpty = Field(
        description="The LWA client id of the SP-API app (its secret is stored encrypted, "
        "never in this file)."
    )
    # Amazon's documented hosts for the regions, or loopback (simulators); anything else is
    # refused before a request is made (remote/amazon/endpoints.py).
    base_urls: dict[AmazonRegion, str] = Field(
        default_factory=dict,
        description="Per region, the SP-API origin to use instead of the production host: "
        "Amazon's `sandbox.` host, or a simulator on loopback (`sim amazon --print-config`).",
    )
    lwa_token_url: str | None = Field(
        default=None,
        description="The LWA token endpoint to use instead of "
        "`https://api.amazon.com/auth/o2/token`: Amazon's EU/FE host, or a simulator on "
        "loopback.",
    )
    # Simulators run time faster; their usage plans are scaled by the same factor. 1 for Amazon.
    rate_limit_scale: float = Field(
        default=1.0,
        gt=0,
        description="Multiplier of Amazon's published usage plans: 1 for Amazon; a simulator "
        "started with `--time-scale N` takes N.",
    )

    @field_validator("marketplace_ids", mode="before")
    @classmethod
    def _spelt_as_amazon_does(cls, value: Any) -> Any:
        # Read as Amazon spells the id: a pasted " A2EUQ1WTGCTBG2" or a typed "atvpdkikx0der"
        # would otherwise miss the mapping's [customers.<id>] table and Amazon's filters.
        if not isinstance(value, list):
            return value
        return [normalized_marketplace_id(v) if isinstance(v, str) else v for v in value]

    @field_validator("marketplace_ids")
    @classmethod
    def _known_marketplaces(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # Refused here, not at the first sync: a marketplace that cannot be read (unknown id,
        # no refresh token for its region) would leave its orders out of the books.
        regions = info.data.get("regions")
        problems = [
            problem
            for marketplace_id in value
            if (problem := marketplace_problem(marketplace_id, regions)) is not None
        ]
        if problems:
            raise PydanticCustomError(
                "marketplace", "{problems}", {"problems": "; ".join(problems)}
            )
        return value


class Cadences(FrozenSettings):
    """How often each stream is polled, in minutes."""

    orders_minutes: int = Field(
        default=10, ge=1, description="Minutes between two reads of new or changed orders."
    )
    finances_minutes: int = Field(
        default=15, ge=1, description="Minutes between two reads of financial events."
    )
    settlements_minutes: int = Field(
        default=360,
        ge=1,
        description="Minutes between two listings of settlement groups and settlement reports "
        "by `run` (a group Amazon has closed is seen within this time; groups known Open are "
        "re-read every finances cycle; `sync` and `backfill` list every time).",
    )
    # How far back the very first sync reads, and how many invoices are sent to Oracle at once.
    initial_history_days: int = Field(
        default=30,
        ge=1,
        le=800,
        description="How many days back the very first sync reads (later syncs go on from "
        "where the last one ended; `backfill` reads further back).",
    )
    post_concurrency: int = Field(
        default=4, ge=1, le=32, description="How many documents are sent to Oracle at once."
    )


class AccountingSettings(FrozenSettings):
    """How this seller's books are kept where sellers differ (docs/accounting-options.md).

    - ``vat_inclusive``: an order from a marketplace whose prices include VAT/GST and whose
      Amazon data carries no tax figure is invoiced with the VAT separated, either ``"split"``
      (the connector splits each amount by the rate the charge mapping's ``[vat]`` gives for the
      marketplace, or the SKU's category) or ``"tax_code"`` (tax-inclusive lines with the
      mapping's tax classification code; Oracle's tax engine computes the tax). With neither a
      rate nor a code for the marketplace the order waits in the review queue.
    - ``include_cogs``: the settlement journal books Dr COGS / Cr inventory at the catalog's
      ``unit_cost`` for units shipped, and reverses it for units returned, to ``returned_goods``:
      ``"restock"`` (back to inventory) or ``"write_off"`` (the mapping's ``returns_write_off``
      account).
    - ``invoicing_rule`` / ``accounting_rule``: Receivables rule names every invoice carries so
      Oracle builds a revenue schedule; none (the default) recognizes revenue at shipment.
    """

    vat_inclusive: Literal["split", "tax_code"] = Field(
        default="split",
        description="VAT-inclusive orders without a tax figure: `split` by the mapping's "
        "`[vat]` rate, or `tax_code` (Oracle's tax engine computes the tax).",
    )
    include_cogs: bool = Field(
        default=False,
        description="Book Dr COGS / Cr inventory at the catalog's `unit_cost` in the "
        "settlement journal.",
    )
    returned_goods: Literal["restock", "write_off"] = Field(
        default="restock",
        description="With `include_cogs`, returned units go back to inventory (`restock`) or "
        "to the mapping's `returns_write_off` account.",
    )
    cost_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = Field(
        default=None,
        description="With `include_cogs`, the currency of the catalog's `unit_cost` (ISO 4217): "
        "a settlement in another currency waits in the review queue instead of costing units "
        "at a number in the wrong currency. Unset: each settlement's own currency (a seller "
        "selling in one currency).",
    )
    invoicing_rule: Annotated[str, Field(min_length=1, max_length=30)] | None = Field(
        default=None,
        description="The Receivables invoicing rule every invoice carries (with "
        "`accounting_rule`).",
    )
    accounting_rule: Annotated[str, Field(min_length=1, max_length=30)] | None = Field(
        default=None,
        description="The Receivables accounting (revenue) rule every invoice line carries; "
        "none recognizes revenue at shipment.",
    )
    accounting_rule_duration: int | None = Field(
        default=None,
        ge=1,
        le=999,
        description="Periods of a variable accounting rule.",
    )


class MappingFiles(FrozenSettings):
    """The two mapping files (docs/mapping.md); a relative path is read next to this file."""

    catalog: Path = Field(description="The catalog: SKU → revenue account and more (CSV).")
    charges: Path = Field(
        description="The charge mapping (TOML or YAML): Amazon breakdowns → accounts, "
        "`[customers]`, `[journal]`."
    )


class ConnectionConfig(FrozenSettings):
    """One seller's non-secret settings: the TOML file `connection add --config` reads."""

    amazon: AmazonSettings
    oracle: OracleSettings
    mappings: MappingFiles
    cadences: Cadences = Field(default_factory=Cadences)
    accounting: AccountingSettings = Field(default_factory=AccountingSettings)


def normalized_marketplace_id(text: str) -> str:
    """``text`` without surrounding spaces, and in upper case when that is a marketplace id of
    the table (Amazon's ids are upper case); anything else unchanged, for the checks to refuse."""
    stripped = text.strip()
    known = marketplace(stripped.upper())
    if known is not None and known.marketplace_id == stripped.upper():
        return known.marketplace_id
    return stripped


def marketplace_problem(marketplace_id: str, regions: Collection[str] | None) -> str | None:
    """Why a configured marketplace id cannot be synced, in words naming the fix; None if it can.

    Refused: an id not in the marketplace table (a typo, with the nearest id suggested), a
    country code or a marketplace's name in place of its id (``US``, ``amazon.com``), and a
    marketplace in a region outside ``regions`` (no refresh token can read it). ``regions``
    None skips the region rule (the regions themselves were refused).
    """
    text = marketplace_id.strip()
    known = marketplace(text)
    if known is not None and known.marketplace_id == text:
        if regions is None or known.region in regions:
            return None
        return (
            f"marketplace {text!r} ({known.name}) is in region {known.region}, but amazon.regions "
            f"is {list(regions)} (no refresh token for it): add {str(known.region)!r} to "
            "amazon.regions or remove the marketplace"
        )
    if known is not None and known.marketplace_id == text.upper():
        return (
            f"{text!r} is {known.name}'s marketplace id in the wrong case: write "
            f"{known.marketplace_id!r}"
        )
    if known is not None:
        return (
            f"{text!r} is a country code, not a marketplace id: {known.name} is "
            f"{known.marketplace_id!r}"
        )
    bare = text.lower().removeprefix("https://").removeprefix("www.").rstrip("/")
    for market in MARKETPLACES:
        if market.name.lower() == bare:
            return (
                f"{text!r} is a marketplace's name, not its id: {market.name} is "
                f"{market.marketplace_id!r}"
            )
    near = difflib.get_close_matches(
        text.upper(), [m.marketplace_id for m in MARKETPLACES], n=1, cutoff=0.75
    )
    guess = ""
    if near:
        found = marketplace(near[0])
        guess = f" (did you mean {near[0]!r}, {found.name if found else near[0]}?)"
    return (
        f"{text!r} is not an Amazon marketplace id{guess}; the ids are listed in "
        "docs/configuration.md"
    )


def taken_from(raw: Any, config: ConnectionConfig) -> list[str]:
    """What validation read differently from what the file says, one sentence per setting
    (a pasted pod address, another form of the identity domain), for `add` and `update`."""
    said: list[str] = []
    amazon = raw.get("amazon") if isinstance(raw, dict) else None
    given_ids = amazon.get("marketplace_ids") if isinstance(amazon, dict) else None
    if isinstance(given_ids, list):
        for given, taken in zip(given_ids, config.amazon.marketplace_ids, strict=False):
            if isinstance(given, str) and given != taken:
                known = marketplace(taken)
                said.append(
                    f"amazon.marketplace_ids: read {given!r} as {taken!r}"
                    + (f" ({known.name})" if known is not None else "")
                )
    oracle = raw.get("oracle") if isinstance(raw, dict) else None
    if not isinstance(oracle, dict):
        return said
    pod = oracle.get("pod")
    if isinstance(pod, str) and pod != config.oracle.pod:
        said.append(
            f"oracle.pod: took pod {config.oracle.pod}, region {config.oracle.region} from "
            f"{pod.strip()}"
        )
    domain = oracle.get("identity_domain_url")
    if isinstance(domain, str) and domain.strip() != config.oracle.identity_domain_url:
        said.append(
            f"oracle.identity_domain_url: read {domain.strip()} as the identity domain "
            f"{config.oracle.identity_domain_url}"
        )
    return said
