"""docs/configuration.md, rendered from the configuration model so the reference cannot drift.

Every setting of `ConnectionConfig` (its sections and their fields: type, constraints, default,
``Field(description=...)``) becomes a table row; the marketplace table comes from
`domain.marketplaces`. `ml-connector connection reference --out docs/configuration.md` (or
``python -m ml_connector.run.config_reference``) writes it; a test fails when the file is stale.
"""

from __future__ import annotations

import inspect
import sys
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ml_connector.domain.marketplaces import MARKETPLACES
from ml_connector.store.connections import ConnectionConfig

REGENERATE = "ml-connector connection reference --out docs/configuration.md"

_HEADER = f"""\
# Configuration reference

<!-- Generated from the configuration model (src/ml_connector/store/connections.py) by
`{REGENERATE}`.
Do not edit: change the model's `Field(description=...)` and regenerate (a test fails when this
file is stale). -->

A connection's non-secret settings are one TOML file, read by `ml-connector connection add NAME
--config FILE` and `connection update NAME --config FILE` (docs/cli.md). Credentials are never in
it: they are given to `connection add` / `set-secret` from environment variables or a hidden
prompt and stored encrypted. A key the model does not know (a stray `client_secret`) is refused.

Everything `sync` would refuse is refused when the file is added or updated, in one line naming
the setting (exit code 2), and reported by `connection test` for a stored connection: unknown
marketplace ids, a marketplace outside `amazon.regions` or without an Oracle customer in the
charge mapping's `[customers]` (its orders would all be held for review), a pod or region that
is not a DNS label, an OCI region id in `oracle.region`, an identity domain in no form Oracle
shows, a URL credentials must not go to, mapping files that do not load.

`ml-connector sim amazon --print-config` and `sim oracle --print-config` print the `[amazon]` and
`[oracle]` blocks for the simulators (docs/cli.md).
"""

_ORACLE_HOSTS = """\
## Oracle hosts: what is read from what you paste

- **Pod.** Fusion's REST API is at `https://POD.fa.REGION.oraclecloud.com`, where POD is the
  system name and REGION the data center, such as `acme.fa.us6.oraclecloud.com` (Oracle
  Integration, ERP Cloud adapter: "Obtain the Service Catalog Service WSDL" and "Obtain the Event
  Catalog URL", docs.oracle.com/en/cloud/paas/application-integration/erp-adapter/). Pods on
  OCI use `fa.ocs.oraclecloud.com` (REGION `ocs`). Paste the address from the browser into
  `oracle.pod` (any path or query after the host is ignored) and leave `oracle.region` out:
  `connection add` says `note: oracle.pod: took pod abcd-test, region us2 from https://…`. A
  `region` that contradicts the address is refused. Host forms with another service label
  (`fs`, `login`) or an extra `.ocs` label are not read: give pod and region.
- **Region.** `us-ashburn-1`, `eu-frankfurt-1`, `uk-london-1` are OCI region identifiers (the
  OCI console and Oracle EPM's Gen 2 URLs, `…epm.us-phoenix-1.ocs.oraclecloud.com`, use them);
  a Fusion pod's address carries a data-center code (`us2`, `us6`, `em2`) or `ocs`. An OCI region
  id in `oracle.region` is refused with what to write instead.
- **Identity domain.** The console shows the Domain URL as
  `https://idcs-<id>.identity.oraclecloud.com` (OCI documentation, "Finding an Identity Domain
  URL": `https://<IdentityDomainID>.identity.oraclecloud.com/admin/v1/`; often with `:443`), and
  the domain id as `idcs-<id>`. All of these are accepted and stored as the bare host
  `idcs-<id>.identity.oraclecloud.com`; the token endpoint is `https://<host>/oauth2/v1/token`.
  `http://`, another port, user info or a lookalike suffix is no such form and is refused.

An `[oracle]` block written with what the browser and the console show (no `region`: it is
taken from the pod's address):

```toml
[oracle]
pod = "https://acme-test.fa.us2.oraclecloud.com/fscmUI/faces/FuseWelcome"
identity_domain_url = "https://idcs-0123456789abcdef.identity.oraclecloud.com:443/"
client_id = "ml-connector"
scope = "urn:opc:resource:consumer::all"
business_unit = "US1 Business Unit"
ledger = "US Primary Ledger"
ledger_id = "300000046975971"
ledger_currency = "USD"
legal_entity = "ML Seller US LLC"
invoice_source = "Amazon Orders"
invoice_transaction_type = "Amazon Invoice"
credit_memo_transaction_type = "Amazon Credit Memo"
journal_source = "Amazon Settlements"
journal_category = "Amazon Settlement"
```
"""

