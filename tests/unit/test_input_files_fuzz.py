"""Mutated input files through the loaders the CLI uses: one line, exit code 2, no traceback.

Issue 9, scope 3. Each file kind the product reads (catalog CSV, charge mapping TOML/YAML,
connection config TOML, Amazon scenario JSON, master key file) starts from a valid file and is
mutated by hypothesis (bytes inserted, replaced, deleted; a value swapped for a hostile one:
non-UTF-8, NUL, BOM, deep nesting, a backtracking regex, a formula cell, a YAML alias, a huge
number, a path to /dev/zero ...), then handed to the command that reads it, in process:
- ``connection add --config`` reads the config, the charge mapping and the catalog;
- ``key rotate --new-key-file`` reads a key file;
- ``sim amazon --scenario ... --exit-after-write`` reads a scenario.

Every example must end with exit code 0 or 2 and no traceback; a refusal is one line on stderr
naming the file. The database folder deliberately does not exist, so a file the loaders accept
ends as exit 2 "the database folder ... does not exist" (counted as accepted).

Counts: ``ML_CONNECTOR_FUZZ_EXAMPLES`` examples per kind (1,000 by default, as in CI); raise it
locally to search longer. Examples are derandomized, so a run is repeatable.
"""

from __future__ import annotations

import os
import random
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
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

from ml_connector.store.keys import generate_master_key

