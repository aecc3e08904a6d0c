"""`connection update|set-secret|rename|remove|restore` and the one-seller-one-connection rule.

Issue 11: a stored connection could never be changed, and the only way out (a second connection
for the same seller) failed every sync for good with an idempotency-key collision.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from tests_support_cli import (
    SECRET_ENV,
    SECRET_OPTIONS,
    config_toml_for_examples,
)
from typer.testing import CliRunner

from ml_connector.context import open_runtime
from ml_connector.run.cli import app
from ml_connector.store import (
    DocumentKind,
    DocumentState,
    append_event,
    get_connection,
    plan_document,
    timeline,
    transition,
)
from ml_connector.store.secrets import get_secret
from ml_connector_sim.amazon import SimOptions, running_amazon_sim
from ml_connector_sim.oracle import running_oracle_sim

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path / "home"


def _config(tmp_path: Path, name: str = "acme.toml", **kw: str) -> Path:
    path = tmp_path / name
    path.write_text(config_toml_for_examples(**kw))
    return path


def _cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def _add(config: Path, name: str = "acme") -> Result:
    return _cli("connection", "add", name, "--config", str(config), *SECRET_OPTIONS)


def _oracle_secret(name: str) -> str:
    rt = open_runtime(require_key=True)
    try:
        with rt.sessions() as session:
            row = get_connection(session, name)
            secret = get_secret(session, rt.require_keyring(), row.id, "oracle_client_secret")
            return secret.reveal()
    finally:
        rt.close()


def _with_document(name: str, state: DocumentState | None = None) -> None:
    rt = open_runtime()
    try:
        with rt.sessions() as session, session.begin():
            row = get_connection(session, name)
            doc, _ = plan_document(session, row.id, "inv:111-1", DocumentKind.INVOICE, "111-1", {})
            if state is not None:
                transition(session, doc, DocumentState.SENDING)
                if state is not DocumentState.SENDING:
                    transition(session, doc, state, error="Oracle unreachable")
            append_event(session, row.id, "posted", amazon_ids=["111-1"])
    finally:
        rt.close()


def test_second_connection_for_the_same_seller_is_refused_naming_the_first(
    home: Path, tmp_path: Path
) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    second = _add(_config(tmp_path, "copy.toml"), name="acme-2")
    assert second.exit_code == 2
    assert "connection 'acme' already keeps the books" in second.stderr
    assert "US1 Business Unit" in second.stderr
    assert "connection update acme" in second.stderr
    assert "Traceback" not in second.output


def test_seller_id_on_one_side_only_is_still_the_same_seller(home: Path, tmp_path: Path) -> None:
    # Verifier of issue 11: the second connection was accepted, then `sync` failed with
    # "idempotency key 'inv:…' already belongs to invoice #1".
    assert _add(_config(tmp_path)).exit_code == 0
    named = _config(tmp_path, "named.toml", extra_amazon='seller_id = "A2OTHERSELLER"')
    second = _add(named, name="acme-2")
    assert second.exit_code == 2
    assert "connection 'acme' already keeps the books" in second.stderr
    assert "amzn1.application-oa2-client.test" in second.stderr
    assert "set amazon.seller_id in both" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1


def test_seller_ids_compare_case_insensitively(home: Path, tmp_path: Path) -> None:
    upper = _config(tmp_path, "upper.toml", extra_amazon='seller_id = "A2SELLER"')
    assert _add(upper).exit_code == 0
    lower = _config(tmp_path, "lower.toml", extra_amazon='seller_id = "a2seller"')
    second = _add(lower, name="acme-2")
    assert second.exit_code == 2
    assert "connection 'acme' already keeps the books of Amazon seller 'A2SELLER'" in (
        second.stderr
    )


def test_one_lwa_app_for_several_sellers_each_with_its_seller_id(
    home: Path, tmp_path: Path
) -> None:
    # The integrator's case: one app, the sellers told apart by their selling partner ids.
    first = _config(tmp_path, "first.toml", extra_amazon='seller_id = "A1FIRSTSELLER"')
    assert _add(first).exit_code == 0
    other = _config(tmp_path, "other.toml", extra_amazon='seller_id = "A2OTHERSELLER"')
    result = _add(other, name="other")
    assert result.exit_code == 0, result.output


def test_duplicate_name_points_to_update_and_set_secret(home: Path, tmp_path: Path) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    again = _add(_config(tmp_path))
    assert again.exit_code == 2
    assert "connection update acme" in again.stderr
    assert "set-secret acme" in again.stderr


def test_set_secret_replaces_only_the_named_credential(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    monkeypatch.setenv("NEW_ORA", "rotated-oracle-VALUE-9")
    result = _cli("connection", "set-secret", "acme", "--oracle-secret-env", "NEW_ORA")
    assert result.exit_code == 0, result.output
    assert "replaced oracle_client_secret" in result.stdout
    assert "rotated-oracle-VALUE-9" not in result.output
    assert _oracle_secret("acme") == "rotated-oracle-VALUE-9"
    body = json.loads(_cli("connection", "show", "acme", "--json").stdout)
    assert body["secrets"] == ["lwa_client_secret", "lwa_refresh_token:na", "oracle_client_secret"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "name the credential(s) to replace"),
        (["--refresh-token-env", "EU=T_NA"], "not in amazon.regions"),
        (["--oracle-secret-env", "UNSET_VAR_X"], "UNSET_VAR_X is not set"),
        (["--ask", "nonsense"], "--ask NONSENSE"),
        (["--ask", "oracle"], "not a terminal"),
    ],
    ids=["nothing", "unknown-region", "unset-variable", "bad-ask", "ask-without-terminal"],
)
def test_set_secret_refusals_are_one_line_exit_2(
    home: Path, tmp_path: Path, args: list[str], needle: str
) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    result = _cli("connection", "set-secret", "acme", *args)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr
    assert result.stderr.count("\n") == 1
    assert _oracle_secret("acme") == SECRET_ENV["T_ORA"]


def test_update_shows_the_diff_and_stores_it(home: Path, tmp_path: Path) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    changed = _config(tmp_path, "new.toml", extra_oracle='ledger_currency = "EUR"')
    dry = _cli("connection", "update", "acme", "--config", str(changed), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    body: dict[str, Any] = json.loads(dry.stdout)
    assert body["changes"] == [
        {"setting": "oracle.ledger_currency", "before": "USD", "after": "EUR"}
    ]
    assert body["updated"] is False
    shown = json.loads(_cli("connection", "show", "acme", "--json").stdout)
    assert shown["config"]["oracle"]["ledger_currency"] == "USD"

    done = _cli("connection", "update", "acme", "--config", str(changed))
    assert done.exit_code == 0, done.output
    assert "oracle.ledger_currency" in done.stdout
    assert "updated" in done.stdout
    shown = json.loads(_cli("connection", "show", "acme", "--json").stdout)
    assert shown["config"]["oracle"]["ledger_currency"] == "EUR"
    again = _cli("connection", "update", "acme", "--config", str(changed))
    assert "Nothing to change" in again.stdout


def test_update_is_validated_like_add(home: Path, tmp_path: Path) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    bad = _config(tmp_path, "bad.toml", extra_oracle='ledger_currency = "euro"')
    result = _cli("connection", "update", "acme", "--config", str(bad))
    assert result.exit_code == 2
    assert "oracle.ledger_currency" in result.stderr
    missing = _cli("connection", "update", "nobody", "--config", str(bad))
    assert missing.exit_code == 2


def test_update_adding_a_region_names_the_missing_refresh_token(home: Path, tmp_path: Path) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    text = _config(tmp_path).read_text().replace('regions = ["NA"]', 'regions = ["NA", "EU"]')
    both = tmp_path / "both.toml"
    both.write_text(text)
    result = _cli("connection", "update", "acme", "--config", str(both))
    assert result.exit_code == 0, result.output
    assert "missing credential" in result.stdout
    assert "lwa_refresh_token:eu" in result.stdout


def test_update_refuses_a_change_of_business_unit_with_documents_unless_forced(
    home: Path, tmp_path: Path
) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    _with_document("acme")
    text = _config(tmp_path).read_text().replace("US1 Business Unit", "US2 Business Unit")
    moved = tmp_path / "moved.toml"
    moved.write_text(text)
    refused = _cli("connection", "update", "acme", "--config", str(moved))
    assert refused.exit_code == 2
    assert "1 document(s)" in refused.stderr
    assert "oracle.business_unit" in refused.stderr
    assert "--force" in refused.stderr
    forced = _cli("connection", "update", "acme", "--config", str(moved), "--force")
    assert forced.exit_code == 0, forced.output


def test_update_cannot_make_two_connections_one_seller(home: Path, tmp_path: Path) -> None:
    first = _config(tmp_path, "first.toml", extra_amazon='seller_id = "A1FIRSTSELLER"')
    assert _add(first).exit_code == 0
    other = _config(tmp_path, "other.toml", extra_amazon='seller_id = "A2OTHERSELLER"')
    assert _add(other, name="other").exit_code == 0
    result = _cli("connection", "update", "other", "--config", str(first))
    assert result.exit_code == 2
    assert "connection 'acme' already keeps the books" in result.stderr
    # Dropping the seller id leaves only the LWA app, which acme's seller uses too.
    result = _cli("connection", "update", "other", "--config", str(_config(tmp_path)))
    assert result.exit_code == 2
    assert "connection 'acme' already keeps the books" in result.stderr
    assert "'other' sets no amazon.seller_id" not in result.stderr
    assert "this configuration sets no amazon.seller_id" in result.stderr


def test_rename_keeps_documents_and_audit(home: Path, tmp_path: Path) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    _with_document("acme")
    result = _cli("connection", "rename", "acme", "acme-us")
    assert result.exit_code == 0, result.output
    assert "is now 'acme-us'" in result.stdout
    assert _cli("connection", "show", "acme").exit_code == 2
    assert _oracle_secret("acme-us") == SECRET_ENV["T_ORA"]
    rt = open_runtime()
    try:
        with rt.sessions() as session:
            events = timeline(session, "111-1")
            assert [e.action for e in events] == ["posted"]
    finally:
        rt.close()
    bad = _cli("connection", "rename", "acme-us", "Not A Name")
    assert bad.exit_code == 2


@pytest.mark.parametrize("state", [DocumentState.SENDING, DocumentState.RETRY])
def test_remove_refuses_while_documents_are_in_flight(
    home: Path, tmp_path: Path, state: DocumentState
) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    _with_document("acme", state)
    result = _cli("connection", "remove", "acme", "--yes")
    assert result.exit_code == 1
    assert f"1 {state.value}" in result.stderr
    assert "on their way to Oracle" in result.stderr
    assert _cli("connection", "show", "acme").exit_code == 0


def test_remove_needs_confirmation_when_not_at_a_terminal(home: Path, tmp_path: Path) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    result = _cli("connection", "remove", "acme")
    assert result.exit_code == 2
    assert "--yes" in result.stderr


def test_remove_deletes_all_but_the_audit_and_frees_name_and_seller(
    home: Path, tmp_path: Path
) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    _with_document("acme")
    result = _cli("connection", "remove", "acme", "--yes", "--json")
    assert result.exit_code == 0, result.output
    deleted = json.loads(result.stdout)["deleted"]
    assert deleted == {"documents": 1, "secrets": 3}
    assert json.loads(_cli("connection", "list", "--json").stdout)["connections"] == []
    # The audit trail is append-only: the events stay, findable by the Amazon id.
    audit = _cli("audit", "show", "111-1", "--json")
    assert audit.exit_code == 0
    assert [e["action"] for e in json.loads(audit.stdout)["events"]] == ["posted"]
    assert _add(_config(tmp_path)).exit_code == 0
    human = _cli("connection", "remove", "acme", "--yes")
    assert "the audit trail stays" in human.stdout


def test_remove_keep_history_keeps_the_audit_and_restore_brings_it_back(
    home: Path, tmp_path: Path
) -> None:
    assert _add(_config(tmp_path)).exit_code == 0
    _with_document("acme")
    result = _cli("connection", "remove", "acme", "--keep-history", "--yes")
    assert result.exit_code == 0, result.output
    assert "audit trail and documents kept" in result.stdout
    assert json.loads(_cli("connection", "list", "--json").stdout)["connections"] == []
    audit = _cli("audit", "show", "111-1", "--json")
    assert audit.exit_code == 0
    # The seller's documents still belong to the removed connection: a new one is refused.
    again = _add(_config(tmp_path, "copy.toml"), name="acme-new")
    assert again.exit_code == 2
    assert "removed with its history kept" in again.stderr
    assert "connection restore acme" in again.stderr
    restored = _cli("connection", "restore", "acme")
    assert restored.exit_code == 0, restored.output
    shown = json.loads(_cli("connection", "show", "acme", "--json").stdout)
    assert shown["enabled"] is False
    assert shown["secrets"] == []


def test_a_new_oracle_secret_set_with_set_secret_is_used_by_the_next_sync(
    sim_seller: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Oracle's identity domain now only accepts a rotated secret: the stored one is refused.
    seller = sim_seller(orders=12, oracle_clients={"ml-connector-demo": "rotated-VALUE-42"})
    seller.write_mapping()
    refused = _cli("sync", "demo", "--json")
    assert refused.exit_code not in (0, 3), refused.output
    assert not seller.oracle_numbers()
    monkeypatch.setenv("ROTATED_ORACLE", "rotated-VALUE-42")
    stored = _cli("connection", "set-secret", "-c", "demo", "--oracle-secret-env", "ROTATED_ORACLE")
    assert stored.exit_code == 0, stored.output
    synced = _cli("sync", "-c", "demo", "--json")
    assert synced.exit_code in (0, 3), synced.output
    assert json.loads(synced.stdout)["counts"]["posted"] > 0
    assert seller.oracle_numbers()
    assert all(count == 1 for count in seller.oracle_numbers().values())


def test_a_revoked_refresh_token_names_set_secret_and_a_new_token_fixes_it(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        running_amazon_sim(options=SimOptions(strict_credentials=True)) as amazon,
        running_oracle_sim() as oracle,
    ):
        urls = f'base_urls = {{NA = "{amazon.region_url("na")}"}}\n'
        urls += f'lwa_token_url = "{amazon.token_url}"'
        text = (
            config_toml_for_examples(
                extra_amazon=urls, extra_oracle=f'base_url = "{oracle.base_url}"'
            )
            .replace("amzn1.application-oa2-client.test", "amzn1.application-oa2-client.simulator")
            .replace(
                'identity_domain_url = "idcs-123"', f'identity_domain_url = "{oracle.base_url}"'
            )
        )
        config = tmp_path / "sim.toml"
        config.write_text(text)
        monkeypatch.setenv("T_LWA", "sim-client-secret")
        monkeypatch.setenv("T_NA", "Atzr|revoked-VALUE")
        assert _add(config).exit_code == 0
        tested = _cli("connection", "test", "-c", "acme", "--json")
        assert tested.exit_code == 1
        login = {(c["system"], c["check"]): c for c in json.loads(tested.stdout)["checks"]}[
            ("Amazon NA", "login")
        ]
        assert login["status"] == "failed"
        assert "connection set-secret NAME --refresh-token-env NA=VARIABLE" in login["message"]
        assert "connection add" not in login["message"]
        monkeypatch.setenv("NEW_NA", "Atzr|sim-refresh-token-na")
        stored = _cli("connection", "set-secret", "acme", "--refresh-token-env", "NA=NEW_NA")
        assert stored.exit_code == 0, stored.output
        again = _cli("connection", "test", "acme", "--json")
        checks = {(c["system"], c["check"]): c for c in json.loads(again.stdout)["checks"]}
        assert checks[("Amazon NA", "login")]["status"] == "ok"
        assert checks[("Amazon NA", "orders")]["status"] == "ok"
