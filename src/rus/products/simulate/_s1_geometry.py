"""Acquisition geometry of a simulated Sentinel-1 IW GRDH scene.

A spherical-Earth side-looking geometry (altitude 693 km, right-looking) places the IW swath at
30.5 deg (near) to about 46.3 deg (far) incidence over 26,102 ground pixels of 10 m. Lines run
along track (flight heading about 193.7 deg for a descending pass, 346.3 deg ascending), pixels
across track to the right of the flight direction. Image positions become lon/lat with geodesic
steps on WGS84 (pyproj.Geod) from the scene centre; the result is written as the product's GCP
grid, which is then the product's only geolocation (as for a real GRD).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rus.products.errors import ProductError

EARTH_RADIUS_M = 6_371_000.0
ALTITUDE_M = 693_000.0
LIGHT_SPEED = 299_792_458.0
PIXEL_SPACING_M = 10.0
#: Full IW GRDH scene size (lines along track, pixels across track), as in real products.
FULL_SHAPE = (16_705, 26_102)
NEAR_INCIDENCE_DEG = 30.5
#: First pixel of IW2 and IW3 in a full-width scene (from a real IW GRDH noise annotation).
SUBSWATH_STARTS = (0, 8_890, 17_701)
AZIMUTH_TIME_INTERVAL_S = 1.49656999624572e-03
#: Named areas of interest: centre lon/lat and pass direction.
AOIS = {"trieste": (13.62, 45.63, "DESCENDING")}


def incidence_from_ground_range(s: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Incidence angle (deg) and slant range (m) at ground distance ``s`` (m) from nadir."""
    b = np.asarray(s, dtype=np.float64) / EARTH_RADIUS_M
    rs = EARTH_RADIUS_M + ALTITUDE_M
    rho = np.sqrt(EARTH_RADIUS_M**2 + rs**2 - 2 * EARTH_RADIUS_M * rs * np.cos(b))
    return np.degrees(np.arcsin(rs * np.sin(b) / rho)), rho


