"""Sentinel-1 GRD metadata: manifest and product annotation.

The manifest is read by :func:`xarray_sentinel.esa_safe.parse_manifest_sentinel1`. Calibration
and noise vectors are decoded by :func:`xarray_sentinel.esa_safe.parse_tag_as_list` with the XSD
schemas xarray-sentinel ships (:func:`decode_list`). The handful of product-annotation values
``rus info`` needs (header, image size, pixel spacing, geolocation grid) are read with plain
ElementTree instead (:func:`read_annotation`): building and applying the XSD schema costs about
2 s per product, which would break the "``rus info`` in under 2 s" budget on a loaded machine.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from xml.etree import ElementTree

from shapely.geometry import Polygon

from rus.products._safe import SafeSource
from rus.products.errors import ProductError

_NS = {
    "safe": "http://www.esa.int/safe/sentinel-1.0",
    "s1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1",
    "s1sarl1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1",
}

#: Text that marks a product written by ``rus simulate s1`` (manifest facility / software).
SIMULATED_MARK = "SIMULATED by rus"

_ANNOTATION_RE = re.compile(r"^annotation/s1[abcd]-(iw|ew)-grd-(hh|hv|vv|vh)-.*\.xml$")


@dataclass(frozen=True)
class S1Metadata:
    """Product-level metadata of a Sentinel-1 GRD product.

    Attributes
    ----------
    mission : str
        ``"S1A"``, ``"S1B"``, ``"S1C"`` or ``"S1D"``.
    mode : str
        Acquisition mode, ``"IW"`` or ``"EW"``.
    product_type : str
        Always ``"GRD"`` here.
    resolution_class : str
        ``"H"`` (GRDH, high) or ``"M"`` (GRDM, medium).
    polarisations : tuple of str
        Polarisations present in the product, e.g. ``("VV", "VH")``.
    start_time, stop_time : datetime
        First and last zero-Doppler line times, timezone-aware UTC.
    pass_direction : str
        ``"ASCENDING"`` or ``"DESCENDING"``.
    range_pixel_spacing, azimuth_pixel_spacing : float
        Ground pixel spacing in metres.
    shape : tuple of int
        ``(lines, pixels)``: lines run along track (azimuth), pixels across (range).
    ipf_version : str
        Version of the processor that made the product (e.g. ``"003.40"``).
    absolute_orbit, relative_orbit : int
        Orbit numbers.
    footprint : shapely.geometry.Polygon
        Outline of the geolocation grid in lon/lat (degrees, counter-clockwise).
    simulated : bool
        True when the product's own manifest says it was written by ``rus simulate``.
    """

    mission: str
    mode: str
    product_type: str
    resolution_class: str
    polarisations: tuple[str, ...]
    start_time: datetime
    stop_time: datetime
    pass_direction: str
    range_pixel_spacing: float
    azimuth_pixel_spacing: float
    shape: tuple[int, int]
    ipf_version: str
    absolute_orbit: int
    relative_orbit: int
    footprint: Polygon
    simulated: bool


@dataclass(frozen=True)
class PolFiles:
    """Member paths (relative to the SAFE root) of one polarisation's files."""

    annotation: str
    calibration: str | None
    noise: str | None
    measurement: str | None


