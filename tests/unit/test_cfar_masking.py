"""Land masks for the CFAR: shoreline buffer, per-block expansion, user vector masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rus.toolbox.errors import ToolboxError
from rus.toolbox.sar.masking import (
    GridMask,
    apply_mask,
    buffer_mask,
    grid_cells,
    user_cells,
)


def _disk_dilation(mask: np.ndarray, radius_px: int) -> np.ndarray:
    from scipy import ndimage

    yy, xx = np.mgrid[-radius_px : radius_px + 1, -radius_px : radius_px + 1]
    return ndimage.binary_dilation(mask, structure=yy**2 + xx**2 <= radius_px**2)


@pytest.mark.parametrize("seed", [0, 1])
def test_buffer_equals_disc_dilation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((80, 90)) < 0.02
    mask[30:50, 10:40] = True
    got = buffer_mask(mask, 50.0, (10.0, 10.0))
    np.testing.assert_array_equal(got, _disk_dilation(mask, 5))
    assert got.sum() > mask.sum()


def test_buffer_rejects_negative() -> None:
    with pytest.raises(ToolboxError, match="buffer"):
        buffer_mask(np.zeros((3, 3), bool), -1.0, (10.0, 10.0))


def test_grid_mask_blocks_match_the_whole() -> None:
    rng = np.random.default_rng(2)
    cells = rng.random((30, 40)) < 0.1
    gm = GridMask(cells, 4, (117, 157), (10.0, 10.0), 60.0)
    whole = gm.full()
    assert whole.shape == (117, 157)
    for r0, r1, c0, c1 in [(0, 50, 0, 60), (37, 117, 20, 157), (5, 9, 150, 157)]:
        np.testing.assert_array_equal(gm.block(r0, r1, c0, c1), whole[r0:r1, c0:c1])
    outside = gm.block(-5, 3, -2, 4)
    assert outside[:5].all() and outside[:, :2].all()


def test_grid_cells_follow_a_predicate() -> None:
    def to_lonlat(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(c, float), np.asarray(r, float)

    def land(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return (lon - 100) ** 2 + (lat - 70) ** 2 < 40**2  # a round island

    cells = grid_cells(land, to_lonlat, (200, 240))
    full = GridMask(cells, 4, (200, 240), (1.0, 1.0)).full()
    rr, cc = np.mgrid[0:200, 0:240]
    exact = land(cc.astype(float), rr.astype(float))
    wrong = full != exact
    assert wrong.sum() < 0.05 * exact.sum()  # only along the edge, within a cell
    assert not wrong[(rr - 70) ** 2 + (cc - 100) ** 2 < 34**2].any()


def test_user_vector_mask(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    path = tmp_path / "land.geojson"
    gpd.GeoDataFrame(geometry=[box(13.0, 45.0, 13.01, 45.01)], crs="EPSG:4326").to_file(path)

    def to_lonlat(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return 12.995 + np.asarray(c) * 1e-4, 45.015 - np.asarray(r) * 1e-4

    cells = user_cells(path, to_lonlat, (200, 200))
    full = GridMask(cells, 4, (200, 200), (10.0, 10.0)).full()
    assert full[100, 100] and not full[10, 10] and not full[190, 190]
    with pytest.raises(ToolboxError, match="does not exist"):
        user_cells(tmp_path / "nope.gpkg", to_lonlat, (10, 10))


def test_apply_mask_sets_nodata() -> None:
    import dask.array as da
    import xarray as xr

    x = xr.DataArray(da.ones((20, 20), chunks=7, dtype=np.float32), dims=("line", "pixel"))
    m = np.zeros((20, 20), bool)
    m[:5] = True
    out = apply_mask(x, m).values
    assert np.isnan(out[:5]).all() and (out[5:] == 1).all()
    with pytest.raises(ToolboxError, match="shape"):
        apply_mask(x, m[:10])
