"""Generic raster import: the REAL Sentinel-2 crop of the xarray-spatial 0.5.3 wheel, user TIFFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rus.products.errors import ProductError
from rus.products.geotiff import open_geotiff, open_geotiff_stack

BANDS10 = ("blue", "green", "red", "nir")


def _reference(folder: Path, name: str) -> np.ndarray:
    import xarray as xr

    with xr.open_dataset(folder / f"{name}_band.nc") as ds:
        return np.asarray(ds["__xarray_dataarray_variable__"].values)


def test_real_s2_crop_as_a_stack(xrspatial_s2_dir: Path) -> None:
    p = open_geotiff_stack({n: xrspatial_s2_dir / f"{n}_band.nc" for n in BANDS10}, scale=1e-4)
    assert p.band_names == BANDS10
    assert p.metadata.crs == "EPSG:32719"  # from the file's "+init=epsg:32719" tag
    nir = p.band("nir")
    assert nir.shape == (200, 300) and nir.dims == ("y", "x")
    assert nir.rio.crs.to_epsg() == 32719
    t = nir.rio.transform()
    assert (t.a, t.e, t.c, t.f) == (10.0, -10.0, 600000.0, 4700020.0)
    ref = _reference(xrspatial_s2_dir, "nir")
    np.testing.assert_array_equal(nir.values, ref)
    refl = p.reflectance("nir").values
    np.testing.assert_allclose(refl, (ref * 1e-4).astype(np.float32), rtol=1e-6)
    assert 0.05 < float(np.nanmean(refl)) < 0.5  # real vegetation/soil NIR reflectance
    ds = p.to_dataset(["red", "nir"])
    assert ds.red.attrs["units"] == "1"
    minx, miny, maxx, maxy = p.metadata.footprint.bounds
    assert -68 < minx < maxx < -67 and -48 < miny < maxy < -47  # Patagonia, UTM 19S


def test_real_swir_is_on_its_own_20m_grid(xrspatial_s2_dir: Path) -> None:
    swir = open_geotiff(xrspatial_s2_dir / "swir2_band.nc", {"swir2": 1}, scale=1e-4)
    assert swir.band("swir2").rio.transform().a == 20.0
    np.testing.assert_array_equal(swir.band("swir2").values, _reference(xrspatial_s2_dir, "swir2"))
    with pytest.raises(ProductError, match="not on the grid"):
        open_geotiff_stack(
            {"nir": xrspatial_s2_dir / "nir_band.nc", "swir2": xrspatial_s2_dir / "swir2_band.nc"}
        )


def _write(
    path: Path, data: np.ndarray, *, georef: bool = True, nodata: float | None = None
) -> None:
    import rasterio
    from affine import Affine

    kw = (
        {"crs": "EPSG:32629", "transform": Affine(10, 0, 500000, 0, -10, 4400000)} if georef else {}
    )
    with rasterio.open(
        path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1],
        count=data.shape[0], dtype=data.dtype, nodata=nodata, tiled=True, blockxsize=256,
        blockysize=256, **kw,
    ) as ds:  # fmt: skip
        ds.write(data)


def test_band_mapping_scale_offset_nodata(tmp_path: Path) -> None:
    data = (np.arange(3 * 2600 * 700, dtype=np.uint32).reshape(3, 2600, 700) % 5000).astype(
        np.uint16
    )
    data[:, 0, 0] = 0
    tif = tmp_path / "own.tif"
    _write(tif, data, nodata=0)
    default = open_geotiff(tif)
    assert default.band_names == ("band1", "band2", "band3")
    p = open_geotiff(tif, {"red": 1, "nir": 3}, scale=2e-5, offset=-0.1)
    nir = p.band("nir")
    assert nir.data.chunks == ((2048, 552), (700,))  # whole 256-px blocks, ~2048 px
    np.testing.assert_array_equal(nir.values, data[2])
    r = p.reflectance("nir").values
    assert np.isnan(r[0, 0])
    expected = np.where(data[2] == 0, np.nan, data[2] * 2e-5 - 0.1).astype(np.float32)
    np.testing.assert_allclose(r, expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(ProductError, match="has 3 band"):
        open_geotiff(tif, {"x": 4})


def test_bad_inputs_name_the_file(tmp_path: Path) -> None:
    txt = tmp_path / "notes.tif"
    txt.write_text("this is not a raster")
    with pytest.raises(ProductError, match=r"notes\.tif"):
        open_geotiff(txt)
    with pytest.raises(ProductError, match=r"missing\.tif"):
        open_geotiff(tmp_path / "missing.tif")
    plain = tmp_path / "plain.tif"
    _write(plain, np.ones((1, 8, 8), dtype=np.uint8), georef=False)
    with pytest.raises(ProductError, match=r"plain\.tif.*no georeferencing"):
        open_geotiff(plain)
    from affine import Affine

    ok = open_geotiff(plain, crs="EPSG:4326", transform=Affine(0.1, 0, 10, 0, -0.1, 45))
    assert ok.metadata.crs == "EPSG:4326"
