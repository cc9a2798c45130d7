"""Generic raster import (the user's own EO data): any GDAL raster with a band mapping.

``open_geotiff(path, {"nir": 4, "swir2": 6}, scale=1e-4)`` exposes bands of one multi-band file;
``open_geotiff_stack({"nir": "B08.tif", ...})`` one band per file (all on one grid).
Reflectance = DN * scale + offset (NaN where DN == nodata).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rus.products._raster import BandFile, RasterMetadata, RasterProductBase, open_band_file
from rus.products.errors import ProductError


def _crs_from_tags(path: str) -> str | None:
    """CRS written only as a metadata tag (e.g. NetCDF ``crs="+init=epsg:32719"``)."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        ds_cm = rasterio.open(path)
    with ds_cm as ds:
        tags = {**ds.tags(), **ds.tags(1)}
    for key, val in tags.items():
        if key.lower().endswith("crs") or key.lower().endswith("spatial_ref"):
            m = re.search(r"epsg:(\d{4,5})", str(val), re.IGNORECASE)
            if m:
                return f"EPSG:{m.group(1)}"
    return None


def _footprint(bf: BandFile) -> Any:
    from pyproj import Transformer
    from shapely.geometry import Polygon

    t = bf.transform
    xs = [t.c, t.c + bf.width * t.a, t.c + bf.width * t.a, t.c]
    ys = [t.f, t.f, t.f + bf.height * t.e, t.f + bf.height * t.e]
    try:
        lon, lat = Transformer.from_crs(bf.crs, 4326, always_xy=True).transform(xs, ys)
    except Exception:  # exotic CRS: no footprint rather than no product
        return None
    return Polygon(zip(lon, lat, strict=True))


class GeoTIFFProduct(RasterProductBase):
    """Bands of one or several rasters on one grid, named by the user."""

    def __init__(
        self,
        files: Mapping[str, tuple[str, int]],
        *,
        scale: float = 1.0,
        offset: float = 0.0,
        nodata: float | None = None,
        crs: str | None = None,
        transform: Any = None,
        source: str,
        mission: str = "unknown",
        product_type: str = "GeoTIFF",
    ) -> None:
        if not files:
            raise ProductError(f"{source}: no bands requested")
        self.source = source
        self.scale, self.offset = float(scale), float(offset)
        self._files: dict[str, BandFile] = {}
        for name, (path, bidx) in files.items():
            if not (path.startswith("/vsi") or Path(path).exists()):
                raise ProductError(f"{path}: no such file (band {name!r})")
            the_crs = crs
            if the_crs is None and not path.startswith("/vsi"):
                try:
                    the_crs = _crs_from_tags(path)
                except Exception as exc:
                    raise ProductError(f"{path}: not a readable raster ({exc})") from exc
            bf = open_band_file(path, bidx, crs=the_crs, transform=transform, label=path)
            if nodata is not None:
                bf = BandFile(**{**bf.__dict__, "nodata": nodata})
            self._files[name] = bf
        first = next(iter(self._files.values()))
        for name, bf in self._files.items():
            if (bf.width, bf.height) != (
                first.width,
                first.height,
            ) or not bf.transform.almost_equals(first.transform):
                raise ProductError(
                    f"{bf.path}: band {name!r} is not on the grid of {first.path} "
                    "(stack files must share size and transform)"
                )
        self.band_names = tuple(self._files)
        self.metadata = RasterMetadata(
            mission=mission,
            product_type=product_type,
            sensing_time=None,
            crs=first.crs,
            footprint=_footprint(first),
            simulated=False,
            product_name=Path(first.path).name,
            extra={"scale": self.scale, "offset": self.offset},
        )

    def _resolutions(self, name: str) -> tuple[float, ...]:
        return (self._files[name].resolution,)

    def _band_file(self, name: str, resolution: float) -> BandFile:
        return self._files[name]

    def _scaling(self, name: str) -> tuple[float, float, float | None]:
        return (self.scale, self.offset, self._files[name].nodata)


def open_geotiff(
    path: str | os.PathLike[str],
    bands: Mapping[str, int] | None = None,
    *,
    scale: float = 1.0,
    offset: float = 0.0,
    nodata: float | None = None,
    crs: str | None = None,
    transform: Any = None,
) -> GeoTIFFProduct:
    """Open any GDAL raster (GeoTIFF, COG, NetCDF...) lazily with named bands.

    Parameters
    ----------
    path : path-like
        The raster.
    bands : mapping of str to int, optional
        Band name -> 1-based band index; default ``band1..bandN``.
    scale, offset : float
        Reflectance = DN * scale + offset.
    nodata : float, optional
        DN meaning no data (default: the file's nodata value).
    crs : str, optional
        CRS when the file has none (a CRS tag like ``+init=epsg:32719`` is also understood).
    transform : affine.Affine, optional
        Pixel-to-CRS transform when the file has none.

    Raises
    ------
    ProductError
        Missing or unreadable file, band index out of range, no georeferencing.
    """
    p = str(path)
    if bands is None:
        import rasterio
        from rasterio.errors import RasterioIOError

        if not Path(p).exists() and not p.startswith("/vsi"):
            raise ProductError(f"{p}: no such file or directory")
        try:
            with rasterio.open(p) as ds:
                count = ds.count
        except RasterioIOError as exc:
            raise ProductError(f"{p}: not a readable raster ({exc})") from exc
        bands = {f"band{i}": i for i in range(1, count + 1)}
    files = {name: (p, int(idx)) for name, idx in bands.items()}
    return GeoTIFFProduct(
        files, scale=scale, offset=offset, nodata=nodata, crs=crs, transform=transform, source=p
    )


def open_geotiff_stack(
    files: Mapping[str, str | os.PathLike[str]],
    *,
    scale: float = 1.0,
    offset: float = 0.0,
    nodata: float | None = None,
    crs: str | None = None,
) -> GeoTIFFProduct:
    """Open one single-band raster per band name (all on the same grid).

    Parameters
    ----------
    files : mapping of str to path
        Band name -> file (band 1 of each file is used).
    scale, offset, nodata, crs
        As in :func:`open_geotiff`.
    """
    mapping = {name: (str(p), 1) for name, p in files.items()}
    source = str(Path(str(next(iter(files.values())))).parent) if files else "<empty stack>"
    return GeoTIFFProduct(
        mapping, scale=scale, offset=offset, nodata=nodata, crs=crs, source=source
    )
