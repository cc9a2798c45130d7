"""Parse Sentinel-2 SAFE metadata: product MTD (MTD_MSIL2A/MTD_MSIL1C), tile MTD_TL, manifest.

Parsing is namespace-agnostic (``{*}TAG``) because the PSD namespaces change between processing
baselines. Every function takes the XML bytes and the member name (for error messages).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rus.products.errors import ProductError

if TYPE_CHECKING:
    from shapely.geometry import Polygon

#: Spectral band id (``bandId``/``band_id`` in the MTD) -> band name.
BAND_IDS: dict[int, str] = {
    0: "B01",
    1: "B02",
    2: "B03",
    3: "B04",
    4: "B05",
    5: "B06",
    6: "B07",
    7: "B08",
    8: "B8A",
    9: "B09",
    10: "B10",
    11: "B11",
    12: "B12",
}
#: Native resolution (m) of each MSI band.
NATIVE_RESOLUTION: dict[str, int] = {
    "B01": 60,
    "B02": 10,
    "B03": 10,
    "B04": 10,
    "B05": 20,
    "B06": 20,
    "B07": 20,
    "B08": 10,
    "B8A": 20,
    "B09": 60,
    "B10": 60,
    "B11": 20,
    "B12": 20,
    "SCL": 20,
    "AOT": 10,
    "WVP": 10,
    "TCI": 10,
}


@dataclass(frozen=True)
class ProductMetadata:
    """What the product-level MTD (MTD_MSIL2A.xml / MTD_MSIL1C.xml) says."""

    level: str  # "L2A" or "L1C"
    product_type: str
    product_uri: str
    spacecraft: str
    start_time: datetime
    stop_time: datetime | None
    processing_baseline: str
    quantification: float
    add_offsets: dict[str, float]
    cloud_cover: float | None
    footprint: Polygon | None
    image_files: tuple[str, ...]
    simulated: bool
    orbit_number: int | None = None
    orbit_direction: str | None = None
    special_values: dict[str, int] = field(default_factory=dict)

    @property
    def baseline_number(self) -> float:
        """Processing baseline as a number (``"04.00"`` -> 4.0)."""
        try:
            return float(self.processing_baseline)
        except ValueError:
            return 0.0

    def offset(self, band: str) -> float:
        """Additive DN offset for ``band`` (0 before baseline 04.00)."""
        if self.baseline_number < 4.0:
            return 0.0
        return self.add_offsets.get(band, 0.0)


@dataclass(frozen=True)
class TileGeocoding:
    """What the granule MTD_TL.xml says about the grid."""

    tile_id: str
    crs: str
    sizes: dict[int, tuple[int, int]]  # resolution -> (rows, cols)
    origins: dict[int, tuple[float, float, float, float]]  # resolution -> ULX, ULY, XDIM, YDIM
    sensing_time: datetime | None
    cloud_cover: float | None


@dataclass(frozen=True)
class ManifestInfo:
    """What manifest.safe says (present in every SAFE, even metadata-only test products)."""

    start_time: datetime | None
    spacecraft: str | None
    relative_orbit: int | None
    orbit_direction: str | None
    footprint: Polygon | None
    data_files: tuple[str, ...]
    level: str | None
    simulated: bool


def _parse(data: bytes, member: str, source: str) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise ProductError(f"{source}: {member} is not valid XML ({exc})") from exc


def _text(root: ET.Element, tag: str) -> str | None:
    el = root.find(f".//{{*}}{tag}")
    if el is None:
        el = root.find(f".//{tag}")
    return None if el is None or el.text is None else el.text.strip()


def _req(root: ET.Element, tag: str, member: str, source: str) -> str:
    val = _text(root, tag)
    if not val:
        raise ProductError(f"{source}: {member} has no {tag}")
    return val


def parse_time(value: str) -> datetime:
    """ISO time as written in SAFE metadata (``Z`` suffix, optional fraction) -> UTC datetime."""
    v = value.strip().replace("Z", "+00:00")
    t = datetime.fromisoformat(v)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _pos_list_polygon(text: str, *, lat_first: bool = True) -> Polygon | None:
    from shapely.geometry import Polygon

    vals = [float(v) for v in re.split(r"[\s,]+", text.strip()) if v]
    if len(vals) < 6:
        return None
    pairs = list(zip(vals[0::2], vals[1::2], strict=False))
    if lat_first:
        pairs = [(lon, lat) for lat, lon in pairs]
    return Polygon(pairs)


def _float(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def parse_product_mtd(data: bytes, member: str, source: str) -> ProductMetadata:
    """Parse MTD_MSIL2A.xml or MTD_MSIL1C.xml.

    Parameters
    ----------
    data : bytes
        XML content.
    member, source : str
        Member name and product path, for error messages.
    """
    root = _parse(data, member, source)
    level = "L2A" if "L2A" in member.upper() else "L1C"
    start = parse_time(_req(root, "PRODUCT_START_TIME", member, source))
    stop_txt = _text(root, "PRODUCT_STOP_TIME")
    baseline = _text(root, "PROCESSING_BASELINE") or "00.00"
    qtag = "BOA_QUANTIFICATION_VALUE" if level == "L2A" else "QUANTIFICATION_VALUE"
    quant = _float(_text(root, qtag)) or 10000.0
    otag = "BOA_ADD_OFFSET" if level == "L2A" else "RADIO_ADD_OFFSET"
    offsets: dict[str, float] = {}
    for el in root.iter():
        if el.tag.split("}")[-1] == otag and el.text:
            bid = int(el.get("band_id", el.get("bandId", "-1")))
            if bid in BAND_IDS:
                offsets[BAND_IDS[bid]] = float(el.text)
    cloud = _float(_text(root, "Cloud_Coverage_Assessment"))
    foot_txt = _text(root, "EXT_POS_LIST")
    footprint = _pos_list_polygon(foot_txt) if foot_txt else None
    images = tuple(
        el.text.strip()
        for el in root.iter()
        if el.tag.split("}")[-1] == "IMAGE_FILE" and el.text and el.text.strip()
    )
    specials = {}
    for el in root.iter():
        if el.tag.split("}")[-1] == "Special_Values":
            name, idx = _text(el, "SPECIAL_VALUE_TEXT"), _text(el, "SPECIAL_VALUE_INDEX")
            if name and idx is not None:
                specials[name] = int(idx)
    orbit = _text(root, "SENSING_ORBIT_NUMBER")
    return ProductMetadata(
        level=level,
        product_type=_text(root, "PRODUCT_TYPE") or f"S2MSI{level[1:]}",
        product_uri=_text(root, "PRODUCT_URI") or "",
        spacecraft=_text(root, "SPACECRAFT_NAME") or "Sentinel-2",
        start_time=start,
        stop_time=parse_time(stop_txt) if stop_txt else None,
        processing_baseline=baseline,
        quantification=quant,
        add_offsets=offsets,
        cloud_cover=cloud,
        footprint=footprint,
        image_files=images,
        simulated=(_text(root, "SIMULATED_PRODUCT") or "").lower() == "true",
        orbit_number=int(orbit) if orbit and orbit.isdigit() else None,
        orbit_direction=_text(root, "SENSING_ORBIT_DIRECTION"),
        special_values=specials,
    )


def parse_tile_mtd(data: bytes, member: str, source: str) -> TileGeocoding:
    """Parse a granule MTD_TL.xml: CRS, per-resolution sizes and upper-left corners."""
    root = _parse(data, member, source)
    crs = _req(root, "HORIZONTAL_CS_CODE", member, source)
    sizes: dict[int, tuple[int, int]] = {}
    origins: dict[int, tuple[float, float, float, float]] = {}
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag == "Size":
            res = int(el.get("resolution", "0"))
            sizes[res] = (
                int(_req(el, "NROWS", member, source)),
                int(_req(el, "NCOLS", member, source)),
            )
        elif tag == "Geoposition":
            res = int(el.get("resolution", "0"))
            origins[res] = (
                float(_req(el, "ULX", member, source)),
                float(_req(el, "ULY", member, source)),
                float(_req(el, "XDIM", member, source)),
                float(_req(el, "YDIM", member, source)),
            )
    if not sizes or not origins:
        raise ProductError(f"{source}: {member} has no Tile_Geocoding Size/Geoposition")
    tile_name = _text(root, "TILE_ID") or ""
    m = re.search(r"_T(\d{2}[A-Z]{3})_", tile_name)
    sensing = _text(root, "SENSING_TIME")
    return TileGeocoding(
        tile_id=m.group(1) if m else "",
        crs=crs,
        sizes=sizes,
        origins=origins,
        sensing_time=parse_time(sensing) if sensing else None,
        cloud_cover=_float(_text(root, "CLOUDY_PIXEL_PERCENTAGE")),
    )


def parse_manifest(data: bytes, member: str, source: str) -> ManifestInfo:
    """Parse a Sentinel-2 ``manifest.safe``: time, platform, orbit, footprint, file list."""
    root = _parse(data, member, source)
    start = _text(root, "startTime")
    number = _text(root, "number")
    rel = None
    direction = None
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag == "relativeOrbitNumber" and el.text:
            rel = int(el.text)
        if tag == "orbitNumber":
            direction = el.get("groundTrackDirection")
    coords = _text(root, "coordinates")
    files = tuple(
        (el.get("href") or "").removeprefix("./")
        for el in root.iter()
        if el.tag.split("}")[-1] == "fileLocation"
    )
    unit = next((el for el in root.iter() if el.get("unitType", "").startswith("Product_")), None)
    level = None
    if unit is not None:
        level = unit.get("unitType", "").removeprefix("Product_Level-") or None
    text_all = data.decode("utf-8", "replace")
    return ManifestInfo(
        start_time=parse_time(start) if start else None,
        spacecraft=f"Sentinel-{number}" if number else None,
        relative_orbit=rel,
        orbit_direction=direction,
        footprint=_pos_list_polygon(coords) if coords else None,
        data_files=files,
        level=level,
        simulated="SIMULATED" in text_all,
    )
