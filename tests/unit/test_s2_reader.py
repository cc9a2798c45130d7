"""Sentinel-2 SAFE reader on simulated products (dir and zip), and its bad-input errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from rus.products.errors import ProductError
from rus.products.sentinel2 import open_s2
from rus.products.simulate.s2 import S2FireSimulation, simulate_s2_fire, zip_safe

SHAPE = (900, 900)
SEED = 1


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> S2FireSimulation:
    return simulate_s2_fire(tmp_path_factory.mktemp("s2"), shape=SHAPE, seed=SEED)


@pytest.fixture(scope="module")
def pair_0510(tmp_path_factory: pytest.TempPathFactory) -> S2FireSimulation:
    return simulate_s2_fire(
        tmp_path_factory.mktemp("s2b"), shape=SHAPE, seed=SEED, baseline="05.10"
    )


def test_names_and_layout_follow_the_real_products(pair: S2FireSimulation) -> None:
    assert pair.pre.name == "S2A_MSIL2A_20170614T112111_N0205_R037_T29TNE_20170614T143000.SAFE"
    assert pair.post.name == "S2A_MSIL2A_20170704T112111_N0205_R037_T29TNE_20170704T143000.SAFE"
    jp2 = sorted(p.relative_to(pair.pre).as_posix() for p in pair.pre.rglob("*.jp2"))
    assert len(jp2) == 4 + 10 + 3
    assert any(p.endswith("IMG_DATA/R20m/T29TNE_20170614T112111_B8A_20m.jp2") for p in jp2)
    assert any(p.endswith("IMG_DATA/R60m/T29TNE_20170614T112111_SCL_60m.jp2") for p in jp2)
    assert "SIMULATED" in (pair.pre / "manifest.safe").read_text()


def test_metadata_from_mtd(pair: S2FireSimulation) -> None:
    p = open_s2(pair.pre)
    m = p.metadata
    assert m.mission == "Sentinel-2A"
    assert m.product_type == "S2MSI2A"
    assert m.processing_level == "L2A"
    assert m.simulated is True
    assert m.tile_id == "29TNE"
    assert m.crs == "EPSG:32629"
    assert m.processing_baseline == "02.05"
    assert m.sensing_time is not None and m.sensing_time.utcoffset() is not None
    assert m.sensing_time.isoformat().startswith("2017-06-14T11:21:11")
    assert m.cloud_cover is not None and 0.0 < m.cloud_cover < 30.0
    assert m.footprint is not None
    minx, miny, maxx, maxy = m.footprint.bounds
    assert -9.01 < minx < maxx < -8.8 and 40.5 < miny < maxy < 40.66  # NW corner of T29TNE
    assert p.band_names == (
        "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12", "SCL"
    )  # fmt: skip


def test_band_grid_equals_tile_geocoding(pair: S2FireSimulation) -> None:
    p = open_s2(pair.post)
    for res, n in ((10, 900), (20, 450), (60, 150)):
        band = "B02" if res != 60 else "B01"
        da = p.band(band, res)
        assert da.shape == (n, n)
        assert da.dims == ("y", "x")
        assert da.rio.crs.to_epsg() == 32629
        t = da.rio.transform()
        assert (t.a, t.e, t.c, t.f) == (res, -res, 499980.0, 4500000.0)
        assert da.x.values[0] == 499980.0 + res / 2
        assert da.y.values[0] == 4500000.0 - res / 2
    assert p.band("B8A").attrs["resolution_m"] == 20  # native by default
    assert p.band("B02").attrs["resolution_m"] == 10


def test_lazy_chunks_aligned_and_deterministic(pair: S2FireSimulation) -> None:
    a = open_s2(pair.pre).band("B08", 10)
    b = open_s2(pair.pre).band("B08", 10)
    assert a.data.chunks == ((900,), (900,))  # smaller than one 1024 JP2 tile
    assert a.data.name == b.data.name
    assert open_s2(pair.pre).band("B8A").data.name != open_s2(pair.post).band("B8A").data.name


def test_reflectance_without_offset(pair: S2FireSimulation) -> None:
    p = open_s2(pair.post)
    dn = p.band("B12").values
    refl = p.reflectance("B12")
    assert refl.dtype == np.float32
    assert refl.attrs["units"] == "1" and "long_name" in refl.attrs
    r = refl.values
    valid = dn != 0
    assert (~valid).any(), "the swath-edge no-data wedge is present"
    np.testing.assert_allclose(r[valid], dn[valid] / 10000.0, rtol=1e-6)
    assert np.isnan(r[~valid]).all()


def test_baseline_0510_offset_path(pair: S2FireSimulation, pair_0510: S2FireSimulation) -> None:
    old, new = open_s2(pair.post), open_s2(pair_0510.post)
    assert new.metadata.processing_baseline == "05.10"
    assert new.metadata.add_offsets["B8A"] == -1000.0
    assert "_N0510_" in pair_0510.post.name
    dn_old, dn_new = old.band("B8A").values, new.band("B8A").values
    valid = dn_old != 0
    assert np.array_equal(dn_new[valid].astype(int), dn_old[valid].astype(int) + 1000)
    np.testing.assert_allclose(
        new.reflectance("B8A").values, old.reflectance("B8A").values, atol=1e-6, equal_nan=True
    )
    np.testing.assert_allclose(
        new.reflectance("B8A").values[valid], (dn_new[valid] - 1000.0) / 10000.0, rtol=1e-6
    )


def test_scl_classes(pair: S2FireSimulation) -> None:
    for safe in (pair.pre, pair.post):
        scl = open_s2(safe).scl()
        assert scl.dtype == np.uint8 and scl.shape == (450, 450)
        counts = np.bincount(scl.values.ravel(), minlength=12)
        assert set(np.flatnonzero(counts)) <= {0, 3, 4, 5, 6, 8, 9, 10}
        for cls in (0, 3, 4, 5, 6, 8, 9):
            assert counts[cls] > 0, f"class {cls} missing in {safe.name}"
    assert open_s2(pair.pre).scl(60).shape == (150, 150)


def test_to_dataset_one_grid_and_errors(pair: S2FireSimulation) -> None:
    p = open_s2(pair.pre)
    ds = p.to_dataset(["B8A", "B12", "SCL"], 20)
    assert set(ds.data_vars) == {"B8A", "B12", "SCL"}
    assert ds.B8A.dtype == np.float32 and ds.SCL.dtype == np.uint8
    assert ds.attrs["simulated"] == 1
    raw = p.to_dataset(["B8A", "B12"], reflectance=False)
    assert raw.B8A.dtype == np.uint16
    with pytest.raises(ProductError, match="not available at 20 m"):
        p.to_dataset(["B08", "B12"], 20)
    with pytest.raises(ProductError, match="different native resolutions"):
        p.to_dataset(["B08", "B12"])
    with pytest.raises(ProductError, match="no band 'B10'"):
        p.band("B10")
    with pytest.raises(ProductError, match="classification"):
        p.reflectance("SCL")


def test_zip_equals_directory(pair: S2FireSimulation, tmp_path: Path) -> None:
    z = zip_safe(pair.post, tmp_path)
    assert z.name == pair.post.name.removesuffix(".SAFE") + ".zip"
    pz, pd = open_s2(z), open_s2(pair.post)
    assert pz.metadata.sensing_time == pd.metadata.sensing_time
    assert pz.band("B12").attrs["source_file"].startswith("/vsizip/")
    np.testing.assert_array_equal(pz.band("B12").values, pd.band("B12").values)
    np.testing.assert_array_equal(pz.scl().values, pd.scl().values)


def test_describe_for_rus_info(pair: S2FireSimulation) -> None:
    from rus.products.info import describe_product

    d = describe_product(pair.pre)
    assert d["simulated"] is True
    assert d["mission"] == "Sentinel-2A" and d["product_type"] == "S2MSI2A"
    assert d["footprint"]["type"] == "Polygon"
    assert d["bands"]["B8A"] == [20.0] and d["bands"]["B02"][0] == 10.0
    assert d["shapes"]["20m"] == [450, 450]
    assert d["tile_id"] == "29TNE" and d["crs"] == "EPSG:32629"
    assert d["processing_baseline"] == "02.05" and "cloud_cover" in d


def test_truncated_zip(pair: S2FireSimulation, tmp_path: Path) -> None:
    z = zip_safe(pair.pre, tmp_path)
    bad = tmp_path / "S2A_MSIL2A_truncated.zip"
    bad.write_bytes(z.read_bytes()[: z.stat().st_size // 2])
    with pytest.raises(ProductError, match=r"S2A_MSIL2A_truncated\.zip"):
        open_s2(bad)


def test_missing_band_file(pair: S2FireSimulation, tmp_path: Path) -> None:
    safe = tmp_path / pair.pre.name
    shutil.copytree(pair.pre, safe)
    victim = next(safe.rglob("*_B12_20m.jp2"))
    victim.unlink()
    p = open_s2(safe)
    assert "B12" in p.band_names  # listed in the MTD
    assert any("B12_20m" in f for f in p.describe()["missing_files"])
    with pytest.raises(ProductError, match=r"missing file .*B12_20m\.jp2"):
        p.band("B12")
    np.testing.assert_array_equal(p.band("B8A").values, open_s2(pair.pre).band("B8A").values)


def test_missing_product_metadata(pair: S2FireSimulation, tmp_path: Path) -> None:
    safe = tmp_path / pair.pre.name
    shutil.copytree(pair.pre, safe)
    (safe / "MTD_MSIL2A.xml").unlink()
    with pytest.raises(ProductError, match=r"MTD_MSIL2A\.xml"):
        open_s2(safe)


def test_non_sentinel_tiff(tmp_path: Path) -> None:
    import rasterio

    tif = tmp_path / "S2_not_a_product.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8") as ds:
        ds.write(np.zeros((1, 4, 4), dtype=np.uint8))
    with pytest.raises(ProductError, match=r"S2_not_a_product\.tif"):
        open_s2(tif)


def test_corrupt_band_file_error_names_the_file(pair: S2FireSimulation, tmp_path: Path) -> None:
    safe = tmp_path / pair.post.name
    shutil.copytree(pair.post, safe)
    victim = next(safe.rglob("*_B8A_20m.jp2"))
    victim.write_bytes(b"not a jpeg2000 codestream")
    with pytest.raises(ProductError, match=r"B8A_20m\.jp2"):
        open_s2(safe).band("B8A")


def _as_l1c(l2a: Path, dest: Path) -> Path:
    """Re-arrange a simulated L2A into the L1C layout (flat IMG_DATA, MTD_MSIL1C.xml with
    RADIO_ADD_OFFSET, baseline 05.09) to exercise the L1C path on real JPEG2000 files."""
    name = l2a.name.replace("MSIL2A", "MSIL1C").replace("_N0205_", "_N0509_")
    safe = dest / name
    granule = next((l2a / "GRANULE").iterdir())
    g1c = safe / "GRANULE" / granule.name.replace("L2A_", "L1C_")
    (g1c / "IMG_DATA").mkdir(parents=True)
    manifest = (l2a / "manifest.safe").read_text()
    start, end = manifest.index("<gml:coordinates>"), manifest.index("</gml:coordinates>")
    (safe / "manifest.safe").write_text(manifest[:start] + manifest[end + 18 :])  # no footprint
    shutil.copy(granule / "MTD_TL.xml", g1c / "MTD_TL.xml")
    images = []
    for band, res in (("B04", 10), ("B8A", 20), ("B12", 20), ("B01", 60)):
        src = next(granule.glob(f"IMG_DATA/R{res}m/*_{band}_{res}m.jp2"))
        target = g1c / "IMG_DATA" / src.name.replace(f"_{res}m.jp2", ".jp2")
        shutil.copy(src, target)
        images.append(target.relative_to(safe).as_posix().removesuffix(".jp2"))
    files = "".join(f"<IMAGE_FILE>{i}</IMAGE_FILE>" for i in images)
    (safe / "MTD_MSIL1C.xml").write_text(
        '<n1:Level-1C_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/'
        'User_Product_Level-1C.xsd"><n1:General_Info><Product_Info>'
        "<PRODUCT_START_TIME>2017-06-14T11:21:11.026Z</PRODUCT_START_TIME>"
        "<PRODUCT_TYPE>S2MSI1C</PRODUCT_TYPE><PROCESSING_BASELINE>05.09</PROCESSING_BASELINE>"
        "<Datatake><SPACECRAFT_NAME>Sentinel-2A</SPACECRAFT_NAME></Datatake>"
        f"<Product_Organisation><Granule_List><Granule>{files}</Granule></Granule_List>"
        "</Product_Organisation></Product_Info><Product_Image_Characteristics>"
        '<QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE><Radiometric_Offset_List>'
        + "".join(f'<RADIO_ADD_OFFSET band_id="{i}">-1000</RADIO_ADD_OFFSET>' for i in range(13))
        + "</Radiometric_Offset_List></Product_Image_Characteristics></n1:General_Info>"
        "</n1:Level-1C_User_Product>"
    )
    return safe


def test_l1c_layout_and_radio_offset(pair: S2FireSimulation, tmp_path: Path) -> None:
    l1c = open_s2(_as_l1c(pair.pre, tmp_path))
    l2a = open_s2(pair.pre)
    assert l1c.metadata.processing_level == "L1C" and l1c.metadata.product_type == "S2MSI1C"
    assert l1c.band_names == ("B01", "B04", "B8A", "B12")
    assert l1c.band("B04").attrs["resolution_m"] == 10 and l1c.band("B01").shape == (150, 150)
    dn = l1c.band("B8A").values
    np.testing.assert_array_equal(dn, l2a.band("B8A").values)
    valid = dn != 0
    np.testing.assert_allclose(
        l1c.reflectance("B8A").values[valid], (dn[valid] - 1000.0) / 10000.0, rtol=1e-6
    )
    with pytest.raises(ProductError, match="SCL"):
        l1c.scl()
    assert l1c.band("B12").rio.transform() == l2a.band("B12").rio.transform()
    assert l1c.metadata.footprint is not None  # from MTD_TL.xml: neither MTD nor manifest has one
    np.testing.assert_allclose(
        l1c.metadata.footprint.bounds, l2a.metadata.footprint.bounds, atol=1e-6
    )
