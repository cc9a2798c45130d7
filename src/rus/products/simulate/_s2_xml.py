# ruff: noqa: E501  (XML templates keep the real documents' one-line elements)
"""XML of a simulated Sentinel-2 L2A or L1C SAFE: MTD_MSIL2A.xml / MTD_MSIL1C.xml, MTD_TL.xml
and manifest.safe.

Structures follow the Sentinel-2 Products Specification Document (PSD 14.x) and the real
products (element names, band ids, per-resolution Geoposition). Every document carries a
``SIMULATED`` label: ``<SIMULATED_PRODUCT>true</SIMULATED_PRODUCT>`` in Product_Info and a
processing name and comment saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from rus.products.sentinel2._metadata import BAND_IDS

_NOTE = "SIMULATED product written by rus simulate s2-fire; not ESA data"


@dataclass(frozen=True)
class ProductInfo:
    """What the XML writers need to know about one simulated product."""

    name: str  # without .SAFE
    spacecraft: str  # "Sentinel-2A"
    start: datetime
    stop: datetime
    generation: datetime
    baseline: str  # "02.05"
    relative_orbit: int
    absolute_orbit: int
    tile_id: str  # "29TNE"
    granule: str  # "L2A_T29TNE_A010349_20170614T112440"
    epsg: int
    crs_name: str
    ulx: float
    uly: float
    sizes: dict[int, tuple[int, int]]
    footprint_latlon: list[tuple[float, float]]  # (lat, lon) ring, closed
    image_files: list[str]  # member paths without .jp2, relative to the SAFE root
    cloud_pct: float
    nodata_pct: float
    class_pct: dict[int, float]
    level: str = "L2A"  # or "L1C"


def _t(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def product_info_head(p: ProductInfo, level: str) -> str:
    """The start of ``Product_Info`` shared by MTD_MSIL2A.xml and MTD_MSIL1C.xml (times, URI,
    level, baseline, the SIMULATED flag, the datatake); ``level`` is ``"2A"`` or ``"1C"``."""
    datatake = f"G{p.name[:3]}_{p.start:%Y%m%dT%H%M%S}_{p.absolute_orbit:06d}_N{p.baseline}"
    return f"""      <PRODUCT_START_TIME>{_t(p.start)}</PRODUCT_START_TIME>
      <PRODUCT_STOP_TIME>{_t(p.stop)}</PRODUCT_STOP_TIME>
      <PRODUCT_URI>{p.name}.SAFE</PRODUCT_URI>
      <PROCESSING_LEVEL>Level-{level}</PROCESSING_LEVEL>
      <PRODUCT_TYPE>S2MSI{level}</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{p.baseline}</PROCESSING_BASELINE>
      <GENERATION_TIME>{_t(p.generation)}</GENERATION_TIME>
      <SIMULATED_PRODUCT>true</SIMULATED_PRODUCT>
      <SIMULATION_NOTE>{_NOTE}</SIMULATION_NOTE>
      <Datatake datatakeIdentifier="{datatake}">
        <SPACECRAFT_NAME>{p.spacecraft}</SPACECRAFT_NAME>
        <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>
        <DATATAKE_SENSING_START>{_t(p.start)}</DATATAKE_SENSING_START>
        <SENSING_ORBIT_NUMBER>{p.relative_orbit}</SENSING_ORBIT_NUMBER>
        <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>
      </Datatake>
"""


def geometric_info(p: ProductInfo) -> str:
    """``Geometric_Info`` (footprint) and the opening of ``Quality_Indicators_Info`` with the
    cloud cover: shared by MTD_MSIL2A.xml and MTD_MSIL1C.xml."""
    pos = " ".join(f"{lat:.9f} {lon:.9f}" for lat, lon in p.footprint_latlon)
    crs = (
        '<GEO_TABLES version="1">EPSG</GEO_TABLES>'
        "<HORIZONTAL_CS_TYPE>GEOGRAPHIC</HORIZONTAL_CS_TYPE>"
    )
    return f"""  <n1:Geometric_Info>
    <Product_Footprint><Product_Footprint><Global_Footprint>
      <EXT_POS_LIST>{pos}</EXT_POS_LIST>
    </Global_Footprint></Product_Footprint></Product_Footprint>
    <Coordinate_Reference_System>{crs}</Coordinate_Reference_System>
  </n1:Geometric_Info>
  <n1:Quality_Indicators_Info>
    <Cloud_Coverage_Assessment>{p.cloud_pct:.4f}</Cloud_Coverage_Assessment>
