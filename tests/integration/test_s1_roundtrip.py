"""Simulate a Sentinel-1 GRD -> open it with the reader -> get the simulated scene back."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from rus.products.sentinel1 import calibrate_intensity, open_s1_grd
from rus.products.simulate.s1 import S1SimulationResult, simulate_s1_grd

# Open Adriatic sea between Ancona and Split: no land within ~30 km of the centre.
OPEN_SEA = "POLYGON((14.9 43.25, 15.1 43.25, 15.1 43.35, 14.9 43.35, 14.9 43.25))"


@pytest.fixture(scope="module")
def trieste(tmp_path_factory: pytest.TempPathFactory) -> S1SimulationResult:
    out = tmp_path_factory.mktemp("s1-trieste")
    return simulate_s1_grd(out, shape=(1500, 2000), ships=12, seed=3, aoi="trieste")


@pytest.fixture(scope="module")
def open_sea(tmp_path_factory: pytest.TempPathFactory) -> S1SimulationResult:
    out = tmp_path_factory.mktemp("s1-sea")
    return simulate_s1_grd(out, shape=(1500, 2000), ships=0, seed=4, aoi=OPEN_SEA, wind=False)


def _db(x: float) -> float:
    return float(10.0 * np.log10(x))


def test_product_layout_and_metadata(trieste: S1SimulationResult) -> None:
    safe = trieste.product
    assert safe.name.startswith("S1A_IW_GRDH_1SDV_") and safe.suffix == ".SAFE"
    assert trieste.truth == safe.parent / f"{safe.stem}.truth.geojson"
    for pattern in (
        "annotation/s1a-iw-grd-v?-*.xml",
        "annotation/calibration/calibration-*.xml",
        "annotation/calibration/noise-*.xml",
        "measurement/*.tiff",
    ):
        assert len(list(safe.glob(pattern))) == 2, pattern
    grd = open_s1_grd(safe)
    m = grd.metadata
    assert m.simulated is True
    assert (m.mission, m.mode, m.resolution_class, m.pass_direction) == (
        "S1A",
        "IW",
        "H",
        "DESCENDING",
    )
    assert m.polarisations == ("VV", "VH") and m.shape == (1500, 2000)
    assert m.range_pixel_spacing == 10.0 and m.azimuth_pixel_spacing == 10.0
    assert m.start_time < m.stop_time and m.start_time.utcoffset() is not None
    # the Gulf of Trieste is inside the footprint
    from shapely.geometry import Point

    assert m.footprint.contains(Point(13.62, 45.63))
    # xarray-sentinel's own parsers accept the simulated XML
    from xarray_sentinel import esa_safe

    cal = next((safe / "annotation" / "calibration").glob("calibration-*vv*.xml"))
    vectors = esa_safe.parse_tag_as_list(str(cal), "//calibrationVector", "calibration")
    assert len(vectors) == 4 and vectors[0]["pixel"]["@count"] == 51
    attrs, files = esa_safe.parse_manifest_sentinel1(str(safe / "manifest.safe"))
    assert attrs["product_type"] == "GRD" and attrs["pass"] == "DESCENDING"
    assert len(files) == 8
    manifest = (safe / "manifest.safe").read_text()
    assert "SIMULATED by rus" in manifest


def test_sigma0_statistics_match_the_model(open_sea: S1SimulationResult) -> None:
    grd = open_s1_grd(open_sea.product)
    model = open_sea.model
    for pol in ("VV", "VH"):
        s0 = grd.intensity(pol)
        assert s0.dtype == np.float32 and s0.attrs["units"] == "m2 m-2"
        assert float(s0.min().compute()) >= 0.0  # negatives after denoising are clipped
        # unclipped (DN^2 - noise) / A^2: unbiased even where VH is below the noise floor
        dn = grd.measurement(pol).astype(np.float64)
        raw = (dn**2 - grd.noise_power(pol)) / grd.calibration_lut(pol) ** 2
        near = float(raw.isel(pixel=slice(0, 40)).mean().compute())
        far = float(raw.isel(pixel=slice(-40, None)).mean().compute())
        want_near, want_far = model["sea_sigma0_db_near_far"][pol]
        assert abs(_db(near) - want_near) < 0.5, (pol, _db(near), want_near)
        assert abs(_db(far) - want_far) < 0.5, (pol, _db(far), want_far)
    # multi-look speckle of the received power (signal + noise): ENL = mean^2 / var ~ 4.4
    power = grd.measurement("VV").isel(pixel=slice(0, 40)).values.astype(np.float64) ** 2
    enl = float(power.mean() ** 2 / power.var())
    assert 4.0 < enl < 4.8, enl
    # denoising matters for VH (close to the noise floor) and removes about NESZ
    vh_raw = float(grd.intensity("VH", denoise=False).mean().compute())
    vh = float(grd.intensity("VH").mean().compute())
    assert _db(vh_raw) - _db(vh) > 1.0


def test_geolocation_matches_the_simulated_footprint(trieste: S1SimulationResult) -> None:
    grd = open_s1_grd(trieste.product)
    root = ElementTree.parse(trieste.product / "manifest.safe").getroot()
    text = root.findtext(".//{http://www.opengis.net/gml}coordinates") or ""
    corners = [tuple(float(v) for v in c.split(",")) for c in text.split()]
    lat = np.array([c[0] for c in corners])
    lon = np.array([c[1] for c in corners])
    line, pixel = grd.geolocation.lonlat_to_pixel(lon, lat)
    lines, pixels = grd.metadata.shape
    np.testing.assert_allclose(line, [0, 0, lines - 1, lines - 1], atol=1.0)
    np.testing.assert_allclose(pixel, [0, pixels - 1, pixels - 1, 0], atol=1.0)
    # inside the grid: ship positions (exact geodesic geometry) within 1 pixel
    ships = trieste.ships
    assert ships
    sl, sp = grd.geolocation.lonlat_to_pixel([s["lon"] for s in ships], [s["lat"] for s in ships])
    assert np.max(np.abs(sl - [s["line"] for s in ships])) < 1.0
    assert np.max(np.abs(sp - [s["pixel"] for s in ships])) < 1.0


def test_truth_ships_lie_at_sea_and_are_bright(trieste: S1SimulationResult) -> None:
    from pyproj import Geod

    from rus.products.landmask import is_land  # GSHHG, loaded once per process

    doc = json.loads(trieste.truth.read_text())
    assert doc["type"] == "FeatureCollection" and doc["simulated"] is True
    feats = doc["features"]
    assert len(feats) == 12
    geod = Geod(ellps="WGS84")
    for f in feats:
        p = f["properties"]
        assert set(p) >= {"id", "length_m", "width_m", "heading_deg", "line", "pixel"}
        assert p["simulated"] is True
        assert 15 <= p["length_m"] <= 400 and 6 <= p["length_m"] / p["width_m"] <= 8.01
        assert 0 <= p["heading_deg"] < 360
        lon, lat = f["geometry"]["coordinates"]
        az = np.arange(0, 360, 30.0)
        rlon, rlat, _ = geod.fwd(
            np.full(az.size, lon), np.full(az.size, lat), az, np.full(az.size, 900.0)
        )
        assert not is_land(np.r_[lon, rlon], np.r_[lat, rlat]).any()
    grd = open_s1_grd(trieste.product)
    vv = grd.intensity("VV").values
    sea_level = float(np.nanmedian(vv))
    for f in feats:
        p = f["properties"]
        r, c = round(p["line"]), round(p["pixel"])
        peak = float(np.nanmax(vv[r - 3 : r + 4, c - 3 : c + 4]))
        assert _db(peak) - _db(sea_level) > 10.0, p


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_zip_round_trip(trieste: S1SimulationResult, tmp_path: Path, compression: int) -> None:
    safe = trieste.product
    archive = tmp_path / f"{safe.stem}.zip"
    with zipfile.ZipFile(archive, "w", compression) as zf:
        for path in sorted(safe.rglob("*")):
            zf.write(path, f"{safe.name}/{path.relative_to(safe).as_posix()}")
    zgrd = open_s1_grd(archive)
    grd = open_s1_grd(safe)
    assert zgrd.name == grd.name and zgrd.metadata == grd.metadata
    assert zgrd.describe()["container"] == "zip"
    # deflated members are read through one shared handle (no re-inflating per chunk)
    assert zgrd._tiff_ref("VH").sequential is (compression == zipfile.ZIP_DEFLATED)
    window = {"line": slice(700, 900), "pixel": slice(1500, 1800)}
    np.testing.assert_array_equal(
        zgrd.intensity("VH").isel(window).values, grd.intensity("VH").isel(window).values
    )


def test_chunks_keys_and_generic_calibration(trieste: S1SimulationResult) -> None:
    grd = open_s1_grd(trieste.product, chunks=(700, 700))
    dn = grd.measurement("VV")
    assert dn.dtype == np.uint16 and dn.data.chunks == ((1024, 476), (1024, 976))
    again = open_s1_grd(trieste.product, chunks=(700, 700))
    assert again.measurement("VV").data.name == dn.data.name
    assert again.intensity("VV").data.name == grd.intensity("VV").data.name
    assert grd.measurement("VH").data.name != dn.data.name
    assert grd.intensity("VV", denoise=False).data.name != grd.intensity("VV").data.name
    generic = calibrate_intensity(dn, grd.calibration_lut("VV"), grd.noise_power("VV"))
    np.testing.assert_allclose(generic.values, grd.intensity("VV").values, rtol=1e-6)
    assert generic.attrs["units"] == "m2 m-2"


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    def digest(result: S1SimulationResult) -> dict[str, str]:
        files = sorted(p for p in result.product.rglob("*") if p.is_file())
        out = {
            p.relative_to(result.product).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in files
        }
        out["truth"] = hashlib.md5(result.truth.read_bytes()).hexdigest()
        return out

    a = simulate_s1_grd(
        tmp_path / "a", shape=(300, 400), ships=3, seed=5, aoi="trieste", pols=("VV",)
    )
    b = simulate_s1_grd(
        tmp_path / "b", shape=(300, 400), ships=3, seed=5, aoi="trieste", pols=("VV",)
    )
    c = simulate_s1_grd(
        tmp_path / "c", shape=(300, 400), ships=3, seed=6, aoi="trieste", pols=("VV",)
    )
    assert a.product.name == b.product.name and a.product.name.startswith("S1A_IW_GRDH_1SSV_")
    assert digest(a) == digest(b)
    tiffs = [next(v for k, v in digest(r).items() if k.endswith(".tiff")) for r in (a, c)]
    assert tiffs[0] != tiffs[1]


def test_rus_info_json_says_simulated(trieste: S1SimulationResult) -> None:
    rus = Path(sys.executable).with_name("rus")
    proc = subprocess.run(
        [str(rus), "info", "--json", str(trieste.product)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["simulated"] is True and info["mission"] == "S1A"
    assert info["shapes"]["VV"] == [1500, 2000] and info["chunks"]["VV"] == [1500, 2000]
    assert info["footprint"]["type"] == "Polygon"
    text = subprocess.run(
        [str(rus), "info", str(trieste.product)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert text.returncode == 0 and "SIMULATED" in text.stdout


def test_pre_ipf_2_9_noise_is_range_only(trieste: S1SimulationResult, tmp_path: Path) -> None:
    """Products before IPF 2.9 carry ``noiseVectorList`` (range only, tag ``noiseLut``)."""
    import shutil

    safe = tmp_path / trieste.product.name
    shutil.copytree(trieste.product, safe)
    noise_xml = next((safe / "annotation" / "calibration").glob("noise-*vv*.xml"))
    root = ElementTree.parse(noise_xml).getroot()
    legacy = ElementTree.Element("noise")
    legacy.append(root.find("adsHeader"))  # type: ignore[arg-type]
    vlist = ElementTree.SubElement(legacy, "noiseVectorList")
    expected = []
    for vec in root.iter("noiseRangeVector"):
        new = ElementTree.SubElement(vlist, "noiseVector")
        for tag in ("azimuthTime", "line", "pixel"):
            ElementTree.SubElement(new, tag).text = vec.findtext(tag)
        ElementTree.SubElement(new, "noiseLut").text = vec.findtext("noiseRangeLut")
        expected.append(
            (
                int(vec.findtext("line") or 0),
                np.array((vec.findtext("pixel") or "").split(), float),
                np.array((vec.findtext("noiseRangeLut") or "").split(), float),
            )
        )
    noise_xml.write_bytes(ElementTree.tostring(legacy, xml_declaration=True, encoding="UTF-8"))
    grd = open_s1_grd(safe)
    noise = grd.noise_power("VV")
    assert noise.attrs["azimuth_vectors"] == 0
    # by hand at line 1000, pixel 777: linear in pixel on each vector, then linear in line
    (l0, p0, v0), (l1, p1, v1) = expected[1], expected[2]
    a, b = np.interp(777, p0, v0), np.interp(777, p1, v1)
    want = a + (1000 - l0) / (l1 - l0) * (b - a)
    assert float(noise.isel(line=1000, pixel=777)) == pytest.approx(want, rel=1e-6)
    assert np.isfinite(grd.intensity("VV").isel(line=slice(0, 50)).values).all()
