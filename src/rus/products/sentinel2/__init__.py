"""Sentinel-2 L2A/L1C SAFE reader (directory or ``.zip``): lazy bands, reflectance, SCL.

>>> from rus.products.sentinel2 import open_s2          # doctest: +SKIP
>>> p = open_s2("S2A_MSIL2A_20170614T112111_N0205_R037_T29TNE_20170614T143000.SAFE")
>>> p.to_dataset(["B8A", "B12", "SCL"], 20)             # lazy, chunked by JPEG2000 tiles
>>> load_s2_coarse(p, ["B8A", "B12"], 160)               # computed, JPEG2000 reduced levels
"""

from rus.products.sentinel2._coarse import load_s2_coarse
from rus.products.sentinel2._metadata import (
    BAND_IDS,
    NATIVE_RESOLUTION,
    ManifestInfo,
    ProductMetadata,
    TileGeocoding,
    parse_manifest,
    parse_product_mtd,
    parse_tile_mtd,
)
from rus.products.sentinel2._reader import S2Metadata, S2Product, open_s2

__all__ = [
    "BAND_IDS",
    "NATIVE_RESOLUTION",
    "ManifestInfo",
    "ProductMetadata",
    "S2Metadata",
    "S2Product",
    "TileGeocoding",
    "load_s2_coarse",
    "open_s2",
    "parse_manifest",
    "parse_product_mtd",
    "parse_tile_mtd",
]
