"""Reading a scenario file safely: refused in one line naming the path, never a traceback.

The simulator never imports the connector, so this is its own (smaller) copy of the connector's
input-file rules (`ml_connector.input_files`): a regular file only (no FIFO, device or folder),
at most `MAX_SCENARIO_BYTES`, UTF-8, JSON, nested at most `MAX_DEPTH` levels.
"""

from __future__ import annotations

import json
import os
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
#: A generated 500-order seller is about 8 MB; 128 MiB leaves room for captured accounts.
MAX_SCENARIO_BYTES = 128 * MiB
#: Scenario documents nest about 14 levels (transactions → breakdowns → breakdowns ...).
MAX_DEPTH = 32


class ScenarioFileError(ValueError):
    """The file cannot be read as a scenario; the message is one line naming the path."""


def _shown(path: Path) -> str:
    text = str(path)
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _refuse(path: Path, reason: str) -> ScenarioFileError:
    return ScenarioFileError(f"{_shown(path)}: {reason}")


def _what(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_scenario_bytes(path: Path, max_bytes: int = MAX_SCENARIO_BYTES) -> bytes:
    """The bytes of a regular file of at most `max_bytes`."""
    name = os.fspath(path)
    if "\0" in name:
        raise _refuse(path, "the path contains a NUL character")
    try:
        mode = os.stat(name).st_mode
    except OSError as exc:
        raise _refuse(path, f"cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # a path the OS cannot represent
        raise _refuse(path, f"cannot read: {exc}") from None
    if not stat.S_ISREG(mode):
        raise _refuse(path, f"{_what(mode)}, not a regular file")
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise _refuse(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise _refuse(path, f"{_what(opened.st_mode)}, not a regular file")
        limit = f"a scenario file may be at most {max_bytes:,} bytes ({max_bytes // MiB} MiB)"
        if opened.st_size > max_bytes:
            raise _refuse(path, f"is {opened.st_size:,} bytes; {limit}")
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(MiB, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise _refuse(path, f"is larger than that; {limit}")
    except OSError as exc:
        raise _refuse(path, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def _invalid_text(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (`"\ud800"` is valid JSON)
        return True
    return False


def _depth_problem(document: object) -> str | None:
    """Why the document's shape is refused: too deep, or text that is not valid Unicode."""
    stack: list[tuple[object, int, str]] = [(document, 0, "")]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, str):
            if _invalid_text(node):
                return f"{where or '(root)'}: holds an invalid character (a lone surrogate)"
        elif isinstance(node, dict):
            if depth >= MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH} levels (at {where})"
            for key, child in node.items():
                if _invalid_text(key):
                    return f"{where or '(root)'}: a key holds an invalid character"
                stack.append((child, depth + 1, f"{where}.{key}" if where else key))
        elif isinstance(node, list):
            if depth >= MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH} levels (at {where or '(root)'})"
            stack.extend((child, depth + 1, f"{where}[{i}]") for i, child in enumerate(node))
    return None


def read_scenario_json(path: Path) -> Any:
    """The scenario document (floats as Decimal), or ScenarioFileError naming the path."""
    data = read_scenario_bytes(path)
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _refuse(
            path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save it as UTF-8"
        ) from None
    try:
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise _refuse(
            path, f"not JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    except RecursionError:
        raise _refuse(
            path, f"not JSON this simulator reads: nested deeper than {MAX_DEPTH}"
        ) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        reason = " ".join(str(exc).split())[:120]
        raise _refuse(path, f"not JSON this simulator reads: {reason}") from None
    problem = _depth_problem(document)
    if problem is not None:
        raise _refuse(path, problem)
    return document
