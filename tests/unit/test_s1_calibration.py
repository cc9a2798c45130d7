"""Sentinel-1 GRD reader on REAL product XML (sarsen 0.9.6 and xarray-sentinel 0.9.6 sdists).

Calibration and noise values are recomputed here by hand from the XML with ElementTree and plain
linear interpolation, independently of the reader's code.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from rus.products.errors import ProductError
from rus.products.sentinel1 import open_s1_grd

POSITIONS = [(0, 0), (0, 26101), (100, 41), (668, 40), (5000, 12345), (8888, 8889), (16704, 26101)]


def _sarsen_safe(sarsen_data: Path) -> Path:
    return next(sarsen_data.glob("S1B_IW_GRDH_*.SAFE"))


def _lerp(x: float, xs: list[float], ys: list[float]) -> float:
    """Linear interpolation by hand, clamped at the ends."""
    if x <= xs[0]:
        return ys[0]
    for j in range(len(xs) - 1):
        if xs[j] <= x <= xs[j + 1]:
            t = (x - xs[j]) / (xs[j + 1] - xs[j])
            return ys[j] + t * (ys[j + 1] - ys[j])
    return ys[-1]


def _vectors(
    xml: Path, vector_tag: str, value_tag: str
) -> list[tuple[int, list[float], list[float]]]:
    root = ElementTree.parse(xml).getroot()
    out = []
    for vec in root.iter(vector_tag):
        line = int(vec.findtext("line") or "0")
        pixels = [float(v) for v in (vec.findtext("pixel") or "").split()]
        values = [float(v) for v in (vec.findtext(value_tag) or "").split()]
        out.append((line, pixels, values))
    return out


def _bilinear(vectors: list[tuple[int, list[float], list[float]]], line: int, pixel: int) -> float:
    lines = [v[0] for v in vectors]
    per_vector = [_lerp(pixel, v[1], v[2]) for v in vectors]
    return _lerp(line, [float(x) for x in lines], per_vector)


def _azimuth_factor(xml: Path, line: int, pixel: int) -> float:
    root = ElementTree.parse(xml).getroot()
    for blk in root.iter("noiseAzimuthVector"):
        fl, ll = (
            int(blk.findtext("firstAzimuthLine") or 0),
            int(blk.findtext("lastAzimuthLine") or 0),
        )
        fs, ls = (
            int(blk.findtext("firstRangeSample") or 0),
            int(blk.findtext("lastRangeSample") or 0),
        )
        if fl <= line <= ll and fs <= pixel <= ls:
            lines = [float(v) for v in (blk.findtext("line") or "").split()]
            lut = [float(v) for v in (blk.findtext("noiseAzimuthLut") or "").split()]
            return _lerp(line, lines, lut)
    return 1.0


@pytest.mark.parametrize(
    "kind,tag", [("sigma0", "sigmaNought"), ("beta0", "betaNought"), ("gamma0", "gamma")]
)
def test_calibration_lut_matches_hand_computation(sarsen_data: Path, kind: str, tag: str) -> None:
    safe = _sarsen_safe(sarsen_data)
    grd = open_s1_grd(safe)
    cal_xml = next((safe / "annotation" / "calibration").glob("calibration-*vv*.xml"))
    vectors = _vectors(cal_xml, "calibrationVector", tag)
    lut = grd.calibration_lut("VV", kind)  # type: ignore[arg-type]
    assert lut.shape == (16705, 26102) and lut.dtype == np.float32
    for line, pixel in POSITIONS:
        expected = _bilinear(vectors, line, pixel)
        got = float(lut.isel(line=line, pixel=pixel).compute())
        assert math.isclose(got, expected, rel_tol=2e-6), (kind, line, pixel, got, expected)


def test_noise_power_matches_hand_computation(sarsen_data: Path) -> None:
    safe = _sarsen_safe(sarsen_data)
    grd = open_s1_grd(safe)
    noise_xml = next((safe / "annotation" / "calibration").glob("noise-*vv*.xml"))
    vectors = _vectors(noise_xml, "noiseRangeVector", "noiseRangeLut")
    noise = grd.noise_power("VV")
    assert noise.attrs["azimuth_vectors"] == 1
    for line, pixel in POSITIONS:
        expected = _bilinear(vectors, line, pixel) * _azimuth_factor(noise_xml, line, pixel)
        got = float(noise.isel(line=line, pixel=pixel).compute())
        assert math.isclose(got, expected, rel_tol=2e-6), (line, pixel, got, expected)


def test_lut_blocks_agree_across_chunk_borders(sarsen_data: Path) -> None:
    grd = open_s1_grd(_sarsen_safe(sarsen_data), chunks=(1000, 4000))
    lut = grd.calibration_lut("VV")
    # striped TIFF (1-line strips): chunks are whole strips, i.e. full width
    assert lut.data.chunks[1] == (26102,)
    assert set(lut.data.chunks[0][:-1]) == {1000}
    window = lut.isel(line=slice(995, 1006), pixel=slice(8880, 8900)).values
    cal = grd._calibration("VV")["sigma0"]
    direct = cal.evaluate(np.arange(995, 1006), np.arange(8880, 8900))
    np.testing.assert_allclose(window, direct, rtol=1e-6)
    # bilinear: along lines the LUT is linear between the vectors at 668 and 1336
    mid = cal.at(1002, 8885)
    assert math.isclose(mid, (cal.at(668, 8885) + cal.at(1336, 8885)) / 2, rel_tol=1e-5)


def test_intensity_of_placeholder_pixels_is_nodata(sarsen_data: Path) -> None:
    grd = open_s1_grd(_sarsen_safe(sarsen_data))
    dn = grd.measurement("VV")
    assert dn.dtype == np.uint16 and dn.dims == ("line", "pixel")
    block = grd.intensity("VV").isel(line=slice(0, 4), pixel=slice(0, 4)).values
    assert np.isnan(block).all()  # the sdist's TIFF is all zeros: DN 0 is no-data
    assert grd.intensity("VV").attrs["units"] == "m2 m-2"


def test_real_metadata_and_geolocation(sarsen_data: Path) -> None:
    safe = _sarsen_safe(sarsen_data)
    grd = open_s1_grd(safe)
    m = grd.metadata
    assert (m.mission, m.mode, m.product_type, m.resolution_class) == ("S1B", "IW", "GRD", "H")
    assert m.shape == (16705, 26102)  # lines (azimuth) x pixels (range)
    assert m.pass_direction == "DESCENDING" and m.ipf_version == "003.40"
    assert (m.absolute_orbit, m.relative_orbit) == (30148, 22)
    assert m.start_time.tzinfo is not None and m.start_time.isoformat().startswith(
        "2021-12-23T05:11:22"
    )
    assert m.simulated is False
    # the GCP nodes are reproduced exactly, and the inverse goes back to them
    ann = next((safe / "annotation").glob("s1b-iw-grd-vv-*.xml"))
    root = ElementTree.parse(ann).getroot()
    pts = list(root.iter("geolocationGridPoint"))[::17]
    line = np.array([float(p.findtext("line") or 0) for p in pts])
    pixel = np.array([float(p.findtext("pixel") or 0) for p in pts])
    lon = np.array([float(p.findtext("longitude") or 0) for p in pts])
    lat = np.array([float(p.findtext("latitude") or 0) for p in pts])
    glon, glat = grd.geolocation.pixel_to_lonlat(line, pixel)
    np.testing.assert_allclose(glon, lon, atol=1e-9)
    np.testing.assert_allclose(glat, lat, atol=1e-9)
    back_l, back_p = grd.geolocation.lonlat_to_pixel(lon, lat)
    np.testing.assert_allclose(back_l, line, atol=0.01)
    np.testing.assert_allclose(back_p, pixel, atol=0.01)
    assert m.footprint.is_valid and m.footprint.contains(
        __import__("shapely").geometry.Point(12.5, 41.9)
    )  # Rome lies in this scene


def test_xarray_sentinel_grd_metadata(xarray_sentinel_data: Path) -> None:
    safe = next(xarray_sentinel_data.glob("S1B_IW_GRDH_*.SAFE"))
    # this sdist copy lacks the calibration/noise files: strict open says so ...
    with pytest.raises(ProductError, match="missing calibration file"):
        open_s1_grd(safe)
    # ... and a lenient open still gives metadata and geolocation
    grd = open_s1_grd(safe, strict=False)
    assert grd.metadata.shape == (16685, 25788)
    assert grd.metadata.polarisations == ("VV", "VH")
    desc = grd.describe()
    assert desc["chunks"]["VH"] is None and desc["chunks"]["VV"][1] == 25788
    with pytest.raises(ProductError, match="calibration"):
        grd.calibration_lut("VV")
    lon, lat = grd.geolocation.pixel_to_lonlat(0, 0)
    line, pixel = grd.geolocation.lonlat_to_pixel(lon, lat)
    assert abs(float(line)) < 0.01 and abs(float(pixel)) < 0.01
