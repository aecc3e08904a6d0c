"""Where `connection add` gets credentials: environment variables, files, or a hidden prompt.

Never a command-line value: arguments end up in shell history and in `ps` for every user of the
machine. Messages name the variable or file that was wrong, never what it contained.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from ml_connector.errors import ConfigError
from ml_connector.input_files import PRIVATE_KEY_FILE, InputFileError, read_text
from ml_connector.store import (
    LWA_CLIENT_SECRET,
    ORACLE_CLIENT_SECRET,
    ORACLE_PRIVATE_KEY,
    ConnectionConfig,
    refresh_token_name,
)


def interactive() -> bool:
    """Prompt only when a person is at the keyboard; schedulers must fail, not hang."""
    return sys.stdin.isatty()


def parse_region_vars(pairs: list[str]) -> dict[str, str]:
    """``["NA=AMZ_NA_TOKEN", ...]`` → ``{"NA": "AMZ_NA_TOKEN"}``."""
    result: dict[str, str] = {}
    for pair in pairs:
        region, sep, var = pair.partition("=")
        region = region.strip().upper()
        if not sep or not region or not var.strip():
            raise ConfigError(
                f"--refresh-token-env {pair!r}: write REGION=VARIABLE, e.g. NA=AMAZON_NA_TOKEN"
            )
        result[region] = var.strip()
    return result


def _from_env(option: str, var: str) -> str:
    value = os.environ.get(var, "").strip()
    if not value:
        raise ConfigError(f"{option}: environment variable {var} is not set or is empty")
    return value


def _obtain(option: str, var: str | None, prompt: str) -> str:
    if var is not None:
        return _from_env(option, var)
    if not interactive():
        raise ConfigError(f"missing {prompt}: give {option} (not interactive, so no prompt)")
    value = str(typer.prompt(prompt, hide_input=True)).strip()
    if not value:
        raise ConfigError(f"{prompt} is empty")
    return value


def _read_private_key(path: Path) -> str:
    try:  # a regular UTF-8 file of at most 64 KiB (never /dev/zero or a FIFO)
        pem = read_text(path, PRIVATE_KEY_FILE)
    except InputFileError as exc:
        raise ConfigError(f"--oracle-private-key-file {exc}") from None
    if "PRIVATE KEY" not in pem:
        raise ConfigError(f"--oracle-private-key-file {path}: not a PEM private key")
    return pem


def gather_secrets(
    config: ConnectionConfig,
    *,
    lwa_client_secret_env: str | None,
    refresh_token_envs: list[str],
    oracle_secret_env: str | None,
    oracle_private_key_file: Path | None,
) -> dict[str, str]:
    """Every credential the configuration needs, keyed by its stored name."""
    region_vars = parse_region_vars(refresh_token_envs)
    unknown = sorted(set(region_vars) - set(config.amazon.regions))
    if unknown:
        raise ConfigError(
            f"--refresh-token-env names region(s) {', '.join(unknown)} that amazon.regions "
            f"({', '.join(config.amazon.regions)}) does not list"
        )
    secrets = {
        LWA_CLIENT_SECRET: _obtain(
            "--lwa-client-secret-env", lwa_client_secret_env, "LWA client secret"
        )
    }
    for region in config.amazon.regions:
        secrets[refresh_token_name(region)] = _obtain(
            f"--refresh-token-env {region}=VAR",
            region_vars.get(region),
            f"Amazon refresh token for region {region}",
        )
    label = "Oracle password" if config.oracle.auth == "basic" else "Oracle client secret"
    secrets[ORACLE_CLIENT_SECRET] = _obtain("--oracle-secret-env", oracle_secret_env, label)
    if config.oracle.auth == "jwt_assertion":
        if oracle_private_key_file is None:
            raise ConfigError(
                "oracle.auth is jwt_assertion: give --oracle-private-key-file PEM_FILE"
            )
        secrets[ORACLE_PRIVATE_KEY] = _read_private_key(oracle_private_key_file)
    elif oracle_private_key_file is not None:
        raise ConfigError(
            "--oracle-private-key-file is only used when oracle.auth is jwt_assertion"
        )
    return secrets


ASK_CHOICES = "lwa, oracle or a region (NA, EU, FE)"


def gather_chosen_secrets(
    config: ConnectionConfig,
    *,
    lwa_client_secret_env: str | None,
    refresh_token_envs: list[str],
    oracle_secret_env: str | None,
    oracle_private_key_file: Path | None,
    ask: list[str],
) -> dict[str, str]:
    """Only the credentials named (for `connection set-secret`), keyed by their stored name.

    ``ask`` names credentials to prompt for with hidden input: ``lwa``, ``oracle`` or a region.
    """
    region_vars = parse_region_vars(refresh_token_envs)
    asked = {word.strip().upper() for word in ask if word.strip()}
    unknown_words = sorted(asked - {"LWA", "ORACLE", "NA", "EU", "FE"})
    if unknown_words:
        raise ConfigError(f"--ask {', '.join(unknown_words)}: name {ASK_CHOICES}")
    regions = set(region_vars) | (asked & {"NA", "EU", "FE"})
    unlisted = sorted(regions - set(config.amazon.regions))
    if unlisted:
        raise ConfigError(
            f"region(s) {', '.join(unlisted)} are not in amazon.regions "
            f"({', '.join(config.amazon.regions)}): add the region with `connection update` first"
        )
    if asked and not interactive():
        raise ConfigError(
            "--ask prompts for the value, but this is not a terminal: use the -env options"
        )
    secrets: dict[str, str] = {}
    if lwa_client_secret_env is not None or "LWA" in asked:
        secrets[LWA_CLIENT_SECRET] = _obtain(
            "--lwa-client-secret-env", lwa_client_secret_env, "LWA client secret"
        )
    for region in sorted(regions):
        secrets[refresh_token_name(region)] = _obtain(
            f"--refresh-token-env {region}=VAR",
            region_vars.get(region),
            f"Amazon refresh token for region {region}",
        )
    if oracle_secret_env is not None or "ORACLE" in asked:
        label = "Oracle password" if config.oracle.auth == "basic" else "Oracle client secret"
        secrets[ORACLE_CLIENT_SECRET] = _obtain("--oracle-secret-env", oracle_secret_env, label)
    if oracle_private_key_file is not None:
        if config.oracle.auth != "jwt_assertion":
            raise ConfigError(
                "--oracle-private-key-file is only used when oracle.auth is jwt_assertion"
            )
        secrets[ORACLE_PRIVATE_KEY] = _read_private_key(oracle_private_key_file)
    if not secrets:
        raise ConfigError(
            "name the credential(s) to replace: --lwa-client-secret-env VAR, --refresh-token-env "
            "REGION=VAR, --oracle-secret-env VAR, --oracle-private-key-file PEM, or --ask "
            f"({ASK_CHOICES}) for a hidden prompt"
        )
    return secrets


def needed_secret_names(config: ConnectionConfig) -> list[str]:
    """The stored names a configuration needs to sync."""
    names = [LWA_CLIENT_SECRET, *(refresh_token_name(r) for r in config.amazon.regions)]
    names.append(ORACLE_CLIENT_SECRET)
    if config.oracle.auth == "jwt_assertion":
        names.append(ORACLE_PRIVATE_KEY)
    return names
