"""Run one sync in a fresh process, for the crash tests: ``python sync_runner.py DB_URL NAME``.

The master key comes from ``ML_CONNECTOR_MASTER_KEY`` (never from argv, which `ps` shows) and
a crash point from ``ML_CONNECTOR_CRASH_AT``; the process then dies by SIGKILL mid-sync.
"""

from __future__ import annotations

import sys

from ml_connector.context import open_runtime
from ml_connector.pipeline import sync_connection


def main(database_url: str, connection: str) -> int:
    rt = open_runtime(database_url, require_key=True, run_migrations=False)
    try:
        report = sync_connection(rt, connection)
    finally:
        rt.close()
    print(report.counts())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
