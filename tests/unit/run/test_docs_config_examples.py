"""Issue 11 acceptance: the docs' own configuration examples work.

Every ```toml block in docs/*.md and README.md with an `[amazon]` or `[oracle]` table is added
with `connection add` as written and then checked with `connection test` against both
simulators (the convention is in docs/configuration.md, "Configuration examples in these
docs"): the `[oracle]` example of docs/cli.md once passed `add` and crashed `connection test`.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests_support_cli import EXAMPLES
from tests_support_sim_config import Sims, both_simulators, printed_config, runner

from ml_connector.run.cli import app

ROOT = Path(__file__).resolve().parents[3]
_BLOCK = re.compile(r"^```toml\n(.*?)^```", re.MULTILINE | re.DOTALL)
_LOOPBACK = re.compile(r"^https?://(127\.0\.0\.1|localhost|\[::1\])[:/]")


@dataclass(frozen=True)
class Example:
    where: str
    text: str


def _examples() -> list[Example]:
    found = []
    for path in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        source = path.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(source):
            tables = tomllib.loads(match.group(1))
            if "amazon" in tables or "oracle" in tables:
                line = source.count("\n", 0, match.start()) + 1
                found.append(Example(f"{path.relative_to(ROOT)}:{line}", match.group(1)))
    return found


EXAMPLE_BLOCKS = _examples()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def _toml(data: dict[str, dict[str, Any]]) -> str:
    out = []
    for table, values in data.items():
        out.append(f"[{table}]")
        out += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
        out.append("")
    return "\n".join(out)


def _completed(example: Example, sims: Sims, folder: Path) -> dict[str, dict[str, Any]]:
    """The example with the simulators' ports, the missing side from its simulator's
    --print-config, and its mapping files (the shipped examples) where it names them."""
    text = example.text.replace("127.0.0.1:8600", f"127.0.0.1:{sims.amazon_port}")
    text = text.replace("127.0.0.1:8100", f"127.0.0.1:{sims.oracle_port}")
    data: dict[str, dict[str, Any]] = tomllib.loads(text)
    for side, port in (("amazon", sims.amazon_port), ("oracle", sims.oracle_port)):
        if side not in data:
            data[side] = tomllib.loads(printed_config(side, port))[side]
    mappings = data.setdefault("mappings", {})
    for key, shipped in (("charges", "charges.toml"), ("catalog", "catalog.csv")):
        name = mappings.setdefault(key, str(EXAMPLES / shipped))
        if not Path(name).is_absolute():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(EXAMPLES / shipped, folder / name)
    return data


def _on_simulators(data: dict[str, dict[str, Any]], sims: Sims) -> dict[str, dict[str, Any]]:
    """The same configuration with Amazon's and Oracle's hosts replaced by the simulators'."""
    amazon, oracle = dict(data["amazon"]), dict(data["oracle"])
    origin = f"http://127.0.0.1:{sims.amazon_port}"
    if not all(_LOOPBACK.match(url) for url in (amazon.get("base_urls") or {"-": ""}).values()):
        amazon["base_urls"] = {r: f"{origin}/{r.lower()}" for r in amazon["regions"]}
    if not _LOOPBACK.match(amazon.get("lwa_token_url") or ""):
        amazon["lwa_token_url"] = f"{origin}/auth/o2/token"
    if not _LOOPBACK.match(oracle.get("base_url") or ""):
        oracle["base_url"] = oracle["identity_domain_url"] = f"http://127.0.0.1:{sims.oracle_port}"
    return {**data, "amazon": amazon, "oracle": oracle}


def check_example(example: Example, sims: Sims, folder: Path) -> list[str]:
    """What is wrong with a docs example: `connection add` as written, then `connection test`
    on the simulators; [] when both work."""
    data = _completed(example, sims, folder)
    options = ["--lwa-client-secret-env", "DOC_LWA", "--oracle-secret-env", "DOC_ORACLE"]
    for region in data["amazon"].get("regions", []):
        options += ["--refresh-token-env", f"{region}=DOC_TOKEN"]
    written = folder / "as-written.toml"
    written.write_text(_toml(data))
    added = runner.invoke(app, ["connection", "add", "docs", "--config", str(written), *options])
    if added.exit_code != 0:
        return [f"{example.where}: connection add exits {added.exit_code}: {added.output}"]
    simulated = folder / "on-simulators.toml"
    simulated.write_text(_toml(_on_simulators(data, sims)))
    updated = runner.invoke(app, ["connection", "update", "docs", "--config", str(simulated)])
    if updated.exit_code != 0:
        return [f"{example.where}: pointing it at the simulators failed: {updated.output}"]
    tested = runner.invoke(app, ["connection", "test", "docs", "--json"])
    checks = json.loads(tested.stdout)["checks"] if tested.stdout.startswith("{") else []
    problems = [
        f"{example.where}: connection test: {c['system']} {c['check']}: {c['message']}"
        for c in checks
        if c["status"] == "failed"
    ]
    if tested.exit_code != 0 and not problems:
        problems.append(f"{example.where}: connection test exits {tested.exit_code}")
    return problems


@pytest.fixture(scope="module")
def sims() -> Iterator[Sims]:
    with both_simulators(strict_amazon=False) as running:
        yield running


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    for name in ("DOC_LWA", "DOC_ORACLE", "DOC_TOKEN"):
        monkeypatch.setenv(name, f"{name.lower()}-value")
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path / "home"


def test_the_docs_have_configuration_examples() -> None:
    where = {example.where.split(":")[0] for example in EXAMPLE_BLOCKS}
    assert "docs/cli.md" in where
    # The complete example of `connection add`, and the two printed simulator blocks.
    assert len([e for e in EXAMPLE_BLOCKS if e.where.startswith("docs/cli.md")]) >= 3


@pytest.mark.parametrize("example", EXAMPLE_BLOCKS, ids=[e.where for e in EXAMPLE_BLOCKS])
def test_a_docs_configuration_example_works(
    example: Example, sims: Sims, home: Path, tmp_path: Path
) -> None:
    assert check_example(example, sims, tmp_path) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('"ATVPDKIKX0DER"', '"amazon.com"'), "connection add exits 2"),
        (('region = "us2"', 'region = "us-ashburn-1"'), "is an OCI region id"),
        # A scope Oracle's identity domain does not grant: only `connection test` can tell.
        (("urn:opc:resource:consumer::all", "urn:opc:resource:fa:read"), "Oracle login"),
    ],
    ids=["bad-marketplace", "oci-region", "scope-refused"],
)
def test_a_wrong_example_fails_the_check(
    sims: Sims, home: Path, tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    (complete,) = [
        e for e in EXAMPLE_BLOCKS if e.where.startswith("docs/cli.md") and "[mappings]" in e.text
    ]
    old, new = change
    assert old in complete.text
    wrong = Example(complete.where, complete.text.replace(old, new))
    problems = check_example(wrong, sims, tmp_path)
    assert problems, "a wrong example passed"
    assert expected in problems[0]