"""


def product_mtd(p: ProductInfo) -> str:
    """MTD_MSIL2A.xml text."""
    offset = float(p.baseline) >= 4.0
    images = "\n".join(f"            <IMAGE_FILE>{escape(f)}</IMAGE_FILE>" for f in p.image_files)
    offsets = ""
    if offset:
        rows = "\n".join(
            f'        <BOA_ADD_OFFSET band_id="{i}">-1000</BOA_ADD_OFFSET>' for i in BAND_IDS
        )
        offsets = f"      <BOA_ADD_OFFSET_VALUES_LIST>\n{rows}\n      </BOA_ADD_OFFSET_VALUES_LIST>"
    spectral = "\n".join(
        f'        <Spectral_Information bandId="{i}" physicalBand="{b.replace("B0", "B")}">'
        f"<RESOLUTION>{_native(b)}</RESOLUTION></Spectral_Information>"
        for i, b in BAND_IDS.items()
    )
    qi = "\n".join(
        f"      <{tag}>{p.class_pct.get(code, 0.0):.6f}</{tag}>"
        for code, tag in (
            (6, "WATER_PERCENTAGE"),
            (4, "VEGETATION_PERCENTAGE"),
            (5, "NOT_VEGETATED_PERCENTAGE"),
            (3, "CLOUD_SHADOW_PERCENTAGE"),
            (8, "MEDIUM_PROBA_CLOUDS_PERCENTAGE"),
            (9, "HIGH_PROBA_CLOUDS_PERCENTAGE"),
            (10, "THIN_CIRRUS_PERCENTAGE"),
        )
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- {_NOTE} -->
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <n1:General_Info>
    <Product_Info>
{product_info_head(p, "2A")}      <Product_Organisation>
        <Granule_List>
          <Granule granuleIdentifier="{p.granule}" imageFormat="JPEG2000">
{images}
          </Granule>
        </Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>
      <QUANTIFICATION_VALUES_LIST>
        <BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>
        <AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>
        <WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>
      </QUANTIFICATION_VALUES_LIST>
{offsets}
      <Spectral_Information_List>
{spectral}
      </Spectral_Information_List>
    </Product_Image_Characteristics>
  </n1:General_Info>
{geometric_info(p)}    <Image_Content_QI>
      <NODATA_PIXEL_PERCENTAGE>{p.nodata_pct:.6f}</NODATA_PIXEL_PERCENTAGE>
{qi}
    </Image_Content_QI>
  </n1:Quality_Indicators_Info>
</n1:Level-2A_User_Product>
"""


def _native(band: str) -> int:
    from rus.products.sentinel2._metadata import NATIVE_RESOLUTION

    return NATIVE_RESOLUTION[band]


def tile_mtd(p: ProductInfo) -> str:
    """GRANULE/<id>/MTD_TL.xml text (tile geocoding per resolution), for ``p.level``."""
    sizes = "\n".join(
        f'      <Size resolution="{r}"><NROWS>{n}</NROWS><NCOLS>{m}</NCOLS></Size>'
        for r, (n, m) in sorted(p.sizes.items())
    )
    geo = "\n".join(
        f'      <Geoposition resolution="{r}"><ULX>{p.ulx:.0f}</ULX><ULY>{p.uly:.0f}</ULY>'
        f"<XDIM>{r}</XDIM><YDIM>-{r}</YDIM></Geoposition>"
        for r in sorted(p.sizes)
    )
    lv = p.level  # "L2A" / "L1C"
    tile_name = (
        f"{p.name[:3]}_OPER_MSI_{lv}_TL_RUS_{p.generation:%Y%m%dT%H%M%S}_A{p.absolute_orbit:06d}_"
        f"T{p.tile_id}_N{p.baseline}"
    )
    root = f"Level-{lv[1:]}_Tile_ID"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- {_NOTE} -->
<n1:{root} xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-{lv[1:]}_Tile_Metadata.xsd">
  <n1:General_Info>
    <TILE_ID metadataLevel="Brief">{tile_name}</TILE_ID>
    <SENSING_TIME metadataLevel="Standard">{_t(p.start)}</SENSING_TIME>
    <Archiving_Info metadataLevel="Expertise"><ARCHIVING_CENTRE>RUS-SIMULATOR</ARCHIVING_CENTRE></Archiving_Info>
  </n1:General_Info>
  <n1:Geometric_Info>
    <Tile_Geocoding metadataLevel="Brief">
      <HORIZONTAL_CS_NAME>{p.crs_name}</HORIZONTAL_CS_NAME>
      <HORIZONTAL_CS_CODE>EPSG:{p.epsg}</HORIZONTAL_CS_CODE>
{sizes}
{geo}
    </Tile_Geocoding>
  </n1:Geometric_Info>
  <n1:Quality_Indicators_Info metadataLevel="Standard">
    <Image_Content_QI>
      <CLOUDY_PIXEL_PERCENTAGE>{p.cloud_pct:.4f}</CLOUDY_PIXEL_PERCENTAGE>
      <NODATA_PIXEL_PERCENTAGE>{p.nodata_pct:.6f}</NODATA_PIXEL_PERCENTAGE>
    </Image_Content_QI>
  </n1:Quality_Indicators_Info>
