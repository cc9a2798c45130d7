"""Coarse band loading (``load_s2_coarse``) and the s2cloudless cloud mask on the simulated L1C
pair, scored against its cloud truth."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from rus.products.errors import ProductError
from rus.products.sentinel2 import load_s2_coarse, open_s2
from rus.products.simulate.s2 import S2FireSimulation, simulate_s2_fire, zip_safe
from rus.toolbox.clouds import (
    S2CLOUDLESS_BANDS,
    s2cloudless_mask,
    s2cloudless_probability,
)
from rus.toolbox.errors import ToolboxError

pytest.importorskip("s2cloudless.cloud_detector")

#: 10 m; multiples of 48 so the 160 m grid (45 x 180) covers the product exactly. A wide strip:
#: clouds are kept 1.6 scar radii away from the burn scar (a small square would be cloud-free).
SHAPE = (720, 2880)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> S2FireSimulation:
    out = tmp_path_factory.mktemp("l1c")
    return simulate_s2_fire(out, shape=SHAPE, seed=0, level="L1C", baseline="05.10")


@pytest.fixture(scope="module")
def toa160(sim: S2FireSimulation) -> dict[str, xr.Dataset]:
    return {d: load_s2_coarse(open_s2(getattr(sim, d)), S2CLOUDLESS_BANDS) for d in ("pre", "post")}


def _truth(sim: S2FireSimulation, date: str, factor: int) -> dict[str, np.ndarray]:
    """Truth on the coarse grid (``factor`` x 20 m): majority opaque cloud, entirely clear and
    unburned, mostly burned."""
    import rasterio

    with rasterio.open(sim.truth_clouds[date]) as ds:
        clouds = ds.read(1)
    with rasterio.open(sim.truth_severity) as ds:
        sev = ds.read(1)
    r, c = clouds.shape[0] // factor, clouds.shape[1] // factor

    def blocks(a: np.ndarray) -> np.ndarray:
        return a[: r * factor, : c * factor].reshape(r, factor, c, factor)

    cb, sb = blocks(clouds), blocks(sev)
    return {
        "opaque": (cb == 1).mean(axis=(1, 3)) >= 0.5,
        "clear": (cb == 0).all(axis=(1, 3)) & ~(sb >= 4).any(axis=(1, 3)),
        "burned": (sb >= 4).mean(axis=(1, 3)) >= 0.5,
    }


def _large(opaque: np.ndarray, res: float, km2: float = 1.0) -> np.ndarray:
    """Opaque pixels belonging to clouds of at least ``km2``."""
    from scipy import ndimage

    lab, n = ndimage.label(opaque)
    sizes = ndimage.sum(opaque, lab, index=np.arange(1, n + 1)) * (res / 1000) ** 2
    return np.isin(lab, 1 + np.flatnonzero(sizes >= km2))


def _far_from_clouds(sim: S2FireSimulation, date: str) -> np.ndarray:
    """160 m pixels farther than 2 pixels (the dilation radius) from any cloud, cirrus, shadow
    or no data."""
    import rasterio
    from scipy import ndimage

    with rasterio.open(sim.truth_clouds[date]) as ds:
        clouds = ds.read(1)
    r, c = clouds.shape[0] // 8, clouds.shape[1] // 8
    dirty = (clouds[: r * 8, : c * 8].reshape(r, 8, c, 8) != 0).any(axis=(1, 3))
    return np.asarray(~ndimage.binary_dilation(dirty, np.ones((5, 5), dtype=bool)))


# -- load_s2_coarse ----------------------------------------------------------------------------
def test_coarse_grid_attrs_and_values(sim: S2FireSimulation, toa160: dict[str, xr.Dataset]) -> None:
    ds = toa160["pre"]
    assert dict(ds.sizes) == {"y": 45, "x": 180} and set(ds.data_vars) == set(S2CLOUDLESS_BANDS)
    assert ds.rio.crs.to_epsg() == 32629
    assert tuple(ds.rio.transform())[:6] == (160.0, 0.0, 499980.0, 0.0, -160.0, 4500000.0)
    assert float(ds.x[0]) == 499980 + 80 and float(ds.y[0]) == 4500000 - 80
    assert ds.attrs["processing_level"] == "L1C" and ds.attrs["simulated"] == 1
    b10 = ds["B10"]
    assert b10.dtype == np.float32 and b10.attrs["units"] == "1"
    assert b10.attrs["source_resolution_m"] == 60 and "L1C" in b10.attrs["long_name"]
    assert b10.attrs["formula"] == "(DN + -1000) / 10000"
    # reduced-resolution JPEG2000 levels ~ the block mean of the native reflectance
    native = open_s2(sim.pre).reflectance("B8A").values  # 360 x 1440 at 20 m
    mean = native.reshape(45, 8, 180, 8).mean(axis=(1, 3))
    ok = np.isfinite(mean) & np.isfinite(ds["B8A"].values)
    assert np.median(np.abs(ds["B8A"].values[ok] - mean[ok])) < 0.005
    # no data (east swath-edge wedge): NaN, plus the smeared margin
    nodata = np.isnan(mean)
    assert nodata.any() and np.isnan(ds["B8A"].values[nodata]).all()


def test_coarse_60m_and_zip(sim: S2FireSimulation, tmp_path: Path) -> None:
    p = open_s2(sim.post)
    ds = load_s2_coarse(p, ["B02", "B10", "B12"], 60)
    assert dict(ds.sizes) == {"y": 120, "x": 480}
    assert [ds[b].attrs["source_resolution_m"] for b in ds.data_vars] == [10, 60, 20]
    native = p.reflectance("B10").values  # native 60 m: no resampling, exact
    got = ds["B10"].values
    # no data is shared by all bands (with the margin of the resampled ones): a superset
    assert np.isnan(got[np.isnan(native)]).all()
    ok = np.isfinite(got)
    assert ok.mean() > 0.95
    np.testing.assert_array_equal(got[ok], native[ok])
    z = load_s2_coarse(open_s2(zip_safe(sim.post, tmp_path)), ["B02", "B10", "B12"], 60)
    xr.testing.assert_identical(z.drop_attrs(), ds.drop_attrs())


def test_coarse_l2a_picks_the_r20m_file(tmp_path: Path) -> None:
    l2a = simulate_s2_fire(tmp_path, shape=(480, 480), seed=1, baseline="05.10")
    p = open_s2(l2a.pre)
    ds = load_s2_coarse(p, ["B02", "B01", "B8A"], 160)
    assert dict(ds.sizes) == {"y": 30, "x": 30} and ds.attrs["processing_level"] == "L2A"
    assert [ds[b].attrs["source_resolution_m"] for b in ds.data_vars] == [20, 60, 20]
    assert ds["B02"].attrs["formula"] == "(DN + -1000) / 10000"
    with pytest.raises(ProductError, match="not SCL"):
        load_s2_coarse(p, ["B8A", "SCL"])
    with pytest.raises(ProductError, match="no band 'B10'"):
        load_s2_coarse(p, ["B10"])
    with pytest.raises(ProductError, match="resolution"):
        load_s2_coarse(p, ["B8A"], 0)
    with pytest.raises(ProductError, match="resampling"):
        load_s2_coarse(p, ["B8A"], 160, "lanczos3")


def test_coarse_no_data_is_not_fooled_by_wavelet_undershoot(tmp_path: Path) -> None:
    """Baseline 02.05 (no +1000 offset): reduced JPEG2000 levels read 0 at cloud edges over
    shadows. Only the true no-data wedge may become NaN, and the clouds stay detectable."""
    sim = simulate_s2_fire(tmp_path, shape=SHAPE, seed=0, level="L1C", baseline="02.05")
    ds = load_s2_coarse(open_s2(sim.post), S2CLOUDLESS_BANDS)
    native = open_s2(sim.post).reflectance("B8A").values
    wedge = np.isnan(native.reshape(45, 8, 180, 8)).all(axis=(1, 3))
    nan = np.isnan(ds["B02"].values)
    assert all(np.array_equal(np.isnan(ds[b].values), nan) for b in S2CLOUDLESS_BANDS)
    assert nan[wedge].all()
    # the margin around the wedge only: a per-band DN == 0 test blanked 3-4x more pixels
    from scipy.ndimage import binary_dilation

    assert not nan[~binary_dilation(wedge, iterations=3)].any()
    t = _truth(sim, "post", 8)
    p = s2cloudless_probability(ds).values
    assert (p[t["opaque"] & np.isfinite(p)] > 0.4).mean() >= 0.9


# -- s2cloudless -------------------------------------------------------------------------------
@pytest.mark.parametrize("date", ["pre", "post"])
def test_probability_finds_opaque_clouds(
    sim: S2FireSimulation, toa160: dict[str, xr.Dataset], date: str
) -> None:
    prob = s2cloudless_probability(toa160[date])
    assert prob.dtype == np.float32 and prob.attrs["units"] == "1"
    assert prob.attrs["method"].startswith("s2cloudless 1.") and prob.rio.crs.to_epsg() == 32629
    p = prob.values
    valid = np.isfinite(p)
    assert ((p[valid] >= 0) & (p[valid] <= 1)).all()
    t = _truth(sim, date, 8)
    recall = (p[t["opaque"] & valid] > 0.4).mean()
    false_pos = (p[t["clear"] & valid] > 0.4).mean()
    assert recall >= 0.9, recall  # measured 0.996 / 0.998
    assert false_pos <= 0.01, false_pos  # measured 0.0005 / 0.0011
    assert (p[t["burned"] & valid] > 0.4).mean() == 0.0


@pytest.mark.parametrize("date", ["pre", "post"])
def test_default_mask_at_160m(
    sim: S2FireSimulation, toa160: dict[str, xr.Dataset], date: str
) -> None:
    prob = s2cloudless_probability(toa160[date])
    mask = s2cloudless_mask(prob)
    assert mask.dtype == bool and mask.attrs["average_over"] == 4
    m, valid = mask.values, np.isfinite(prob.values)
    t = _truth(sim, date, 8)
    large = _large(t["opaque"], 160.0)
    assert large.sum() > 40
    # the disk averaging (radius 640 m) keeps clouds of 1 km2 and more ...
    assert m[large & valid].mean() >= 0.9  # measured 0.996 / 1.000
    # ... and drops many sub-km2 ones (all opaque pixels: measured 0.76 / 0.62)
    assert m[t["opaque"] & valid].mean() < m[large & valid].mean()
    assert m[t["clear"] & valid].mean() <= 0.05  # measured 0.047 / 0.037 (dilation ring)
    assert m[t["clear"] & valid & _far_from_clouds(sim, date)].mean() <= 0.01  # measured 0 / 0.001
    assert not m[t["burned"] & valid].any()
    # a smaller disk finds the small clouds too
    small = s2cloudless_mask(prob, average_over=2, dilation_size=1).values
    assert small[t["opaque"] & valid].mean() >= 0.9  # measured 0.950 / 0.966
    assert small[t["clear"] & valid].mean() <= 0.05  # measured 0.046 / 0.042


def test_mask_at_60m(sim: S2FireSimulation) -> None:
    toa = load_s2_coarse(open_s2(sim.pre), S2CLOUDLESS_BANDS, 60)
    m = s2cloudless_mask(s2cloudless_probability(toa)).values
    t = _truth(sim, "pre", 3)
    assert m[t["opaque"]].mean() >= 0.9  # measured 0.966
    assert m[t["clear"]].mean() <= 0.05  # measured 0.039


def test_mask_is_s2cloudless_and_dask_matches(toa160: dict[str, xr.Dataset]) -> None:
    from s2cloudless.cloud_detector import S2PixelCloudDetector

    prob = s2cloudless_probability(toa160["post"])
    det = S2PixelCloudDetector(threshold=0.4, average_over=4, dilation_size=2)
    filled = np.nan_to_num(prob.values, nan=0.0)
    expect = det.get_mask_from_prob(filled[None])[0].astype(bool) & np.isfinite(prob.values)
    np.testing.assert_array_equal(s2cloudless_mask(prob).values, expect)

    lazy_toa = toa160["post"].chunk({"y": 20, "x": 64})
    lazy = s2cloudless_probability(lazy_toa)
    assert lazy.chunks is not None
    again = s2cloudless_probability(lazy_toa)
    assert lazy.data.name == again.data.name  # deterministic dask keys
    np.testing.assert_array_equal(lazy.values, prob.values)
    lazy_mask = s2cloudless_mask(lazy)
    assert lazy_mask.chunks is not None
    np.testing.assert_array_equal(lazy_mask.values, s2cloudless_mask(prob).values)


def test_nan_band_gives_nan_probability(toa160: dict[str, xr.Dataset]) -> None:
    toa = toa160["pre"].copy(deep=True)
    toa["B10"][:5, :5] = np.nan
    prob = s2cloudless_probability(toa)
    assert np.isnan(prob.values[:5, :5]).all()
    assert not s2cloudless_mask(prob).values[:5, :5].any()


def test_missing_band_and_package(
    toa160: dict[str, xr.Dataset], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ToolboxError, match="B10"):
        s2cloudless_probability(toa160["pre"].drop_vars("B10"))
    with pytest.raises(ToolboxError, match="threshold"):
        s2cloudless_mask(s2cloudless_probability(toa160["pre"]), threshold=2.0)
    monkeypatch.setitem(sys.modules, "s2cloudless.cloud_detector", None)
    msg = r"s2cloudless is not installed: pip install 'rus\[cloudmask\]'"
    with pytest.raises(ToolboxError, match=msg):
        s2cloudless_probability(toa160["pre"])
    with pytest.raises(ToolboxError, match=msg):
        s2cloudless_mask(xr.DataArray(np.zeros((4, 4), np.float32), dims=("y", "x")))
