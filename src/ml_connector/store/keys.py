"""Master keys and the ``Secret`` wrapper: where the store's encryption key comes from.

The key never lives in the database it protects. It comes from ``ML_CONNECTOR_MASTER_KEY`` or
from a key file that only its owner can read (mode 0600, like an SSH private key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from ml_connector.input_files import KEY_FILE, InputFileError, read_bytes, shown
from ml_connector.store.errors import InsecureKeyFileError, MasterKeyError

__all__ = [
    "KEY_ENV_VAR",
    "MasterKey",
    "Secret",
    "generate_master_key",
    "load_master_key",
    "write_key_file",
]

KEY_ENV_VAR = "ML_CONNECTOR_MASTER_KEY"
KEY_BYTES = 32
_MASK = "Secret('**********')"


class Secret:
    """A credential that shows itself only when asked by name: ``reveal()``.

    ``repr``, ``str``, f-strings and pickling never expose the value, so a secret that ends up
    in a log line, a traceback or an exception message shows as a mask.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return _MASK

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")


class MasterKey:
    """A 256-bit AES key; ``key_id`` is a fingerprint safe to store and to print."""

    __slots__ = ("_raw", "key_id")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise MasterKeyError(f"a master key is {KEY_BYTES} bytes; this one has {len(raw)}")
        self._raw = raw
        digest = hashlib.sha256(b"ml-connector master key id\x00" + raw).hexdigest()
        self.key_id = "k-" + digest[:16]

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        """Parse the URL-safe base64 form that ``generate_master_key`` prints."""
        cleaned = text.strip()
        try:
            raw = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
        except (binascii.Error, ValueError):
            raise MasterKeyError("the master key is not URL-safe base64") from None
        return cls(raw)

    def to_text(self) -> str:
        return base64.urlsafe_b64encode(self._raw).decode("ascii")

    @property
    def raw(self) -> bytes:
        return self._raw

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"

    __str__ = __repr__


def generate_master_key() -> str:
    """A fresh random key in the text form the environment variable and key file hold."""
    return MasterKey(os.urandom(KEY_BYTES)).to_text()


def write_key_file(path: Path, key_text: str) -> None:
    """Create a key file that is 0600 from its first byte (never world-readable, even briefly)."""
    MasterKey.from_text(key_text)  # refuse to write something unusable
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key_text.strip() + "\n")


def load_master_key(
    *, environ: Mapping[str, str] | None = None, key_file: Path | None = None
) -> MasterKey:
    """The master key from the environment variable, else from ``key_file``.

    A key file readable by group or others is refused: anyone who can read it can read every
    credential in the database.
    """
    env = os.environ if environ is None else environ
    from_env = env.get(KEY_ENV_VAR, "").strip()
    if from_env:
        try:
            return MasterKey.from_text(from_env)
        except MasterKeyError as exc:  # say where the bad key came from, as for a key file
            raise MasterKeyError(f"{KEY_ENV_VAR}: {exc}") from None
    if key_file is None:
        raise MasterKeyError(
            f"no master key: set {KEY_ENV_VAR} or create a key file "
            "(`ml-connector init` writes one with mode 0600)"
        )
    shown_path = shown(key_file)
    try:
        mode = key_file.stat().st_mode
    except FileNotFoundError:
        raise MasterKeyError(
            f"no master key: {KEY_ENV_VAR} is unset and the key file {shown_path} does not exist"
        ) from None
    except (OSError, ValueError) as exc:  # a NUL in the path, a path too long, no permission
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise MasterKeyError(f"key file {shown_path}: cannot read: {reason}") from None
    if stat.S_ISREG(mode) and os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InsecureKeyFileError(
            f"key file {shown_path} has mode {stat.S_IMODE(mode):04o}; other users could read "
            f"it. Run `chmod 600 {shown_path}` and try again"
        )
    try:
        data = read_bytes(key_file, KEY_FILE)  # a regular file of at most 4 KiB
    except InputFileError as exc:
        raise MasterKeyError(f"key file {exc}") from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise MasterKeyError(
            f"key file {shown_path}: not a master key (it holds non-ASCII bytes; a key is the "
            "URL-safe base64 text `ml-connector key generate` prints)"
        ) from None
    try:
        return MasterKey.from_text(text)
    except MasterKeyError as exc:
        raise MasterKeyError(f"key file {shown_path}: {exc}") from None
