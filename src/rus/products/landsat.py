"""Landsat 8/9 Collection-2 Level-1 reader: the MTL file plus the ``_B<n>.TIF`` beside it.

Georeferencing is built from the MTL (UTM zone, WGS84, CORNER_UL_PROJECTION_X/Y_PRODUCT
being the centre of the upper-left pixel, GRID_CELL_SIZE_*), so it works for crops whose TIFFs
carry none; a warning says so and every band has ``georeferencing_source = "MTL"``.
Reflectance = REFLECTANCE_MULT_BAND_n * DN + REFLECTANCE_ADD_BAND_n (top of atmosphere, no
sun-angle correction unless ``sun_correction=True``, which divides by sin(SUN_ELEVATION)).
DN 0 = no data.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rus.products._raster import BandFile, RasterMetadata, RasterProductBase, open_band_file
from rus.products.errors import ProductError

if TYPE_CHECKING:
    import xarray as xr

_LINE = re.compile(r"^\s*(?P<key>[A-Z0-9_]+)\s*=\s*(?P<val>.*?)\s*$")
_PAN, _THERMAL = {8}, {10, 11}


class GeoreferencingFromMetadataWarning(UserWarning):
    """Georeferencing was built from product metadata, not read from the image files."""


def parse_mtl(text: str, source: str = "MTL") -> dict[str, str]:
    """Flatten a Landsat MTL (ODL ``KEY = VALUE`` with GROUPs) into ``{KEY: value}``.

    Later groups do not override earlier keys (PRODUCT_CONTENTS comes first).
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m or m["key"] in {"GROUP", "END_GROUP"}:
            continue
        out.setdefault(m["key"], m["val"].strip('"'))
    if "LANDSAT_PRODUCT_ID" not in out and "SPACECRAFT_ID" not in out:
        raise ProductError(f"{source}: not a Landsat MTL file (no LANDSAT_PRODUCT_ID)")
    return out


def _num(mtl: dict[str, str], key: str, source: str) -> float:
    try:
        return float(mtl[key])
    except KeyError:
        raise ProductError(f"{source}: MTL has no {key}") from None
    except ValueError:
        raise ProductError(f"{source}: MTL {key}={mtl[key]!r} is not a number") from None


