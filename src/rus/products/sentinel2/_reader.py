"""Sentinel-2 L2A/L1C SAFE reader (directory or the distributed ``.zip``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rus.products._raster import BandFile, RasterMetadata, RasterProductBase, open_band_file
from rus.products._safe import SafeSource
from rus.products.errors import ProductError
from rus.products.sentinel2._metadata import (
    NATIVE_RESOLUTION,
    ManifestInfo,
    ProductMetadata,
    TileGeocoding,
    parse_manifest,
    parse_product_mtd,
    parse_tile_mtd,
)

if TYPE_CHECKING:
    import xarray as xr

_L2A_IMG = re.compile(
    r"^GRANULE/[^/]+/IMG_DATA/R(?P<res>10|20|60)m/[^/]*_(?P<band>B\d[\dA]|SCL|AOT|WVP|TCI)_"
    r"(?:10|20|60)m\.jp2$"
)
_L1C_IMG = re.compile(r"^GRANULE/[^/]+/IMG_DATA/[^/]*_(?P<band>B\d[\dA]|TCI)\.jp2$")
#: Bands that are not reflectances (no scaling).
_NON_REFLECTANCE = {"SCL", "AOT", "WVP", "TCI"}


@dataclass(frozen=True)
class S2Metadata(RasterMetadata):
    """Sentinel-2 metadata: the common fields plus the radiometric scaling."""

    processing_level: str = "L2A"
    quantification: float = 10000.0
    add_offsets: dict[str, float] = field(default_factory=dict)
    granule: str = ""


def _band_order(name: str) -> tuple[int, str]:
    order = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11"]
    order += ["B12", "SCL", "AOT", "WVP", "TCI"]
    return (order.index(name) if name in order else 99, name)


class S2Product(RasterProductBase):
    """A Sentinel-2 L2A or L1C product opened lazily (metadata parsed, no pixel decoded).

    Attributes
    ----------
    metadata : S2Metadata
        Mission, product type, sensing time (UTC), CRS, lon/lat footprint, cloud cover,
        tile id, processing baseline, quantification value and per-band add offsets.
    band_names : tuple of str
        Bands present (``B01``..``B12``, ``B8A``, ``SCL``/``AOT``/``WVP``/``TCI`` in L2A).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.safe = SafeSource(path)
        self.source = str(self.safe.path)
        mtds = self.safe.members("MTD_MSIL2A.xml") + self.safe.members("MTD_MSIL1C.xml")
        self.manifest: ManifestInfo = parse_manifest(
            self.safe.read_bytes("manifest.safe"), "manifest.safe", self.source
        )
        if not mtds:
            raise ProductError(
                f"{self.source}: missing file 'MTD_MSIL2A.xml' or 'MTD_MSIL1C.xml' (the product "
                "metadata); a Sentinel-2 SAFE needs it"
            )
        self.product: ProductMetadata = parse_product_mtd(
            self.safe.read_bytes(mtds[0]), mtds[0], self.source
        )
        tiles = self.safe.members("GRANULE/*/MTD_TL.xml")
        if len(tiles) != 1:
            raise ProductError(
                f"{self.source}: expected one granule MTD_TL.xml, found {len(tiles)} "
                "(multi-granule products of baseline < 02.04 are not supported)"
            )
        self.tile: TileGeocoding = parse_tile_mtd(
            self.safe.read_bytes(tiles[0]), tiles[0], self.source
        )
        self._files: dict[tuple[str, int], str] = self._index_images()
        self._missing: dict[str, str] = self._listed_but_missing()
        self._cache: dict[tuple[str, int], BandFile] = {}
        names = {b for b, _ in self._files} | set(self._missing)
        self.band_names = tuple(sorted(names, key=_band_order))
        p = self.product
        tile_id = self.tile.tile_id or _tile_from_name(self.safe.name)
        self.metadata = S2Metadata(
            mission=p.spacecraft,
            product_type=p.product_type,
            sensing_time=self.tile.sensing_time or p.start_time,
            crs=self.tile.crs,
            footprint=p.footprint or self.manifest.footprint or _tile_footprint(self.tile),
            simulated=p.simulated or self.manifest.simulated,
            cloud_cover=p.cloud_cover if p.cloud_cover is not None else self.tile.cloud_cover,
            tile_id=tile_id,
            stop_time=p.stop_time,
            processing_baseline=p.processing_baseline,
            product_name=self.safe.name,
            extra={
                "quantification_value": p.quantification,
                "add_offsets_applied": p.baseline_number >= 4.0,
                "relative_orbit": self.manifest.relative_orbit,
                "orbit_direction": p.orbit_direction or self.manifest.orbit_direction,
                "georeferencing_source": "MTD_TL.xml Tile_Geocoding",
            },
            processing_level=p.level,
            quantification=p.quantification,
            add_offsets=dict(p.add_offsets),
            granule=tiles[0].split("/")[1],
        )
        if self.metadata.simulated:
            self.metadata.extra["note"] = "SIMULATED product written by rus simulate (not ESA data)"

    # -- indexing ----------------------------------------------------------------------------
    def _index_images(self) -> dict[tuple[str, int], str]:
        files: dict[tuple[str, int], str] = {}
        for m in self.safe.members("GRANULE/*/IMG_DATA/*"):
            if self.product.level == "L2A":
                hit = _L2A_IMG.match(m)
                if hit:
                    files[(hit["band"], int(hit["res"]))] = m
            else:
                hit = _L1C_IMG.match(m)
                if hit:
                    files[(hit["band"], NATIVE_RESOLUTION.get(hit["band"], 10))] = m
        return files

    def _listed_but_missing(self) -> dict[str, str]:
        """Bands whose IMAGE_FILE is listed in the MTD but absent from the product."""
        missing: dict[str, str] = {}
        have = set(self._files.values())
        for listed in self.product.image_files:
            member = listed if listed.endswith(".jp2") else f"{listed}.jp2"
            if member in have:
                continue
            m = _L2A_IMG.match(member) or _L1C_IMG.match(member)
            if m:
                missing.setdefault(m["band"], member)
        return missing

    # -- hooks -------------------------------------------------------------------------------
    def _resolutions(self, name: str) -> tuple[float, ...]:
        res = sorted(r for b, r in self._files if b == name)
        if not res and name in self._missing:
            raise ProductError(
                f"{self.source}: missing file {self._missing[name]!r} (listed in the product "
                "metadata)"
            )
        native = NATIVE_RESOLUTION.get(name, res[0] if res else 10)
        res.sort(key=lambda r: (r != native, r))
        return tuple(float(r) for r in res)

    def _band_file(self, name: str, resolution: float) -> BandFile:
        key = (name, round(resolution))
        if key in self._cache:
            return self._cache[key]
        if key not in self._files:
            raise ProductError(f"{self.source}: no file for band {name} at {resolution:g} m")
        member = self._files[key]
        res = key[1]
        if res not in self.tile.origins or res not in self.tile.sizes:
            raise ProductError(
                f"{self.source}: MTD_TL.xml has no Geoposition/Size for {res} m ({name})"
            )
        from affine import Affine

        ulx, uly, xdim, ydim = self.tile.origins[res]
        transform = Affine(xdim, 0.0, ulx, 0.0, ydim, uly)
        bf = open_band_file(
            self.safe.gdal_path(member),
            1,
            transform=transform,
            crs=self.tile.crs,
            georef_source="MTD_TL.xml",
            label=f"{self.source}: {member}",
        )
        rows, cols = self.tile.sizes[res]
        if (bf.height, bf.width) != (rows, cols):
            raise ProductError(
                f"{self.source}: {member} is {bf.height}x{bf.width} but MTD_TL.xml says "
                f"{rows}x{cols} at {res} m"
            )
        bf = BandFile(**{**bf.__dict__, "nodata": 0})
        self._cache[key] = bf
        return bf

    def _scaling(self, name: str) -> tuple[float, float, float | None]:
        if name in _NON_REFLECTANCE:
            raise ProductError(f"{self.source}: {name} is not a reflectance band")
        q = self.product.quantification
        return (1.0 / q, self.product.offset(name) / q, 0)

    def reflectance(self, name: str, resolution: float | None = None) -> xr.DataArray:
        """Reflectance ``(DN + ADD_OFFSET) / QUANTIFICATION_VALUE`` (offset only for baseline
        >= 04.00, per band), float32, units "1", NaN where DN == 0 (no data)."""
        out = super().reflectance(name, resolution)
        out.attrs["formula"] = (
            f"(DN + {self.product.offset(name):g}) / {self.product.quantification:g}"
        )
        out.attrs["processing_baseline"] = self.product.processing_baseline
        return out

    def describe(self) -> dict[str, Any]:
        """``rus info`` description (mission, times, footprint, bands, grids, chunks...)."""
        out = super().describe()
        out["level"] = self.product.level
        if self._missing:
            out["missing_files"] = sorted(self._missing.values())
        return out


