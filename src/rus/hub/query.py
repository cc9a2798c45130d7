"""Loose search input normalised once: areas of interest, periods, and the CDSE OData ``$filter``.

Every user-facing entry point (CLI, portal, Python) passes its raw values through
:func:`parse_aoi` and :func:`parse_period`; the rest of :mod:`rus.hub` only sees shapely
geometries (lon/lat, EPSG:4326) and timezone-aware UTC datetimes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from rus.hub.errors import QueryError

BBox = tuple[float, float, float, float]
DatetimeLike = datetime | date | str
OrbitDirection = Literal["ASCENDING", "DESCENDING"]

#: Named areas of interest of the demo set (lon/lat bounding boxes ``minx, miny, maxx, maxy``).
DEMO_PLACES: dict[str, BBox] = {
    "corumba": (-57.9, -19.3, -57.2, -18.7),
    "rome": (12.3, 41.7, 12.7, 42.0),
    "gibraltar": (-5.9, 35.8, -5.2, 36.2),
    "rotterdam": (3.8, 51.8, 4.6, 52.1),
    "venice": (12.1, 45.2, 12.6, 45.6),
    "attica": (23.5, 37.8, 24.1, 38.3),
    "trieste": (13.2, 45.5, 13.9, 45.8),
    "pedrogao": (-9.0, 39.7, -7.7, 40.7),
}

ORDER_FIELDS = ("ContentDate/Start", "ContentDate/End", "PublicationDate", "ModificationDate")


def _bbox_geometry(values: Sequence[float]) -> Any:
    from shapely.geometry import box

    if len(values) != 4:
        raise QueryError(f"a bbox needs 4 numbers minx,miny,maxx,maxy; got {list(values)}")
    minx, miny, maxx, maxy = (float(v) for v in values)
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise QueryError(
            f"bbox {minx},{miny},{maxx},{maxy} is not lon/lat with min < max "
            "(expected minx,miny,maxx,maxy in degrees)"
        )
    return box(minx, miny, maxx, maxy)


def _geojson_geometry(doc: Mapping[str, Any], origin: str) -> Any:
    from shapely.geometry import shape
    from shapely.ops import unary_union

    kind = doc.get("type")
    try:
        if kind == "FeatureCollection":
            geoms = [shape(f["geometry"]) for f in doc.get("features", []) if f.get("geometry")]
            if not geoms:
                raise QueryError(f"{origin}: the FeatureCollection holds no geometry")
            return unary_union(geoms)
        if kind == "Feature":
            return shape(doc["geometry"])
        return shape(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise QueryError(f"{origin}: not a GeoJSON geometry ({exc})") from exc


def parse_aoi(value: Any) -> Any:
    """Normalise an area of interest to a valid shapely geometry in lon/lat.

    Parameters
    ----------
    value
        A shapely geometry, a bbox (4 numbers or ``"minx,miny,maxx,maxy"``), WKT text, a GeoJSON
        mapping, the path of a GeoJSON file, or a demo place name (see :data:`DEMO_PLACES`).

    Returns
    -------
    shapely.geometry.base.BaseGeometry
        The geometry (EPSG:4326, lon/lat degrees).
    """
    from shapely import wkt
    from shapely.errors import ShapelyError
    from shapely.geometry.base import BaseGeometry

    if isinstance(value, BaseGeometry):
        geom = value
    elif isinstance(value, Mapping):
        geom = _geojson_geometry(value, "GeoJSON")
    elif isinstance(value, Path):
        geom = _aoi_from_file(value)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        geom = _bbox_geometry(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.lower() in DEMO_PLACES:
            geom = _bbox_geometry(DEMO_PLACES[text.lower()])
        elif re.fullmatch(r"\s*-?[\d.]+(\s*,\s*-?[\d.]+){3}\s*", text):
            geom = _bbox_geometry([float(v) for v in text.split(",")])
        elif text.startswith("{"):
            try:
                geom = _geojson_geometry(json.loads(text), "GeoJSON text")
            except ValueError as exc:
                raise QueryError(f"GeoJSON text is not valid JSON ({exc})") from exc
        elif re.match(r"^(SRID=\d+;)?\s*(MULTI)?(POLYGON|POINT|LINESTRING)", text, re.I):
            try:
                geom = wkt.loads(re.sub(r"^SRID=\d+;", "", text))
            except ShapelyError as exc:
                raise QueryError(f"invalid WKT {text[:60]!r} ({exc})") from exc
        elif Path(text).suffix.lower() in {".json", ".geojson"}:
            geom = _aoi_from_file(Path(text))
        else:
            places = ", ".join(sorted(DEMO_PLACES))
            raise QueryError(
                f"cannot read the area {text[:60]!r}: give a bbox 'minx,miny,maxx,maxy', WKT, "
                f"a GeoJSON file or one of the demo places ({places})"
            )
    else:
        raise QueryError(f"unsupported area of interest of type {type(value).__name__}")
    if geom.is_empty:
        raise QueryError("the area of interest is empty")
    if not geom.is_valid:
        geom = geom.buffer(0)
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise QueryError(f"the area {geom.bounds} is not in lon/lat degrees (EPSG:4326)")
    return geom


def _aoi_from_file(path: Path) -> Any:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QueryError(f"{path}: no such GeoJSON file") from None
    except (OSError, ValueError) as exc:
        raise QueryError(f"{path}: not a readable GeoJSON file ({exc})") from exc
    if not isinstance(doc, Mapping):
        raise QueryError(f"{path}: GeoJSON must be an object")
    return _geojson_geometry(doc, str(path))


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_datetime(value: DatetimeLike, *, end: bool = False) -> datetime:
    """Normalise one instant; a date or a coarse string as an end means the end of that span.

    ``"2024"``, ``"2024-03"`` and ``"2024-03-05"`` are read as a year, a month or a day: as a
    start they give the first instant, as an end (``end=True``) the first instant *after* the span
    (periods are half-open ``[start, end)``).
    """
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        day = datetime(value.year, value.month, value.day, tzinfo=UTC)
        return day + timedelta(days=1) if end else day
    text = str(value).strip()
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        return datetime(year + 1 if end else year, 1, 1, tzinfo=UTC)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise QueryError(f"invalid month in {text!r}")
        if end:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return datetime(year, month, 1, tzinfo=UTC)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return parse_datetime(date.fromisoformat(text), end=end)
    try:
        return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise QueryError(
            f"cannot read the date {text!r}: use ISO 8601 such as 2024-03-05 or "
            "2024-03-05T10:00:00Z, a month 2024-03 or a year 2024"
        ) from None


def parse_period(
    start: DatetimeLike | None = None, end: DatetimeLike | None = None
) -> tuple[datetime | None, datetime | None]:
    """Normalise a sensing period to half-open UTC bounds ``[start, end)``.

    ``start`` may also hold a whole period ``"START/END"`` (either side may be ``..``), or a single
    coarse span such as ``"2024-03"`` (the whole month) when ``end`` is None.
    """
    if isinstance(start, str) and "/" in start:
        if end is not None:
            raise QueryError(f"give either a period {start!r} or an end date, not both")
        left, right = (s.strip() for s in start.split("/", 1))
        return parse_period(
            None if left in {"", ".."} else left, None if right in {"", ".."} else right
        )
    lo = parse_datetime(start) if start is not None else None
    if end is not None:
        hi = parse_datetime(end, end=True)
    elif isinstance(start, str) and re.fullmatch(r"\d{4}(-\d{2})?", start.strip()):
        hi = parse_datetime(start, end=True)
    else:
        hi = None
    if lo is not None and hi is not None and hi <= lo:
        raise QueryError(
            f"the period ends ({hi:%Y-%m-%dT%H:%M:%SZ}) before it starts ({lo:%Y-%m-%dT%H:%M:%SZ})"
        )
    return lo, hi


def odata_datetime(dt: datetime) -> str:
    """``2017-06-01T00:00:00.000Z``: the literal form CDSE's OData filter expects."""
    dt = _utc(dt)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def odata_wkt(geom: Any) -> str:
    """WKT as CDSE writes it (``POLYGON((lon lat, ...))``, 6 decimals)."""
    from shapely import wkt

    text = wkt.dumps(geom, rounding_precision=6, trim=True)
    return re.sub(r"^(\w+) \(", r"\1(", text).replace(", ", ",").replace(",", ", ")


