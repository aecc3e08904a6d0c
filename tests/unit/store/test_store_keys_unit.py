"""Master keys and the Secret wrapper, without a database."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import pytest

from ml_connector.store import (
    KEY_ENV_VAR,
    InsecureKeyFileError,
    MasterKey,
    MasterKeyError,
    Secret,
    generate_master_key,
    load_master_key,
    write_key_file,
)

VALUE = "Atzr|super-secret-refresh-token"


def test_a_secret_never_shows_itself(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(VALUE)
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r:>40}", repr([secret])]
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("token=%s", secret)
    shown.append(caplog.text)
    assert all(VALUE not in text for text in shown)
    assert secret.reveal() == VALUE


def test_a_secret_cannot_be_pickled_or_hashed() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret(VALUE))
    with pytest.raises(TypeError):
        hash(Secret(VALUE))
    assert Secret(VALUE) == Secret(VALUE)
    assert Secret(VALUE) != Secret("other")


def test_generated_keys_are_distinct_and_parse_back() -> None:
    first, second = generate_master_key(), generate_master_key()
    assert first != second
    key = MasterKey.from_text(first)
    assert key.to_text() == first
    assert key.key_id != MasterKey.from_text(second).key_id
    assert first not in repr(key)
    assert key.key_id in repr(key)


@pytest.mark.parametrize("text", ["not base64 at all!!", "c2hvcnQ="])
def test_malformed_keys_are_refused(text: str) -> None:
    with pytest.raises(MasterKeyError):
        MasterKey.from_text(text)


def test_the_environment_variable_wins(tmp_path: Path) -> None:
    env_key = generate_master_key()
    path = tmp_path / "master.key"
    write_key_file(path, generate_master_key())
    loaded = load_master_key(environ={KEY_ENV_VAR: env_key}, key_file=path)
    assert loaded.to_text() == env_key


def test_a_key_file_is_created_0600_and_loaded(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    text = generate_master_key()
    write_key_file(path, text)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_master_key(environ={}, key_file=path).to_text() == text
    with pytest.raises(FileExistsError):
        write_key_file(path, generate_master_key())  # never overwrite the only copy of a key


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_readable_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    text = generate_master_key()
    write_key_file(path, text)
    path.chmod(0o644)
    with pytest.raises(InsecureKeyFileError, match="chmod 600") as caught:
        load_master_key(environ={}, key_file=path)
    assert text not in str(caught.value)


def test_no_key_anywhere_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match=KEY_ENV_VAR):
        load_master_key(environ={})
    with pytest.raises(MasterKeyError, match="does not exist"):
        load_master_key(environ={}, key_file=tmp_path / "missing.key")
