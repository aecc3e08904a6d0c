"""Reading the files a person hands the product: refused in one line, never a traceback.

Every file ml-connector reads (the catalog CSV, the charge mapping, a connection's TOML, the
master key file) goes through `read_text` first. It refuses, naming the path:
- a path holding a NUL character;
- anything that is not a regular file: a directory, a FIFO, a device such as ``/dev/zero``
  (checked before a single byte is read, and again on the opened descriptor);
- a file over its kind's size limit (`FileKind.max_bytes`, documented in docs/operations.md),
  checked from the file's size and again while reading, so a growing file cannot slip past;
- bytes that are not UTF-8, and NUL characters, with the line and column.

`parse_toml` and `parse_yaml` then turn syntax errors, numbers Python refuses to read and
nesting deep enough to exhaust the parser's recursion into the same one-line refusal, and
`check_tree` bounds what a parsed document may hold (depth, and the number of values a YAML alias
may expand to). Each loader wraps `InputFileError` in its own error class.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CATALOG",
    "CHARGE_MAPPING",
    "CONNECTION_CONFIG",
    "KEY_FILE",
    "MAX_DEPTH",
    "MAX_VALUES",
    "PRIVATE_KEY_FILE",
    "FileKind",
    "InputFileError",
    "check_tree",
    "decode_text",
    "parse_toml",
    "parse_yaml",
    "read_bytes",
    "read_text",
    "shown",
]

MiB = 1024 * 1024
# Nesting a mapping or configuration file may use: the real ones nest three or four levels.
MAX_DEPTH = 32
# Values (scalars and containers) a parsed document may hold, aliases counted once per use.
MAX_VALUES = 200_000
_CHUNK = 1024 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class FileKind:
    """What a file is called in messages and how large it may be."""

    name: str
    max_bytes: int


CATALOG = FileKind("catalog", 64 * MiB)
CHARGE_MAPPING = FileKind("charge mapping", 1 * MiB)
CONNECTION_CONFIG = FileKind("connection config", 1 * MiB)
KEY_FILE = FileKind("key file", 4096)
PRIVATE_KEY_FILE = FileKind("private key", 64 * 1024)


class InputFileError(ValueError):
    """A file refused before (or while) it was parsed; ``str()`` is ``<path>: <reason>``."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{shown(path)}: {reason}")


def shown(value: Path | str) -> str:
    """A path (or any text) fit for one line of a terminal: control characters, lone surrogates
    (undecodable bytes in a file name) and other unprintables escaped."""
    text = str(value)
    if text.isprintable():
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    escaped = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return escaped.encode("utf-8", "backslashreplace").decode("utf-8")


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(n: int) -> str:
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n:,} bytes"


def _too_large(kind: FileKind, size: int | None) -> str:
    what = f"is {size:,} bytes" if size is not None else "is larger than that"
    return (
        f"{what}; a {kind.name} file may be at most {kind.max_bytes:,} bytes "
        f"({_size(kind.max_bytes)})"
    )


