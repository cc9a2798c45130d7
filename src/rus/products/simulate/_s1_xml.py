"""XML documents of a simulated Sentinel-1 IW GRDH SAFE, laid out like the real product files.

Element names and order follow the Sentinel-1 product specification as seen in real products
(the annotation, calibration and noise files shipped in the sarsen and xarray-sentinel test
data), so that xarray-sentinel's schema-aware parsers read them. Every document carries a
comment and, in the manifest, a processing facility saying it was SIMULATED by rus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

import numpy as np
from numpy.typing import NDArray

from rus.products.sentinel1.annotation import SIMULATED_MARK

COMMENT = (
    f"<!-- {SIMULATED_MARK}: synthetic Sentinel-1 product written by `rus simulate s1`. "
    "Not ESA data. -->"
)


def iso(t: datetime) -> str:
    """Annotation time format: ISO 8601 with microseconds, no zone (UTC)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")


def fmt_values(values: NDArray[np.floating] | Sequence[float]) -> str:
    """Space-separated LUT values in the products' ``%e`` style (7 significant digits)."""
    return " ".join(f"{v:.6e}" for v in np.asarray(values, dtype=np.float64))


def fmt_ints(values: NDArray[np.integer] | Sequence[int]) -> str:
    return " ".join(str(int(v)) for v in values)


@dataclass(frozen=True)
class Header:
    """Fields of ``adsHeader`` shared by the annotation, calibration and noise files."""

    mission: str
    pol: str
    start: datetime
    stop: datetime
    absolute_orbit: int
    datatake: int
    image_number: str

    def xml(self, swath: str = "IW") -> str:
        return (
            "  <adsHeader>\n"
            f"    <missionId>{self.mission}</missionId>\n"
            "    <productType>GRD</productType>\n"
            f"    <polarisation>{self.pol}</polarisation>\n"
            "    <mode>IW</mode>\n"
            f"    <swath>{swath}</swath>\n"
            f"    <startTime>{iso(self.start)}</startTime>\n"
            f"    <stopTime>{iso(self.stop)}</stopTime>\n"
            f"    <absoluteOrbitNumber>{self.absolute_orbit}</absoluteOrbitNumber>\n"
            f"    <missionDataTakeId>{self.datatake}</missionDataTakeId>\n"
            f"    <imageNumber>{self.image_number}</imageNumber>\n"
            "  </adsHeader>\n"
        )


@dataclass(frozen=True)
class GridPoint:
    """One geolocation grid point."""

    time: datetime
    slant_range_time: float
    line: int
    pixel: int
    lat: float
    lon: float
    incidence: float
    elevation: float


def calibration_xml(
    header: Header,
    times: Sequence[datetime],
    lines: Sequence[int],
    pixels: NDArray[np.integer],
    luts: dict[str, list[str]],
) -> str:
    """``calibration-*.xml``; ``luts`` maps sigmaNought/betaNought/gamma/dn to text per vector."""
    n = len(pixels)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        COMMENT + "\n",
        "<calibration>\n",
        header.xml(),
        "  <calibrationInformation>\n"
        "    <absoluteCalibrationConstant>1.000000e+00</absoluteCalibrationConstant>\n"
        "  </calibrationInformation>\n",
        f'  <calibrationVectorList count="{len(lines)}">\n',
    ]
    pix = fmt_ints(pixels)
    for k, (t, line) in enumerate(zip(times, lines, strict=True)):
        parts.append(
            "    <calibrationVector>\n"
            f"      <azimuthTime>{iso(t)}</azimuthTime>\n"
            f"      <line>{int(line)}</line>\n"
            f'      <pixel count="{n}">{pix}</pixel>\n'
        )
        for tag in ("sigmaNought", "betaNought", "gamma", "dn"):
            parts.append(f'      <{tag} count="{n}">{luts[tag][k]}</{tag}>\n')
        parts.append("    </calibrationVector>\n")
    parts.append("  </calibrationVectorList>\n</calibration>\n")
    return "".join(parts)


