"""Burned-area chain on a simulated Sentinel-2 L1C pair: s2cloudless cloud masking."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from rus.chains.burned_area import BurnParams, BurnWarning, compute_burn_severity, run_burned_area
from rus.chains.burned_area import clouds as chain_clouds
from rus.chains.errors import ChainError
from rus.products.simulate.s2 import simulate_s2_fire

pytest.importorskip("s2cloudless.cloud_detector")

#: A wide strip (clouds are kept away from the burn scar: a small square is cloud-free).
SHAPE = (720, 2880)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Baseline 02.05 as the 2017 training products: no DN offset (the harder case for the
    reduced-resolution reads, see rus.products.sentinel2._coarse)."""
    return simulate_s2_fire(tmp_path_factory.mktemp("l1c"), shape=SHAPE, seed=0, level="L1C")


def _truth(sim: Any) -> np.ndarray:
    with rasterio.open(sim.truth_severity) as ds:
        return np.asarray(ds.read(1))


def _burned_ha(ds: Any) -> float:
    return float(np.count_nonzero(ds["severity"].values >= 4) * 0.04)


def test_auto_uses_s2cloudless_and_matches_the_truth(sim: Any, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", BurnWarning)  # nothing to warn about
        run = run_burned_area(sim.pre, sim.post, tmp_path / "out")
    s = run.stats
    assert s["pre_fire"]["cloud_mask"] == "s2cloudless"
    assert s["post_fire"]["cloud_mask"] == "s2cloudless"
    assert s["mask_counts"]["s2cloudless_masked_pre_pixels"] > 0
    assert s["mask_counts"]["s2cloudless_masked_post_pixels"] > 0
    truth = _truth(sim)
    true_ha = float(np.count_nonzero(truth >= 4) * 0.04)
    # measured 1119.7 ha against 1117.0 ha (+0.2 %)
    assert s["burned_ha"] == pytest.approx(true_ha, rel=0.03)
    with rasterio.open(run.files["severity"]) as ds:
        sev = ds.read(1)
    both = (sev > 0) & (truth > 0)
    assert (sev[both] == truth[both]).mean() >= 0.9
    # the opaque clouds of either date are masked (truth_clouds: 1 = opaque cloud)
    for date in ("pre", "post"):
        with rasterio.open(sim.truth_clouds[date]) as ds:
            cloud = ds.read(1) == 1
        assert (sev[cloud] == 0).mean() >= 0.9, date


def test_without_a_cloud_mask_clouds_read_as_burns(sim: Any) -> None:
    """The reason for the option: L1C without masking overstates the burned area."""
    with pytest.warns(BurnWarning, match="no cloud mask for the pre-fire .* and post-fire") as rec:
        ds = compute_burn_severity(sim.pre, sim.post, BurnParams(cloud_mask="scl"))
    assert any("--cloud-mask s2cloudless" in str(w.message) for w in rec)
    true_ha = float(np.count_nonzero(_truth(sim) >= 4) * 0.04)
    assert _burned_ha(ds) > 1.3 * true_ha  # measured 1947 ha against 1117 ha


def test_explicit_none_masks_no_data_only_and_does_not_warn(sim: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", BurnWarning)
        ds = compute_burn_severity(sim.pre, sim.post, BurnParams(cloud_mask="none"))
    assert _burned_ha(ds) > 0


def test_s2cloudless_needs_the_package(sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chain_clouds, "s2cloudless_available", lambda: False)
    with pytest.raises(ChainError, match=r"pip install 'rus\[cloudmask\]'"):
        compute_burn_severity(sim.pre, sim.post, BurnParams(cloud_mask="s2cloudless"))
    # auto falls back to no masking, and says so
    with pytest.warns(BurnWarning, match="install s2cloudless"):
        compute_burn_severity(sim.pre, sim.post)


def test_s2cloudless_refuses_non_l1c_inputs(sim: Any, tmp_path: Path) -> None:
    """A GeoTIFF has neither SCL nor the L1C bands: asking for s2cloudless is an error."""
    from rus.products.geotiff import open_geotiff

    tif = tmp_path / "pair.tif"
    rng = np.random.default_rng(1)
    with rasterio.open(
        tif, "w", driver="GTiff", width=64, height=64, count=2, dtype="uint16",
        crs="EPSG:32629", transform=rasterio.transform.from_origin(5e5, 4.4e6, 20, 20), nodata=0,
    ) as ds:  # fmt: skip
        ds.write(rng.integers(1000, 3000, (2, 64, 64)).astype("uint16"))
    prod = open_geotiff(tif, bands={"nir": 1, "swir2": 2}, scale=1e-4)
    with pytest.raises(ChainError, match="s2cloudless needs a Sentinel-2 L1C product"):
        compute_burn_severity(prod, prod, BurnParams(cloud_mask="s2cloudless"))


def test_cli_cloud_mask_option(
    sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rus.cli import main

    out = tmp_path / "o"
    args = ["burn", str(sim.pre), str(sim.post), "--out", str(out), "--json"]
    try:
        main([*args, "--cloud-mask", "s2cloudless", "--cloud-probability", "0.4"])
    except SystemExit as exc:
        assert not exc.code
    doc = json.loads(capsys.readouterr().out)
    assert doc["post_fire"]["cloud_mask"] == "s2cloudless"
    assert doc["parameters"]["cloud_mask"] == "s2cloudless"
    with pytest.raises(SystemExit) as bad:
        main([*args, "--cloud-mask", "fmask"])
    assert bad.value.code == 2
