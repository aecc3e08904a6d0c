"""``sim oracle --print-config``: the ``[oracle]`` block that points a connection at this server.

The keys are the connector's `OracleSettings` (docs/configuration.md); the names come from the
tenant setup the server was started with, so the configuration matches what it accepts.
"""

from __future__ import annotations

import json
import shlex

from ml_connector_sim.oracle.tenant import TenantSetup, TransactionClass


def _quoted(value: str) -> str:
    # A TOML basic string is JSON's string syntax for everything printed here.
    return json.dumps(value)


def connection_toml(setup: TenantSetup, *, port: int, strict_auth: bool = False) -> str:
    """The ``[oracle]`` TOML block (with the credentials it accepts as comments) for a server on
    ``127.0.0.1:port``: its first business unit with that unit's ledger and legal entity, the
    first transaction source, the invoice and credit memo types, journal source and category."""
    origin = f"http://127.0.0.1:{port}"
    unit = setup.business_units[0]
    ledger = next(item for item in setup.ledgers if item.name == unit.ledger)
    receivables = setup.receivables
    invoice_type = next(
        t.name for t in receivables.transaction_types if t.transaction_class == TransactionClass.INV
    )
    credit_type = next(
        t.name for t in receivables.transaction_types if t.transaction_class == TransactionClass.CM
    )
    strict = strict_auth or setup.auth.strict
    # The first registered client is the one printed, so the block works under --strict-auth too
    # (the default setup registers ml-connector / sim-oracle-secret).
    client = setup.auth.clients[0] if setup.auth.clients else None
    client_id = client.client_id if client is not None else "ml-connector"
    secret = client.client_secret.get_secret_value() if client is not None else "sim-oracle-secret"
    if strict and client is None:
        accepted = "none: the setup file lists no OAuth client (auth.clients)"
    elif strict:
        accepted = (
            f"client id {client_id} (below) with this client secret only (the setup's "
            "auth.clients):"
        )
    elif client is not None:
        accepted = (
            "any non-empty client id and secret; with --strict-auth only client id "
            f"{client_id} (below) with this one:"
        )
    else:
        accepted = f"client id {client_id} with any non-empty client secret, e.g."
    lines = [
        f"# The Oracle Fusion simulator on {origin} (ml-connector sim oracle --port {port}).",
        f"# Credentials it accepts: {accepted}",
        "#   export SIM_ORACLE_SECRET=" + shlex.quote(secret),
        "#   ml-connector connection add NAME --config FILE ... --oracle-secret-env "
        "SIM_ORACLE_SECRET",
        "[oracle]",
        # pod and region are not used when base_url is set; they still name the seller's pod.
        'pod = "simulator"',
        'region = "local"',
        f"base_url = {_quoted(origin)}",
        f"identity_domain_url = {_quoted(origin)}",
        f"client_id = {_quoted(client_id)}",
        f"scope = {_quoted(setup.auth.scopes[0])}",
        f"business_unit = {_quoted(unit.name)}",
        f"ledger = {_quoted(ledger.name)}",
        f"ledger_id = {_quoted(str(ledger.ledger_id))}",
        f"ledger_currency = {_quoted(ledger.currency)}",
        f"legal_entity = {_quoted(unit.legal_entity)}",
        f"invoice_source = {_quoted(receivables.transaction_sources[0].name)}",
        f"invoice_transaction_type = {_quoted(invoice_type)}",
        f"credit_memo_transaction_type = {_quoted(credit_type)}",
        f"journal_source = {_quoted(setup.general_ledger.journal_sources[0])}",
        f"journal_category = {_quoted(setup.general_ledger.journal_categories[0])}",
        f"payment_terms = {_quoted(receivables.payment_terms[0])}",
    ]
    return "\n".join(lines) + "\n"