def parse_time(text: str) -> datetime:
    """Parse an annotation time (ISO 8601 without zone, UTC by convention) to aware UTC."""
    value = datetime.fromisoformat(text.strip().rstrip("Z"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def xml_file(source: SafeSource, member: str) -> io.BytesIO:
    """An in-memory file of an XML member, for ElementTree / xmlschema (dir or zip alike)."""
    return io.BytesIO(source.read_bytes(member))


def decode_list(
    source: SafeSource, member: str, query: str, schema: str = "annotation"
) -> list[dict[str, Any]]:
    """Decode a repeated tag of an XML member with xarray-sentinel's schema-aware parser."""
    from xarray_sentinel import esa_safe

    try:
        return esa_safe.parse_tag_as_list(cast(Any, xml_file(source, member)), query, schema)
    except ProductError:
        raise
    except Exception as exc:
        raise ProductError(f"{source.path}: cannot read {query} from {member!r} ({exc})") from exc


@dataclass(frozen=True)
class Annotation:
    """The product-annotation values the reader uses."""

    mission: str
    lines: int
    pixels: int
    range_pixel_spacing: float
    azimuth_pixel_spacing: float
    gcps: list[dict[str, float]]


def read_annotation(source: SafeSource, member: str) -> Annotation:
    """Header, image information and geolocation grid of a product annotation XML."""
    where = f"{source.path}: {member}"
    try:
        root = ElementTree.fromstring(source.read_bytes(member))
    except ElementTree.ParseError as exc:
        raise ProductError(f"{where}: not valid XML ({exc})") from exc

    def text(path: str) -> str:
        value = root.findtext(path)
        if value is None or not value.strip():
            raise ProductError(f"{where}: missing {path} (not a Sentinel-1 product annotation)")
        return value.strip()

    keys = ("line", "pixel", "longitude", "latitude", "incidenceAngle", "height")
    gcps = []
    for point in root.iterfind("geolocationGrid/geolocationGridPointList/geolocationGridPoint"):
        try:
            gcps.append({k: float(point.findtext(k, "nan")) for k in keys})
        except ValueError as exc:
            raise ProductError(f"{where}: unreadable geolocation grid point ({exc})") from exc
    try:
        return Annotation(
            mission=text("adsHeader/missionId"),
            lines=int(text("imageAnnotation/imageInformation/numberOfLines")),
            pixels=int(text("imageAnnotation/imageInformation/numberOfSamples")),
            range_pixel_spacing=float(text("imageAnnotation/imageInformation/rangePixelSpacing")),
            azimuth_pixel_spacing=float(
                text("imageAnnotation/imageInformation/azimuthPixelSpacing")
            ),
            gcps=gcps,
        )
    except ValueError as exc:
        raise ProductError(f"{where}: unreadable image information ({exc})") from exc


def find_pol_files(source: SafeSource) -> dict[str, PolFiles]:
    """Files of every polarisation that has a product annotation in the SAFE."""
    out: dict[str, PolFiles] = {}
    for member in source.members("annotation/*.xml"):
        match = _ANNOTATION_RE.match(member)
        if match is None:
            continue
        pol = match.group(2).upper()
        stem = member.removeprefix("annotation/").removesuffix(".xml")
        cal = f"annotation/calibration/calibration-{stem}.xml"
        noise = f"annotation/calibration/noise-{stem}.xml"
        meas = [m for m in source.members(f"measurement/{stem}.tif*")]
        out[pol] = PolFiles(
            annotation=member,
            calibration=cal if source.members(cal) else None,
            noise=noise if source.members(noise) else None,
            measurement=meas[0] if meas else None,
        )
    return out


def check_pol_files(source: SafeSource, files: dict[str, PolFiles]) -> None:
    """Raise :class:`ProductError` naming the first missing file of any polarisation."""
    if not files:
        raise ProductError(f"{source.path}: no Sentinel-1 GRD product annotation in annotation/")
    for pol, f in sorted(files.items()):
        stem = f.annotation.removeprefix("annotation/").removesuffix(".xml")
        expected = {
            "calibration": (f.calibration, f"annotation/calibration/calibration-{stem}.xml"),
            "noise": (f.noise, f"annotation/calibration/noise-{stem}.xml"),
            "measurement": (f.measurement, f"measurement/{stem}.tiff"),
        }
        for kind, (found, wanted) in expected.items():
            if found is None:
                raise ProductError(
                    f"{source.path}: missing {kind} file {wanted!r} for polarisation {pol} "
                    "(incomplete product)"
                )


def _facility_info(root: ElementTree.Element) -> tuple[str, bool]:
    """IPF version and the simulated flag from the manifest's processing facilities."""
    ipf = ""
    simulated = False
    for facility in root.iter(f"{{{_NS['safe']}}}facility"):
        names = [facility.get("name", ""), facility.get("organisation", "")]
        for software in facility.findall("safe:software", _NS):
            names.append(software.get("name", ""))
            if not ipf and "IPF" in software.get("name", ""):
                ipf = software.get("version", "")
        if any(SIMULATED_MARK in n for n in names):
            simulated = True
    return ipf, simulated


def parse_manifest(source: SafeSource) -> dict[str, Any]:
    """Product attributes of ``manifest.safe``.

    Same fields and checks as :func:`xarray_sentinel.esa_safe.parse_manifest_sentinel1` (whose
    key names are kept), read with ElementTree directly: importing xarray-sentinel pulls in
    xarray and pandas (~1 s), too slow for ``rus info``. Adds ``ipf_version`` and ``simulated``.
    """
    where = f"{source.path}: manifest.safe"
    try:
        root = ElementTree.fromstring(source.read_bytes("manifest.safe"))
    except ElementTree.ParseError as exc:
        raise ProductError(f"{where} is not valid XML ({exc})") from exc

    def one(path: str) -> str:
        value = root.findtext(path, namespaces=_NS)
        if value is None or not value.strip():
            tag = path.split(":")[-1]
            raise ProductError(f"{where}: missing {tag} (not a Sentinel-1 manifest)")
        return value.strip()

    def pair(path: str) -> int:
        values = [e.text or "" for e in root.iterfind(path, _NS)]
        if len(values) != 2 or values[0] != values[1] or not values[0].strip().isdigit():
            raise ProductError(f"{where}: unsupported {path.split(':')[-1]} {values}")
        return int(values[0])

    family = one(".//safe:platform/safe:familyName")
    if family != "SENTINEL-1":
        raise ProductError(f"{where}: platform {family!r} is not SENTINEL-1")
    orbit_pass = one(".//s1:pass")
    if orbit_pass not in {"ASCENDING", "DESCENDING"}:
        raise ProductError(f"{where}: pass {orbit_pass!r} is neither ASCENDING nor DESCENDING")
    ipf, simulated = _facility_info(root)
    return {
        "family_name": family,
        "number": one(".//safe:platform/safe:number"),
        "mode": one(".//s1sarl1:instrumentMode/s1sarl1:mode"),
        "orbit_number": pair(".//safe:orbitNumber"),
        "relative_orbit_number": pair(".//safe:relativeOrbitNumber"),
        "pass": orbit_pass,
        "transmitter_receiver_polarisations": [
            e.text or "" for e in root.iterfind(".//s1sarl1:transmitterReceiverPolarisation", _NS)
        ],
        "product_type": one(".//s1sarl1:productType"),
        "start_time": one(".//safe:startTime"),
        "stop_time": one(".//safe:stopTime"),
        "ipf_version": ipf,
        "simulated": simulated,
    }


def resolution_from_name(name: str) -> str:
    """``"H"``/``"M"``/``"F"`` from a product name like ``S1A_IW_GRDH_1SDV_...``."""
    match = re.match(r"^S1[ABCD]_(IW|EW|S\d)_GRD([HMF])_", name.upper())
    if match is None:
        raise ProductError(f"{name}: not a Sentinel-1 GRD product name (S1x_IW_GRDH_...)")
    return match.group(2)


def build_metadata(
    source: SafeSource, files: dict[str, PolFiles], ann: Annotation, footprint: Polygon
) -> S1Metadata:
    """Assemble :class:`S1Metadata` from the manifest and the first polarisation's annotation."""
    manifest = parse_manifest(source)
    if str(manifest.get("product_type")) != "GRD":
        raise ProductError(
            f"{source.path}: product type {manifest.get('product_type')!r} is not GRD"
        )
    order = {p: i for i, p in enumerate(manifest["transmitter_receiver_polarisations"])}
    pols = tuple(sorted(files, key=lambda p: order.get(p, 99)))
    return S1Metadata(
        mission=ann.mission,
        mode=str(manifest["mode"]),
        product_type="GRD",
        resolution_class=resolution_from_name(source.name),
        polarisations=pols,
        start_time=parse_time(str(manifest["start_time"])),
        stop_time=parse_time(str(manifest["stop_time"])),
        pass_direction=str(manifest["pass"]),
        range_pixel_spacing=ann.range_pixel_spacing,
        azimuth_pixel_spacing=ann.azimuth_pixel_spacing,
        shape=(ann.lines, ann.pixels),
        ipf_version=str(manifest["ipf_version"]),
        absolute_orbit=int(manifest["orbit_number"]),
        relative_orbit=int(manifest["relative_orbit_number"]),
        footprint=footprint,
        simulated=bool(manifest["simulated"]),
    )
