"""Spectral indices: formulas to 1e-6 on real Sentinel-2 reflectances, laziness, grid checks."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from rus.toolbox import indices
from rus.toolbox.errors import ToolboxError


def _band(folder: Path, name: str, like: xr.DataArray | None = None) -> xr.DataArray:
    """One band of the xarray-spatial crop as reflectance (the files store x 10000)."""
    with xr.open_dataset(folder / f"{name}_band.nc") as ds:
        arr = ds[next(iter(ds.data_vars))].load()
    arr = arr.drop_vars("band", errors="ignore") / 10_000.0
    if like is not None:
        # the crop's swir files label their pixels on a 20 m spacing; the pixels are co-registered
        arr = arr.assign_coords(x=like.x, y=like.y)
    return arr


@pytest.fixture(scope="module")
def crop(xrspatial_s2_dir: Path) -> dict[str, xr.DataArray]:
    nir = _band(xrspatial_s2_dir, "nir")
    return {
        "nir": nir,
        "swir2": _band(xrspatial_s2_dir, "swir2", nir),
        "red": _band(xrspatial_s2_dir, "red", nir),
        "green": _band(xrspatial_s2_dir, "green", nir),
    }


def test_nbr_ndvi_ndwi_equal_formulas_on_real_s2(crop: dict[str, xr.DataArray]) -> None:
    n, s, r, g = (crop[k].to_numpy().astype(np.float64) for k in ("nir", "swir2", "red", "green"))
    assert np.nanmax(np.abs(indices.nbr(crop["nir"], crop["swir2"]) - (n - s) / (n + s))) < 1e-6
    assert np.nanmax(np.abs(indices.ndvi(crop["nir"], crop["red"]) - (n - r) / (n + r))) < 1e-6
    assert np.nanmax(np.abs(indices.ndwi(crop["green"], crop["nir"]) - (g - n) / (g + n))) < 1e-6
    # float32 inputs (what the readers give) stay within 1e-6 of the float64 formula too
    nbr32 = indices.nbr(crop["nir"].astype(np.float32), crop["swir2"].astype(np.float32))
    assert nbr32.dtype == np.float32
    assert np.max(np.abs(nbr32.to_numpy() - (n - s) / (n + s))) < 1e-6
    # a real (arid) scene: NDVI varies, it is not a constant
    assert float(indices.ndvi(crop["nir"], crop["red"]).std()) > 0.01


def test_differenced_forms_equal_formulas(crop: dict[str, xr.DataArray]) -> None:
    nir, swir2 = crop["nir"], crop["swir2"]
    # a post-fire version: NIR drops, SWIR2 rises, more where NIR was high
    nir_post = nir * 0.55
    swir2_post = swir2 * 1.6
    ds = indices.burn_indices(nir, swir2, nir_post, swir2_post)
    n, s = nir.to_numpy().astype(np.float64), swir2.to_numpy().astype(np.float64)
    np_, sp = n * 0.55, s * 1.6
    pre = (n - s) / (n + s)
    post = (np_ - sp) / (np_ + sp)
    d = pre - post
    assert np.max(np.abs(ds["dnbr"].to_numpy() - d)) < 1e-6
    assert np.max(np.abs(ds["rbr"].to_numpy() - d / (pre + 1.001))) < 1e-6
    rd = ds["rdnbr"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = d / np.sqrt(np.abs(pre))
    zero = pre == 0  # real pixels with NIR == SWIR2: RdNBR undefined, NaN rather than inf
    assert zero.any() and np.isnan(rd[zero]).all()
    assert np.max(np.abs(rd[~zero] - ref[~zero])) < 1e-6
    assert float(ds["dnbr"].mean()) > 0.1  # the synthetic "burn" increases dNBR
    for name in ("nbr_pre", "nbr_post", "dnbr", "rdnbr", "rbr"):
        attrs = ds[name].attrs
        assert attrs["units"] == "1" and attrs["long_name"] and "1000" in attrs["scale"]


def test_lazy_with_dask_and_same_values(crop: dict[str, xr.DataArray]) -> None:
    nir = crop["nir"].chunk({"y": 64, "x": 100})
    swir2 = crop["swir2"].chunk({"y": 64, "x": 100})
    out = indices.nbr(nir, swir2)
    assert isinstance(out.data, da.Array)
    assert out.chunks == nir.chunks
    eager = indices.nbr(crop["nir"], crop["swir2"])
    np.testing.assert_allclose(out.compute().to_numpy(), eager.to_numpy(), rtol=0, atol=1e-12)
    d = indices.differenced(indices.ndvi(nir, crop["red"].chunk(64)), indices.ndvi(nir, nir * 0.5))
    assert isinstance(d.data, da.Array) and d.name == "dndvi"


def test_grid_mismatch_raises(xrspatial_s2_dir: Path) -> None:
    nir = _band(xrspatial_s2_dir, "nir")
    swir2 = _band(xrspatial_s2_dir, "swir2")  # its own (20 m) coordinate labels
    with pytest.raises(ToolboxError, match="same grid"):
        indices.nbr(nir, swir2)
    with pytest.raises(ToolboxError, match="dimensions"):
        indices.nbr(nir, nir.rename({"x": "lon"}))


def test_zero_sum_integer_input_and_nan() -> None:
    a = xr.DataArray(np.array([[0, 3], [5, 1]], dtype=np.uint16), dims=("y", "x"))
    b = xr.DataArray(np.array([[0, 1], [5, 3]], dtype=np.uint16), dims=("y", "x"))
    out = indices.normalized_difference(a, b)
    assert out.dtype == np.float32
    assert np.isnan(out[0, 0]) and out[0, 1] == pytest.approx(0.5) and out[1, 0] == 0
    pre = xr.DataArray(np.array([0.0, 0.5, np.nan]), dims="x")
    post = xr.DataArray(np.array([-0.2, 0.1, 0.1]), dims="x")
    rd = indices.rdnbr(pre, post).to_numpy()
    assert np.isnan(rd[0]) and rd[1] == pytest.approx(0.4 / np.sqrt(0.5)) and np.isnan(rd[2])
    with pytest.raises(ToolboxError, match="DataArray"):
        indices.nbr(np.ones(3), b)  # type: ignore[arg-type]


def test_numpy_kernel_matches_xarray_api(crop: dict[str, xr.DataArray]) -> None:
    nir, swir2 = (crop[k].astype(np.float32) for k in ("nir", "swir2"))
    nir_post, swir2_post = nir * np.float32(0.55), swir2 * np.float32(1.6)
    nir_post[0, :5] = np.nan  # no data propagates
    ds = indices.burn_indices(nir, swir2, nir_post, swir2_post)
    d, r, rd = indices.burn_ratio_arrays(
        nir.to_numpy(), swir2.to_numpy(), nir_post.to_numpy(), swir2_post.to_numpy()
    )
    assert d.dtype == r.dtype == rd.dtype == np.float32
    np.testing.assert_array_equal(d, ds["dnbr"].to_numpy())
    np.testing.assert_array_equal(r, ds["rbr"].to_numpy())
    np.testing.assert_allclose(rd, ds["rdnbr"].to_numpy(), rtol=1e-6, equal_nan=True)
    assert np.isnan(d[0, :5]).all() and np.isfinite(d[1]).all()
    zero = indices.nbr_array(np.zeros(2, np.float32), np.zeros(2, np.float32))
    assert np.isnan(zero).all()
    # into given (strided) outputs, with a mask: the same values, NaN where masked
    bands = [a.to_numpy() for a in (nir, swir2, nir_post, swir2_post)]
    outs = tuple(np.full((d.shape[0], d.shape[1] + 3), 9.0, np.float32) for _ in range(3))
    views = tuple(o[:, 1:-2] for o in outs)
    invalid = np.zeros(d.shape, bool)
    invalid[1, :7] = True
    got = indices.burn_ratio_arrays(*bands, out=views, invalid=invalid)  # type: ignore[arg-type]
    for g, v, o, want in zip(got, views, outs, (d, r, rd), strict=True):
        assert np.shares_memory(g, v)
        np.testing.assert_array_equal(o[:, 0], 9.0)
        assert np.isnan(v[1, :7]).all()
        keep = ~invalid
        np.testing.assert_array_equal(v[keep], want[keep])
