"""Landsat-8 Collection-2 L1 reader on the REAL Corumba pre/post-fire crops (../shared/data)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from rus.products.errors import ProductError
from rus.products.landsat import GeoreferencingFromMetadataWarning, open_landsat, parse_mtl

PRE = "LC08_L1TP_227074_20190809_20200827_02_T1"
POST = "LC08_L1TP_227074_20190825_20200826_02_T1"


@pytest.fixture()
def corumba(shared_data: Path) -> Path:
    return shared_data / "landsat8-corumba-fire-2019"


def test_open_warns_and_builds_georeferencing_from_mtl(corumba: Path) -> None:
    with pytest.warns(GeoreferencingFromMetadataWarning, match="from the MTL"):
        p = open_landsat(corumba / f"{PRE}_MTL.txt")
    assert p.band_names == ("B2", "B3", "B4", "B5", "B6", "B7")
    m = p.metadata
    assert m.mission == "LANDSAT_8" and m.product_type == "L1TP"
    assert m.crs == "EPSG:32621" and m.tile_id == "227074"
    assert m.sensing_time is not None and m.sensing_time.isoformat().startswith("2019-08-09T13:53")
    nir = p.band("B5")
    assert nir.shape == (901, 667)
    assert nir.attrs["georeferencing_source"] == "MTL"
    assert nir.rio.crs.to_epsg() == 32621
    t = nir.rio.transform()
    # MTL corners are pixel centres: UL centre (441000, -2188020), LR centre (460980, -2215020)
    assert (t.a, t.e) == (30.0, -30.0)
    assert float(nir.x[0]) == 441000.0 and float(nir.y[0]) == -2188020.0
    assert float(nir.x[-1]) == 460980.0 and float(nir.y[-1]) == -2215020.0
    left, bottom, right, top = nir.rio.bounds()
    assert (left, top, right, bottom) == (440985.0, -2188005.0, 460995.0, -2215035.0)
    minx, miny, maxx, maxy = m.footprint.bounds
    assert -57.6 < minx < maxx < -57.3 and -20.1 < miny < maxy < -19.7  # near Corumba


def test_reflectance_is_mult_dn_plus_add(corumba: Path) -> None:
    import rasterio

    mtl = parse_mtl((corumba / f"{POST}_MTL.txt").read_text())
    with pytest.warns(GeoreferencingFromMetadataWarning):
        p = open_landsat(corumba / f"{POST}_MTL.txt")
    with rasterio.open(corumba / f"{POST}_B7.TIF") as ds:
        dn = ds.read(1)
    refl = p.reflectance("B7").values
    assert refl.dtype == np.float32 and p.reflectance("B7").attrs["units"] == "1"
    mult, add = float(mtl["REFLECTANCE_MULT_BAND_7"]), float(mtl["REFLECTANCE_ADD_BAND_7"])
    for r, c in ((0, 0), (450, 333), (900, 666), (123, 456)):
        if dn[r, c] == 0:
            assert np.isnan(refl[r, c])
        else:
            assert refl[r, c] == pytest.approx(mult * dn[r, c] + add, rel=1e-6)
    assert np.isnan(refl[dn == 0]).all()
    with pytest.warns(GeoreferencingFromMetadataWarning):
        sun = open_landsat(corumba / f"{POST}_MTL.txt", sun_correction=True)
    s = math.sin(math.radians(float(mtl["SUN_ELEVATION"])))
    assert sun.reflectance("B7").values[450, 333] == pytest.approx(refl[450, 333] / s, rel=1e-5)


def test_real_burn_signal(corumba: Path) -> None:
    """dNBR from TOA reflectance: the README says p95 ~0.33, p99 ~0.41 (a real burn scar)."""
    with pytest.warns(GeoreferencingFromMetadataWarning):
        pre = open_landsat(corumba / f"{PRE}_MTL.txt")
        post = open_landsat(corumba / f"{POST}_MTL.txt")
    ds0, ds1 = pre.to_dataset(["B5", "B7"]), post.to_dataset(["B5", "B7"])
    nbr0 = (ds0.B5 - ds0.B7) / (ds0.B5 + ds0.B7)
    nbr1 = (ds1.B5 - ds1.B7) / (ds1.B5 + ds1.B7)
    dnbr = (nbr0 - nbr1).values
    p95, p99 = np.nanpercentile(dnbr, [95, 99])
    assert p95 == pytest.approx(0.33, abs=0.03) and p99 == pytest.approx(0.41, abs=0.03)


def test_bad_inputs(corumba: Path, tmp_path: Path) -> None:
    with pytest.raises(ProductError, match=r"nope_MTL\.txt"):
        open_landsat(tmp_path / "nope_MTL.txt")
    fake = tmp_path / "fake_MTL.txt"
    fake.write_text("hello = 1\n")
    with pytest.raises(ProductError, match="not a Landsat MTL"):
        open_landsat(fake)
    lonely = tmp_path / f"{PRE}_MTL.txt"
    shutil.copy(corumba / f"{PRE}_MTL.txt", lonely)
    with pytest.raises(ProductError, match="TIFFs"):
        open_landsat(lonely)
    with pytest.warns(GeoreferencingFromMetadataWarning):
        p = open_landsat(corumba / f"{PRE}_MTL.txt")
    with pytest.raises(ProductError, match="SCL"):
        p.scl()
