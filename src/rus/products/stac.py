"""STAC Items whose assets are COGs (Earth Search or CDSE naming), read like an S2 product.

``open_stac_item("item.json")`` or an ``https://`` URL. Asset keys are mapped to Sentinel-2
band ids: Earth Search (``nir08`` = B8A, ``swir22`` = B12, ``scl`` = SCL, ``nir`` = B08, ...) and
CDSE (``B8A_20m``, ``SCL_20m``, ...). Reflectance uses the asset's ``raster:bands`` scale/offset
(Earth Search writes offset -0.1 for baseline >= 04.00); without them ``1e-4`` and the
baseline rule. Remote assets are read through GDAL ``/vsicurl/``.

:func:`write_cog_copy` converts bands of a SAFE into DEFLATE COGs plus such an Item.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from rus._io import atomic_path, atomic_write_text
from rus.products._raster import BandFile, RasterMetadata, RasterProductBase, open_band_file
from rus.products.errors import ProductError

#: Earth Search asset key -> Sentinel-2 band id.
EARTH_SEARCH: dict[str, str] = {
    "coastal": "B01",
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "rededge1": "B05",
    "rededge2": "B06",
    "rededge3": "B07",
    "nir": "B08",
    "nir08": "B8A",
    "nir09": "B09",
    "cirrus": "B10",
    "swir16": "B11",
    "swir22": "B12",
    "scl": "SCL",
}
_BAND_TO_ES = {v: k for k, v in EARTH_SEARCH.items()}
_CDSE = re.compile(r"^(?P<band>B\d[\dA]|SCL|AOT|WVP)_(?P<res>10|20|60)m$", re.IGNORECASE)
_NATIVE = {"B01": 60, "B09": 60, "B10": 60, "B05": 20, "B06": 20, "B07": 20, "B8A": 20}
_NATIVE.update({"B11": 20, "B12": 20, "SCL": 20})


@dataclass(frozen=True)
class _Asset:
    band: str
    href: str  # GDAL path
    resolution: float | None
    scale: float | None
    offset: float | None
    nodata: float | None


def _load(path_or_url: str) -> tuple[dict[str, Any], str]:
    """The Item JSON and the base used to resolve relative hrefs."""
    if path_or_url.startswith(("http://", "https://")):
        import httpx

        try:
            resp = httpx.get(path_or_url, timeout=30, follow_redirects=True)
            resp.raise_for_status()
            return resp.json(), path_or_url
        except (httpx.HTTPError, ValueError) as exc:
            raise ProductError(f"{path_or_url}: cannot fetch the STAC Item ({exc})") from exc
    p = Path(path_or_url)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise ProductError(f"{p}: no such file") from None
    except (OSError, ValueError) as exc:
        raise ProductError(f"{p}: not a readable STAC Item JSON ({exc})") from exc
    return doc, str(p.resolve().parent) + "/"


def _gdal_href(href: str, base: str) -> str:
    if href.startswith(("http://", "https://")):
        return f"/vsicurl/{href}"
    if href.startswith("s3://"):
        return "/vsis3/" + href[len("s3://") :]
    if href.startswith("/") or re.match(r"^[A-Za-z]:\\", href):
        return href
    if base.startswith(("http://", "https://")):
        return f"/vsicurl/{urljoin(base, href)}"
    return str(Path(base) / href)


def _asset_band(key: str, asset: dict[str, Any]) -> tuple[str, float | None] | None:
    m = _CDSE.match(key)
    if m:
        return m["band"].upper(), float(m["res"])
    if key in EARTH_SEARCH:
        return EARTH_SEARCH[key], None
    for b in asset.get("eo:bands", []) or []:
        name = str(b.get("name", "")).upper().replace("B8A", "B8A")
        if re.fullmatch(r"B\d[\dA]", name):
            return (name if len(name) == 3 else f"B0{name[1:]}"), None
    return None


def _resolution(asset: dict[str, Any], band: str) -> float | None:
    rb = (asset.get("raster:bands") or [{}])[0]
    if "spatial_resolution" in rb:
        return float(rb["spatial_resolution"])
    if "gsd" in asset:
        return float(asset["gsd"])
    t = asset.get("proj:transform")
    if t:
        return float(abs(t[0]))
    return None


class StacProduct(RasterProductBase):
    """A STAC Item with COG assets exposing Sentinel-2 band ids."""

    def __init__(self, path_or_url: str) -> None:
        doc, base = _load(path_or_url)
        self.source = path_or_url
        if not isinstance(doc, dict) or doc.get("type") != "Feature" or "assets" not in doc:
            raise ProductError(f"{path_or_url}: not a STAC Item (needs type Feature and assets)")
        self.item = doc
        props = doc.get("properties", {})
        baseline = str(props.get("s2:processing_baseline") or "")
        offset_applied = bool(props.get("earthsearch:boa_offset_applied", False))
        try:
            bl = float(baseline)
        except ValueError:
            bl = 0.0
        self._default_offset = -0.1 if bl >= 4.0 and not offset_applied else 0.0
        self._assets: dict[tuple[str, float | None], _Asset] = {}
        for key, asset in doc["assets"].items():
            hit = _asset_band(key, asset)
            if hit is None or "href" not in asset:
                continue
            band, res = hit
            res = res if res is not None else _resolution(asset, band)
            rb = (asset.get("raster:bands") or [{}])[0]
            self._assets[(band, res)] = _Asset(
                band=band,
                href=_gdal_href(asset["href"], base),
                resolution=res,
                scale=rb.get("scale"),
                offset=rb.get("offset"),
                nodata=rb.get("nodata", 0),
            )
        if not self._assets:
            raise ProductError(f"{path_or_url}: no Sentinel-2 band asset found")
        self._cache: dict[tuple[str, float], BandFile] = {}
        order = [*EARTH_SEARCH.values()]
        names = {b for b, _ in self._assets}
        self.band_names = tuple(sorted(names, key=lambda b: order.index(b) if b in order else 99))
        self.metadata = self._metadata(doc, baseline)

    def _metadata(self, doc: dict[str, Any], baseline: str) -> RasterMetadata:
        from shapely.geometry import shape

        from rus.products.sentinel2._metadata import parse_time

        props = doc.get("properties", {})
        dt = props.get("datetime") or props.get("start_datetime")
        epsg = props.get("proj:epsg") or props.get("proj:code")
        crs = f"EPSG:{epsg}" if isinstance(epsg, int) else str(epsg or "")
        tile = props.get("grid:code", "") or props.get("s2:mgrs_tile", "")
        tile = str(tile).removeprefix("MGRS-") or None
        return RasterMetadata(
            mission=str(props.get("platform", props.get("constellation", "unknown"))),
            product_type=str(props.get("s2:product_type", props.get("product:type", "STAC"))),
            sensing_time=parse_time(dt) if dt else None,
            crs=crs,
            footprint=shape(doc["geometry"]) if doc.get("geometry") else None,
            simulated=bool(props.get("rus:simulated", props.get("simulated", False))),
            cloud_cover=props.get("eo:cloud_cover"),
            tile_id=tile,
            processing_baseline=baseline or None,
            product_name=str(doc.get("id", "")),
            extra={"stac_item": self.source},
        )

    def _resolutions(self, name: str) -> tuple[float, ...]:
        res = []
        for (b, r), _ in self._assets.items():
            if b == name:
                res.append(r if r is not None else self._band_file_any(name).resolution)
        native = _NATIVE.get(name, 10)
        return tuple(sorted(set(res), key=lambda r: (r != native, r)))

    def _band_file_any(self, name: str) -> BandFile:
        asset = next(a for (b, _), a in self._assets.items() if b == name)
        return self._open(asset)

    def _open(self, asset: _Asset) -> BandFile:
        key = (asset.band, asset.resolution or -1.0)
        if key not in self._cache:
            bf = open_band_file(asset.href, 1, label=f"{self.source}: asset {asset.href}")
            if asset.nodata is not None:
                bf = BandFile(**{**bf.__dict__, "nodata": asset.nodata})
            self._cache[key] = bf
        return self._cache[key]

    def _band_file(self, name: str, resolution: float) -> BandFile:
        for (b, r), asset in self._assets.items():
            if b == name and (r is None or abs(r - resolution) < 1e-6):
                bf = self._open(asset)
                if abs(bf.resolution - resolution) < 1e-6:
                    return bf
        raise ProductError(f"{self.source}: no asset for {name} at {resolution:g} m")

    def _scaling(self, name: str) -> tuple[float, float, float | None]:
        asset = next(a for (b, _), a in self._assets.items() if b == name)
        scale = asset.scale if asset.scale is not None else 1e-4
        offset = asset.offset if asset.offset is not None else self._default_offset
        return (float(scale), float(offset), asset.nodata)


def open_stac_item(path_or_url: str) -> StacProduct:
    """Open a STAC Item (JSON file or http(s) URL) whose assets are COGs.

    Raises
    ------
    ProductError
        Unreadable JSON, not an Item, no Sentinel-2 band asset.
    """
    return StacProduct(str(path_or_url))


def write_cog_copy(
    safe: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    bands: tuple[str, ...] = ("B8A", "B12", "SCL"),
    resolution: float = 20,
) -> Path:
    """Convert ``bands`` of a Sentinel-2 SAFE into DEFLATE COGs plus a STAC Item JSON.

    Parameters
    ----------
    safe : path-like
        SAFE directory or zip (read with :func:`rus.products.sentinel2.open_s2`).
    out_dir : path-like
        Folder for ``<band>.tif`` files and ``item.json`` (Earth Search asset naming).
    bands : tuple of str
        S2 band ids (``SCL`` allowed).
    resolution : float
        Resolution of the copies (the bands must exist at it).

    Returns
    -------
    Path
        ``out_dir/item.json``.
    """
    import rasterio
    import rasterio.shutil
    from shapely.geometry import mapping

    from rus.products.sentinel2 import open_s2

    prod = open_s2(safe)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = prod.metadata
    assets: dict[str, Any] = {}
    for band in bands:
        bf = prod._band_file(band, prod._pick_resolution(band, resolution))
        dest = out / f"{band}.tif"
        opts = {"COMPRESS": "DEFLATE", "BLOCKSIZE": "512", "NUM_THREADS": "ALL_CPUS"}
        if band != "SCL":
            opts["PREDICTOR"] = "2"
        with rasterio.Env(GDAL_PAM_ENABLED="NO"), atomic_path(dest) as tmp:
            rasterio.shutil.copy(bf.path, tmp, driver="COG", **opts)
            with rasterio.open(tmp) as ds:
                if not ds.transform.almost_equals(bf.transform) or ds.shape != (
                    bf.height,
                    bf.width,
                ):
                    raise ProductError(
                        f"{bf.path}: embedded georeferencing {ds.transform} differs from "
                        f"MTD_TL.xml {bf.transform}"
                    )
        key = _BAND_TO_ES.get(band, band.lower())
        raster: dict[str, Any] = {
            "nodata": 0,
            "data_type": bf.dtype,
            "spatial_resolution": resolution,
        }
        if band != "SCL":
            q = m.extra.get("quantification_value", 10000.0)
            raster["scale"] = 1.0 / q
            raster["offset"] = prod.product.offset(band) / q
        assets[key] = {
            "href": f"./{dest.name}",
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
            "title": f"{band} ({resolution:g} m){' SIMULATED' if m.simulated else ''}",
            "eo:bands": [{"name": band, "common_name": key}] if band != "SCL" else [],
            "raster:bands": [raster],
            "proj:shape": [bf.height, bf.width],
            "proj:transform": list(bf.transform)[:6],
        }
    geom = mapping(m.footprint) if m.footprint is not None else None
    bbox = list(m.footprint.bounds) if m.footprint is not None else None
    epsg = int(m.crs.split(":")[1]) if m.crs.upper().startswith("EPSG:") else None
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        ],
        "id": m.product_name,
        "geometry": json.loads(json.dumps(geom)) if geom else None,
        "bbox": bbox,
        "properties": {
            "datetime": m.sensing_time.isoformat().replace("+00:00", "Z")
            if m.sensing_time
            else None,
            "platform": m.mission.lower(),
            "constellation": "sentinel-2",
            "instruments": ["msi"],
            "s2:product_type": m.product_type,
            "s2:processing_baseline": m.processing_baseline,
            "earthsearch:boa_offset_applied": prod.product.baseline_number >= 4.0,
            "eo:cloud_cover": m.cloud_cover,
            "grid:code": f"MGRS-{m.tile_id}",
            "proj:epsg": epsg,
            "rus:simulated": m.simulated,
            "rus:source_safe": Path(str(safe)).name,
        },
        "links": [],
        "assets": assets,
    }
    return atomic_write_text(out / "item.json", json.dumps(item, indent=1))