@dataclass(frozen=True)
class AzimuthNoise:
    """An azimuth noise block of one sub-swath."""

    swath: str
    first_line: int
    last_line: int
    first_sample: int
    last_sample: int
    lines: NDArray[np.integer]
    lut: str


def noise_xml(
    header: Header,
    times: Sequence[datetime],
    lines: Sequence[int],
    pixels: NDArray[np.integer],
    range_luts: list[str],
    azimuth: Sequence[AzimuthNoise],
) -> str:
    """``noise-*.xml`` in the IPF >= 2.9 layout (range and azimuth noise vectors)."""
    n = len(pixels)
    pix = fmt_ints(pixels)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        COMMENT + "\n",
        "<noise>\n",
        header.xml(),
        f'  <noiseRangeVectorList count="{len(lines)}">\n',
    ]
    for t, line, lut in zip(times, lines, range_luts, strict=True):
        parts.append(
            "    <noiseRangeVector>\n"
            f"      <azimuthTime>{iso(t)}</azimuthTime>\n"
            f"      <line>{int(line)}</line>\n"
            f'      <pixel count="{n}">{pix}</pixel>\n'
            f'      <noiseRangeLut count="{n}">{lut}</noiseRangeLut>\n'
            "    </noiseRangeVector>\n"
        )
    parts.append("  </noiseRangeVectorList>\n")
    parts.append(f'  <noiseAzimuthVectorList count="{len(azimuth)}">\n')
    for blk in azimuth:
        m = len(blk.lines)
        parts.append(
            "    <noiseAzimuthVector>\n"
            f"      <swath>{blk.swath}</swath>\n"
            f"      <firstAzimuthLine>{blk.first_line}</firstAzimuthLine>\n"
            f"      <firstRangeSample>{blk.first_sample}</firstRangeSample>\n"
            f"      <lastAzimuthLine>{blk.last_line}</lastAzimuthLine>\n"
            f"      <lastRangeSample>{blk.last_sample}</lastRangeSample>\n"
            f'      <line count="{m}">{fmt_ints(blk.lines)}</line>\n'
            f'      <noiseAzimuthLut count="{m}">{blk.lut}</noiseAzimuthLut>\n'
            "    </noiseAzimuthVector>\n"
        )
    parts.append("  </noiseAzimuthVectorList>\n</noise>\n")
    return "".join(parts)


@dataclass(frozen=True)
class ImageInfo:
    """Values of ``imageAnnotation/imageInformation`` and ``productInformation``."""

    ascending_node: datetime
    slant_range_time: float
    lines: int
    pixels: int
    incidence_mid: float
    dn_mean: float
    dn_std: float
    pass_direction: str
    heading: float