def _tile_footprint(tile: TileGeocoding) -> Any:
    """Lon/lat polygon of the tile extent (when the MTD and manifest give no footprint)."""
    from pyproj import Transformer
    from shapely.geometry import Polygon

    res = min(tile.origins)
    if res not in tile.sizes:
        return None
    ulx, uly, xdim, ydim = tile.origins[res]
    rows, cols = tile.sizes[res]
    xs = [ulx, ulx + cols * xdim, ulx + cols * xdim, ulx]
    ys = [uly, uly, uly + rows * ydim, uly + rows * ydim]
    lon, lat = Transformer.from_crs(tile.crs, 4326, always_xy=True).transform(xs, ys)
    return Polygon(zip(lon, lat, strict=True))


def _tile_from_name(name: str) -> str:
    m = re.search(r"_T(\d{2}[A-Z]{3})_", name)
    return m.group(1) if m else ""


def open_s2(path: str | os.PathLike[str]) -> S2Product:
    """Open a Sentinel-2 L2A or L1C SAFE directory or ``.zip`` lazily.

    Parameters
    ----------
    path : path-like
        ``S2?_MSIL2A_....SAFE`` directory or the ``.zip`` as distributed.

    Returns
    -------
    S2Product
        Bands at native resolution (10/20/60 m; any L2A band present in R10m/R20m/R60m at that
        resolution), CRS and transform from MTD_TL.xml, reflectance scaling from the MTD.

    Raises
    ------
    ProductError
        Not a SAFE, truncated zip, missing metadata or band files.
    """
    return S2Product(path)
