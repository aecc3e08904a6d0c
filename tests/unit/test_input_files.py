"""Every file the product reads is refused in one line naming its path (issue 9, scope 3).

The cases the mutation test (test_input_files_fuzz.py) cannot produce from small files: a
device, a FIFO, a folder, a 1 GB file, a 2 MB cell, a catastrophic regex; plus the catalog
cache (parsed once per content and chart).
"""

from __future__ import annotations

import os
import re
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from input_file_support import (
    EXAMPLES,
    Outcome,
    add_connection,
    config_text,
    prepare,
    rotate_to,
    serve_scenario,
    small_scenario,
)
from typer.testing import Result

from ml_connector.flow.mapping import (
    MappingError,
    load_catalog,
    load_mapping,
    parse_catalog,
    parse_mapping,
)
from ml_connector.flow.mapping.catalog import parsed_catalogs
from ml_connector.flow.mapping.chart import Chart
from ml_connector.input_files import CATALOG as CATALOG_KIND
from ml_connector.input_files import (
    InputFileError,
    check_tree,
    parse_toml,
    parse_yaml,
    read_text,
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return prepare(tmp_path, monkeypatch)


def _example_mapping() -> dict[str, Any]:
    return tomllib.loads((EXAMPLES / "charges.toml").read_text(encoding="utf-8"))


# How each kind's file reaches the command that reads it: (write a config if needed, run).
def _as_catalog(env: Path, target: Path) -> Result:
    config = env / "acme.toml"
    config.write_text(config_text(charges=EXAMPLES / "charges.toml", catalog=target))
    return add_connection(config)


def _as_charges(env: Path, target: Path) -> Result:
    config = env / "acme.toml"
    config.write_text(config_text(charges=target, catalog=EXAMPLES / "catalog.csv"))
    return add_connection(config)


def _as_config(env: Path, target: Path) -> Result:
    return add_connection(target)


KINDS: dict[str, tuple[str, Callable[[Path, Path], Result]]] = {
    "catalog": (".csv", _as_catalog),
    "charge mapping (TOML)": (".toml", _as_charges),
    "charge mapping (YAML)": (".yaml", _as_charges),
    "connection config": (".toml", _as_config),
    "key file": (".key", lambda _env, target: rotate_to(target)),
    "scenario": (".json", lambda _env, target: serve_scenario(target)),
}


def _refused(result: Result, path: Path | str, *, within: float, started: float) -> str:
    elapsed = time.perf_counter() - started
    assert Outcome(result, Path(path)).check() == "refused", result.output
    assert result.exit_code == 2
    assert elapsed < within, f"took {elapsed:.2f} s"
    return str(result.stderr.strip())


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_dev_zero_fifo_and_folder_are_refused_at_once(env: Path, kind: str) -> None:
    suffix, run = KINDS[kind]
    fifo = env / f"pipe{suffix}"
    os.mkfifo(fifo)
    folder = env / f"folder{suffix}"
    folder.mkdir()
    zero = env / f"zero{suffix}"
    zero.symlink_to("/dev/zero")
    cases = [(zero, "a character device"), (fifo, "a FIFO"), (folder, "a directory")]
    if not kind.startswith("charge mapping"):  # those need a .toml/.yaml name
        cases.append((Path("/dev/zero"), "a character device"))
    for target, what in cases:
        started = time.perf_counter()
        line = _refused(run(env, target), target, within=1.0, started=started)
        assert what in line or "a device" in line, line
        assert "not a regular file" in line


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_one_gigabyte_file_is_refused_in_under_a_second(env: Path, kind: str) -> None:
    suffix, run = KINDS[kind]
    big = env / f"big{suffix}"
    with big.open("wb") as handle:  # sparse: the size is real, the disk blocks are not
        handle.truncate(1024**3)
    big.chmod(0o600)
    started = time.perf_counter()
    line = _refused(run(env, big), big, within=1.0, started=started)
    assert "1,073,741,824 bytes" in line
    assert "at most" in line


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_non_utf8_text_is_a_clear_message(env: Path, kind: str) -> None:
    suffix, run = KINDS[kind]
    target = env / f"latin1{suffix}"
    target.write_bytes("# caf\u00e9\n".encode("latin-1"))
    target.chmod(0o600)
    line = _refused(run(env, target), target, within=5.0, started=time.perf_counter())
    assert "UnicodeDecodeError" not in line
    if kind == "key file":
        assert "non-ASCII" in line
    else:
        assert "not UTF-8" in line
        assert "line 1" in line


@pytest.mark.parametrize("kind", ["catalog", "charge mapping (TOML)", "connection config"])
def test_a_nul_in_a_mapping_path_names_the_setting(env: Path, kind: str) -> None:
    config = env / "acme.toml"
    text = config_text(charges=EXAMPLES / "charges.toml", catalog=EXAMPLES / "catalog.csv")
    setting = "catalog" if kind == "catalog" else "charges"
    text = text.replace(f'{setting} = "', f'{setting} = "\\u0000', 1)
    config.write_text(text)
    line = _refused(add_connection(config), config, within=5.0, started=time.perf_counter())
    assert f"mappings.{setting}: the path contains a NUL character" in line


def test_a_two_megabyte_cell_is_refused_with_its_line(env: Path) -> None:
    catalog = env / "catalog.csv"
    text = (EXAMPLES / "catalog.csv").read_text(encoding="utf-8")
    catalog.write_text(text + "BIG," + "4" * (2 * 1024 * 1024) + ",10\n", encoding="utf-8")
    line = _refused(_as_catalog(env, catalog), catalog, within=5.0, started=time.perf_counter())
    rows = len(text.splitlines()) + 1
    assert f"catalog.csv:{rows}: a cell is longer than" in line


def test_a_long_cell_names_its_column(env: Path) -> None:
    catalog = env / "catalog.csv"
    catalog.write_text(
        "sku,revenue_account,cost_center,category\nA,40100,10," + "k" * 1001 + "\n",
        encoding="utf-8",
    )
    line = _refused(_as_catalog(env, catalog), catalog, within=5.0, started=time.perf_counter())
    assert "catalog.csv:2: column 'category': 1,001 characters (a cell holds at most 1,000)" in line


@pytest.mark.parametrize(
    ("cell", "first"),
    [
        ('"=HYPERLINK(""http://x.invalid"",""pay"")"', "'='"),
        ("+1+1", "'+'"),
        ("-2+3", "'-'"),
        ("@SUM(A1)", "'@'"),
        ('"\t=1"', "'\\t'"),
        ('"\r=1"', "'\\r'"),
        ("  =1", "'='"),
    ],
)
def test_formula_cells_are_refused_with_line_and_column(env: Path, cell: str, first: str) -> None:
    catalog = env / "catalog.csv"
    catalog.write_text(
        f"sku,revenue_account,cost_center,category\nMUG-01,40100,10,kitchen\nX,40100,10,{cell}\n",
        encoding="utf-8",
    )
    line = _refused(_as_catalog(env, catalog), catalog, within=5.0, started=time.perf_counter())
    assert f"catalog.csv:3: column 'category': starts with {first}" in line
    assert "formula" in line


def test_control_and_bidi_characters_in_a_cell_are_refused(env: Path) -> None:
    catalog = env / "catalog.csv"
    catalog.write_text(
        'sku,revenue_account,cost_center\n"MUG\u202e-01",40100,10\n"A\nB",40100,10\n',
        encoding="utf-8",
    )
    line = _refused(_as_catalog(env, catalog), catalog, within=5.0, started=time.perf_counter())
    assert "catalog.csv:2: column 'sku': holds the control or layout character U+202E" in line
    assert "U+000A (an unclosed quote?)" in line


def _with_rule(rule: str, where: str = "account") -> dict[str, Any]:
    data = _example_mapping()
    if where == "balance_sheet_accounts":
        data["chart"]["balance_sheet_accounts"] = rule
    else:
        data["chart"]["segments"][where] = rule
    return data


def test_a_catastrophic_segment_rule_runs_in_linear_time() -> None:
    rule = r"^(\d+)+$"
    mapping = parse_mapping(_with_rule(rule), "charges.toml")
    chart = mapping.chart
    # Python's backtracking engine: each extra digit doubles the time (0.66 s at 23 in issue 9).
    backtracking = re.compile(rule)
    started = time.perf_counter()
    backtracking.search("1" * 16 + "x")
    python_16 = time.perf_counter() - started
    for size in (23, 1_000, 100_000):
        started = time.perf_counter()
        assert chart.problem("account", "1" * size + "x") is not None
        assert time.perf_counter() - started < 0.05, size
    assert chart.problem("account", "12345") is None
    assert python_16 > 0  # measured for the comparison printed below
    print(f"\nPython re, 17 chars: {python_16 * 1000:.1f} ms; RE2, 100,001 chars: < 50 ms")


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("(a", "missing )"),
        (r"^(\d)\1$", "back-references"),
        (r"^(?=\d)\d{5}$", "look-around"),
        ("x" * 501, "at most 500"),
    ],
)
@pytest.mark.parametrize("where", ["account", "balance_sheet_accounts"])
def test_invalid_or_backtracking_only_rules_are_refused_by_name(
    rule: str, reason: str, where: str
) -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping(_with_rule(rule, where), "charges.toml")
    text = str(caught.value)
    label = "segments.account" if where == "account" else "balance_sheet_accounts"
    assert text.startswith(f"charges.toml: chart: {label}: ")
    assert reason in text
    assert "\n" not in text