def annotation_xml(header: Header, info: ImageInfo, grid: Sequence[GridPoint]) -> str:
    """Product annotation ``annotation/s1a-iw-grd-<pol>-...xml`` (the parts readers use)."""
    az_freq = 1.0 / 1.49656999624572e-03
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        COMMENT + "\n",
        "<product>\n",
        header.xml(),
        "  <generalAnnotation>\n"
        "    <productInformation>\n"
        f"      <pass>{info.pass_direction.capitalize()}</pass>\n"
        "      <timelinessCategory>Fast-24h</timelinessCategory>\n"
        f"      <platformHeading>{info.heading:.13e}</platformHeading>\n"
        "      <projection>Ground Range</projection>\n"
        "      <rangeSamplingRate>6.434523812571428e+07</rangeSamplingRate>\n"
        "      <radarFrequency>5.405000454334350e+09</radarFrequency>\n"
        "      <azimuthSteeringRate>1.590368784000000e+00</azimuthSteeringRate>\n"
        "    </productInformation>\n"
        "  </generalAnnotation>\n"
        "  <imageAnnotation>\n"
        "    <imageInformation>\n"
        f"      <productFirstLineUtcTime>{iso(header.start)}</productFirstLineUtcTime>\n"
        f"      <productLastLineUtcTime>{iso(header.stop)}</productLastLineUtcTime>\n"
        f"      <ascendingNodeTime>{iso(info.ascending_node)}</ascendingNodeTime>\n"
        f"      <anchorTime>{iso(header.start)}</anchorTime>\n"
        "      <productComposition>Individual</productComposition>\n"
        "      <sliceNumber>0</sliceNumber>\n"
        '      <sliceList count="0"/>\n'
        f"      <slantRangeTime>{info.slant_range_time:.15e}</slantRangeTime>\n"
        "      <pixelValue>Detected</pixelValue>\n"
        "      <outputPixels>16 bit Unsigned Integer</outputPixels>\n"
        "      <rangePixelSpacing>1.000000e+01</rangePixelSpacing>\n"
        "      <azimuthPixelSpacing>1.000000e+01</azimuthPixelSpacing>\n"
        "      <azimuthTimeInterval>1.496569996245720e-03</azimuthTimeInterval>\n"
        f"      <azimuthFrequency>{az_freq:.15e}</azimuthFrequency>\n"
        f"      <numberOfSamples>{info.pixels}</numberOfSamples>\n"
        f"      <numberOfLines>{info.lines}</numberOfLines>\n"
        "      <zeroDopMinusAcqTime>0.000000e+00</zeroDopMinusAcqTime>\n"
        f"      <incidenceAngleMidSwath>{info.incidence_mid:.15e}</incidenceAngleMidSwath>\n"
        "      <imageStatistics>\n"
        f"        <outputDataMean><re>{info.dn_mean:.6e}</re>"
        "<im>0.000000e+00</im></outputDataMean>\n"
        f"        <outputDataStdDev><re>{info.dn_std:.6e}</re>"
        "<im>0.000000e+00</im></outputDataStdDev>\n"
        "      </imageStatistics>\n"
        "    </imageInformation>\n"
        "  </imageAnnotation>\n"
        "  <geolocationGrid>\n"
        f'    <geolocationGridPointList count="{len(grid)}">\n',
    ]
    for g in grid:
        parts.append(
            "      <geolocationGridPoint>\n"
            f"        <azimuthTime>{iso(g.time)}</azimuthTime>\n"
            f"        <slantRangeTime>{g.slant_range_time:.15e}</slantRangeTime>\n"
            f"        <line>{g.line}</line>\n"
            f"        <pixel>{g.pixel}</pixel>\n"
            f"        <latitude>{g.lat:.15e}</latitude>\n"
            f"        <longitude>{g.lon:.15e}</longitude>\n"
            "        <height>0.000000000000000e+00</height>\n"
            f"        <incidenceAngle>{g.incidence:.15e}</incidenceAngle>\n"
            f"        <elevationAngle>{g.elevation:.15e}</elevationAngle>\n"
            "      </geolocationGridPoint>\n"
        )
    parts.append("    </geolocationGridPointList>\n  </geolocationGrid>\n</product>\n")
    return "".join(parts)


@dataclass(frozen=True)
class DataObject:
    """A file listed in the manifest's dataObjectSection."""

    object_id: str
    rep_id: str
    href: str
    mime: str
    size: int
    md5: str


@dataclass(frozen=True)
class ManifestInfo:
    """Product-level values of ``manifest.safe``."""

    mission_letter: str
    pols: tuple[str, ...]
    start: datetime
    stop: datetime
    absolute_orbit: int
    relative_orbit: int
    pass_direction: str
    ascending_node: datetime
    datatake: int
    footprint: Sequence[tuple[float, float]]  # lon, lat corners
    seed: int


def _unit_type(obj: DataObject) -> str:
    return "Measurement Data Unit" if obj.mime == "application/octet-stream" else "Metadata Unit"