@dataclass(frozen=True)
class SearchQuery:
    """One catalogue search, already normalised (build it with :func:`make_query`)."""

    collection: str = "SENTINEL-1"
    product_type: str | None = None
    aoi: Any = None
    start: datetime | None = None
    end: datetime | None = None
    cloud_max: float | None = None
    orbit_direction: OrbitDirection | None = None
    relative_orbit: int | None = None
    tile: str | None = None
    name_contains: str | None = None
    name: str | None = None
    order_by: str = "ContentDate/Start"
    descending: bool = False
    limit: int | None = None
    extra: tuple[str, ...] = field(default_factory=tuple)

    def with_period(self, start: datetime | None, end: datetime | None) -> SearchQuery:
        """The same query over another period."""
        return replace(self, start=start, end=end)


def make_query(
    collection: str = "SENTINEL-1",
    *,
    product_type: str | None = None,
    aoi: Any = None,
    start: DatetimeLike | None = None,
    end: DatetimeLike | None = None,
    cloud_max: float | None = None,
    orbit_direction: str | None = None,
    relative_orbit: int | None = None,
    tile: str | None = None,
    name_contains: str | None = None,
    order_by: str = "ContentDate/Start",
    descending: bool = False,
    limit: int | None = None,
) -> SearchQuery:
    """Build a :class:`SearchQuery` from loose input (validated here, once)."""
    lo, hi = parse_period(start, end)
    direction = orbit_direction.upper() if orbit_direction else None
    if direction not in (None, "ASCENDING", "DESCENDING"):
        raise QueryError(f"orbit direction must be ASCENDING or DESCENDING, got {orbit_direction}")
    if cloud_max is not None and not 0 <= cloud_max <= 100:
        raise QueryError(f"cloud cover must be within 0..100 %, got {cloud_max}")
    if order_by not in ORDER_FIELDS:
        raise QueryError(f"cannot sort by {order_by!r}; choose one of {', '.join(ORDER_FIELDS)}")
    if limit is not None and limit < 0:
        raise QueryError(f"limit must be positive, got {limit}")
    for name, text in (
        ("collection", collection),
        ("product type", product_type),
        ("tile", tile),
        ("name", name_contains),
    ):
        if text is not None and not re.fullmatch(r"[A-Za-z0-9_.\-]+", text):
            raise QueryError(f"invalid {name} {text!r} (letters, digits, _ . - only)")
    return SearchQuery(
        collection=collection.upper(),
        product_type=product_type,
        aoi=parse_aoi(aoi) if aoi is not None else None,
        start=lo,
        end=hi,
        cloud_max=cloud_max,
        orbit_direction=direction,  # type: ignore[arg-type]
        relative_orbit=relative_orbit,
        tile=tile,
        name_contains=name_contains,
        order_by=order_by,
        descending=descending,
        limit=limit,
    )