def test_deep_nesting_is_refused_in_every_format(tmp_path: Path) -> None:
    depth = 40
    cases = {
        "deep.toml": "a = " + "[" * depth + "]" * depth + "\n",
        "deeper.toml": "a = " + "[" * 5000 + "]" * 5000 + "\n",
        "deep.yaml": "a: " + "[" * depth + "]" * depth + "\n",
        "deeper.yaml": "- " * 3000 + "x\n",
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(MappingError) as caught:
            load_mapping(path)
        assert "nested deeper than 32 levels" in str(caught.value), name
        assert str(path) in str(caught.value)


def test_a_yaml_alias_bomb_stops_in_bounded_time(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(MappingError, match="more than 200,000 values"):
        load_mapping(path)
    assert time.perf_counter() - started < 5


def test_scenario_nesting_and_shape(env: Path) -> None:
    deep = env / "deep.json"
    deep.write_text('{"a": ' + "[" * 40 + "]" * 40 + "}", encoding="utf-8")
    line = _refused(serve_scenario(deep), deep, within=5.0, started=time.perf_counter())
    assert "nested deeper than 32 levels" in line
    good = env / "seller.json"
    good.write_bytes(small_scenario(env))
    assert serve_scenario(good).exit_code == 0


def test_guards_read_a_normal_file_and_count_bytes(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_bytes(b"\xef\xbb\xbfsku\n")
    assert read_text(path, CATALOG_KIND) == "sku\n"
    path.write_bytes(b"a\nbc\x00")
    with pytest.raises(InputFileError, match="contains a NUL character at line 2, column 3"):
        read_text(path, CATALOG_KIND)
    path.write_bytes("sku".encode("utf-16"))
    with pytest.raises(InputFileError, match="UTF-16"):
        read_text(path, CATALOG_KIND)
    with pytest.raises(InputFileError, match="invalid TOML"):
        parse_toml("a = " + "1" * 5000, path)
    with pytest.raises(InputFileError, match="invalid YAML"):
        parse_yaml("a: !!timestamp 2024-13-45x", path)
    with pytest.raises(InputFileError, match="lone surrogate"):
        check_tree({"a": ["\ud800"]}, path)


def _chart(account_rule: str = r"^\d{5}$") -> Chart:
    return parse_mapping(_with_rule(account_rule), "charges.toml").chart


def test_the_catalog_is_parsed_once_per_content_and_chart(tmp_path: Path) -> None:
    parsed_catalogs.clear()
    catalog = tmp_path / "catalog.csv"
    catalog.write_bytes((EXAMPLES / "catalog.csv").read_bytes())
    chart = _chart()
    first = load_catalog(catalog, chart)
    assert load_catalog(catalog, chart) is first
    assert load_catalog(catalog, _chart()) is first  # an equal chart, parsed again from its file
    assert parsed_catalogs.parses == 1
    # Another chart may refuse what this one accepted: parsed again.
    assert load_catalog(catalog, _chart(r"^\d{5,6}$")) is not first
    assert parsed_catalogs.parses == 2
    # A change to the file: parsed again; a refused file is never served from the cache.
    catalog.write_bytes(catalog.read_bytes() + b"NEW-1,40100,10\n")
    assert "NEW-1" in load_catalog(catalog, chart)
    catalog.write_bytes(catalog.read_bytes() + b"NEW-2,4O100,10\n")
    with pytest.raises(MappingError, match="4O100"):
        load_catalog(catalog, chart)
    with pytest.raises(MappingError, match="4O100"):
        load_catalog(catalog, chart)
    assert parsed_catalogs.parses == 3


def test_a_yaml_example_mapping_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "charges.yml"
    path.write_text(yaml.safe_dump(_example_mapping()), encoding="utf-8")
    assert load_mapping(path).named("cash_in_transit").values == ("101", "00", "10500")


def test_a_stray_carriage_return_is_named_not_a_csv_module_hint() -> None:
    chart = _chart()
    with pytest.raises(MappingError) as caught:
        parse_catalog("sku,revenue_account,cost_center\nA\rB,40100,10\n", "c.csv", chart)
    assert caught.value.problems == [
        "c.csv:2: a carriage return inside a cell (save the file with ordinary line ends)"
    ]
    assert len(parse_catalog("sku,revenue_account,cost_center\r\nA,40100,10\r\n", "c", chart)) == 1


def test_sync_refuses_a_catalog_swapped_for_a_fifo_after_connection_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from input_file_support import runner

    from ml_connector.run.cli import app

    prepare(tmp_path, monkeypatch)
    monkeypatch.delenv("ML_CONNECTOR_MASTER_KEY")
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    for name, value in {"T_LWA": "lwa-s", "T_NA": "Atzr|na-t", "T_ORA": "ora-s"}.items():
        monkeypatch.setenv(name, value)
    assert runner.invoke(app, ["init"]).exit_code == 0
    catalog = tmp_path / "catalog.csv"
    catalog.write_bytes((EXAMPLES / "catalog.csv").read_bytes())
    config = tmp_path / "acme.toml"
    config.write_text(config_text(charges=EXAMPLES / "charges.toml", catalog=catalog))
    secrets = ["--lwa-client-secret-env", "T_LWA", "--refresh-token-env", "NA=T_NA"]
    secrets += ["--oracle-secret-env", "T_ORA"]
    added = runner.invoke(app, ["connection", "add", "acme", "--config", str(config), *secrets])
    assert added.exit_code == 0, added.output
    catalog.unlink()
    os.mkfifo(catalog)
    started = time.perf_counter()
    line = _refused(runner.invoke(app, ["sync", "acme"]), catalog, within=5.0, started=started)
    assert "a FIFO (named pipe), not a regular file" in line


def test_a_broken_export_lists_the_first_fifty_problems_and_stops() -> None:
    text = "sku,revenue_account,cost_center\n" + "A,4O100,10\n" * 200_000
    started = time.perf_counter()
    with pytest.raises(MappingError) as caught:
        parse_catalog(text, "c.csv", _chart())
    assert time.perf_counter() - started < 2
    assert len(caught.value.problems) == 51
    assert caught.value.problems[0].startswith("c.csv:2: column 'revenue_account': '4O100'")
    assert caught.value.problems[-1] == "c.csv: more problems not listed (fix these first)"
