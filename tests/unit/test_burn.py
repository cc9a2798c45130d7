"""Burn severity toolbox: class boundaries, SCL masking, minimum mapping unit, vectors, stats."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from affine import Affine

from rus.toolbox import burn
from rus.toolbox.errors import ToolboxError


def test_boundary_convention_lower_inclusive() -> None:
    values = np.array(
        [
            -0.9,
            -0.25,
            -0.2500001,
            -0.1,
            -0.1000001,
            0.0999999,
            0.1,
            0.2699999,
            0.27,
            0.44,
            0.66,
            1.5,
            np.nan,
        ]
    )
    expected = [1, 2, 1, 3, 2, 3, 4, 4, 5, 6, 7, 7, 0]
    assert burn.classify_array(values).tolist() == expected
    # float32 data is compared at float32 precision: float32(-0.1) is unburned, not regrowth
    assert burn.classify_array(values.astype(np.float32)).tolist() == expected
    # integers (dNBR x 1000 given as thresholds x 1000) work too
    scaled = tuple(v * 1000 for v in burn.USGS_THRESHOLDS)
    assert burn.classify_array(np.array([99, 100, 660]), scaled).tolist() == [3, 4, 7]


def test_classify_severity_lazy_with_mask() -> None:
    vals = np.linspace(-0.6, 1.0, 64, dtype=np.float32).reshape(8, 8)
    index = xr.DataArray(da.from_array(vals, chunks=4), dims=("y", "x"))
    valid = xr.DataArray(np.ones((8, 8), bool), dims=("y", "x"))
    valid[0, 0] = False
    sev = burn.classify_severity(index, valid=valid)
    assert isinstance(sev.data, da.Array) and sev.dtype == np.uint8
    out = sev.compute().to_numpy()
    assert out[0, 0] == 0
    np.testing.assert_array_equal(out.ravel()[1:], burn.classify_array(vals).ravel()[1:])
    assert sev.attrs["long_name"] and sev.attrs["units"] == "1"
    with pytest.raises(ToolboxError, match="increasing"):
        burn.classify_severity(index, thresholds=(0.1, 0.0, 0.2, 0.3, 0.4, 0.5))


def test_scl_valid_rules() -> None:
    pre = xr.DataArray(np.array([[4, 6, 4, 9, 2, 0]], np.uint8), dims=("y", "x"))
    post = xr.DataArray(np.array([[6, 4, 3, 4, 2, 5]], np.uint8), dims=("y", "x"))
    valid = burn.scl_valid(pre, post)
    assert valid is not None
    # post-fire water (char) kept, pre-fire water masked, shadow/cloud/no data on either masked,
    # dark area kept
    assert valid.to_numpy().tolist() == [[True, False, False, False, True, False]]
    only_pre = burn.scl_valid(pre, None)
    assert only_pre is not None and only_pre.to_numpy().tolist() == [
        [True, False, True, False, True, False]
    ]
    assert burn.scl_valid(None, None) is None
    custom = burn.scl_valid(pre, post, mask_classes=(0,), water_classes=())
    assert custom is not None and custom.to_numpy().sum() == 5
    with pytest.raises(ToolboxError, match="not an SCL class"):
        burn.scl_valid(pre, post, mask_classes=(12,))


def test_min_pixels() -> None:
    assert burn.min_pixels(1.0, 400.0) == 25
    assert burn.min_pixels(1.0, 100.0) == 100
    assert burn.min_pixels(0.5, 900.0) == 6
    assert burn.min_pixels(0.0, 400.0) == 0
    with pytest.raises(ToolboxError):
        burn.min_pixels(-1, 400.0)


def _two_patches() -> np.ndarray:
    sev = np.full((20, 20), 3, dtype=np.uint8)
    sev[2:7, 2:7] = 5  # 25 px
    sev[2:4, 4:7] = 7  # same patch, another class
    sev[12:15, 12:15] = 4  # 9 px
    sev[15, 15] = 6  # diagonal neighbour: joins the 9-px patch with 8-connectivity
    sev[0, 19] = 0  # masked
    return sev


def test_remove_small_patches() -> None:
    sev = _two_patches()
    out, info = burn.remove_small_patches(sev, 25)
    assert info == {"patches_kept": 1, "patches_removed": 1, "pixels_removed": 10}
    assert (out[12:16, 12:16] == 3).all() and out[0, 19] == 0
    np.testing.assert_array_equal(out[2:7, 2:7], sev[2:7, 2:7])
    out4, info4 = burn.remove_small_patches(sev, 9, connectivity=4)
    assert info4["patches_removed"] == 1 and out4[15, 15] == 3 and out4[12, 12] == 4
    inplace = sev.copy()
    cleaned, _ = burn.remove_small_patches(inplace, 25, inplace=True)
    assert cleaned is inplace and np.array_equal(inplace, out)
    same, info0 = burn.remove_small_patches(sev, 0)
    np.testing.assert_array_equal(same, sev)
    assert info0["patches_removed"] == 0
    with pytest.raises(ToolboxError, match="2-D"):
        burn.remove_small_patches(sev[None], 3)
    # a column-major map (no flat view) is cleaned in place just the same
    fortran = np.asfortranarray(sev)
    cleaned_f, info_f = burn.remove_small_patches(fortran, 25, inplace=True)
    assert cleaned_f is fortran and info_f == info
    np.testing.assert_array_equal(fortran, out)


def test_vectorize_and_perimeters() -> None:
    sev = _two_patches()
    transform = Affine(20.0, 0, 500_000.0, 0, -20.0, 4_400_000.0)
    gdf = burn.vectorize_severity(sev, transform, "EPSG:32629")
    assert set(gdf["severity_code"]) == {4, 5, 6, 7}
    assert gdf.crs.to_epsg() == 32629
    by_class = gdf.groupby("severity_code")["area_ha"].sum()
    assert by_class[7] == pytest.approx(6 * 0.04) and by_class[5] == pytest.approx(19 * 0.04)
    assert by_class[4] == pytest.approx(9 * 0.04) and by_class[6] == pytest.approx(0.04)
    assert gdf.loc[gdf.severity_code == 7, "severity"].iloc[0] == "High severity"
    # class polygons of one burned patch share its id
    assert gdf.loc[gdf.severity_code.isin([5, 7]), "patch_id"].nunique() == 1
    assert gdf.loc[gdf.severity_code.isin([4, 6]), "patch_id"].nunique() == 1
    assert gdf["patch_id"].nunique() == 2 and (gdf["patch_id"] > 0).all()
    per = burn.burned_perimeters(gdf)
    assert len(per) == 2
    assert sorted(per["area_ha"].round(4)) == [pytest.approx(0.4), pytest.approx(1.0)]
    assert set(per["dominant_severity_code"]) == {4, 5}
    big = per[per["dominant_severity_code"] == 5].geometry.iloc[0]
    assert big.bounds == (500_040.0, 4_399_860.0, 500_140.0, 4_399_960.0)  # georeferenced
    empty = burn.vectorize_severity(np.full((4, 4), 3, np.uint8), transform, "EPSG:32629")
    assert empty.empty and burn.burned_perimeters(empty).empty


def test_class_statistics() -> None:
    sev = _two_patches()
    index = np.where(sev >= 4, 0.5, 0.0).astype(np.float32)
    stats = burn.class_statistics(sev, 400.0, index=index, index_name="rbr")
    assert stats["total_pixels"] == 400 and stats["masked_pixels"] == 1
    assert stats["burned_pixels"] == 35 and stats["burned_ha"] == pytest.approx(1.4)
    assert stats["classes"]["5"]["pixels"] == 19 and stats["classes"]["5"]["mean_rbr"] == 0.5
    assert stats["classes"]["3"]["mean_rbr"] == 0.0
    assert sum(c["pixels"] for c in stats["classes"].values()) == 400
    assert stats["masked_fraction"] == pytest.approx(1 / 400)


def test_colormap_and_names() -> None:
    cmap = burn.severity_colormap()
    assert cmap[0][3] == 0 and cmap[7] == (0xA4, 0x1F, 0xD6, 255)
    assert burn.class_names()[4] == "Low severity"
    assert len(burn.SEVERITY_CLASSES) == 8


def test_scl_lookup_matches_isin() -> None:
    scl = np.arange(12, dtype=np.uint8).repeat(3).reshape(6, 6)
    lut = burn.scl_lookup(burn.DEFAULT_SCL_MASK)
    np.testing.assert_array_equal(lut[scl], np.isin(scl, burn.DEFAULT_SCL_MASK))
    assert lut.shape == (256,) and not lut[12:].any()
    with pytest.raises(ToolboxError):
        burn.scl_lookup((42,))
