"""Named crash points, so tests can kill the process at an exact step of a sync.

Exactly-once posting is only believable if it survives a crash between any two steps, in particular
between "Oracle accepted the document" and "we recorded it". Tests run ``ml-connector sync`` in a
subprocess with ``ML_CONNECTOR_CRASH_AT=<point>[:<n>]``; when the process reaches the n-th hit of
that point (default the first) it sends itself SIGKILL — no cleanup, no flush, like a power cut.
Unset (the normal case) the check is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import Counter

ENV_VAR = "ML_CONNECTOR_CRASH_AT"

_lock = threading.Lock()
_hits: Counter[str] = Counter()


def _target() -> tuple[str, int] | None:
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return None
    name, _, count = raw.partition(":")
    return name, int(count) if count else 1


def hit(point: str) -> None:
    """Mark that the process reached ``point``; die here if the environment asks for it."""
    target = _target()
    if target is None or target[0] != point:
        return
    with _lock:
        _hits[point] += 1
        reached = _hits[point] >= target[1]
    if reached:
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
