"""Open the chain's input as a calibrated intensity scene: a Sentinel-1 GRD SAFE or a GeoTIFF."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rus.chains.errors import ChainError
from rus.chains.ship_detection.params import ShipDetectionParams

ToLonLat = Callable[
    [npt.NDArray[np.float64], npt.NDArray[np.float64]],
    tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
]

#: SNAP's band preference when none is named: cross-polarisation first.
BAND_PREFERENCE = ("HV", "VH", "HH", "VV")


@dataclass(frozen=True)
class Scene:
    """A linear intensity image ready for detection.

    Attributes
    ----------
    intensity
        2-D :class:`xarray.DataArray` (dask), float32 linear intensity, NaN = no-data.
    spacing
        ``(azimuth/row, range/column)`` pixel spacing in metres.
    to_lonlat
        ``(rows, cols) -> (lon, lat)``, vectorised.
    footprint
        Lon/lat polygon of the scene.
    name
        Product name (file or SAFE name).
    band
        Polarisation or ``"band1"``.
    start_time
        Acquisition time (UTC) or the file time for a GeoTIFF without one.
    simulated
        True when the product says it was simulated.
    kind
        ``"S1 GRD"`` or ``"GeoTIFF"``.
    resolution
        ``(azimuth, range)`` resolution (point-spread function FWHM) in metres.
    """

    intensity: Any
    spacing: tuple[float, float]
    to_lonlat: ToLonLat
    footprint: Any
    name: str
    band: str
    start_time: datetime
    simulated: bool
    kind: str
    resolution: tuple[float, float]

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return (int(self.intensity.shape[0]), int(self.intensity.shape[1]))


def choose_band(available: Sequence[str], requested: str | None) -> str:
    """The polarisation to process: ``requested`` if present, else SNAP's cross-pol-first order."""
    avail = [p.upper() for p in available]
    if requested:
        if requested.upper() not in avail:
            raise ChainError(
                f"band {requested!r} is not in the product (available: {', '.join(avail)})"
            )
        return requested.upper()
    for pol in BAND_PREFERENCE:
        if pol in avail:
            return pol
    raise ChainError(f"no usable polarisation in the product (found {avail})")


def resolution_for(
    spacing: tuple[float, float], params: ShipDetectionParams
) -> tuple[float, float]:
    """PSF FWHM (azimuth, range) in metres: the parameter, else 2.2 x / 2.0 x the spacing.

    Sentinel-1 IW GRDH products have about 22 m azimuth and 20 m range resolution at 10 m
    spacing (EW GRDM: about 93 x 87 m at 40 m).
    """
    if params.resolution_m is not None:
        return (float(params.resolution_m), float(params.resolution_m))
    return (2.2 * spacing[0], 2.0 * spacing[1])