</n1:{root}>
"""


def _l1c_object(member: str) -> tuple[str, str]:
    """(data object ID, unit type) of an L1C member, as the real L1C manifests name them
    (``IMG_DATA_Band_20m_4_Tile1_Data`` is B8A: the 4th 20 m band in band-id order)."""
    from rus.products.sentinel2._metadata import NATIVE_RESOLUTION

    if member == "MTD_MSIL1C.xml":
        return "S2_Level-1C_Product_Metadata", "Metadata Unit"
    if member.endswith("/MTD_TL.xml"):
        return "S2_Level-1C_Tile1_Metadata", "Metadata Unit"
    band = member.rsplit("_", 1)[-1].removesuffix(".jp2")
    res = NATIVE_RESOLUTION[band]
    same = [b for b in BAND_IDS.values() if NATIVE_RESOLUTION[b] == res]
    return f"IMG_DATA_Band_{res}m_{same.index(band) + 1}_Tile1_Data", "Measurement Data Unit"


def manifest(p: ProductInfo, files: list[tuple[str, int, str]]) -> str:
    """manifest.safe text; ``files`` = (member, size, md5) of every data file."""
    units = []
    objects = []
    for i, (member, size, md5) in enumerate(files):
        oid, utype = f"DATA_{i:03d}", "Measurement Data Unit"
        if p.level == "L1C":
            oid, utype = _l1c_object(member)
        uid = f"{oid}_Unit" if p.level != "L1C" else oid.removesuffix("_Data") + "_Unit"
        units.append(
            f'      <xfdu:contentUnit ID="{uid}" unitType="{utype}">'
            f'<dataObjectPointer dataObjectID="{oid}"/></xfdu:contentUnit>'
        )
        objects.append(
            f'    <dataObject ID="{oid}"><byteStream mimeType="application/octet-stream" '
            f'size="{size}"><fileLocation href="./{escape(member)}" locatorType="URL"/>'
            f'<checksum checksumName="MD5">{md5}</checksum></byteStream></dataObject>'
        )
    coords = " ".join(f"{lat:.9f} {lon:.9f}" for lat, lon in p.footprint_latlon)
    unit_lines = "\n".join(units)
    object_lines = "\n".join(objects)
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!-- {_NOTE} -->
<xfdu:XFDU xmlns:gml="http://www.opengis.net/gml" xmlns:safe="http://www.esa.int/safe/sentinel/1.1" xmlns:xfdu="urn:ccsds:schema:xfdu:1" version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_{p.level.lower()}_user_product">
  <informationPackageMap>
    <xfdu:contentUnit dmdID="acquisitionPeriod platform" pdiID="processing" textInfo="SENTINEL-2 MSI Level-{p.level[1:]} User Product (SIMULATED)" unitType="Product_Level-{p.level[1:]}">
{unit_lines}
    </xfdu:contentUnit>
  </informationPackageMap>
  <metadataSection>
    <metadataObject ID="acquisitionPeriod" category="DMD" classification="DESCRIPTION"><metadataWrap mimeType="text/xml" textInfo="Acquisition Period" vocabularyName="Sentinel-SAFE"><xmlData>
      <safe:acquisitionPeriod><safe:startTime>{_t(p.start)}</safe:startTime></safe:acquisitionPeriod>
    </xmlData></metadataWrap></metadataObject>
    <metadataObject ID="measurementOrbitReference" category="DMD" classification="DESCRIPTION"><metadataWrap mimeType="text/xml" textInfo="Orbit Reference" vocabularyName="Sentinel-SAFE"><xmlData>
      <safe:orbitReference><safe:orbitNumber groundTrackDirection="descending" type="start">{p.absolute_orbit:06d}</safe:orbitNumber><safe:relativeOrbitNumber type="start">{p.relative_orbit:03d}</safe:relativeOrbitNumber></safe:orbitReference>
    </xmlData></metadataWrap></metadataObject>
    <metadataObject ID="platform" category="DMD" classification="DESCRIPTION"><metadataWrap mimeType="text/xml" textInfo="Platform Description" vocabularyName="Sentinel-SAFE"><xmlData>
      <safe:platform><safe:nssdcIdentifier>2015-028A</safe:nssdcIdentifier><safe:familyName>SENTINEL</safe:familyName><safe:number>{p.spacecraft[-2:]}</safe:number><safe:instrument><safe:familyName abbreviation="MSI">Multi-Spectral Instrument</safe:familyName></safe:instrument></safe:platform>
    </xmlData></metadataWrap></metadataObject>
    <metadataObject ID="processing" category="PDI" classification="PROVENANCE"><metadataWrap mimeType="text/xml" textInfo="Processing" vocabularyName="Sentinel-SAFE"><xmlData>
      <safe:processing name="SIMULATED by rus simulate s2-fire (not ESA data)" start="{_t(p.generation)}"/>
    </xmlData></metadataWrap></metadataObject>
    <metadataObject ID="measurementFrameSet" category="DMD" classification="DESCRIPTION"><metadataWrap mimeType="text/xml" textInfo="Frame Set" vocabularyName="Sentinel-SAFE"><xmlData>
      <safe:frameSet><safe:footPrint srsName="http://www.opengis.net/gml/srs/epsg.xml#4326"><gml:coordinates>{coords}</gml:coordinates></safe:footPrint></safe:frameSet>
    </xmlData></metadataWrap></metadataObject>
  </metadataSection>
  <dataObjectSection>
{object_lines}
  </dataObjectSection>
</xfdu:XFDU>
"""
