"""Writers shared by the chains: vector layers (GPKG, GeoJSON, CSV), KML, and the run's STAC Item.

Every writer is atomic (temporary file + rename): an output is whole or absent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from rus._io import atomic_path, atomic_write_text
from rus.chains.errors import ChainError

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

STAC_VERSION = "1.0.0"
PROCESSING_EXT = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"


#: GeoPackage 1.3, not GDAL 3.10's default 1.4: QGIS 3.22 LTR and GDAL 3.6 (Debian 12) warn
#: that a 1.4 file "may only be partially supported"; the layers use nothing from 1.4.
GPKG_OPTIONS: dict[str, Any] = {"dataset_options": {"VERSION": "1.3"}}


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Several named layers in one GeoPackage (version 1.3, see :data:`GPKG_OPTIONS`),
    written atomically: a reader never sees a file with only some of them."""
    path = Path(path)
    with atomic_path(path) as tmp:
        for name, frame in layers.items():
            frame.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", **GPKG_OPTIONS)
    return path


def _to_lonlat(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise ChainError("vector layer has no CRS; cannot write it in lon/lat")
    return gdf if gdf.crs.to_epsg() == 4326 else gdf.to_crs(4326)


def write_vector(gdf: gpd.GeoDataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """Write a GeoDataFrame by extension: ``.gpkg`` (named layer), ``.geojson``, ``.csv``.

    GeoJSON is always written in EPSG:4326 (RFC 7946). CSV has ``lon``/``lat`` columns for point
    layers and a ``wkt`` column (lon/lat) otherwise, followed by every attribute.

    Parameters
    ----------
    gdf
        The features; an empty frame writes a valid empty layer.
    path
        Output file.
    layer
        Layer name inside a GeoPackage (default: the file stem).

    Returns
    -------
    The written path.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".gpkg":
        write_gpkg({layer or path.stem: gdf}, path)
    elif ext in {".geojson", ".json"}:
        ll = _to_lonlat(gdf)
        atomic_write_text(path, ll.to_json(na="null", show_bbox=False, drop_id=True))
    elif ext == ".csv":
        ll = _to_lonlat(gdf)
        table = ll.drop(columns=ll.geometry.name).copy()
        geoms = ll.geometry
        if len(ll) and (geoms.geom_type == "Point").all():
            table.insert(0, "lat", geoms.y.to_numpy())
            table.insert(0, "lon", geoms.x.to_numpy())
        else:
            table.insert(0, "wkt", geoms.to_wkt())
        atomic_write_text(path, table.to_csv(index=False))
    else:
        raise ChainError(f"{path}: unsupported vector format {ext!r} (use .gpkg, .geojson, .csv)")
    return path


def _kml_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _kml_coords(coords: Sequence[Sequence[float]]) -> str:
    return " ".join(f"{x:.7f},{y:.7f},0" for x, y, *_ in coords)


def _kml_geometry(geom: BaseGeometry) -> str:
    kind = geom.geom_type
    if kind == "Point":
        return f"<Point><coordinates>{geom.x:.7f},{geom.y:.7f},0</coordinates></Point>"
    if kind == "Polygon":
        inner = "".join(
            "<innerBoundaryIs><LinearRing><coordinates>"
            f"{_kml_coords(ring.coords)}</coordinates></LinearRing></innerBoundaryIs>"
            for ring in geom.interiors
        )
        return (
            "<Polygon><outerBoundaryIs><LinearRing><coordinates>"
            f"{_kml_coords(geom.exterior.coords)}</coordinates></LinearRing></outerBoundaryIs>"
            f"{inner}</Polygon>"
        )
    if kind == "LineString":
        return f"<LineString><coordinates>{_kml_coords(geom.coords)}</coordinates></LineString>"
    if kind.startswith("Multi") or kind == "GeometryCollection":
        parts = "".join(_kml_geometry(g) for g in geom.geoms)
        return f"<MultiGeometry>{parts}</MultiGeometry>"
    raise ChainError(f"cannot write geometry type {kind} to KML")


def _kml_color(hex_rgb: str, alpha: int) -> str:
    """KML colours are aabbggrr."""
    rgb = hex_rgb.lstrip("#")
    if len(rgb) != 6:
        raise ChainError(f"colour {hex_rgb!r} is not #rrggbb")
    return f"{alpha:02x}{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}"


def write_kml(
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    name: Callable[[Mapping[str, Any]], str],
    description: Callable[[Mapping[str, Any]], str] | None = None,
    document_name: str,
    color_field: str | None = None,
    colors: Mapping[Any, str] | None = None,
) -> Path:
    """Write a KML file for Google Earth: one Placemark per feature.

    Parameters
    ----------
    gdf
        Features in any CRS (reprojected to lon/lat).
    path
        Output ``.kml`` file.
    name, description
        Callables building each Placemark's name and description from its attributes.
    document_name
        Name of the KML Document.
    color_field, colors
        Optional per-feature colour: ``colors[row[color_field]]`` as ``#rrggbb``.

    Returns
    -------
    The written path. Every attribute is kept as ``ExtendedData``.
    """
    ll = _to_lonlat(gdf)
    geom_col = ll.geometry.name
    attrs = [c for c in ll.columns if c != geom_col]
    styles: list[str] = []
    if color_field and colors:
        for key, hex_rgb in colors.items():
            line, fill = _kml_color(hex_rgb, 255), _kml_color(hex_rgb, 140)
            styles.append(
                f'<Style id="c{escape(str(key))}"><IconStyle><color>{line}</color><scale>1.0'
                "</scale><Icon><href>http://maps.google.com/mapfiles/kml/shapes/shaded_dot.png"
                f"</href></Icon></IconStyle><LineStyle><color>{line}</color><width>2</width>"
                f"</LineStyle><PolyStyle><color>{fill}</color></PolyStyle></Style>"
            )
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2">',
        f"<Document><name>{escape(document_name)}</name>",
        *styles,
    ]
    for row in ll.itertuples(index=False):
        rec = dict(zip(ll.columns, row, strict=True))
        geom = rec.pop(geom_col)
        if geom is None or geom.is_empty:
            continue
        data = "".join(
            f'<Data name="{escape(str(k))}"><value>{escape(_kml_value(rec[k]))}</value></Data>'
            for k in attrs
        )
        style = ""
        if color_field and colors and rec.get(color_field) in colors:
            style = f"<styleUrl>#c{escape(str(rec[color_field]))}</styleUrl>"
        desc = f"<description>{escape(description(rec))}</description>" if description else ""
        parts.append(
            f"<Placemark><name>{escape(name(rec))}</name>{desc}{style}"
            f"<ExtendedData>{data}</ExtendedData>{_kml_geometry(geom)}</Placemark>"
        )
    parts.append("</Document></kml>")
    return atomic_write_text(Path(path), "\n".join(parts) + "\n")


@dataclass(frozen=True)
class Asset:
    """One output of a run, as a STAC asset (``href`` relative to the item file)."""

    href: str
    media_type: str
    roles: tuple[str, ...]
    title: str
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


def _geometry_json(geometry: BaseGeometry) -> tuple[dict[str, Any], list[float]]:
    from shapely.geometry import mapping

    return json.loads(json.dumps(mapping(geometry))), [float(v) for v in geometry.bounds]


def run_item(
    *,
    item_id: str,
    geometry: BaseGeometry,
    datetime: datetime,
    inputs: Sequence[str],
    parameters: Mapping[str, Any],
    assets: Mapping[str, Asset],
    properties: Mapping[str, Any] | None = None,
    simulated: bool = False,
) -> dict[str, Any]:
    """A STAC 1.0 Item describing one processing run.

    Parameters
    ----------
    item_id
        Item id (e.g. ``ships-<product name>``).
    geometry
        Footprint of the processed area in lon/lat.
    datetime
        Acquisition time of the (first) input product.
    inputs
        Input product names or paths (``processing:lineage`` and ``rus:inputs``).
    parameters
        The run's parameters (JSON-serialisable; stored as ``rus:parameters``).
    assets
        The outputs.
    properties
        Extra properties.
    simulated
        True when any input is simulated data (``rus:simulated``).
    """
    from rus import __version__

    geom, bbox = _geometry_json(geometry)
    when = datetime if datetime.tzinfo else datetime.replace(tzinfo=UTC)
    props: dict[str, Any] = {
        "datetime": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "created": _now_iso(),
        "processing:software": {"rus": __version__},
        "processing:lineage": "rus run on: " + ", ".join(inputs),
        "rus:inputs": list(inputs),
        "rus:parameters": json.loads(json.dumps(dict(parameters), default=str)),
        "rus:simulated": bool(simulated),
    }
    if properties:
        props.update(json.loads(json.dumps(dict(properties), default=str)))
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [PROCESSING_EXT],
        "id": item_id,
        "geometry": geom,
        "bbox": bbox,
        "properties": props,
        "links": [],
        "assets": {
            key: {
                "href": a.href,
                "type": a.media_type,
                "roles": list(a.roles),
                "title": a.title,
                **({"description": a.description} if a.description else {}),
                **dict(a.extra),
            }
            for key, a in assets.items()
        },
    }


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def write_run_item(path: str | Path, item: Mapping[str, Any]) -> Path:
    """Write a run's STAC Item as pretty JSON (atomic)."""
    return atomic_write_text(Path(path), json.dumps(item, indent=2, ensure_ascii=False) + "\n")