def read_bytes(path: Path | str, kind: FileKind) -> bytes:
    """The bytes of a regular file of at most ``kind.max_bytes``; InputFileError otherwise."""
    name = os.fspath(path)
    if "\0" in name:
        raise InputFileError(path, "the path contains a NUL character")
    if not name:
        raise InputFileError(path, "the path is empty")
    try:
        before = os.stat(name)
    except OSError as exc:
        raise InputFileError(path, f"cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. a path the OS cannot represent
        raise InputFileError(path, f"cannot read: {exc}") from None
    if not stat.S_ISREG(before.st_mode):
        raise InputFileError(path, f"{_kind_of(before.st_mode)}, not a regular file")
    if before.st_size > kind.max_bytes:
        raise InputFileError(path, _too_large(kind, before.st_size))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        raise InputFileError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        opened = os.fstat(fd)  # the path may have been swapped since the first look
        if not stat.S_ISREG(opened.st_mode):
            raise InputFileError(path, f"{_kind_of(opened.st_mode)}, not a regular file")
        if opened.st_size > kind.max_bytes:
            raise InputFileError(path, _too_large(kind, opened.st_size))
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(_CHUNK, kind.max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > kind.max_bytes:
                raise InputFileError(path, _too_large(kind, None))
    except OSError as exc:
        raise InputFileError(path, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def _place(data: bytes | str, offset: int) -> str:
    """`line L, column C` of an offset (columns count bytes for bytes, characters for text)."""
    newline: Any = b"\n" if isinstance(data, bytes) else "\n"
    line = data.count(newline, 0, offset) + 1
    column = offset - (data.rfind(newline, 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def decode_text(data: bytes, path: Path | str) -> str:
    """UTF-8 text (a leading BOM dropped); refuses other encodings and NUL characters."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(path, "is UTF-16 text; save it as UTF-8")
    data = data.removeprefix(_BOM)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        raise InputFileError(
            path,
            f"not UTF-8 text (byte 0x{byte:02x} at {_place(data, exc.start)}); save it as UTF-8",
        ) from None
    nul = text.find("\0")
    if nul >= 0:
        raise InputFileError(path, f"contains a NUL character at {_place(text, nul)}")
    return text


def read_text(path: Path | str, kind: FileKind) -> str:
    """`read_bytes` then `decode_text`."""
    return decode_text(read_bytes(path, kind), path)


def _key(key: object) -> str:
    text = shown(key if isinstance(key, str) else repr(key))
    return text if len(text) <= 40 else text[:37] + "..."


def check_tree(
    value: object,
    path: Path | str,
    *,
    max_depth: int = MAX_DEPTH,
    max_values: int = MAX_VALUES,
) -> None:
    """Refuse a parsed document nested deeper than ``max_depth`` containers, holding more than
    ``max_values`` values (YAML aliases count every time they are used, so an alias bomb stops
    here, in bounded time) or text that is not valid Unicode (a lone surrogate escape)."""
    if _tree_problem(value, max_depth, max_values, located=False) is None:
        return
    # Only a refused document pays for spelling out where the problem is.
    problem = _tree_problem(value, max_depth, max_values, located=True)
    raise InputFileError(path, problem or "holds a value that cannot be read")


def _tree_problem(value: object, max_depth: int, max_values: int, *, located: bool) -> str | None:
    stack: list[tuple[object, int, str]] = [(value, 0, "")]
    count = 0
    while stack:
        node, depth, where = stack.pop()
        count += 1
        if count > max_values:
            return f"holds more than {max_values:,} values (YAML aliases count at each use)"
        if isinstance(node, str):
            if not node.isascii() and not _valid_text(node):
                return f"{where or 'a value'}: holds an invalid character (a lone surrogate)"
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                return f"nested deeper than {max_depth} levels (at {where or 'the top'})"
            if isinstance(node, list):
                for index, child in enumerate(node):
                    stack.append((child, depth + 1, f"{where}[{index}]" if located else ""))
                continue
            for key, child in node.items():
                if isinstance(key, str) and not key.isascii() and not _valid_text(key):
                    return f"{where or 'a key'}: a key holds an invalid character"
                stack.append((child, depth + 1, _inner(where, key) if located else ""))
    return None


def _inner(where: str, key: object) -> str:
    return f"{where}.{_key(key)}" if where else _key(key)


def _valid_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _one_line(text: str, limit: int = 300) -> str:
    flat = shown(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def parse_toml(text: str, path: Path | str, *, invalid: str = "invalid TOML") -> dict[str, Any]:
    """A TOML document checked by `check_tree`; syntax errors (worded ``<invalid>: why``) name
    line and column."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(path, f"{invalid}: {_one_line(str(exc))}") from None
    except RecursionError:
        raise InputFileError(path, f"{invalid}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise InputFileError(path, f"{invalid}: {_one_line(str(exc), 120)}") from None
    check_tree(data, path)
    return data


def parse_yaml(text: str, path: Path | str) -> Any:
    """A YAML document (safe loader: plain data only) checked by `check_tree`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputFileError(path, f"invalid YAML: {_one_line(str(exc))}") from None
    except RecursionError:
        raise InputFileError(path, f"invalid YAML: nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, TypeError, AttributeError, OverflowError, LookupError) as exc:
        # PyYAML's constructors fail this way on some malformed tagged scalars
        # (`!!timestamp 2024-13-45x`, `!!binary x`) instead of raising a YAMLError.
        raise InputFileError(path, f"invalid YAML: {_one_line(str(exc), 120)}") from None
    check_tree(data, path)
    return data
