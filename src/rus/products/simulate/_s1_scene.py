"""Radiometry of a simulated Sentinel-1 IW GRDH scene: sea, land, wind, speckle and ships.

Backscatter model (linear sigma0, ellipsoid):

- sea, VV: ``-15 dB`` at 30 deg incidence falling linearly to ``-22 dB`` at 46 deg; HH a little
  lower at steep incidence; cross-pol (VH/HV) 9 dB below VV. Multiplied by a smooth wind field
  (lognormal, 1.5 dB standard deviation over ~4 km, plus calm patches up to 4 dB darker; its
  mean over the scene is 1).
- land (offline GSHHG coastline from roaring-landmask): co-pol ``-7.5 dB``, cross-pol ``-14 dB``
  with a 2.5 dB lognormal texture at ~200 m and a few bright built-up patches (+8 dB).
- multi-look speckle: the received power (signal + thermal noise) is gamma distributed with
  ENL 4.4 (IW GRDH).
- ships: bright oriented rectangles (peak sigma0 +3 to +28 dB, longer ships brighter, cross-pol
  3-6 dB lower) with amplitude variation along the hull, a superstructure highlight, a Gaussian
  PSF and azimuth sidelobes (sinc**2), each pixel fluctuating mildly (gamma, ENL 8).

DN are ``round(sqrt(A**2 * sigma0 * speckle + noise))`` so that calibration with the written
LUTs gives the model back: ``(DN**2 - noise) / A**2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rus.products.sentinel1.calibration import VectorGrid
from rus.products.sentinel1.geolocation import GCPGeolocation
from rus.products.simulate._s1_geometry import SceneGeometry

ENL = 4.4
SHIP_ENL = 8.0
WIND_CELL_PX = 50
LAND_CELL_PX = 10
MASK_COARSE_PX = 32
MASK_FINE_PX = 4


def is_cross(pol: str) -> bool:
    """True for VH/HV."""
    return pol.upper() in {"VH", "HV"}


def sea_sigma0_db(incidence_deg: NDArray[np.floating], pol: str) -> NDArray[np.float64]:
    """Mean sea sigma0 (dB) of the model at ``incidence_deg``, before wind modulation."""
    inc = np.asarray(incidence_deg, dtype=np.float64)
    vv = -15.0 - 7.0 * (inc - 30.0) / 16.0
    p = pol.upper()
    if p == "HH":
        return vv - 0.15 * (inc - 30.0)
    if is_cross(p):
        return vv - 9.0
    return vv


def land_sigma0_db(incidence_deg: NDArray[np.floating], pol: str) -> NDArray[np.float64]:
    """Mean land sigma0 (dB) of the model, before texture."""
    inc = np.asarray(incidence_deg, dtype=np.float64)
    base = -14.0 if is_cross(pol) else -7.5
    return base - 0.1 * (inc - 30.0)


def smooth_field(
    rng: np.random.Generator, shape: tuple[int, int], sigma: float
) -> NDArray[np.float64]:
    """Standard normal field with Gaussian correlation of ``sigma`` cells."""
    from scipy.ndimage import gaussian_filter

    g = gaussian_filter(rng.standard_normal(shape), sigma=sigma, mode="reflect")
    g -= g.mean()
    std = float(g.std())
    out: NDArray[np.float64] = g / std if std > 0 else g
    return out


def field_grid(values: NDArray[np.floating], cell: int) -> VectorGrid:
    """A coarse field (cells of ``cell`` px, centred on multiples of ``cell``) as a VectorGrid."""
    rows, cols = values.shape
    pix = np.arange(cols, dtype=np.float64) * cell
    return VectorGrid(
        lines=np.arange(rows, dtype=np.int64) * cell,
        pixels=tuple(pix for _ in range(rows)),
        values=tuple(np.asarray(values[i], dtype=np.float64) for i in range(rows)),
    )


def wind_field(rng: np.random.Generator, shape: tuple[int, int], enabled: bool) -> VectorGrid:
    """Multiplicative wind modulation (linear, scene mean 1) on 500 m cells."""
    cells = (shape[0] // WIND_CELL_PX + 2, shape[1] // WIND_CELL_PX + 2)
    if not enabled:
        return field_grid(np.ones(cells), WIND_CELL_PX)
    g1 = smooth_field(rng, cells, 8.0)
    g2 = smooth_field(rng, cells, 12.0)
    db = 1.5 * g1 - 4.0 * np.clip(-(g2 + 1.0), 0.0, 1.0)
    lin = 10.0 ** (db / 10.0)
    return field_grid(lin / lin.mean(), WIND_CELL_PX)


def land_texture(rng: np.random.Generator, shape: tuple[int, int]) -> VectorGrid:
    """Multiplicative land texture (linear) on 100 m cells, with bright built-up patches."""
    cells = (shape[0] // LAND_CELL_PX + 2, shape[1] // LAND_CELL_PX + 2)
    g = smooth_field(rng, cells, 2.0)
    urban = smooth_field(rng, cells, 4.0)
    db = 2.5 * g + 8.0 * np.clip(urban - 2.0, 0.0, 1.0)
    return field_grid(10.0 ** (db / 10.0), LAND_CELL_PX)


class LandMask:
    """Land/sea of image pixels from the offline GSHHG mask (roaring-landmask).

    Evaluated on a 32-pixel grid, then refined on a 4-pixel grid inside every coarse cell where
    the coastline may pass (cells with mixed corners, dilated by one cell).
    """

    def __init__(self, geoloc: GCPGeolocation) -> None:
        self._geoloc = geoloc

    def points(self, line: NDArray[np.floating], pixel: NDArray[np.floating]) -> NDArray[np.bool_]:
        """Land flag of arbitrary image positions."""
        from rus.products.landmask import is_land

        lon, lat = self._geoloc.pixel_to_lonlat(line, pixel)
        return is_land(lon, lat)

    def strip(self, r0: int, r1: int, width: int) -> NDArray[np.bool_]:
        """Land flag of every pixel of lines ``r0:r1`` (all ``width`` pixels)."""
        from scipy.ndimage import binary_dilation

        c = MASK_COARSE_PX
        rows = np.arange(r0, r1 + c, c, dtype=np.float64)
        cols = np.arange(0, width + c, c, dtype=np.float64)
        gl, gp = np.meshgrid(rows, cols, indexing="ij")
        corners = self.points(gl, gp)
        any_land = corners[:-1, :-1] | corners[1:, :-1] | corners[:-1, 1:] | corners[1:, 1:]
        all_land = corners[:-1, :-1] & corners[1:, :-1] & corners[:-1, 1:] & corners[1:, 1:]
        mixed = binary_dilation(any_land & ~all_land, structure=np.ones((3, 3), bool))
        nrows = r1 - r0
        full = np.repeat(np.repeat(all_land, c, axis=0), c, axis=1)[:nrows, :width].copy()
        ci, cj = np.nonzero(mixed)
        if ci.size:
            f = MASK_FINE_PX
            k = np.arange(c // f, dtype=np.float64) * f + (f - 1) / 2.0
            fl = r0 + ci[:, None, None] * c + k[None, :, None]
            fp = cj[:, None, None] * c + k[None, None, :]
            fl, fp = np.broadcast_arrays(fl, fp)
            fine = self.points(fl, fp)  # (n, c/f, c/f)
            blocks = np.repeat(np.repeat(fine, f, axis=1), f, axis=2)
            for n in range(ci.size):
                a, b = ci[n] * c, cj[n] * c
                h, w = min(c, nrows - a), min(c, width - b)
                if h > 0 and w > 0:
                    full[a : a + h, b : b + w] = blocks[n, :h, :w]
        return full


@dataclass(frozen=True)
class Ship:
    """A simulated ship: truth values and its rendered, peak-normalised intensity patch."""

    id: int
    line: float
    pixel: float
    length_m: float
    width_m: float
    heading_deg: float
    peak_db: float
    cross_drop_db: float
    r0: int
    c0: int
    patch: NDArray[np.float32]

    def truth(self, lon: float, lat: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "length_m": round(self.length_m, 1),
            "width_m": round(self.width_m, 1),
            "heading_deg": round(self.heading_deg, 1),
            "line": round(self.line, 2),
            "pixel": round(self.pixel, 2),
            "peak_sigma0_db": round(self.peak_db, 1),
            "cross_pol_drop_db": round(self.cross_drop_db, 1),
            "simulated": True,
        }


def render_ship(
    rng: np.random.Generator,
    geometry: SceneGeometry,
    line: float,
    pixel: float,
    length_m: float,
    width_m: float,
    heading_deg: float,
) -> tuple[int, int, NDArray[np.float32]]:
    """Peak-normalised intensity patch of a ship and the image position of its corner."""
    from scipy.ndimage import convolve1d, gaussian_filter

    lpx, wpx = length_m / 10.0, width_m / 10.0
    half = math.ceil(lpx / 2.0 + 10)
    cl, cp = round(line), round(pixel)
    fl, fp = line - cl, pixel - cp
    ss = 4
    off = (np.arange((2 * half + 1) * ss) + 0.5) / ss - (half + 0.5)
    y, x = np.meshgrid(off - fl, off - fp, indexing="ij")
    dl, dp = geometry.image_direction(heading_deg)
    u = y * dl + x * dp
    v = -y * dp + x * dl
    inside = (np.abs(u) <= lpx / 2.0) & (np.abs(v) <= max(wpx, 0.05) / 2.0)
    t = u / max(lpx, 1e-6)  # -0.5 .. 0.5 along the hull
    phases = rng.uniform(0, 2 * np.pi, 3)
    amp = 0.55 + 0.15 * (
        np.cos(2 * np.pi * 3 * t + phases[0])
        + np.cos(2 * np.pi * 7 * t + phases[1])
        + np.cos(2 * np.pi * 13 * t + phases[2])
    )
    amp += 1.5 * np.exp(-(((t + 0.3) / 0.08) ** 2))  # superstructure aft
    val = np.where(inside, np.clip(amp, 0.05, None), 0.0)
    n = 2 * half + 1
    img = val.reshape(n, ss, n, ss).mean(axis=(1, 3))
    if img.max() <= 0:  # thinner than the sampling: keep a point target
        img[half, half] = 1.0
    img = gaussian_filter(img, sigma=(1.0, 0.8))
    k = np.arange(-8, 9, dtype=np.float64)
    side = np.sinc(k / 1.3) ** 2 * np.hamming(k.size)
    img = convolve1d(img, side / side.max(), axis=0, mode="constant")
    img /= img.max()
    return cl - half, cp - half, img.astype(np.float32)


def ship_peak_db(rng: np.random.Generator, length_m: float) -> float:
    """Peak sigma0 (dB) of a ship: +5 dB at 15 m to +25 dB at 400 m, +/- 2 dB, in [3, 28]."""
    base = 5.0 + 20.0 * math.log(length_m / 15.0) / math.log(400.0 / 15.0)
    return float(np.clip(base + rng.normal(0.0, 2.0), 3.0, 28.0))


def place_ships(
    rng: np.random.Generator, geometry: SceneGeometry, mask: LandMask, count: int
) -> list[Ship]:
    """Draw ``count`` ships at sea, at least ~1 km from land and 600 m apart."""
    lines, pixels = geometry.shape
    margin = 60
    ships: list[Ship] = []
    if count <= 0:
        return ships
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring = [(0.0, 0.0)] + [
        (r * math.cos(a), r * math.sin(a)) for r in (35.0, 70.0, 105.0) for a in ang
    ]
    rl = np.array([q[0] for q in ring])
    rp = np.array([q[1] for q in ring])
    for _ in range(60):
        if len(ships) >= count:
            break
        n = max(16, 4 * (count - len(ships)))
        cand_l = rng.uniform(margin, lines - margin, n)
        cand_p = rng.uniform(margin, pixels - margin, n)
        land = mask.points(cand_l[:, None] + rl[None, :], cand_p[:, None] + rp[None, :])
        land_any: NDArray[np.bool_] = np.any(np.asarray(land, dtype=bool), axis=1)
        ok = [not bool(land_any[i]) for i in range(n)]
        for li, pi, good in zip(cand_l, cand_p, ok, strict=True):
            if not good or len(ships) >= count:
                continue
            if any((s.line - li) ** 2 + (s.pixel - pi) ** 2 < 60.0**2 for s in ships):
                continue
            length = float(math.exp(rng.uniform(math.log(15.0), math.log(400.0))))
            width = length / float(rng.uniform(6.0, 8.0))
            heading = float(rng.uniform(0.0, 360.0))
            r0, c0, patch = render_ship(rng, geometry, li, pi, length, width, heading)
            ships.append(
                Ship(
                    id=len(ships) + 1,
                    line=float(li),
                    pixel=float(pi),
                    length_m=length,
                    width_m=width,
                    heading_deg=heading,
                    peak_db=ship_peak_db(rng, length),
                    cross_drop_db=float(rng.uniform(3.0, 6.0)),
                    r0=r0,
                    c0=c0,
                    patch=patch,
                )
            )
    return ships


def add_ships(
    power: NDArray[np.float32],
    a2: NDArray[np.float32],
    r0: int,
    ships: list[Ship],
    pol: str,
    rng: np.random.Generator,
) -> None:
    """Add the ships' power (``A**2 * sigma0``) to a strip starting at line ``r0`` in place."""
    r1 = r0 + power.shape[0]
    width = power.shape[1]
    for s in ships:
        h, w = s.patch.shape
        a, b = max(s.r0, r0), min(s.r0 + h, r1)
        c, d = max(s.c0, 0), min(s.c0 + w, width)
        if a >= b or c >= d:
            continue
        peak = s.peak_db - (s.cross_drop_db if is_cross(pol) else 0.0)
        sub = s.patch[a - s.r0 : b - s.r0, c - s.c0 : d - s.c0]
        fluct = rng.standard_gamma(SHIP_ENL, size=sub.shape, dtype=np.float32) / SHIP_ENL
        power[a - r0 : b - r0, c:d] += (
            a2[a - r0 : b - r0, c:d] * np.float32(10.0 ** (peak / 10.0)) * sub * fluct
        )
