"""STAC Items and collection ids for products (store index, hub server and STAC client).

Collection ids follow the CDSE STAC API (``sentinel-1-grd``, ``sentinel-2-l2a``, ...).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rus.hub.records import ProductRecord

STAC_VERSION = "1.0.0"

#: (OData collection, product type prefix) -> STAC collection id, most specific first.
_STAC_COLLECTIONS: tuple[tuple[str, str, str], ...] = (
    ("SENTINEL-1", "IW_GRD", "sentinel-1-grd"),
    ("SENTINEL-1", "EW_GRD", "sentinel-1-grd"),
    ("SENTINEL-1", "", "sentinel-1-grd"),
    ("SENTINEL-2", "S2MSI2A", "sentinel-2-l2a"),
    ("SENTINEL-2", "S2MSI1C", "sentinel-2-l1c"),
    ("SENTINEL-2", "", "sentinel-2-l2a"),
)

#: STAC property -> OData attribute name (CDSE spellings).
PROPERTY_TO_ATTRIBUTE = {
    "eo:cloud_cover": "cloudCover",
    "sat:orbit_state": "orbitDirection",
    "sat:relative_orbit": "relativeOrbitNumber",
    "grid:code": "tileId",
    "product:type": "productType",
}


def stac_collection_id(collection: str, product_type: str | None) -> str:
    """STAC collection id of an OData collection/product type (lower-case fallback)."""
    ptype = (product_type or "").upper()
    for coll, prefix, cid in _STAC_COLLECTIONS:
        if coll == collection.upper() and ptype.startswith(prefix):
            return cid
    return collection.lower() or "user-data"


def odata_collection(stac_id: str) -> tuple[str, str | None]:
    """Inverse of :func:`stac_collection_id`: ``(collection, product_type or None)``."""
    mapping = {
        "sentinel-1-grd": ("SENTINEL-1", None),
        "sentinel-2-l2a": ("SENTINEL-2", "S2MSI2A"),
        "sentinel-2-l1c": ("SENTINEL-2", "S2MSI1C"),
    }
    return mapping.get(stac_id, (stac_id.upper(), None))


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if dt else None


def stac_item(
    record: ProductRecord,
    *,
    href: str | None = None,
    simulated: bool = False,
    size: int | None = None,
) -> dict[str, Any]:
    """A STAC Item (1.0.0) describing ``record``; ``href`` is the product download URL."""
    from shapely.geometry import shape

    bbox = list(shape(record.footprint).bounds) if record.footprint else None
    props: dict[str, Any] = {
        "datetime": _iso(record.start),
        "start_datetime": _iso(record.start),
        "end_datetime": _iso(record.end or record.start),
        "rus:simulated": simulated,
        "rus:odata_id": record.id,
    }
    for prop, attr in PROPERTY_TO_ATTRIBUTE.items():
        if attr in record.attributes and record.attributes[attr] is not None:
            props[prop] = record.attributes[attr]
    if simulated:
        props["description"] = "SIMULATED product (not real satellite data)"
    asset: dict[str, Any] = {
        "href": href or record.file_name,
        "type": "application/zip",
        "roles": ["data"],
        "title": record.name,
    }
    if size is not None:
        asset["file:size"] = size
    if record.checksums:
        asset["rus:checksums"] = {k.lower(): v for k, v in record.checksums.items()}
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": record.name,
        "collection": stac_collection_id(record.collection, record.product_type),
        "geometry": record.footprint,
        "bbox": bbox,
        "properties": props,
        "assets": {"product": asset},
        "links": [],
    }


def record_from_item(item: dict[str, Any]) -> ProductRecord:
    """A :class:`ProductRecord` from a STAC Item (CDSE's or a rus hub's)."""
    from rus.hub.records import _parse_dt

    props = item.get("properties", {})
    coll, ptype = odata_collection(str(item.get("collection", "")))
    attrs: dict[str, Any] = {}
    for prop, attr in PROPERTY_TO_ATTRIBUTE.items():
        if prop in props:
            attrs[attr] = props[prop]
    if ptype and "productType" not in attrs:
        attrs["productType"] = ptype
    assets = item.get("assets", {})
    asset: dict[str, Any] = assets.get("product") or next(iter(assets.values()), {})
    checks = {
        k.upper(): str(v)
        for k, v in (asset.get("rus:checksums") or {}).items()
        if isinstance(v, str)
    }
    return ProductRecord(
        id=str(props.get("rus:odata_id") or item["id"]),
        name=str(item["id"]),
        collection=coll,
        content_length=int(asset.get("file:size") or 0),
        checksums=checks,
        start=_parse_dt(props.get("start_datetime") or props.get("datetime")),
        end=_parse_dt(props.get("end_datetime") or props.get("datetime")),
        footprint=item.get("geometry"),
        attributes=attrs,
    )
