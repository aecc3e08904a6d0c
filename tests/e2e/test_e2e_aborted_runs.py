"""Issue 9, scope 6 with real kills: a sync SIGKILLed mid-cycle leaves its run `running`; the
next cycle closes it as `aborted` at the time it was last seen (its last heartbeat)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from e2e_support import CONNECTION, running_books, small_world
from sqlalchemy import select

from ml_connector.run.crashpoints import ENV_VAR as CRASH_ENV
from ml_connector.store import KEY_ENV_VAR, RunStatus
from ml_connector.store.tables import Run

RUNNER = Path(__file__).with_name("sync_runner.py")


def _utc(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("point", "beats"),
    [("extract.orders.page_committed", False), ("plan.orders_committed", True)],
)
def test_a_killed_cycle_shows_as_aborted_after_the_next_cycle(
    point: str, beats: bool, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with running_books(tmp_path, small_world(20), url, leave_out=0) as books:
        env = {**os.environ, KEY_ENV_VAR: books.master_key, CRASH_ENV: point}
        crashed = subprocess.run(
            [sys.executable, str(RUNNER), url, CONNECTION],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            timeout=180,
            check=False,
        )
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode(errors="replace")
        with books.rt.sessions() as session:
            (killed,) = session.scalars(select(Run)).all()
            assert killed.status is RunStatus.RUNNING  # nobody could close it
            seen = _utc(killed.last_seen_at)
            started = _utc(killed.started_at)
        assert seen is not None
        assert started is not None
        assert (seen > started) is beats  # a heartbeat moved it on before the kill

        books.sync()

        with books.rt.sessions() as session:
            runs = list(session.scalars(select(Run).order_by(Run.id)))
        assert [r.status for r in runs] == [RunStatus.ABORTED, RunStatus.SUCCEEDED]
        aborted = runs[0]
        assert _utc(aborted.finished_at) == seen
        assert aborted.error is not None
        assert f"last seen {seen.isoformat()}" in aborted.error