def _rechunk(arr: Any, params: ShipDetectionParams) -> Any:
    """Rechunk to whole multiples of the reader's chunks near the requested processing size."""
    data = arr.data
    out = []
    for axis, want in ((0, params.chunk_lines), (1, params.chunk_pixels)):
        base = max(data.chunks[axis][0], 1)
        size = data.shape[axis]
        step = max(base, (want // base) * base) if base < want else base
        out.append(min(step, size))
    if tuple(c[0] for c in data.chunks) == tuple(out):
        return arr
    return arr.chunk({arr.dims[0]: out[0], arr.dims[1]: out[1]})


def open_s1_scene(path: Path, params: ShipDetectionParams) -> Scene:
    """Calibrated (sigma0, optionally thermal-noise-free) scene of a Sentinel-1 GRD product."""
    from rus.products.sentinel1 import open_s1_grd

    s1 = open_s1_grd(path, chunks=(params.chunk_lines, params.chunk_pixels))
    md = s1.metadata
    band = choose_band(md.polarisations, params.band)
    inten = s1.intensity(band, kind="sigma0", denoise=params.denoise)
    inten = _rechunk(inten, params)
    start = md.start_time if md.start_time.tzinfo else md.start_time.replace(tzinfo=UTC)
    spacing = (float(md.azimuth_pixel_spacing), float(md.range_pixel_spacing))
    return Scene(
        intensity=inten,
        spacing=spacing,
        to_lonlat=s1.geolocation.pixel_to_lonlat,
        footprint=md.footprint,
        name=Path(path).name,
        band=band,
        start_time=start,
        simulated=bool(md.simulated),
        kind="S1 GRD",
        resolution=resolution_for(spacing, params),
    )


def to_linear(values: Any, scale: str) -> Any:
    """Convert backscatter to linear intensity: ``db`` -> 10^(x/10), ``amplitude`` -> x^2."""
    if scale == "linear":
        return values
    if scale == "db":
        return 10.0 ** (values / np.float32(10.0))
    if scale == "amplitude":
        return values * values
    raise ChainError(f"unknown input scale {scale!r} (use linear, db or amplitude)")


def open_geotiff_scene(path: Path, params: ShipDetectionParams) -> Scene:
    """Single-band GeoTIFF of backscatter (the user's own data), converted to linear intensity.

    Pixels equal to the file's nodata value, and NaNs, are no-data. The pixel spacing comes from
    ``params.pixel_spacing_m`` or, failing that, from a projected (metric) CRS.
    """
    import xarray as xr
    from pyproj import CRS, Transformer
    from shapely.geometry import box

    from rus.products._raster import lazy_band, open_band_file
    from rus.products.errors import ProductError

    try:
        bf = open_band_file(str(path), 1)
    except ProductError as exc:
        raise ChainError(f"{path}: cannot use this GeoTIFF ({exc})") from exc
    crs = CRS.from_user_input(bf.crs)
    t = bf.transform
    if params.pixel_spacing_m is not None:
        spacing = (float(params.pixel_spacing_m), float(params.pixel_spacing_m))
    elif crs.is_projected and crs.axis_info[0].unit_name in ("metre", "meter"):
        spacing = (abs(float(t.e)), abs(float(t.a)))
    else:
        raise ChainError(
            f"{path}: its CRS ({crs.name}) is not in metres; pass --pixel-spacing (metres)"
        )
    raw = lazy_band(bf, "backscatter")
    data = raw.data.astype(np.float32)
    if bf.nodata is not None and math.isfinite(bf.nodata):
        import dask.array as _da

        da: Any = _da

        data = da.where(data == np.float32(bf.nodata), np.float32(np.nan), data)
    lin = to_linear(data, params.input_scale).astype(np.float32)
    inten = xr.DataArray(
        lin,
        dims=("line", "pixel"),
        name="intensity",
        attrs={
            "units": "1",
            "long_name": f"backscatter intensity (linear, from {params.input_scale} input)",
            "scale": "linear (10*log10 gives dB)",
        },
    )
    inten = _rechunk(inten, params)
    to_wgs = Transformer.from_crs(crs, 4326, always_xy=True)

    def to_lonlat(
        rows: npt.NDArray[np.float64], cols: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        r = np.asarray(rows, np.float64) + 0.5
        c = np.asarray(cols, np.float64) + 0.5
        x = t.c + c * t.a + r * t.b
        y = t.f + c * t.d + r * t.e
        lon, lat = to_wgs.transform(x, y)
        return np.asarray(lon, np.float64), np.asarray(lat, np.float64)

    h, w = bf.height, bf.width
    corner_r = np.array([0.0, 0.0, h - 1.0, h - 1.0])
    corner_c = np.array([0.0, w - 1.0, w - 1.0, 0.0])
    lon, lat = to_lonlat(corner_r, corner_c)
    footprint = box(float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    mtime = datetime.fromtimestamp(Path(path).stat().st_mtime, tz=UTC)
    return Scene(
        intensity=inten,
        spacing=spacing,
        to_lonlat=to_lonlat,
        footprint=footprint,
        name=Path(path).name,
        band="band1",
        start_time=mtime,
        simulated=False,
        kind="GeoTIFF",
        resolution=resolution_for(spacing, params),
    )


def open_scene(product: str | Path, params: ShipDetectionParams) -> Scene:
    """Open a Sentinel-1 GRD SAFE (directory or zip) or a single-band GeoTIFF."""
    path = Path(product)
    if not path.exists():
        raise ChainError(f"input {path} does not exist")
    if path.suffix.lower() in (".tif", ".tiff"):
        return open_geotiff_scene(path, params)
    return open_s1_scene(path, params)
