"""The L1C mode of the Sentinel-2 fire simulator: real L1C layout and metadata, TOA reflectance
(B10 included) read back by ``open_s2``, the cloud truth, and the same scene as the L2A."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from rus.products.errors import ProductError
from rus.products.sentinel2 import open_s2, parse_manifest
from rus.products.simulate.s2 import S2FireSimulation, simulate_s2_fire, zip_safe

#: 10 m; 180 x 900 at 20 m, 60 x 300 at 60 m. A wide strip: clouds are kept 1.6 scar radii away
#: from the burn scar, so a small square crop would be almost cloud-free.
SHAPE = (360, 1800)
BANDS13 = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
)  # fmt: skip


@pytest.fixture(scope="module")
def l1c(tmp_path_factory: pytest.TempPathFactory) -> S2FireSimulation:
    out = tmp_path_factory.mktemp("l1c")
    return simulate_s2_fire(out, shape=SHAPE, seed=5, level="L1C", baseline="05.10")


@pytest.fixture(scope="module")
def l2a(tmp_path_factory: pytest.TempPathFactory) -> S2FireSimulation:
    out = tmp_path_factory.mktemp("l2a")
    return simulate_s2_fire(out, shape=SHAPE, seed=5, level="L2A", baseline="05.10")


def _read(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as ds:
        return ds.read(1)


def _at60(truth20: np.ndarray, code: int) -> np.ndarray:
    """60 m pixels whose 3 x 3 block at 20 m is entirely ``code``."""
    r, c = truth20.shape
    return (truth20.reshape(r // 3, 3, c // 3, 3) == code).all(axis=(1, 3))


def test_names_and_layout(l1c: S2FireSimulation) -> None:
    assert l1c.level == "L1C"
    assert l1c.pre.name == "S2A_MSIL1C_20170614T112111_N0510_R037_T29TNE_20170614T143000.SAFE"
    assert l1c.post.name == "S2A_MSIL1C_20170704T112111_N0510_R037_T29TNE_20170704T143000.SAFE"
    (granule,) = (l1c.pre / "GRANULE").iterdir()
    assert granule.name == "L1C_T29TNE_A010349_20170614T112440"
    img = sorted(p.name for p in (granule / "IMG_DATA").iterdir())
    assert img == sorted(f"T29TNE_20170614T112111_{b}.jp2" for b in BANDS13)
    assert (l1c.pre / "MTD_MSIL1C.xml").is_file() and (granule / "MTD_TL.xml").is_file()
    assert not list(l1c.pre.rglob("*SCL*")) and not list(l1c.pre.rglob("R20m"))


def test_manifest_lists_every_file_with_its_md5(l1c: S2FireSimulation) -> None:
    for safe in (l1c.pre, l1c.post):
        data = (safe / "manifest.safe").read_bytes()
        info = parse_manifest(data, "manifest.safe", str(safe))
        assert info.level == "1C" and info.simulated
        files = {p.relative_to(safe).as_posix() for p in safe.rglob("*") if p.is_file()}
        assert set(info.data_files) == files - {"manifest.safe"}
        root = ET.fromstring(data)
        for stream in root.iter("byteStream"):
            href = stream.find("fileLocation").get("href").removeprefix("./")  # type: ignore[union-attr]
            md5 = stream.find("checksum").text  # type: ignore[union-attr]
            member = safe / href
            assert md5 == hashlib.md5(member.read_bytes(), usedforsecurity=False).hexdigest()
            assert int(stream.get("size", "-1")) == member.stat().st_size
        text = data.decode()
        assert "IMG_DATA_Band_60m_3_Tile1_Data" in text  # B10, as real L1C manifests name it
        assert "archive_l1c_user_product" in text and "SIMULATED" in text


def test_product_metadata(l1c: S2FireSimulation) -> None:
    root = ET.fromstring((l1c.pre / "MTD_MSIL1C.xml").read_bytes())
    assert root.tag.endswith("Level-1C_User_Product")
    assert root.findtext(".//PRODUCT_TYPE") == "S2MSI1C"
    assert root.findtext(".//PROCESSING_LEVEL") == "Level-1C"
    assert root.findtext(".//SIMULATED_PRODUCT") == "true"
    pic = root.find(".//Product_Image_Characteristics")
    assert pic is not None and pic.findtext("QUANTIFICATION_VALUE") == "10000"
    offsets = {e.get("band_id"): e.text for e in pic.iter("RADIO_ADD_OFFSET")}
    assert offsets == {str(i): "-1000" for i in range(13)}
    assert float(pic.findtext("Reflectance_Conversion/U") or 0) == pytest.approx(0.9696, abs=1e-3)
    assert len(pic.findall("Spectral_Information_List/Spectral_Information")) == 13
    images = [e.text for e in root.iter("IMAGE_FILE")]
    assert len(images) == 13 and all("/IMG_DATA/T29TNE_" in (i or "") for i in images)


def test_open_s2_reads_13_toa_bands(l1c: S2FireSimulation) -> None:
    p = open_s2(l1c.pre)
    assert p.metadata.processing_level == "L1C" and p.metadata.product_type == "S2MSI1C"
    assert p.describe()["level"] == "L1C" and p.metadata.simulated
    assert p.band_names == BANDS13
    b10 = p.band("B10")
    assert b10.attrs["resolution_m"] == 60 and b10.shape == (60, 300)
    assert p.band("B02").shape == (360, 1800) and p.band("B8A").shape == (180, 900)
    dn = b10.values.astype(float)
    refl = p.reflectance("B10").values
    valid = dn > 0
    np.testing.assert_allclose(refl[valid], (dn[valid] - 1000) / 10000, rtol=1e-6)
    assert np.isnan(refl[~valid]).all() and (~valid).any()  # swath-edge wedge
    with pytest.raises(ProductError, match="SCL"):
        p.scl()


def test_toa_values_are_plausible(l1c: S2FireSimulation) -> None:
    p = open_s2(l1c.pre)
    truth = _read(l1c.truth_clouds["pre"])
    clear60, opaque60, cirrus60 = (_at60(truth, c) for c in (0, 1, 2))
    b10 = p.reflectance("B10").values
    assert (
        0.0008 < np.nanmedian(b10[clear60]) < 0.004 and np.nanpercentile(b10[clear60], 99) < 0.006
    )
    assert 0.02 <= np.nanmedian(b10[cirrus60]) <= 0.06
    assert 0.10 <= np.nanmedian(b10[opaque60]) <= 0.30 and np.nanmax(b10) <= 0.31
    b01, b09 = p.reflectance("B01").values, p.reflectance("B09").values
    assert 0.07 < np.nanmedian(b01[clear60]) < 0.16  # Rayleigh + aerosol path reflectance
    assert np.nanmedian(b01[opaque60]) > 0.3
    assert np.nanmedian(b09[clear60]) < 0.2  # water-vapour absorption
    for b in BANDS13:
        r = p.reflectance(b).values
        assert np.nanmin(r) >= 0.0 and np.nanmax(r) <= 0.6, b


def test_same_scene_as_l2a(l1c: S2FireSimulation, l2a: S2FireSimulation) -> None:
    assert _read(l1c.truth_severity).tobytes() == _read(l2a.truth_severity).tobytes()
    for d in ("pre", "post"):
        assert _read(l1c.truth_clouds[d]).tobytes() == _read(l2a.truth_clouds[d]).tobytes()
    boa, toa = open_s2(l2a.pre), open_s2(l1c.pre)
    scl = boa.scl().values
    truth = _read(l2a.truth_clouds["pre"])
    expect = np.select(
        [scl == 0, np.isin(scl, (8, 9)), scl == 10, scl == 3], [255, 1, 2, 3], default=0
    )
    assert np.array_equal(truth, expect)
    land = np.isin(scl, (4, 5))
    land_at = {10: np.repeat(np.repeat(land, 2, axis=0), 2, axis=1), 60: land[1::3, 1::3]}
    for band, sign in (("B02", 1), ("B04", 1), ("B09", -1)):
        diff = toa.reflectance(band).values - boa.reflectance(band).values  # native: 10/60 m
        res = int(toa.band(band).attrs["resolution_m"])
        assert sign * np.nanmedian(diff[land_at[res]]) > 0.005, band


def test_cloud_truth_cog(l1c: S2FireSimulation) -> None:
    import rasterio

    with rasterio.open(l1c.truth_clouds["post"]) as ds:
        assert ds.dtypes[0] == "uint8" and ds.shape == (180, 900) and ds.nodata == 255
        assert ds.crs.to_epsg() == 32629 and ds.transform.a == 20
        assert "SIMULATED" in ds.tags() and ds.profile.get("tiled")
        truth = ds.read(1)
    assert set(np.unique(truth)) <= {0, 1, 2, 3, 255}
    sev = _read(l1c.truth_severity)
    assert (truth[sev >= 4] == 0).all()  # clouds are kept off the burn scar


def test_zip_opens_like_the_directory(l1c: S2FireSimulation, tmp_path: Path) -> None:
    z = open_s2(zip_safe(l1c.post, tmp_path))
    d = open_s2(l1c.post)
    assert z.metadata.processing_level == "L1C" and z.band_names == d.band_names
    for b in ("B10", "B8A"):
        np.testing.assert_array_equal(z.reflectance(b).values, d.reflectance(b).values)


def test_old_baseline_and_determinism(tmp_path: Path) -> None:
    a = simulate_s2_fire(tmp_path / "a", shape=(120, 120), seed=2, level="L1C")
    b = simulate_s2_fire(tmp_path / "b", shape=(120, 120), seed=2, level="L1C")
    assert (a.pre / "manifest.safe").read_bytes() == (b.pre / "manifest.safe").read_bytes()
    mtd = (a.pre / "MTD_MSIL1C.xml").read_text()
    assert "<PROCESSING_BASELINE>02.05</PROCESSING_BASELINE>" in mtd
    assert "RADIO_ADD_OFFSET" not in mtd
    p = open_s2(a.pre)
    dn = p.band("B04").values.astype(float)
    valid = dn > 0
    np.testing.assert_allclose(p.reflectance("B04").values[valid], dn[valid] / 10000, rtol=1e-6)


def test_bad_level(tmp_path: Path) -> None:
    with pytest.raises(ProductError, match="level 'L3'"):
        simulate_s2_fire(tmp_path, shape=(120, 120), level="L3")
    assert not list(tmp_path.iterdir())
