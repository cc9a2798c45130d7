"""Area of interest of a service request: parse WKT or GeoJSON, check it, store it as WKT."""

from __future__ import annotations

import json
from typing import Any

from rus.services.errors import ValidationFailed

MAX_VERTICES = 10_000


def _geojson_geometry(obj: Any) -> dict[str, Any]:
    """The single geometry of a GeoJSON geometry, Feature or one-feature FeatureCollection."""
    if not isinstance(obj, dict):
        raise ValidationFailed("AOI GeoJSON must be an object")
    kind = obj.get("type")
    if kind == "FeatureCollection":
        feats = obj.get("features") or []
        if len(feats) != 1:
            raise ValidationFailed(f"AOI FeatureCollection must hold one feature, has {len(feats)}")
        return _geojson_geometry(feats[0])
    if kind == "Feature":
        return _geojson_geometry(obj.get("geometry"))
    return obj


def parse_aoi(text: str) -> str:
    """Parse an AOI given as WKT or GeoJSON text and return it as WKT (lon/lat, EPSG:4326).

    Raises
    ------
    ValidationFailed
        Unparsable text, a geometry that is not a (multi)polygon, an invalid geometry (with
        the reason, e.g. self-intersection), coordinates outside lon/lat bounds.
    """
    import shapely
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    text = text.strip()
    if not text:
        raise ValidationFailed("AOI is empty: draw it on the map, paste WKT/GeoJSON or upload")
    try:
        if text.startswith("{"):
            geom = shape(_geojson_geometry(json.loads(text)))
        else:
            geom = shapely.from_wkt(text)
    except ValidationFailed:
        raise
    except Exception as exc:
        raise ValidationFailed(f"AOI is neither valid WKT nor GeoJSON: {exc}") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValidationFailed(f"AOI must be a Polygon or MultiPolygon, got {geom.geom_type}")
    if geom.is_empty:
        raise ValidationFailed("AOI polygon is empty")
    if not geom.is_valid:
        raise ValidationFailed(f"AOI geometry is invalid: {explain_validity(geom)}")
    if geom.area == 0:
        raise ValidationFailed("AOI polygon has zero area")
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise ValidationFailed(f"AOI has more than {MAX_VERTICES} vertices; simplify it")
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise ValidationFailed("AOI coordinates must be longitude/latitude in degrees (EPSG:4326)")
    return str(geom.wkt)
