"""Shared fixtures: where the official reference material lives, and free loopback ports."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def sp_api_models() -> Path:
    """The official SP-API models; tests that need them skip with a message where absent."""
    path = SHARED_REFERENCE / "sp-api"
    if not path.is_dir():
        pytest.skip(f"official SP-API models not found at {path} (../shared/reference is absent)")
    return path


@pytest.fixture(scope="session")
def oracle_reference() -> Path:
    """Oracle reference shapes (GL interface column order, ESS shapes)."""
    path = SHARED_REFERENCE / "oracle"
    if not path.is_dir():
        pytest.skip(f"Oracle reference files not found at {path} (../shared/reference is absent)")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