class LandsatProduct(RasterProductBase):
    """A Landsat 8/9 Collection-2 Level-1 scene (or crop) opened lazily."""

    def __init__(self, mtl_path: str | os.PathLike[str], *, sun_correction: bool = False) -> None:
        self.mtl_path = Path(mtl_path)
        self.source = str(self.mtl_path)
        try:
            self.mtl = parse_mtl(self.mtl_path.read_text(), self.source)
        except FileNotFoundError:
            raise ProductError(f"{self.mtl_path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ProductError(f"{self.mtl_path}: not a readable MTL text file ({exc})") from exc
        self.sun_correction = sun_correction
        mtl = self.mtl
        if mtl.get("MAP_PROJECTION", "UTM") != "UTM":
            raise ProductError(f"{self.source}: only UTM products are supported")
        zone = int(_num(mtl, "UTM_ZONE", self.source))
        self.crs = f"EPSG:{32600 + zone}"  # Collection 2 uses north zones (negative northing)
        self._paths: dict[str, Path] = {}
        for key, val in mtl.items():
            m = re.fullmatch(r"FILE_NAME_BAND_(\d+)", key)
            if m and (self.mtl_path.parent / val).exists():
                self._paths[f"B{m.group(1)}"] = self.mtl_path.parent / val
        if not self._paths:
            raise ProductError(f"{self.source}: none of the FILE_NAME_BAND_n TIFFs is beside it")
        self.band_names = tuple(sorted(self._paths, key=lambda b: int(b[1:])))
        self._cache: dict[str, BandFile] = {}
        self.metadata = self._metadata()
        warnings.warn(
            f"{self.source}: georeferencing built from the MTL ({self.crs}, corners and cell "
            "size), not read from the TIFFs",
            GeoreferencingFromMetadataWarning,
            stacklevel=3,
        )

    def _metadata(self) -> RasterMetadata:
        from pyproj import Transformer
        from shapely.geometry import Polygon

        mtl = self.mtl
        date = mtl.get("DATE_ACQUIRED", "")
        clock = mtl.get("SCENE_CENTER_TIME", "00:00:00Z").rstrip("Z")[:15]
        try:
            sensing = datetime.fromisoformat(f"{date}T{clock}").replace(tzinfo=UTC)
        except ValueError:
            raise ProductError(f"{self.source}: bad DATE_ACQUIRED/SCENE_CENTER_TIME") from None
        t = self._transform("REFLECTIVE")
        rows = int(_num(mtl, "REFLECTIVE_LINES", self.source))
        cols = int(_num(mtl, "REFLECTIVE_SAMPLES", self.source))
        xs = [t.c, t.c + cols * t.a, t.c + cols * t.a, t.c]
        ys = [t.f, t.f, t.f + rows * t.e, t.f + rows * t.e]
        lon, lat = Transformer.from_crs(self.crs, 4326, always_xy=True).transform(xs, ys)
        return RasterMetadata(
            mission=mtl.get("SPACECRAFT_ID", "LANDSAT"),
            product_type=mtl.get("PROCESSING_LEVEL", "L1"),
            sensing_time=sensing,
            crs=self.crs,
            footprint=Polygon(zip(lon, lat, strict=True)),
            simulated=False,
            cloud_cover=float(mtl["CLOUD_COVER"]) if "CLOUD_COVER" in mtl else None,
            tile_id=f"{int(mtl.get('WRS_PATH', 0)):03d}{int(mtl.get('WRS_ROW', 0)):03d}",
            product_name=mtl.get("LANDSAT_PRODUCT_ID", self.mtl_path.stem),
            extra={
                "georeferencing_source": "MTL (corner projection coordinates + cell size)",
                "sun_elevation_deg": float(mtl.get("SUN_ELEVATION", "nan")),
                "sun_correction": self.sun_correction,
                "collection": mtl.get("COLLECTION_NUMBER"),
            },
        )

    def _kind(self, name: str) -> str:
        n = int(name[1:])
        return "PANCHROMATIC" if n in _PAN else "THERMAL" if n in _THERMAL else "REFLECTIVE"

    def _transform(self, kind: str) -> Any:
        from affine import Affine

        cell = _num(self.mtl, f"GRID_CELL_SIZE_{kind}", self.source)
        ulx = _num(self.mtl, "CORNER_UL_PROJECTION_X_PRODUCT", self.source)
        uly = _num(self.mtl, "CORNER_UL_PROJECTION_Y_PRODUCT", self.source)
        # MTL corners are pixel CENTRES: the grid edge is half a cell further out
        return Affine(cell, 0.0, ulx - cell / 2, 0.0, -cell, uly + cell / 2)

    def _resolutions(self, name: str) -> tuple[float, ...]:
        return (_num(self.mtl, f"GRID_CELL_SIZE_{self._kind(name)}", self.source),)

    def _band_file(self, name: str, resolution: float) -> BandFile:
        if name in self._cache:
            return self._cache[name]
        kind = self._kind(name)
        path = str(self._paths[name])
        bf = open_band_file(
            path, 1, transform=self._transform(kind), crs=self.crs, georef_source="MTL", label=path
        )
        rows = int(_num(self.mtl, f"{kind}_LINES", self.source))
        cols = int(_num(self.mtl, f"{kind}_SAMPLES", self.source))
        if (bf.height, bf.width) != (rows, cols):
            raise ProductError(
                f"{path}: {bf.height}x{bf.width} pixels but the MTL says {rows}x{cols}"
            )
        bf = BandFile(**{**bf.__dict__, "nodata": 0})
        self._cache[name] = bf
        return bf

    def _scaling(self, name: str) -> tuple[float, float, float | None]:
        n = int(name[1:])
        key = f"REFLECTANCE_MULT_BAND_{n}"
        if key not in self.mtl:
            raise ProductError(
                f"{self.source}: band {name} has no reflectance rescaling in the MTL"
            )
        mult = _num(self.mtl, key, self.source)
        add = _num(self.mtl, f"REFLECTANCE_ADD_BAND_{n}", self.source)
        if self.sun_correction:
            s = math.sin(math.radians(_num(self.mtl, "SUN_ELEVATION", self.source)))
            mult, add = mult / s, add / s
        return (mult, add, 0)

    def reflectance(self, name: str, resolution: float | None = None) -> xr.DataArray:
        """TOA reflectance ``MULT * DN + ADD`` (``/ sin(SUN_ELEVATION)`` if sun_correction)."""
        out = super().reflectance(name, resolution)
        out.attrs["long_name"] = f"{name} top-of-atmosphere reflectance" + (
            " (sun-elevation corrected)" if self.sun_correction else " (no sun-angle correction)"
        )
        return out


def open_landsat(
    mtl_path: str | os.PathLike[str], *, sun_correction: bool = False
) -> LandsatProduct:
    """Open a Landsat 8/9 Collection-2 Level-1 product from its ``_MTL.txt``.

    Parameters
    ----------
    mtl_path : path-like
        The MTL text file; the band TIFFs named in it must lie beside it.
    sun_correction : bool
        Divide reflectance by sin(SUN_ELEVATION).

    Warns
    -----
    GeoreferencingFromMetadataWarning
        Always: the CRS and transform come from the MTL.
    """
    return LandsatProduct(mtl_path, sun_correction=sun_correction)