EXAMPLES_PER_KIND = int(os.environ.get("ML_CONNECTOR_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(
    max_examples=EXAMPLES_PER_KIND,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
# Hostile fragments, as bytes: each one broke a loader (or could) before issue 9.
TOKENS: tuple[bytes, ...] = (
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\xef\xbb\xbf",
    "\u2028".encode(),
    "Ä".encode(),
    b"\t",
    b"\r",
    b"\n",
    b'"',
    b",",
    b"'",
    b'=HYPERLINK("http://x.invalid")',
    b"+1+1",
    b"-2+3",
    b"@SUM(A1)",
    b"\t=1",
    b"^(\\d+)+$",
    b"^(\\\\d+)+$",
    b"(a",
    b"(?=x)",
    b"(a)\\\\1",
    b"[" * 300,
    b"{a=" * 200,
    b"- " * 200,
    b"\\ud800",
    b"\\u0000",
    b"1" * 5000,
    b"1e999",
    b"nan",
    b"~nobody-here/x.csv",
    b"/dev/zero",
    b"/tmp",
    b"&a [*a, *a, *a, *a, *a, *a, *a, *a]",
    b"!!python/object/apply:os.system ['true']",
    b"!!binary x",
    b"!!timestamp 2024-13-45",
    b"? [a, b]",
    b"[[charges]]",
    b"[chart]",
    b"*",
    b"a/ /b",
    b"true",
    b"[]",
    b"{}",
    b"null",
    b"-1",
    b"0",
    b"1" * 40,
    b"9" * 20,
)


def mutate(base: bytes, separator: bytes, seed: int) -> bytes:
    """`base` after one to four edits chosen by `seed`; a `value` edit replaces what follows
    `separator` on a line (a TOML/YAML/JSON value, a CSV cell), which gets past the syntax to
    the checks. (Edits come from one drawn seed: drawing each edit through hypothesis cost
    three times the loader's own time on this machine.)"""
    rng = random.Random(seed)
    data = bytearray(base)
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(("value", "value", "insert", "replace", "delete", "cut"))
        token = rng.choice(TOKENS) if rng.random() < 0.8 else rng.randbytes(rng.randint(1, 6))
        if op == "value":
            lines = bytes(data).split(b"\n")
            index = rng.randrange(len(lines))
            line = lines[index]
            cut = line.find(separator)
            quote = rng.choice((b"", b'"'))
            if cut >= 0:
                lines[index] = line[: cut + len(separator)] + quote + token + quote
            else:
                lines[index] = token + line
            data = bytearray(b"\n".join(lines))
            continue
        at = rng.randint(0, len(data))
        if op == "insert":
            data[at:at] = token
        elif op == "replace":
            data[at : at + len(token)] = token
        elif op == "delete":
            del data[at : at + rng.randint(1, 40)]
        else:
            del data[at:]
    return bytes(data)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return prepare(tmp_path, monkeypatch)


def _fuzz(
    base: bytes,
    separator: bytes,
    run: Callable[[bytes], Outcome],
    *,
    names: tuple[str, ...] = (),
) -> Counter[str]:
    def one(seed: int) -> Outcome:
        data = mutate(base, separator, seed)
        note(f"file content: {data!r}")
        return run(data)

    return _fuzz_seeds(one, names=names)


def _fuzz_seeds(run: Callable[[int], Outcome], *, names: tuple[str, ...] = ()) -> Counter[str]:
    seen: Counter[str] = Counter()

    @FUZZ
    @given(seed=st.integers(0, 2**64 - 1))
    def example(seed: int) -> None:
        started = time.perf_counter()
        outcome = run(seed)
        seen["ms in the loaders' command"] += int((time.perf_counter() - started) * 1000)
        seen[outcome.check(names=names)] += 1

    started = time.perf_counter()
    example()
    seen["seconds"] = round(time.perf_counter() - started)
    print(f"\n{dict(seen)}")
    # Enough examples ran, and (in a full run) the mutations reach both outcomes, so the checks
    # above are exercised on files the loaders accept as well as on files they refuse.
    assert seen["accepted"] + seen["refused"] >= EXAMPLES_PER_KIND
    assert seen["refused"] > 0
    if EXAMPLES_PER_KIND >= 500:
        assert seen["accepted"] > 0
    return seen


def test_mutated_catalogs(env: Path) -> None:
    catalog = env / "catalog.csv"
    config = env / "acme.toml"
    config.write_text(config_text(charges=EXAMPLES / "charges.toml", catalog=catalog))

    def run(data: bytes) -> Outcome:
        catalog.write_bytes(data)
        return Outcome(add_connection(config), catalog)

    _fuzz((EXAMPLES / "catalog.csv").read_bytes(), b",", run)


def test_mutated_charge_mappings(env: Path) -> None:
    """One file kind, two formats: odd seeds mutate the YAML form, even seeds the TOML file."""
    toml_text = (EXAMPLES / "charges.toml").read_bytes()
    yaml_text = yaml.safe_dump(tomllib.loads(toml_text.decode()), allow_unicode=True).encode()
    files = {suffix: env / f"charges{suffix}" for suffix in (".toml", ".yaml")}
    for suffix, path in files.items():
        config = env / f"acme{suffix}.toml"
        config.write_text(config_text(charges=path, catalog=EXAMPLES / "catalog.csv"))

    def run(seed: int) -> Outcome:
        suffix = ".yaml" if seed % 2 else ".toml"
        base, separator = (yaml_text, b": ") if suffix == ".yaml" else (toml_text, b"=")
        data = mutate(base, separator, seed)
        note(f"{suffix} content: {data!r}")
        files[suffix].write_bytes(data)
        return Outcome(add_connection(env / f"acme{suffix}.toml"), files[suffix])

    _fuzz_seeds(run)


def test_mutated_connection_configs(env: Path) -> None:
    config = env / "acme.toml"
    base = config_text(charges=EXAMPLES / "charges.toml", catalog=EXAMPLES / "catalog.csv")

    def run(data: bytes) -> Outcome:
        config.write_bytes(data)
        return Outcome(add_connection(config), config)

    # A mutated [mappings] path may point at another file: then that file is the one named;
    # an [oracle] name the charge mapping's [journal] disagrees with names the mapping file.
    names = ("mapping files refused", "mappings.", "but the connection's Oracle")
    _fuzz(base.encode(), b"= ", run, names=names)


def test_mutated_scenarios(env: Path) -> None:
    scenario = env / "seller.json"

    def run(data: bytes) -> Outcome:
        scenario.write_bytes(data)
        return Outcome(serve_scenario(scenario), scenario)

    _fuzz(small_scenario(env), b": ", run)


def test_mutated_key_files(env: Path) -> None:
    key_file = env / "new.key"

    def run(data: bytes) -> Outcome:
        key_file.write_bytes(data)
        key_file.chmod(0o600)
        return Outcome(rotate_to(key_file), key_file)

    _fuzz((generate_master_key() + "\n").encode(), b"-", run)
