"""Pacing against a sped-up simulator: the connector keeps the speed-up it was configured with.

`rate_limit_scale` (DESIGN.md §2, the demo uses 200) multiplies the published usage plans so a
sync against a simulator whose clock runs faster is not paced at Amazon's real rates. The
simulator announces the published (unscaled) rate in `x-amzn-RateLimit-Limit`, as Amazon does.
"""

from __future__ import annotations

from pathlib import Path

from e2e_support import AMAZON_SCALE, CONNECTION, running_books, small_world

from ml_connector.context import open_connection
from ml_connector.pipeline import run_cycle
from ml_connector.remote.amazon.limits import limit_for
from ml_connector_sim.amazon import SimOptions as AmazonOptions


def test_rate_limit_header_does_not_undo_the_configured_speedup(tmp_path: Path) -> None:
    world = small_world(60)
    options = AmazonOptions(time_scale=AMAZON_SCALE)  # the demo's simulator, as shipped
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with (
        running_books(tmp_path, world, url, leave_out=0, amazon_options=options) as books,
        open_connection(books.rt, CONNECTION) as ctx,
    ):
        run_cycle(books.rt, ctx)
        client = ctx.amazon["NA"]
        for operation in ("searchOrders", "getReports"):
            rate, _ = limit_for(operation)
            bucket = client.limiter.bucket((client.seller_id, "NA", operation))
            # After one sync, the next call after the burst must not wait minutes.
            assert 1 / bucket.rate <= 1 / (rate * AMAZON_SCALE) * 1.01, (
                f"{operation}: {1 / bucket.rate:.0f} s per call after the burst"
            )
