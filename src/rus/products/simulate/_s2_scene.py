"""The simulated Sentinel-2 scene: land cover, water, clouds, shadows and a burn scar.

Every field is a deterministic function of the seed and of the GLOBAL pixel position at 20 m,
so the scene is generated block by block (bounded memory) and the 10 m / 60 m bands are derived
consistently (10 m = 20 m field upsampled plus pixel noise, 60 m = 3 x 3 mean). Reflectances
are surface (BOA) reflectances typical of June in central Portugal; the L1C mode turns them into
top-of-atmosphere (TOA) reflectances with :data:`ATMOSPHERE` and adds the cirrus band B10
(:data:`B10_TOA`), which the L2A bands and spectra do not have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rus.products.errors import ProductError

Array = np.ndarray[Any, Any]

#: Bands of a simulated L2A, in MTD band-id order, and their BOA reflectance spectra per class.
BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
SPECTRA: dict[str, tuple[float, ...]] = {
    #          B01    B02    B03    B04    B05    B06    B07    B08    B8A    B09    B11    B12
    "forest": (0.020, 0.025, 0.045, 0.025, 0.070, 0.220, 0.270, 0.290, 0.300, 0.300, 0.150, 0.070),
    "shrub": (0.040, 0.050, 0.080, 0.080, 0.130, 0.220, 0.260, 0.280, 0.290, 0.290, 0.220, 0.130),
    "bare": (0.080, 0.100, 0.140, 0.180, 0.210, 0.230, 0.250, 0.260, 0.270, 0.270, 0.330, 0.270),
    "water": (0.050, 0.050, 0.040, 0.020, 0.015, 0.010, 0.008, 0.007, 0.006, 0.005, 0.004, 0.003),
    "char": (0.030, 0.030, 0.040, 0.050, 0.060, 0.080, 0.090, 0.100, 0.100, 0.100, 0.160, 0.150),
    "cloud": (0.450, 0.450, 0.460, 0.470, 0.480, 0.490, 0.500, 0.500, 0.500, 0.400, 0.350, 0.250),
    "cirrus": (0.080, 0.080, 0.080, 0.080, 0.080, 0.080, 0.080, 0.080, 0.080, 0.060, 0.050, 0.040),
}
#: L1C only: TOA reflectance of the cirrus band B10 (1375 nm) per cover. Water vapour absorbs
#: almost all light reflected by the ground at 1375 nm, so clear land and water stay at
#: 0.001-0.004 whatever their brightness; cirrus (above the water vapour) reads 0.02-0.06 and
#: high opaque clouds 0.10-0.30 (the ``cirrus``/``cloud`` values are the centres of those ranges:
#: the L1C mode scales them with the cirrus density / cloud height fields).
B10_TOA: dict[str, float] = {
    "forest": 0.0020,
    "shrub": 0.0025,
    "bare": 0.0035,
    "water": 0.0010,
    "char": 0.0015,
    "cloud": 0.200,
    "cirrus": 0.035,
}
#: L1C only: ``(path reflectance, two-way transmittance)`` per band, TOA = path + T x BOA for the
#: ground (mid-latitude summer, rural aerosol, sun zenith ~25 deg): Rayleigh and aerosol path
#: reflectance brighten the blue end; water vapour absorbs B09 (945 nm: T ~0.4) and a little
#: of B8A/B11/B12. Clouds and cirrus lie above most of the atmosphere and are not attenuated.
ATMOSPHERE: dict[str, tuple[float, float]] = {
    "B01": (0.070, 0.80),
    "B02": (0.050, 0.85),
    "B03": (0.030, 0.90),
    "B04": (0.015, 0.93),
    "B05": (0.010, 0.93),
    "B06": (0.006, 0.95),
    "B07": (0.004, 0.95),
    "B08": (0.003, 0.93),
    "B8A": (0.002, 0.95),
    "B09": (0.001, 0.40),
    "B11": (0.000, 0.93),
    "B12": (0.000, 0.88),
}
#: Land-cover codes of the internal class map.
WATER, FOREST, SHRUB, BARE = 1, 2, 3, 4
#: USGS severity codes (project-wide) and names.
SEVERITY_NAMES = {
    1: "enhanced regrowth, high",
    2: "enhanced regrowth, low",
    3: "unburned",
    4: "low",
    5: "moderate-low",
    6: "moderate-high",
    7: "high",
}
#: Target RBR (x 1000 in the USGS table) at each burned class centre, and burn fraction.
RBR_TARGET = {4: 0.185, 5: 0.355, 6: 0.550, 7: 0.800}
RBR_NOISE = 0.022
BURN_FRACTION = {4: 0.30, 5: 0.55, 6: 0.80, 7: 1.00}
#: Thresholds of the smooth cloud field: cloud (SCL 8) and high-probability cloud (SCL 9).
CLOUD_T, CLOUD_HIGH = 1.25, 1.6


@dataclass(frozen=True)
class Grid:
    """The simulated tile grid (10 m pixel counts; 20 m and 60 m follow)."""

    tile_id: str
    epsg: int
    ulx: float
    uly: float
    rows10: int
    cols10: int

    @property
    def rows20(self) -> int:
        return self.rows10 // 2

    @property
    def cols20(self) -> int:
        return self.cols10 // 2

    def shape(self, res: int) -> tuple[int, int]:
        """(rows, cols) at ``res`` metres."""
        f = res // 10
        return (self.rows10 // f, self.cols10 // f)


def _coarse(rng: np.random.Generator, rows: int, cols: int, scale: float) -> tuple[Array, float]:
    """White noise on a grid ``scale`` 20 m pixels apart, covering rows x cols (+ margin)."""
    n_r = int(np.ceil(rows / scale)) + 4
    n_c = int(np.ceil(cols / scale)) + 4
    return rng.standard_normal((n_r, n_c)).astype(np.float32), scale


def sample(coarse: tuple[Array, float], rr: Array, cc: Array) -> Array:
    """Smooth (cubic) interpolation of a coarse noise grid at 20 m pixel positions."""
    from scipy.ndimage import map_coordinates

    grid, scale = coarse
    return np.asarray(
        map_coordinates(grid, [rr / scale + 1.5, cc / scale + 1.5], order=3, mode="nearest"),
        dtype=np.float32,
    )


@dataclass
class Scene:
    """Deterministic scene definition (small coarse grids only; pixels made per block)."""

    grid: Grid
    seed: int
    landcover: tuple[Array, float] = field(init=False)
    mixing: tuple[Array, float] = field(init=False)
    lakes: tuple[Array, float] = field(init=False)
    scar_noise: tuple[Array, float] = field(init=False)
    change: tuple[Array, float] = field(init=False)
    clouds: dict[str, tuple[Array, float]] = field(init=False)
    cirrus: dict[str, tuple[Array, float]] = field(init=False)
    river: tuple[float, float, float, float] = field(init=False)
    scar_centre: tuple[float, float] = field(init=False)
    scar_radius: float = field(init=False)
    scar_harmonics: list[tuple[int, float, float]] = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng([self.seed, 20170617])
        r, c = self.grid.rows20, self.grid.cols20
        self.landcover = _coarse(rng, r, c, 60.0)
        self.mixing = _coarse(rng, r, c, 12.0)
        self.lakes = _coarse(rng, r, c, 120.0)
        self.scar_noise = _coarse(rng, r, c, 25.0)
        self.change = _coarse(rng, r, c, 40.0)
        self.clouds = {d: _coarse(rng, r, c, 30.0) for d in ("pre", "post")}
        self.cirrus = {d: _coarse(rng, r, c, 80.0) for d in ("pre", "post")}
        self.river = (
            float(rng.uniform(0.25, 0.75) * r),  # mean row of the river
            float(rng.uniform(0.03, 0.08) * r),  # meander amplitude
            float(rng.uniform(1.5, 3.0)),  # meanders across the scene
            float(rng.uniform(0, 2 * np.pi)),
        )
        self.scar_radius = float(min(0.3 * min(r, c), 450.0))
        pedrogao = (4050.0, 3636.0)  # real fire position in T29TNE at 20 m (row, col)
        m = 1.45 * self.scar_radius
        if self.grid.tile_id == "29TNE" and m < pedrogao[0] < r - m and m < pedrogao[1] < c - m:
            self.scar_centre = pedrogao
        else:
            jr, jc = rng.uniform(-0.04, 0.04, size=2)
            self.scar_centre = ((0.45 + jr) * r, (0.42 + jc) * c)
        self.scar_harmonics = [
            (k, float(a), float(rng.uniform(0, 2 * np.pi)))
            for k, a in ((2, 0.18), (3, 0.10), (5, 0.06))
        ]

    # -- per-block fields ----------------------------------------------------------------
    def coords(self, r0: int, r1: int) -> tuple[Array, Array]:
        """Global 20 m row/col index arrays for rows r0:r1 (full width)."""
        rr, cc = np.meshgrid(
            np.arange(r0, r1, dtype=np.float32),
            np.arange(self.grid.cols20, dtype=np.float32),
            indexing="ij",
        )
        return rr, cc

    def sample_mixing(self, rr: Array, cc: Array) -> Array:
        """Sub-kilometre vegetation-vigour field (about -1..1)."""
        return sample(self.mixing, rr, cc)

    def sample_change(self, rr: Array, cc: Array) -> Array:
        """Smooth natural change between the dates (about -1..1)."""
        return sample(self.change, rr, cc)

    def landcover_block(self, rr: Array, cc: Array) -> Array:
        """Class map (WATER/FOREST/SHRUB/BARE) at 20 m."""
        lc = sample(self.landcover, rr, cc)
        out = np.full(rr.shape, SHRUB, dtype=np.uint8)
        out[lc > 0.15] = FOREST
        out[lc < -0.85] = BARE
        lakes = sample(self.lakes, rr, cc)
        out[lakes > 1.9] = WATER
        mean, amp, waves, phase = self.river
        centre = mean + amp * np.sin(2 * np.pi * waves * cc / self.grid.cols20 + phase)
        centre = centre + 0.4 * amp * np.sin(2 * np.pi * 3.7 * waves * cc / self.grid.cols20)
        out[np.abs(rr - centre) < 2.5] = WATER
        return out

    def severity_block(self, rr: Array, cc: Array, landcover: Array) -> Array:
        """True severity code: 4..7 burned, 3 unburned, on land (0 on water)."""
        r0, c0 = self.scar_centre
        dy, dx = rr - r0, cc - c0
        theta = np.arctan2(dy, dx)
        radius = np.full(rr.shape, self.scar_radius, dtype=np.float32)
        for k, a, ph in self.scar_harmonics:
            radius *= 1.0 + a * np.cos(k * theta + ph)
        dist = np.hypot(dy, dx)
        s = 1.0 - dist / radius + 0.08 * sample(self.scar_noise, rr, cc)
        sev = np.full(rr.shape, 3, dtype=np.uint8)
        sev[s > 0.0] = 4
        sev[s > 0.22] = 5
        sev[s > 0.45] = 6
        sev[s > 0.68] = 7
        sev[(landcover == BARE) | (landcover == WATER)] = 3
        sev[landcover == WATER] = 0
        return sev

    def cloud_block(self, date: str, rr: Array, cc: Array) -> tuple[Array, Array, Array]:
        """Opaque-cloud probability field, shadow mask and thin-cirrus mask for ``date``."""
        r0, c0 = self.scar_centre
        keep_out = np.hypot(rr - r0, cc - c0) < 1.6 * self.scar_radius + 40
        cl = sample(self.clouds[date], rr, cc)
        cl[keep_out] = -9.0
        shift = 18.0  # shadows ~360 m north-west of the clouds (sun from the south-east)
        sh = sample(self.clouds[date], rr + shift, cc + shift)
        shadow = (sh > CLOUD_T) & (cl <= CLOUD_T) & ~keep_out
        ci = sample(self.cirrus[date], rr, cc)
        cirrus = (ci > 1.45) & ~keep_out
        return cl, shadow, cirrus

    def cirrus_density(self, date: str, rr: Array, cc: Array) -> Array:
        """Relative thickness (0..1) of the thin cirrus of ``date`` (0 at its edge)."""
        ci = sample(self.cirrus[date], rr, cc)
        return np.asarray(np.clip((ci - 1.45) / 0.5, 0.0, 1.0), dtype=np.float32)

    def nodata_block(self, rr: Array, cc: Array) -> Array:
        """Swath-edge no-data wedge on the east side of the tile."""
        frac = cc / self.grid.cols20
        return np.asarray(frac > 0.985 - 0.03 * rr / max(self.grid.rows20, 1))


def make_grid(aoi: str, shape: tuple[int, int]) -> Grid:
    """The tile grid for a named AOI (``pedrogao``: T29TNE) or a WKT polygon (lon/lat).

    Parameters
    ----------
    aoi : str
        ``"pedrogao"`` or a WKT polygon; the WKT grid is tile-like, centred on the polygon.
    shape : (int, int)
        Rows, cols at 10 m: multiples of 6 (so the 20 m and 60 m grids divide), at most
        10980 x 10980 (one MGRS tile).
    """
    rows, cols = shape
    if rows % 6 or cols % 6 or rows < 60 or cols < 60 or rows > 10980 or cols > 10980:
        raise ProductError(
            f"s2-fire shape {rows}x{cols}: rows and cols must be multiples of 6 between 60 and "
            "10980 (10 m pixels; 10980x10980 is the full tile)"
        )
    if aoi.strip().lower() == "pedrogao":
        return Grid("29TNE", 32629, 499980.0, 4500000.0, rows, cols)
    from pyproj import Transformer
    from shapely import wkt
    from shapely.errors import ShapelyError

    try:
        geom = wkt.loads(aoi)
    except (ShapelyError, ValueError) as exc:
        raise ProductError(f"AOI {aoi[:60]!r}: neither 'pedrogao' nor a valid WKT ({exc})") from exc
    lon, lat = geom.centroid.x, geom.centroid.y
    if not (-180 <= lon <= 180 and -80 <= lat <= 84):
        raise ProductError(f"AOI centroid ({lon:.3f}, {lat:.3f}) is not lon/lat inside UTM cover")
    zone = int((lon + 180) // 6) + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    ulx = float(np.floor((x - cols * 5) / 60) * 60)
    uly = float(np.ceil((y + rows * 5) / 60) * 60)
    return Grid(mgrs_tile(zone, lat, x, y), epsg, ulx, uly, rows, cols)


def mgrs_tile(zone: int, lat: float, easting: float, northing: float) -> str:
    """MGRS tile id (e.g. ``29TNE``) of a UTM position (100 km square letters)."""
    bands = "CDEFGHJKLMNPQRSTUVWX"
    band = bands[min(max(int((lat + 80) // 8), 0), len(bands) - 1)]
    col_sets = ("STUVWXYZ", "ABCDEFGH", "JKLMNPQR")
    col = col_sets[zone % 3][max(int(easting // 100000) - 1, 0) % 8]
    rows = "ABCDEFGHJKLMNPQRSTUV"
    n = northing if lat >= 0 else northing + 10_000_000
    offset = 0 if zone % 2 else 5
    row = rows[(int(n // 100000) + offset) % 20]
    return f"{zone:02d}{band}{col}{row}"
