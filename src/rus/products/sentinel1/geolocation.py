"""Geolocation of Sentinel-1 GRD pixels from the annotation's geolocation grid (GCPs).

The GCP grid is rectilinear in image space (the same pixel positions on every grid line), about
10 x 21 points for an IW GRDH scene. Forward mapping interpolates longitude and latitude with
bicubic splines over (line, pixel); the inverse solves for (line, pixel) with Newton iterations
on those splines, started from an affine least-squares fit. Both are vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import Polygon

from rus.products.errors import ProductError


@dataclass(frozen=True)
class GCPGeolocation:
    """Pixel <-> lon/lat mapping interpolated from a rectilinear GCP grid.

    Attributes
    ----------
    lines : ndarray, shape (M,)
        Grid line positions (increasing).
    pixels : ndarray, shape (N,)
        Grid pixel positions (increasing).
    lon, lat : ndarray, shape (M, N)
        Longitude / latitude of each grid point in degrees.
    incidence : ndarray, shape (M, N)
        Ellipsoid incidence angle in degrees (NaN when not annotated).
    """

    lines: NDArray[np.float64]
    pixels: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    incidence: NDArray[np.float64]
    _splines: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def _spline(self, name: str) -> Any:
        if name not in self._splines:
            from scipy.interpolate import RectBivariateSpline

            kx = min(3, self.lines.size - 1)
            ky = min(3, self.pixels.size - 1)
            grid = {"lon": self.lon, "lat": self.lat, "incidence": self.incidence}[name]
            self._splines[name] = RectBivariateSpline(self.lines, self.pixels, grid, kx=kx, ky=ky)
        return self._splines[name]

    def _ev(
        self, name: str, li: NDArray[np.float64], pi: NDArray[np.float64], d: str = ""
    ) -> NDArray[np.float64]:
        """Spline value (or derivative ``d`` in ``"dl"``/``"dp"``), linear beyond the grid."""
        spl = self._spline(name)
        lc = np.clip(li, self.lines[0], self.lines[-1])
        pc = np.clip(pi, self.pixels[0], self.pixels[-1])
        if d == "dl":
            return np.asarray(spl.ev(lc, pc, dx=1), dtype=np.float64)
        if d == "dp":
            return np.asarray(spl.ev(lc, pc, dy=1), dtype=np.float64)
        out = np.asarray(spl.ev(lc, pc), dtype=np.float64)
        outside = (lc != li) | (pc != pi)
        if outside.any():
            o = outside
            out[o] += spl.ev(lc[o], pc[o], dx=1) * (li[o] - lc[o])
            out[o] += spl.ev(lc[o], pc[o], dy=1) * (pi[o] - pc[o])
        return out

    def pixel_to_lonlat(
        self, line: ArrayLike, pixel: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Longitude and latitude (degrees) of image positions (fractional lines/pixels allowed).

        Bicubic inside the GCP grid; linear extrapolation from its edge outside.
        """
        li, pi = np.broadcast_arrays(np.asarray(line, float), np.asarray(pixel, float))
        l1, p1 = li.ravel(), pi.ravel()
        return self._ev("lon", l1, p1).reshape(li.shape), self._ev("lat", l1, p1).reshape(li.shape)

    def incidence_angle(self, line: ArrayLike, pixel: ArrayLike) -> NDArray[np.float64]:
        """Ellipsoid incidence angle in degrees at image positions."""
        li, pi = np.broadcast_arrays(np.asarray(line, float), np.asarray(pixel, float))
        return self._ev("incidence", li.ravel(), pi.ravel()).reshape(li.shape)

    def lonlat_to_pixel(
        self, lon: ArrayLike, lat: ArrayLike, *, iterations: int = 8
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Fractional (line, pixel) of lon/lat points (Newton iterations on the splines).

        Points outside the grid get a best-effort extrapolated answer; check the range yourself.
        """
        lo, la = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
        lo1, la1 = lo.ravel(), la.ravel()
        # Affine first guess: [line, pixel] = [lon, lat, 1] @ coef
        gl, gp = np.meshgrid(self.lines, self.pixels, indexing="ij")
        design = np.column_stack([self.lon.ravel(), self.lat.ravel(), np.ones(self.lon.size)])
        coef, *_ = np.linalg.lstsq(design, np.column_stack([gl.ravel(), gp.ravel()]), rcond=None)
        guess = np.column_stack([lo1, la1, np.ones(lo1.size)]) @ coef
        li, pi = guess[:, 0].copy(), guess[:, 1].copy()
        for _ in range(iterations):
            f_lon = self._ev("lon", li, pi) - lo1
            f_lat = self._ev("lat", li, pi) - la1
            a = self._ev("lon", li, pi, "dl")
            b = self._ev("lon", li, pi, "dp")
            c = self._ev("lat", li, pi, "dl")
            d = self._ev("lat", li, pi, "dp")
            det = a * d - b * c
            det = np.where(det == 0, np.finfo(float).tiny, det)
            dl = (d * f_lon - b * f_lat) / det
            dp = (-c * f_lon + a * f_lat) / det
            li -= dl
            pi -= dp
            if np.all(np.abs(dl) < 1e-4) and np.all(np.abs(dp) < 1e-4):
                break
        return li.reshape(lo.shape), pi.reshape(lo.shape)

    def footprint(self) -> Polygon:
        """Outline of the grid in lon/lat, counter-clockwise (GeoJSON orientation)."""
        ring = (
            [(self.lon[0, j], self.lat[0, j]) for j in range(self.pixels.size)]
            + [(self.lon[i, -1], self.lat[i, -1]) for i in range(1, self.lines.size)]
            + [(self.lon[-1, j], self.lat[-1, j]) for j in range(self.pixels.size - 2, -1, -1)]
            + [(self.lon[i, 0], self.lat[i, 0]) for i in range(self.lines.size - 2, 0, -1)]
        )
        poly = Polygon([(float(x), float(y)) for x, y in ring])
        from shapely.geometry.polygon import orient

        return orient(poly, sign=1.0)


def from_points(points: list[dict[str, Any]], where: str) -> GCPGeolocation:
    """Build a :class:`GCPGeolocation` from decoded ``geolocationGridPoint`` dicts."""
    if len(points) < 4:
        raise ProductError(f"{where}: geolocation grid has {len(points)} points (need >= 4)")
    lines = np.array(sorted({int(p["line"]) for p in points}), dtype=np.float64)
    pixels = np.array(sorted({int(p["pixel"]) for p in points}), dtype=np.float64)
    shape = (lines.size, pixels.size)
    if lines.size < 2 or pixels.size < 2 or lines.size * pixels.size != len(points):
        raise ProductError(
            f"{where}: geolocation grid is not rectilinear ({len(points)} points on "
            f"{lines.size} lines x {pixels.size} pixels)"
        )
    lon = np.full(shape, np.nan)
    lat = np.full(shape, np.nan)
    inc = np.full(shape, np.nan)
    li = {v: i for i, v in enumerate(lines.astype(int))}
    pj = {v: j for j, v in enumerate(pixels.astype(int))}
    for p in points:
        i, j = li[int(p["line"])], pj[int(p["pixel"])]
        lon[i, j] = float(p["longitude"])
        lat[i, j] = float(p["latitude"])
        inc[i, j] = float(p.get("incidenceAngle", np.nan))
    if np.isnan(lon).any() or np.isnan(lat).any():
        raise ProductError(f"{where}: geolocation grid has holes")
    return GCPGeolocation(lines, pixels, lon, lat, inc)