def manifest_xml(info: ManifestInfo, objects: Sequence[DataObject]) -> str:
    """``manifest.safe`` with a SIMULATED processing facility and the data object list."""
    ns = (
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:gml="http://www.opengis.net/gml" xmlns:xfdu="urn:ccsds:schema:xfdu:1" '
        'xmlns:safe="http://www.esa.int/safe/sentinel-1.0" '
        'xmlns:s1="http://www.esa.int/safe/sentinel-1.0/sentinel-1" '
        'xmlns:s1sar="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar" '
        'xmlns:s1sarl1="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1" '
        'version="esa/safe/sentinel-1.0/sentinel-1/sar/level-1/grd/standard/iwdp"'
    )
    units = "".join(
        f'      <xfdu:contentUnit unitType="{_unit_type(o)}" repID="{o.rep_id}">\n'
        f'        <dataObjectPointer dataObjectID="{o.object_id}"/>\n'
        "      </xfdu:contentUnit>\n"
        for o in objects
    )
    coords = " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in info.footprint)
    pols = "".join(
        f"            <s1sarl1:transmitterReceiverPolarisation>{p}"
        "</s1sarl1:transmitterReceiverPolarisation>\n"
        for p in info.pols
    )
    data_objects = "".join(
        f'    <dataObject ID="{o.object_id}" repID="{o.rep_id}">\n'
        f'      <byteStream mimeType="{o.mime}" size="{o.size}">\n'
        f'        <fileLocation locatorType="URL" href="{escape(o.href)}"/>\n'
        f'        <checksum checksumName="MD5">{o.md5}</checksum>\n'
        "      </byteStream>\n"
        "    </dataObject>\n"
        for o in objects
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<xfdu:XFDU {ns}>\n"
        f"  {COMMENT}\n"
        "  <informationPackageMap>\n"
        '    <xfdu:contentUnit unitType="SAFE Archive Information Package" '
        'textInfo="Sentinel-1 IW Level-1 GRD Product (SIMULATED by rus)" '
        'dmdID="acquisitionPeriod platform generalProductInformation measurementOrbitReference '
        'measurementFrameSet" pdiID="processing">\n'
        f"{units}"
        "    </xfdu:contentUnit>\n"
        "  </informationPackageMap>\n"
        "  <metadataSection>\n"
        '    <metadataObject ID="processing" classification="PROVENANCE" category="PDI">\n'
        '      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Processing">\n'
        "        <xmlData>\n"
        f'          <safe:processing name="GRD Post Processing" start="{iso(info.stop)}" '
        f'stop="{iso(info.stop)}">\n'
        f'            <safe:facility country="--" name="{SIMULATED_MARK}" organisation="rus" '
        'site="rus simulate s1">\n'
        f'              <safe:software name="rus simulate s1 ({SIMULATED_MARK}, seed '
        f'{info.seed}), annotation layout of Sentinel-1 IPF" version="003.71"/>\n'
        "            </safe:facility>\n"
        "          </safe:processing>\n"
        "        </xmlData>\n"
        "      </metadataWrap>\n"
        "    </metadataObject>\n"
        '    <metadataObject ID="platform" classification="DESCRIPTION" category="DMD">\n'
        '      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" '
        'textInfo="Platform Description">\n'
        "        <xmlData>\n"
        "          <safe:platform>\n"
        "            <safe:nssdcIdentifier>2014-016A</safe:nssdcIdentifier>\n"
        "            <safe:familyName>SENTINEL-1</safe:familyName>\n"
        f"            <safe:number>{info.mission_letter}</safe:number>\n"
        "            <safe:instrument>\n"
        '              <safe:familyName abbreviation="SAR">Synthetic Aperture Radar'
        "</safe:familyName>\n"
        "              <safe:extension>\n"
        "                <s1sarl1:instrumentMode>\n"
        "                  <s1sarl1:mode>IW</s1sarl1:mode>\n"
        "                  <s1sarl1:swath>IW</s1sarl1:swath>\n"
        "                </s1sarl1:instrumentMode>\n"
        "              </safe:extension>\n"
        "            </safe:instrument>\n"
        "          </safe:platform>\n"
        "        </xmlData>\n"
        "      </metadataWrap>\n"
        "    </metadataObject>\n"
        '    <metadataObject ID="measurementOrbitReference" classification="DESCRIPTION" '
        'category="DMD">\n'
        '      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" '
        'textInfo="Orbit Reference">\n'
        "        <xmlData>\n"
        "          <safe:orbitReference>\n"
        f'            <safe:orbitNumber type="start">{info.absolute_orbit}</safe:orbitNumber>\n'
        f'            <safe:orbitNumber type="stop">{info.absolute_orbit}</safe:orbitNumber>\n'
        f'            <safe:relativeOrbitNumber type="start">{info.relative_orbit}'
        "</safe:relativeOrbitNumber>\n"
        f'            <safe:relativeOrbitNumber type="stop">{info.relative_orbit}'
        "</safe:relativeOrbitNumber>\n"
        "            <safe:extension>\n"
        "              <s1:orbitProperties>\n"
        f"                <s1:pass>{info.pass_direction}</s1:pass>\n"
        f"                <s1:ascendingNodeTime>{iso(info.ascending_node)}</s1:ascendingNodeTime>\n"
        "              </s1:orbitProperties>\n"
        "            </safe:extension>\n"
        "          </safe:orbitReference>\n"
        "        </xmlData>\n"
        "      </metadataWrap>\n"
        "    </metadataObject>\n"
        '    <metadataObject ID="generalProductInformation" classification="DESCRIPTION" '
        'category="DMD">\n'
        '      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" '
        'textInfo="General Product Information">\n'
        "        <xmlData>\n"
        "          <s1sarl1:standAloneProductInformation>\n"
        "            <s1sarl1:instrumentConfigurationID>7</s1sarl1:instrumentConfigurationID>\n"
        f"            <s1sarl1:missionDataTakeID>{info.datatake}</s1sarl1:missionDataTakeID>\n"
        f"{pols}"
        "            <s1sarl1:productClass>S</s1sarl1:productClass>\n"
        "            <s1sarl1:productClassDescription>SAR Standard L1 Product (SIMULATED by rus)"
        "</s1sarl1:productClassDescription>\n"
        "            <s1sarl1:productComposition>Individual</s1sarl1:productComposition>\n"
        "            <s1sarl1:productType>GRD</s1sarl1:productType>\n"
        "            <s1sarl1:productTimelinessCategory>Fast-24h"
        "</s1sarl1:productTimelinessCategory>\n"
        "            <s1sarl1:sliceProductFlag>false</s1sarl1:sliceProductFlag>\n"
        "          </s1sarl1:standAloneProductInformation>\n"
        "        </xmlData>\n"
        "      </metadataWrap>\n"
        "    </metadataObject>\n"
        '    <metadataObject ID="acquisitionPeriod" classification="DESCRIPTION" category="DMD">\n'
        '      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" '
        'textInfo="Acquisition Period">\n'
        "        <xmlData>\n"
        "          <safe:acquisitionPeriod>\n"
        f"            <safe:startTime>{iso(info.start)}</safe:startTime>\n"
        f"            <safe:stopTime>{iso(info.stop)}</safe:stopTime>\n"
        "          </safe:acquisitionPeriod>\n"
        "        </xmlData>\n"
        "      </metadataWrap>\n"
        "    </metadataObject>\n"
        '    <metadataObject ID="measurementFrameSet" classification="DESCRIPTION" '
        'category="DMD">\n'
        '      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Frame Set">\n'
        "        <xmlData>\n"
        "          <safe:frameSet>\n"
        "            <safe:frame>\n"
        '              <safe:footPrint srsName="http://www.opengis.net/gml/srs/epsg.xml#4326">\n'
        f"                <gml:coordinates>{coords}</gml:coordinates>\n"
        "              </safe:footPrint>\n"
        "            </safe:frame>\n"
        "          </safe:frameSet>\n"
        "        </xmlData>\n"
        "      </metadataWrap>\n"
        "    </metadataObject>\n"
        "  </metadataSection>\n"
        "  <dataObjectSection>\n"
        f"{data_objects}"
        "  </dataObjectSection>\n"
        "</xfdu:XFDU>\n"
    )
