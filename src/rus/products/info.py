"""Detect what a path holds and describe it (``rus info``)."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any, Protocol, cast

from rus.products.errors import UnknownProductError


class Product(Protocol):
    """What every opened product offers to ``rus info`` and the product store."""

    def describe(self) -> dict[str, Any]:
        """JSON-ready description: ``mission``, ``product_type``, ``simulated``, ``start_time``,
        ``stop_time``, ``footprint`` (GeoJSON geometry), ``shapes``, ``polarisations`` or
        ``bands``, ``chunks``."""
        ...


def detect_kind(path: str | os.PathLike[str]) -> str:
    """One of ``s1-grd``, ``s2``, ``stac-item``, ``geotiff``, ``landsat``; raises
    UnknownProductError."""
    p = Path(path)
    name = p.name.upper()
    if str(path).startswith(("http://", "https://")):
        return "stac-item"
    if not p.exists():
        raise UnknownProductError(f"{p}: no such file or directory")
    is_safe = p.is_dir() or p.suffix.lower() in {".zip", ".safe"}
    if is_safe and name.startswith("S1") and "_GRD" in name:
        return "s1-grd"
    if is_safe and name.startswith("S2") and ("_MSIL2A" in name or "_MSIL1C" in name):
        return "s2"
    if p.suffix.lower() == ".zip" and zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as zf:
            first = next(iter(zf.namelist()), "").upper()
        if first.startswith("S1") and "_GRD" in first:
            return "s1-grd"
        if first.startswith("S2"):
            return "s2"
    if p.suffix.lower() == ".json":
        try:
            doc = json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            raise UnknownProductError(f"{p}: not a readable JSON STAC Item ({exc})") from exc
        if isinstance(doc, dict) and doc.get("type") == "Feature" and "assets" in doc:
            return "stac-item"
    if p.suffix.lower() in {".tif", ".tiff"}:
        return "geotiff"
    if p.name.upper().endswith("_MTL.TXT"):
        return "landsat"
    raise UnknownProductError(
        f"{p}: not a product rus understands (Sentinel-1 GRD SAFE/zip, Sentinel-2 SAFE/zip, "
        "STAC Item JSON, Landsat *_MTL.txt or GeoTIFF)"
    )


def open_product(path: str | os.PathLike[str]) -> Product:
    """Open any supported product lazily (no pixel is read)."""
    kind = detect_kind(path)
    if kind == "s1-grd":
        from rus.products.sentinel1 import open_s1_grd

        return cast(Product, open_s1_grd(path))
    if kind == "s2":
        from rus.products.sentinel2 import open_s2

        return cast(Product, open_s2(path))
    if kind == "stac-item":
        from rus.products.stac import open_stac_item

        return cast(Product, open_stac_item(str(path)))
    if kind == "landsat":
        from rus.products.landsat import open_landsat

        return cast(Product, open_landsat(path))
    from rus.products.geotiff import open_geotiff

    return cast(Product, open_geotiff(path))


def describe_product(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The description printed by ``rus info`` (lazy: reads metadata only)."""
    info = open_product(path).describe()
    info.setdefault("path", str(path))
    return info