def near_ground_range() -> float:
    """Ground distance from nadir (m) of the swath's near edge (bisection on the incidence)."""
    lo, hi = 1e3, 1e6
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if float(incidence_from_ground_range(mid)[0]) < NEAR_INCIDENCE_DEG:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class SceneGeometry:
    """Where a simulated scene lies: centre, size, pass and its place in the IW swath.

    Attributes
    ----------
    lon0, lat0 : float
        Scene centre (degrees).
    shape : tuple of int
        ``(lines, pixels)``.
    pass_direction : str
        ``"ASCENDING"`` or ``"DESCENDING"``.
    heading_deg : float
        Flight direction, degrees clockwise from north.
    pixel_offset : float
        Position of the scene's pixel 0 within a full-width swath (pixels from the near edge).
    start_time : datetime
        Zero-Doppler time of line 0 (UTC).
    """

    lon0: float
    lat0: float
    shape: tuple[int, int]
    pass_direction: str
    heading_deg: float
    pixel_offset: float
    start_time: datetime

    @property
    def stop_time(self) -> datetime:
        return self.start_time + timedelta(seconds=(self.shape[0] - 1) * AZIMUTH_TIME_INTERVAL_S)

    def ground_range(self, pixel: ArrayLike) -> NDArray[np.float64]:
        """Ground distance from nadir (m) of scene pixel positions."""
        p = np.asarray(pixel, dtype=np.float64)
        return near_ground_range() + (self.pixel_offset + p) * PIXEL_SPACING_M

    def incidence(self, pixel: ArrayLike) -> NDArray[np.float64]:
        """Incidence angle (deg) of scene pixel positions (independent of line)."""
        return incidence_from_ground_range(self.ground_range(pixel))[0]

    def slant_range_time(self, pixel: ArrayLike) -> NDArray[np.float64]:
        """Two-way slant range time (s) of scene pixel positions."""
        return 2.0 * incidence_from_ground_range(self.ground_range(pixel))[1] / LIGHT_SPEED

    def lonlat(
        self, line: ArrayLike, pixel: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Geodetic lon/lat of image positions (geodesic steps on WGS84 from the centre)."""
        from pyproj import Geod

        geod = Geod(ellps="WGS84")
        li, pi = np.broadcast_arrays(np.asarray(line, float), np.asarray(pixel, float))
        along = (li - (self.shape[0] - 1) / 2.0) * PIXEL_SPACING_M
        across = (pi - (self.shape[1] - 1) / 2.0) * PIXEL_SPACING_M
        n = li.size
        lon1, lat1, back = geod.fwd(
            np.full(n, self.lon0),
            np.full(n, self.lat0),
            np.full(n, self.heading_deg),
            along.ravel(),
        )
        # continue at a right angle to the local track direction
        fwd_az = (np.asarray(back) + 180.0) % 360.0
        lon2, lat2, _ = geod.fwd(lon1, lat1, fwd_az + 90.0, across.ravel())
        return np.asarray(lon2).reshape(li.shape), np.asarray(lat2).reshape(li.shape)

    def image_direction(self, heading_deg: float) -> tuple[float, float]:
        """Unit (d_line, d_pixel) of a ground heading (deg clockwise from north)."""
        rel = math.radians(heading_deg - self.heading_deg)
        return math.cos(rel), math.sin(rel)

    def gcp_axes(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Lines and pixels of the geolocation grid (10 x 21 like a real IW GRDH, or fewer)."""
        lines, pixels = self.shape
        gl = np.unique(np.round(np.linspace(0, lines - 1, min(10, lines))).astype(np.int64))
        gp = np.unique(np.round(np.linspace(0, pixels - 1, min(21, pixels))).astype(np.int64))
        return gl, gp


def parse_aoi(aoi: str) -> tuple[float, float, tuple[float, float, float, float] | None, str]:
    """Centre lon/lat, lon/lat bounds (WKT only) and pass direction of a named AOI or WKT."""
    key = aoi.strip().lower()
    if key in AOIS:
        lon, lat, pdir = AOIS[key]
        return lon, lat, None, pdir
    from shapely import wkt
    from shapely.errors import ShapelyError

    try:
        geom = wkt.loads(aoi)
    except (ShapelyError, ValueError, TypeError) as exc:
        raise ProductError(
            f"aoi {aoi[:60]!r}: neither a named AOI ({', '.join(AOIS)}) nor a valid WKT ({exc})"
        ) from exc
    if geom.is_empty or geom.geom_type not in {"Polygon", "MultiPolygon"}:
        raise ProductError(f"aoi {aoi[:60]!r}: WKT must be a non-empty Polygon in lon/lat")
    c = geom.centroid
    if not (-180 <= c.x <= 180 and -80 <= c.y <= 80):
        raise ProductError(f"aoi {aoi[:60]!r}: centre ({c.x:.3f}, {c.y:.3f}) is not a lon/lat")
    return float(c.x), float(c.y), tuple(geom.bounds), "DESCENDING"


def shape_for_bounds(bounds: tuple[float, float, float, float], lat0: float) -> tuple[int, int]:
    """A (lines, pixels) size covering lon/lat bounds at 10 m, capped at a full scene."""
    w_m = (bounds[2] - bounds[0]) * 111_320.0 * math.cos(math.radians(lat0))
    h_m = (bounds[3] - bounds[1]) * 110_574.0
    side = max(w_m, h_m) / PIXEL_SPACING_M
    lines = int(min(FULL_SHAPE[0], max(256, side)))
    pixels = int(min(FULL_SHAPE[1], max(256, side)))
    return lines, pixels


def make_geometry(aoi: str, shape: tuple[int, int] | None) -> SceneGeometry:
    """Scene geometry for a named AOI or WKT polygon and a (lines, pixels) size.

    The scene is centred on the AOI and placed mid-swath (a full-width scene spans the whole IW
    swath, 30.5 to 46.3 deg incidence).
    """
    lon0, lat0, bounds, pdir = parse_aoi(aoi)
    if shape is None:
        shape = shape_for_bounds(bounds, lat0) if bounds is not None else (2000, 3000)
    lines, pixels = int(shape[0]), int(shape[1])
    if lines < 64 or pixels < 64:
        raise ProductError(f"shape {lines}x{pixels}: need at least 64 x 64 pixels")
    if lines > 2 * FULL_SHAPE[0] or pixels > FULL_SHAPE[1]:
        raise ProductError(
            f"shape {lines}x{pixels}: larger than an IW GRDH scene allows (lines <= "
            f"{2 * FULL_SHAPE[0]}, pixels <= {FULL_SHAPE[1]}; a full scene is "
            f"{FULL_SHAPE[0]} lines x {FULL_SHAPE[1]} pixels)"
        )
    heading = 193.7 if pdir == "DESCENDING" else 346.3
    start = datetime(2024, 5, 12, 5, 2, 41, 500000, tzinfo=UTC)
    if pdir == "ASCENDING":
        start = datetime(2024, 5, 12, 16, 58, 12, 250000, tzinfo=UTC)
    return SceneGeometry(
        lon0=lon0,
        lat0=lat0,
        shape=(lines, pixels),
        pass_direction=pdir,
        heading_deg=heading,
        pixel_offset=(FULL_SHAPE[1] - pixels) / 2.0,
        start_time=start,
    )