_EXAMPLES = """\
## Configuration examples in these docs

Every ```` ```toml ```` block in `docs/*.md` and `README.md` that has an `[amazon]` or `[oracle]`
table is a connection configuration, and a test (tests/unit/run/test_docs_config_examples.py)
runs `connection add` and `connection test` on it against both simulators: a wrong example fails
the build. A block with both tables is complete (its `[mappings]` are the example mapping files;
its hosts are replaced by the simulators' for `connection test`); a block with only one of them
is completed with what the other simulator's `--print-config` prints. A block for a real seller
whose hosts are Amazon's and Oracle's is first added as written, so its pod, region and identity
domain are checked too. `127.0.0.1:8600` and `127.0.0.1:8100` (the simulators' default ports)
stand for wherever the test started them.
"""


def _text(doc: str | None) -> str:
    """A docstring as Markdown: ``code`` spelt `code`, paragraphs kept."""
    return inspect.cleandoc(doc or "").replace("``", "`")


def _type(annotation: Any) -> str:
    """A field type in words (``list of "NA", "EU" or "FE"``), without Markdown table pipes."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _type(args[0])
    if origin is Literal:
        quoted = [f'"{a}"' if isinstance(a, str) else str(a) for a in args]
        return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    if origin in (Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        shown = " or ".join(_type(a) for a in kept)
        return f"{shown} (optional)" if len(kept) < len(args) else shown
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"table {_type(args[0])} → {_type(args[1])}"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path"}
    if isinstance(annotation, type) and annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation))


def _constraints(field: FieldInfo) -> str:
    found: list[str] = []
    for item in field.metadata:
        if isinstance(item, annotated_types.MinLen) and item.min_length:
            found.append(f"at least {item.min_length}")
        elif isinstance(item, annotated_types.MaxLen):
            found.append(f"at most {item.max_length}")
        elif isinstance(item, annotated_types.Gt):
            found.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Ge):
            found.append(f"≥ {item.ge}")
        elif isinstance(item, annotated_types.Le):
            found.append(f"≤ {item.le}")
        elif getattr(item, "pattern", None):
            found.append(f"matches `{item.pattern}`")
    return f" ({', '.join(found)})" if found else ""


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{}" if not value else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    factory = field.default_factory
    value = factory() if factory is not None else field.default  # type: ignore[call-arg]
    if value is None:
        return "none"
    return f"`{_toml(value)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _section(name: str, model: type[BaseModel], required: bool) -> list[str]:
    lines = [f"## `[{name}]`" + ("" if required else " (optional)"), ""]
    if model.__doc__:
        lines += [_text(model.__doc__), ""]
    lines += ["| setting | type | default | meaning |", "|---|---|---|---|"]
    for key, field in model.model_fields.items():
        kind = _type(field.annotation)
        optional = kind.endswith(" (optional)")
        kind = (
            kind.removesuffix(" (optional)")
            + _constraints(field)
            + (" (optional)" if optional else "")
        )
        lines.append(
            f"| `{name}.{key}` | {_cell(kind)} | {_cell(_default(field))} "
            f"| {_cell(field.description or '')} |"
        )
    return [*lines, ""]


def _marketplaces() -> list[str]:
    lines = [
        "## Amazon marketplaces",
        "",
        "The ids `amazon.marketplace_ids` takes (src/ml_connector/domain/marketplaces.py); "
        "each\nneeds its region in `amazon.regions`.",
        "",
        "| marketplace id | country | region | name | currency |",
        "|---|---|---|---|---|",
    ]
    for market in MARKETPLACES:
        lines.append(
            f"| `{market.marketplace_id}` | {market.country} | {market.region} | {market.name} "
            f"| {market.currency} |"
        )
    return [*lines, ""]


def render() -> str:
    """The whole of docs/configuration.md."""
    lines = [_HEADER]
    for name, field in ConnectionConfig.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"ConnectionConfig.{name} is not a section model")
        lines += _section(name, model, field.is_required())
    lines += [_ORACLE_HOSTS, *_marketplaces(), _EXAMPLES]
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":  # python -m ml_connector.run.config_reference > docs/configuration.md
    sys.stdout.write(render())
