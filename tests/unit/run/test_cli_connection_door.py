"""Issue 11, scope 2: what `sync` would refuse in a configuration is refused at the door.

`connection add` / `update` answer a bad marketplace, pod, region or identity domain with one
line naming the setting and exit code 2; a pasted pod address or any form of the identity domain
Oracle shows is read and said; `connection test` reports a stored row that is still bad as a ✗.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from tests_support_cli import EXAMPLES, SECRET_ENV, SECRET_OPTIONS, config_toml_for_examples
from typer.testing import CliRunner

from ml_connector.run.cli import app

runner = CliRunner()
IDCS_HOST = "idcs-0123abcd.identity.oraclecloud.com"
# Loopback ports nothing listens on: `connection test` gets "connection refused" at once.
DEAD_ENDPOINTS = (
    'base_urls = { NA = "http://127.0.0.1:9/na" }\nlwa_token_url = "http://127.0.0.1:9/auth/o2/token"',
    'base_url = "http://127.0.0.1:9"',
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path / "home"


def _write(tmp_path: Path, text: str, name: str = "acme.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _add(config: Path, name: str = "acme") -> Result:
    return runner.invoke(app, ["connection", "add", name, "--config", str(config), *SECRET_OPTIONS])


def _one_error_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def _nothing_stored() -> None:
    listed = runner.invoke(app, ["connection", "list", "--json"])
    assert json.loads(listed.stdout)["connections"] == []


def _shown(name: str = "acme") -> dict[str, Any]:
    result = runner.invoke(app, ["connection", "show", name, "--json"])
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


@pytest.mark.parametrize(
    ("marketplaces", "regions", "expected"),
    [
        (
            '["ATVPDKIKX0DER", "ATVPDKIKX0DEX"]',
            '["NA"]',
            "'ATVPDKIKX0DEX' is not an Amazon marketplace id (did you mean 'ATVPDKIKX0DER', "
            "Amazon.com?)",
        ),
        (
            '["amazon.com"]',
            '["NA"]',
            "'amazon.com' is a marketplace's name, not its id: Amazon.com is 'ATVPDKIKX0DER'",
        ),
        (
            '["US"]',
            '["NA"]',
            "'US' is a country code, not a marketplace id: Amazon.com is 'ATVPDKIKX0DER'",
        ),
        (
            '["ATVPDKIKX0DER", "A1PA6795UKMFR9"]',
            '["NA"]',
            "marketplace 'A1PA6795UKMFR9' (Amazon.de) is in region EU, but amazon.regions is "
            "['NA'] (no refresh token for it): add 'EU' to amazon.regions or remove the "
            "marketplace",
        ),
    ],
    ids=["typo", "name", "country-code", "eu-under-na"],
)
def test_a_marketplace_sync_could_not_read_is_refused_at_add(
    home: Path, tmp_path: Path, marketplaces: str, regions: str, expected: str
) -> None:
    text = (
        config_toml_for_examples()
        .replace('marketplace_ids = ["ATVPDKIKX0DER"]', f"marketplace_ids = {marketplaces}")
        .replace('regions = ["NA"]', f"regions = {regions}")
    )
    config = _write(tmp_path, text)
    result = _add(config)
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert f"{config}: amazon.marketplace_ids: {expected}" in line
    _nothing_stored()


def test_a_marketplace_without_an_oracle_customer_is_refused(home: Path, tmp_path: Path) -> None:
    # Amazon.com.mx is in NA, but the example charge mapping names no customer for it.
    text = config_toml_for_examples().replace(
        'marketplace_ids = ["ATVPDKIKX0DER"]',
        'marketplace_ids = ["ATVPDKIKX0DER", "A1AM78C64UM0Y8"]',
    )
    result = _add(_write(tmp_path, text))
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert "amazon.marketplace_ids has 'A1AM78C64UM0Y8' (Amazon.com.mx)" in line
    assert f"{EXAMPLES / 'charges.toml'} has no [customers.A1AM78C64UM0Y8]" in line
    assert "every order of it would be held for review" in line
    _nothing_stored()


def test_update_refuses_what_add_refuses(home: Path, tmp_path: Path) -> None:
    assert _add(_write(tmp_path, config_toml_for_examples())).exit_code == 0
    text = config_toml_for_examples().replace('["ATVPDKIKX0DER"]', '["amazon.com"]')
    result = runner.invoke(
        app, ["connection", "update", "acme", "--config", str(_write(tmp_path, text, "new.toml"))]
    )
    assert result.exit_code == 2, result.output
    assert "'amazon.com' is a marketplace's name, not its id" in _one_error_line(result)
    assert _shown()["config"]["amazon"]["marketplace_ids"] == ["ATVPDKIKX0DER"]


def test_a_pasted_pod_address_gives_pod_and_region_and_says_so(home: Path, tmp_path: Path) -> None:
    url = "https://abcd-test.fa.us2.oraclecloud.com/fscmUI/faces/FuseWelcome?_afrLoop=1"
    text = (
        config_toml_for_examples()
        .replace('pod = "acme"', f'pod = "{url}"')
        .replace('region = "us2"\n', "")
    )
    result = _add(_write(tmp_path, text))
    assert result.exit_code == 0, result.output
    assert f"oracle.pod: took pod abcd-test, region us2 from {url}" in result.stderr
    oracle = _shown()["config"]["oracle"]
    assert (oracle["pod"], oracle["region"]) == ("abcd-test", "us2")
    assert _shown()["endpoints"]["oracle.base_url"] == "https://abcd-test.fa.us2.oraclecloud.com"


def test_a_pod_address_contradicting_the_region_is_refused(home: Path, tmp_path: Path) -> None:
    text = (
        config_toml_for_examples()
        .replace('pod = "acme"', 'pod = "https://abcd-test.fa.us2.oraclecloud.com"')
        .replace('region = "us2"', 'region = "em2"')
    )
    result = _add(_write(tmp_path, text))
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert "oracle.pod is the address of a pod in region 'us2' but oracle.region is 'em2'" in line
    _nothing_stored()


@pytest.mark.parametrize(
    "written",
    [
        "idcs-0123abcd",
        IDCS_HOST,
        f"https://{IDCS_HOST}",
        f"https://{IDCS_HOST}:443",
        f"https://{IDCS_HOST}:443/",
        f"https://{IDCS_HOST}/admin/v1/",
        "https://IDCS-0123ABCD.identity.oraclecloud.com/ui/v1/adminconsole",
    ],
)
def test_every_form_of_the_identity_domain_is_stored_as_its_host(
    home: Path, tmp_path: Path, written: str
) -> None:
    text = config_toml_for_examples().replace('"idcs-123"', f'"{written}"')
    result = _add(_write(tmp_path, text))
    assert result.exit_code == 0, result.output
    shown = _shown()
    assert shown["config"]["oracle"]["identity_domain_url"] == IDCS_HOST
    assert shown["endpoints"]["oracle.token_url"] == f"https://{IDCS_HOST}/oauth2/v1/token"
    if written != IDCS_HOST:
        assert f"read {written} as the identity domain {IDCS_HOST}" in result.stderr


@pytest.mark.parametrize(
    "written",
    ["acme", f"http://{IDCS_HOST}", f"https://{IDCS_HOST}:8443", f"https://{IDCS_HOST}.evil.com"],
)
def test_what_is_no_form_of_an_identity_domain_is_refused(
    home: Path, tmp_path: Path, written: str
) -> None:
    text = config_toml_for_examples().replace('"idcs-123"', f'"{written}"')
    result = _add(_write(tmp_path, text))
    assert result.exit_code == 2, result.output
    assert ": oracle.identity_domain_url: refused: " in _one_error_line(result)
    _nothing_stored()


def test_a_bare_word_names_the_forms_oracle_shows(home: Path, tmp_path: Path) -> None:
    text = config_toml_for_examples().replace('"idcs-123"', '"acme"')
    line = _one_error_line(_add(_write(tmp_path, text)))
    assert (
        "its URL (https://idcs-….identity.oraclecloud.com), that host, or its id (idcs-…)" in line
    )


@pytest.mark.parametrize("region", ["us-ashburn-1", "eu-frankfurt-1"])
def test_an_oci_region_id_is_refused_with_what_to_write_instead(
    home: Path, tmp_path: Path, region: str
) -> None:
    text = config_toml_for_examples().replace('region = "us2"', f'region = "{region}"')
    result = _add(_write(tmp_path, text))
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert f"oracle.region: '{region}' is an OCI region id, not a Fusion data-center code" in line
    assert "https://POD.fa.CODE.oraclecloud.com (such as us2 or em2, or ocs" in line
    _nothing_stored()


def _edit_stored(home: Path, change: dict[str, Any]) -> None:
    """What an old version (or a hand edit) left in the store, bypassing validation."""
    with sqlite3.connect(home / "ml-connector.db") as db:
        (raw,) = db.execute("SELECT config FROM connections WHERE name = 'acme'").fetchone()
        config = json.loads(raw)
        for side, values in change.items():
            config[side].update(values)
        db.execute("UPDATE connections SET config = ? WHERE name = 'acme'", (json.dumps(config),))


def test_connection_test_reports_a_stored_row_that_is_still_bad(home: Path, tmp_path: Path) -> None:
    amazon, oracle = DEAD_ENDPOINTS
    text = config_toml_for_examples(extra_amazon=amazon, extra_oracle=oracle)
    assert _add(_write(tmp_path, text)).exit_code == 0
    _edit_stored(home, {"amazon": {"marketplace_ids": ["amazon.com"]}})
    result = runner.invoke(app, ["connection", "test", "acme", "--json"])
    assert result.exit_code == 1, result.output
    checks = {(c["system"], c["check"]): c for c in json.loads(result.stdout)["checks"]}
    stored = checks[("Store", "configuration")]
    assert stored["status"] == "failed"
    assert (
        "amazon.marketplace_ids: 'amazon.com' is a marketplace's name, not its id: Amazon.com "
        "is 'ATVPDKIKX0DER'" in stored["message"]
    )
    assert "connection update acme --config FILE" in stored["message"]
    human = runner.invoke(app, ["connection", "test", "acme"])
    assert "✗" in human.output
    assert "Everything we could check works" not in human.output


def test_connection_test_reports_a_marketplace_the_mapping_has_no_customer_for(
    home: Path, tmp_path: Path
) -> None:
    amazon, oracle = DEAD_ENDPOINTS
    text = config_toml_for_examples(extra_amazon=amazon, extra_oracle=oracle)
    assert _add(_write(tmp_path, text)).exit_code == 0
    _edit_stored(home, {"amazon": {"marketplace_ids": ["ATVPDKIKX0DER", "A2Q3Y263D00KWC"]}})
    result = runner.invoke(app, ["connection", "test", "acme", "--json"])
    assert result.exit_code == 1, result.output
    checks = {(c["system"], c["check"]): c for c in json.loads(result.stdout)["checks"]}
    customers = checks[("Mapping", "customers")]
    assert customers["status"] == "failed"
    assert "'A2Q3Y263D00KWC' (Amazon.com.br)" in customers["message"]
    assert "has no [customers.A2Q3Y263D00KWC]" in customers["message"]


def test_sync_names_a_stored_bad_marketplace_in_the_words_add_uses(
    home: Path, tmp_path: Path
) -> None:
    amazon, oracle = DEAD_ENDPOINTS
    text = config_toml_for_examples(extra_amazon=amazon, extra_oracle=oracle)
    assert _add(_write(tmp_path, text)).exit_code == 0
    _edit_stored(home, {"amazon": {"marketplace_ids": ["amazon.com"]}})
    result = runner.invoke(app, ["sync", "acme"])
    assert result.exit_code == 2, result.output
    assert (
        "amazon.marketplace_ids: 'amazon.com' is a marketplace's name, not its id: Amazon.com "
        "is 'ATVPDKIKX0DER'" in result.output
    )
    assert "Traceback" not in result.output
