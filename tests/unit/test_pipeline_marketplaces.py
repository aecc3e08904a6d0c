"""Every configured marketplace is synced through its region's token, or the sync says why not."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ml_connector.errors import ConfigError
from ml_connector.pipeline import regions_and_marketplaces
from ml_connector.run import demo


def _ctx(tmp_path: Path, regions: list[str], marketplaces: list[str]) -> Any:
    config = demo.simulator_config(
        demo.SimEndpoints("http://127.0.0.1:1", "http://127.0.0.1:2"),
        catalog=tmp_path / "catalog.csv",
        charges=tmp_path / "charges.toml",
    )
    amazon = config.amazon.model_copy(update={"regions": regions, "marketplace_ids": marketplaces})
    return SimpleNamespace(name="acme", config=config.model_copy(update={"amazon": amazon}))


def test_marketplaces_are_grouped_by_region(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, ["NA", "FE"], ["ATVPDKIKX0DER", "A1VC38T7YXB528", "A2EUQ1WTGCTBG2"])
    assert regions_and_marketplaces(ctx) == {
        "NA": ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"],
        "FE": ["A1VC38T7YXB528"],
    }


def test_an_unknown_marketplace_id_is_refused_not_skipped(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, ["NA"], ["ATVPDKIKX0DER", "ATVPDKIKX0DEX"])
    with pytest.raises(ConfigError, match="'ATVPDKIKX0DEX' is not an Amazon marketplace id"):
        regions_and_marketplaces(ctx)


def test_a_marketplace_outside_the_configured_regions_is_refused(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, ["NA"], ["ATVPDKIKX0DER", "A1PA6795UKMFR9"])
    with pytest.raises(ConfigError, match=r"Amazon\.de\) is in region EU"):
        regions_and_marketplaces(ctx)
