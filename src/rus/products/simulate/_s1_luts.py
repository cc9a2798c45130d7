"""Calibration, noise and geolocation annotation of a simulated Sentinel-1 IW GRDH scene.

- calibration vectors every 668 lines (about 1 s of azimuth time) and 40 pixels, as in real
  products: ``betaNought`` constant (474), ``sigmaNought = beta / sqrt(sin(incidence))``,
  ``gamma = beta / sqrt(tan(incidence))``, with a 0.1 % along-track drift;
- range noise vectors on the same grid: noise-equivalent sigma0 scalloped per IW sub-swath
  (-25.5 dB mid sub-swath, -22 dB at its edges), written as noise power ``NESZ * A**2``;
  azimuth noise vectors per sub-swath (1 +/- 4 %);
- a 10 x 21 geolocation grid from the exact scene geometry.

Values are formatted as written in the XML and parsed back, so the simulator's DN use exactly
the LUTs a reader will find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from rus.products.sentinel1.calibration import VectorGrid, make_grid
from rus.products.sentinel1.geolocation import GCPGeolocation
from rus.products.sentinel1.noise import AzimuthBlock, NoiseModel
from rus.products.simulate import _s1_xml as sx
from rus.products.simulate._s1_geometry import (
    ALTITUDE_M,
    AZIMUTH_TIME_INTERVAL_S,
    EARTH_RADIUS_M,
    FULL_SHAPE,
    SUBSWATH_STARTS,
    SceneGeometry,
)

CAL_LINE_STEP = 668
CAL_PIXEL_STEP = 40
BETA_NOUGHT = 474.0


def vector_lines(lines: int) -> list[int]:
    """Lines of the calibration/noise vectors (the last one at or beyond the last line)."""
    n_vec = int(np.ceil((lines - 1) / CAL_LINE_STEP)) + 1
    return [k * CAL_LINE_STEP for k in range(n_vec)]


def vector_pixels(pixels: int) -> NDArray[np.int64]:
    """Pixels of the calibration/noise vectors: every 40, plus the last pixel."""
    return np.unique(np.r_[np.arange(0, pixels, CAL_PIXEL_STEP), pixels - 1]).astype(np.int64)


def _parse(text: str) -> NDArray[np.float64]:
    return np.array(text.split(), dtype=np.float64)


@dataclass(frozen=True)
class Luts:
    """Calibration and noise of one polarisation: XML text and the parsed-back model."""

    cal_text: dict[str, list[str]]
    noise_text: list[str]
    azimuth: list[sx.AzimuthNoise]
    sigma: VectorGrid
    noise: NoiseModel


def _nesz_db(geometry: SceneGeometry, pixels: NDArray[np.float64]) -> NDArray[np.float64]:
    """Noise-equivalent sigma0 (dB): scalloped per sub-swath, -25.5 dB mid to -22 dB at edges."""
    q = geometry.pixel_offset + pixels
    bounds = [*SUBSWATH_STARTS, FULL_SHAPE[1]]
    out = np.zeros_like(q)
    for i in range(3):
        a, b = bounds[i], bounds[i + 1]
        sel = (q >= a) & (q < b) if i < 2 else (q >= a)
        u = (q[sel] - (a + b) / 2.0) / ((b - a) / 2.0)
        out[sel] = -25.5 + 0.5 * (i == 0) + 3.5 * u**2
    return out


def make_luts(geometry: SceneGeometry, rng: np.random.Generator) -> Luts:
    lines, pixels = geometry.shape
    vec_lines = vector_lines(lines)
    n_vec = len(vec_lines)
    pix = vector_pixels(pixels).astype(np.float64)
    inc = np.radians(geometry.incidence(pix))
    text: dict[str, list[str]] = {"sigmaNought": [], "betaNought": [], "gamma": [], "dn": []}
    sig_vals = []
    for line in vec_lines:
        drift = 1.0 + 1e-3 * line / FULL_SHAPE[0]  # a tiny along-track drift, as in real LUTs
        sigma = BETA_NOUGHT * drift / np.sqrt(np.sin(inc))
        text["sigmaNought"].append(sx.fmt_values(sigma))
        text["betaNought"].append(sx.fmt_values(np.full(pix.size, BETA_NOUGHT * drift)))
        text["gamma"].append(sx.fmt_values(BETA_NOUGHT * drift / np.sqrt(np.tan(inc))))
        text["dn"].append(sx.fmt_values(np.full(pix.size, 401.6)))
        sig_vals.append(_parse(text["sigmaNought"][-1]))
    sigma_grid = make_grid(vec_lines, [pix] * n_vec, sig_vals, "simulated calibration")
    nesz = 10.0 ** (_nesz_db(geometry, pix) / 10.0)
    noise_text = [sx.fmt_values(nesz * s**2) for s in sig_vals]
    rng_grid = make_grid(vec_lines, [pix] * n_vec, [_parse(t) for t in noise_text], "noise")
    az_text: list[sx.AzimuthNoise] = []
    blocks: list[AzimuthBlock] = []
    bounds = [*SUBSWATH_STARTS, FULL_SHAPE[1]]
    az_lines = np.unique(np.r_[np.arange(0, lines, 10), lines - 1]).astype(np.int64)
    for i in range(3):
        a = max(0, int(np.ceil(bounds[i] - geometry.pixel_offset)))
        b = min(pixels - 1, int(np.ceil(bounds[i + 1] - geometry.pixel_offset)) - 1)
        if a > b:
            continue
        phase = rng.uniform(0, 2 * np.pi)
        vals = 1.0 + 0.04 * np.sin(2 * np.pi * az_lines / 1100.0 + phase)
        lut = sx.fmt_values(vals)
        az_text.append(sx.AzimuthNoise(f"IW{i + 1}", 0, lines - 1, a, b, az_lines, lut))
        blocks.append(
            AzimuthBlock(f"IW{i + 1}", 0, lines - 1, a, b, az_lines.astype(float), _parse(lut))
        )
    return Luts(text, noise_text, az_text, sigma_grid, NoiseModel(rng_grid, tuple(blocks)))


def gcp_grid(geometry: SceneGeometry) -> tuple[list[sx.GridPoint], GCPGeolocation]:
    gl, gp = geometry.gcp_axes()
    ll, pp = np.meshgrid(gl, gp, indexing="ij")
    lon, lat = geometry.lonlat(ll, pp)
    inc = np.broadcast_to(geometry.incidence(gp.astype(float)), ll.shape)
    srt = geometry.slant_range_time(gp.astype(float))
    rs = EARTH_RADIUS_M + ALTITUDE_M
    elev = np.degrees(np.arcsin(EARTH_RADIUS_M * np.sin(np.radians(inc)) / rs))
    points = []
    for i, line in enumerate(gl):
        t = geometry.start_time + timedelta(seconds=float(line) * AZIMUTH_TIME_INTERVAL_S)
        for j, pixel in enumerate(gp):
            points.append(
                sx.GridPoint(
                    t,
                    float(srt[j]),
                    int(line),
                    int(pixel),
                    float(lat[i, j]),
                    float(lon[i, j]),
                    float(inc[i, j]),
                    float(elev[i, j]),
                )
            )
    # the reader's view of the grid: values as written (15 significant digits)
    rt = np.vectorize(lambda v: float(f"{v:.15e}"))
    geoloc = GCPGeolocation(gl.astype(float), gp.astype(float), rt(lon), rt(lat), rt(inc))
    return points, geoloc