def _string_attr(name: str, value: str) -> str:
    return (
        "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq "
        f"'{name}' and att/OData.CSC.StringAttribute/Value eq '{value}')"
    )


def build_filter(query: SearchQuery) -> str:
    """The OData ``$filter`` of ``query``, clause by clause as CDSE documents it."""
    clauses = [f"Collection/Name eq '{query.collection}'"]
    if query.start is not None:
        clauses.append(f"ContentDate/Start ge {odata_datetime(query.start)}")
    if query.end is not None:
        clauses.append(f"ContentDate/Start lt {odata_datetime(query.end)}")
    if query.aoi is not None:
        clauses.append(f"OData.CSC.Intersects(area=geography'SRID=4326;{odata_wkt(query.aoi)}')")
    if query.product_type:
        clauses.append(_string_attr("productType", query.product_type))
    if query.cloud_max is not None:
        clauses.append(
            "Attributes/OData.CSC.DoubleAttribute/any(att:att/Name eq 'cloudCover' and "
            f"att/OData.CSC.DoubleAttribute/Value le {query.cloud_max:.2f})"
        )
    if query.orbit_direction:
        clauses.append(_string_attr("orbitDirection", query.orbit_direction))
    if query.relative_orbit is not None:
        clauses.append(
            "Attributes/OData.CSC.IntegerAttribute/any(att:att/Name eq 'relativeOrbitNumber' "
            f"and att/OData.CSC.IntegerAttribute/Value eq {int(query.relative_orbit)})"
        )
    if query.tile:
        clauses.append(_string_attr("tileId", query.tile))
    if query.name_contains:
        clauses.append(f"contains(Name,'{query.name_contains}')")
    if query.name:
        clauses.append(f"Name eq '{query.name}'")
    clauses.extend(query.extra)
    return " and ".join(clauses)


def build_orderby(query: SearchQuery) -> str:
    """``$orderby`` value, e.g. ``ContentDate/Start asc``."""
    return f"{query.order_by} {'desc' if query.descending else 'asc'}"
