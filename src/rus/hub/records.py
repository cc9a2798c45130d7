"""The product record shared by the catalogue clients, the downloader, the store and the server.

It mirrors one CDSE OData ``Product`` entity (``Id``, ``Name``, ``ContentLength``, ``Online``,
``Checksum``, ``ContentDate``, ``GeoFootprint``, ``Attributes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from rus.hub.errors import UnsafeNameError

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}")
_PRODUCT_SUFFIXES = (".SAFE", ".SEN3", ".SEN2")


def check_name(name: str, what: str = "product name") -> str:
    """Return ``name`` if it is one plain file name; refuse traversal (``..``, ``/``, NUL).

    Raises
    ------
    UnsafeNameError
        When ``name`` holds a separator, starts with a dot, or contains other characters than
        letters, digits, ``_``, ``.`` and ``-``.
    """
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise UnsafeNameError(f"refused {what} {str(name)[:80]!r}: not a plain file name")
    return name


def file_name(product_name: str) -> str:
    """The local file name of a downloaded product: ``X.SAFE`` -> ``X.zip``; extensions kept."""
    check_name(product_name)
    for suffix in _PRODUCT_SUFFIXES:
        if product_name.endswith(suffix):
            return product_name[: -len(suffix)] + ".zip"
    if PurePosixPath(product_name).suffix.lower() in {".zip", ".tif", ".tiff", ".nc", ".json"}:
        return product_name
    return product_name + ".zip"


def _parse_dt(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@dataclass
class ProductRecord:
    """One catalogue product (CDSE OData entity), independent of where it comes from."""

    id: str
    name: str
    collection: str = ""
    content_length: int = 0
    online: bool = True
    checksums: dict[str, str] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    footprint: dict[str, Any] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    publication_date: datetime | None = None
    s3_path: str | None = None
    href: str | None = None

    @property
    def product_type(self) -> str | None:
        value = self.attributes.get("productType")
        return str(value) if value is not None else None

    @property
    def file_name(self) -> str:
        """Local file name of the product (see :func:`file_name`)."""
        return file_name(self.name)

    @classmethod
    def from_odata(cls, doc: dict[str, Any]) -> ProductRecord:
        """Parse one OData ``Product`` (with or without ``$expand=Attributes``)."""
        checks = {
            str(c.get("Algorithm", "")).upper(): str(c.get("Value", ""))
            for c in doc.get("Checksum") or []
            if c.get("Value")
        }
        attrs = {a["Name"]: a.get("Value") for a in doc.get("Attributes") or [] if "Name" in a}
        dates = doc.get("ContentDate") or {}
        collection = doc.get("Collection") or doc.get("CollectionName") or ""
        if isinstance(collection, dict):
            collection = collection.get("Name", "")
        footprint = doc.get("GeoFootprint")
        if footprint is None and doc.get("Footprint"):
            footprint = _footprint_from_odata_wkt(str(doc["Footprint"]))
        return cls(
            id=str(doc["Id"]),
            name=str(doc["Name"]),
            collection=str(collection),
            content_length=int(doc.get("ContentLength") or 0),
            online=bool(doc.get("Online", True)),
            checksums=checks,
            start=_parse_dt(dates.get("Start")),
            end=_parse_dt(dates.get("End")),
            footprint=footprint,
            attributes=attrs,
            publication_date=_parse_dt(doc.get("PublicationDate")),
            s3_path=doc.get("S3Path"),
        )

    def to_odata(self, *, expand: bool = True) -> dict[str, Any]:
        """The OData ``Product`` entity of this record (CDSE field names)."""
        from rus.hub.query import odata_wkt

        doc: dict[str, Any] = {
            "@odata.mediaContentType": "application/octet-stream",
            "Id": self.id,
            "Name": self.name,
            "ContentType": "application/octet-stream",
            "ContentLength": self.content_length,
            "OriginDate": _iso(self.publication_date),
            "PublicationDate": _iso(self.publication_date),
            "ModificationDate": _iso(self.publication_date),
            "Online": self.online,
            "EvictionDate": "",
            "S3Path": self.s3_path or "",
            "Checksum": [
                {"Value": v, "Algorithm": k, "ChecksumDate": _iso(self.publication_date)}
                for k, v in sorted(self.checksums.items())
            ],
            "ContentDate": {"Start": _iso(self.start), "End": _iso(self.end)},
            "Footprint": None,
            "GeoFootprint": self.footprint,
            "Collection": {"Name": self.collection},
        }
        if self.footprint is not None:
            from shapely.geometry import shape

            doc["Footprint"] = f"geography'SRID=4326;{odata_wkt(shape(self.footprint))}'"
        if expand:
            doc["Attributes"] = [_attribute(k, v) for k, v in sorted(self.attributes.items())]
        return doc

    def to_feature(self) -> dict[str, Any]:
        """A GeoJSON Feature for ``--geojson`` output."""
        return {
            "type": "Feature",
            "id": self.id,
            "geometry": self.footprint,
            "properties": {
                "name": self.name,
                "collection": self.collection,
                "start": _iso(self.start),
                "end": _iso(self.end),
                "size": self.content_length,
                "online": self.online,
                **{k: v for k, v in self.attributes.items() if isinstance(v, str | int | float)},
            },
        }


def _attribute(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, (bool, str)) or value is None:
        kind = "StringAttribute"
    elif isinstance(value, int):
        kind = "IntegerAttribute"
    elif isinstance(value, float):
        kind = "DoubleAttribute"
    else:
        kind, value = "StringAttribute", str(value)
    return {"@odata.type": f"#OData.CSC.{kind}", "Name": name, "Value": value, "ValueType": kind}


def _footprint_from_odata_wkt(text: str) -> dict[str, Any] | None:
    from shapely import wkt
    from shapely.errors import ShapelyError
    from shapely.geometry import mapping

    body = re.sub(r"^geography'SRID=\d+;", "", text).rstrip("'")
    try:
        return dict(mapping(wkt.loads(body)))
    except ShapelyError:
        return None
