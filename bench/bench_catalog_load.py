"""Catalog load for a 50,000-row catalog: parsed on every sync (before) vs once per content (after).

Before issue 9 every sync read and parsed the catalog CSV. Now `load_catalog` reads and hashes
the file, and parses it only when its SHA-256 (or the chart it is validated against) is new.
Both columns use today's parser (RE2 segment rules, cell checks), so the difference is the cache.

Run: .venv/bin/python bench/bench_catalog_load.py [rows] [syncs]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ml_connector.flow.mapping import load_catalog, load_mapping
from ml_connector.flow.mapping.catalog import parsed_catalogs

EXAMPLES = Path(__file__).resolve().parents[1] / "src" / "ml_connector" / "examples"


def write_catalog(path: Path, rows: int) -> None:
    lines = ["sku,revenue_account,cost_center,category,cogs_account,inventory_account,unit_cost"]
    accounts = ("40100", "40110", "40120")
    for n in range(rows):
        lines.append(
            f"SKU-{n:06d},{accounts[n % 3]},{10 + n % 3 * 10},cat-{n % 17},50100,14000,"
            f"{n % 97}.{n % 100:02d}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def timed(run: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


def main(argv: list[str]) -> None:
    rows = int(argv[0]) if argv else 50_000
    syncs = int(argv[1]) if len(argv) > 1 else 10
    chart = load_mapping(EXAMPLES / "charges.toml").chart
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.csv"
        write_catalog(path, rows)
        size = path.stat().st_size

        def parse_every_time() -> object:
            parsed_catalogs.clear()
            return load_catalog(path, chart)

        before = timed(parse_every_time, syncs)
        parsed_catalogs.clear()
        after = timed(lambda: load_catalog(path, chart), syncs)
        assert len(load_catalog(path, chart)) == rows
    print(f"catalog: {rows:,} rows, {size / 1e6:.1f} MB; {syncs} syncs in a row")
    print(f"{'':28}{'before (parse each sync)':>26}{'after (parse once)':>22}")
    print(f"{'first sync':28}{before[0]:>25.3f}s{after[0]:>21.3f}s")
    later_before, later_after = statistics.median(before[1:]), statistics.median(after[1:])
    print(f"{'each later sync (median)':28}{later_before:>25.3f}s{later_after:>21.3f}s")
    print(f"{f'all {syncs} syncs':28}{sum(before):>25.3f}s{sum(after):>21.3f}s")
    print(f"later syncs: {later_before / max(later_after, 1e-9):,.0f}x faster")


if __name__ == "__main__":
    main(sys.argv[1:])
