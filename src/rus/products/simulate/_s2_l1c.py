# ruff: noqa: E501  (XML templates keep the real documents' one-line elements)
"""What differs in a simulated Sentinel-2 L1C (``MSIL1C``) SAFE: layout, names, MTD_MSIL1C.xml.

An L1C holds the 13 bands once each, at native resolution, directly in
``GRANULE/L1C_T29TNE_A010349_.../IMG_DATA/T29TNE_20170614T112111_B01.jp2`` (no R10m/R20m/R60m
folders, no SCL/AOT/WVP; TCI and the QI_DATA masks are not written). Pixel values are
top-of-atmosphere reflectance x 10000 (+ 1000 from processing baseline 04.00, with
``RADIO_ADD_OFFSET`` -1000 per band id in the MTD). The structure of ``MTD_MSIL1C.xml`` follows
the real products (PSD 14.x: Product_Info, Product_Image_Characteristics with
``QUANTIFICATION_VALUE``, ``Radiometric_Offset_List``, ``Reflectance_Conversion`` and
``Spectral_Information_List``); like every simulated document it is labelled SIMULATED.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from rus.products.sentinel2._metadata import BAND_IDS, NATIVE_RESOLUTION
from rus.products.simulate._s2_xml import (
    _NOTE,
    ProductInfo,
    geometric_info,
    product_info_head,
)

#: Bands per native resolution (what a real L1C holds; TCI omitted).
LAYOUT_L1C: dict[int, tuple[str, ...]] = {
    10: ("B02", "B03", "B04", "B08"),
    20: ("B05", "B06", "B07", "B8A", "B11", "B12"),
    60: ("B01", "B09", "B10"),
}
#: Sentinel-2A solar irradiance per band (W/m2/um, as in the real S2A MTD_MSIL1C.xml).
SOLAR_IRRADIANCE = (
    1884.69, 1959.72, 1823.24, 1512.06, 1424.64, 1287.61, 1162.08, 1041.63, 955.32, 812.92,
    367.15, 245.59, 85.25,
)  # fmt: skip
#: Sentinel-2A spectral bands: (min, max, central) wavelength in nm.
WAVELENGTHS = (
    (430, 457, 442.7), (440, 538, 492.4), (537, 582, 559.8), (646, 684, 664.6),
    (694, 713, 704.1), (731, 749, 740.5), (769, 797, 782.8), (760, 908, 832.8),
    (848, 881, 864.7), (932, 958, 945.1), (1337, 1412, 1373.5), (1539, 1682, 1613.7),
    (2078, 2320, 2202.4),
)  # fmt: skip


def l1c_member(tile_id: str, granule: str, start_stamp: str, band: str) -> str:
    """Member path (without ``.jp2``) of ``band`` in an L1C SAFE."""
    return f"GRANULE/{granule}/IMG_DATA/T{tile_id}_{start_stamp}_{band}"


def sun_distance_factor(doy: int) -> float:
    """``U``, the Earth-Sun distance correction ``1 / (1 - 0.01672 cos(0.0172 (doy - 4)))^2``
    written by the ground segment in Reflectance_Conversion."""
    return 1.0 / (1.0 - 0.01672 * math.cos(0.0172 * (doy - 4))) ** 2


def product_mtd_l1c(p: ProductInfo) -> str:
    """MTD_MSIL1C.xml text."""
    images = "\n".join(f"            <IMAGE_FILE>{escape(f)}</IMAGE_FILE>" for f in p.image_files)
    offsets = ""
    if float(p.baseline) >= 4.0:
        rows = "\n".join(
            f'        <RADIO_ADD_OFFSET band_id="{i}">-1000</RADIO_ADD_OFFSET>' for i in BAND_IDS
        )
        offsets = f"\n      <Radiometric_Offset_List>\n{rows}\n      </Radiometric_Offset_List>"
    irradiance = "\n".join(
        f'          <SOLAR_IRRADIANCE bandId="{i}" unit="W/m²/µm">{e:.2f}</SOLAR_IRRADIANCE>'
        for i, e in enumerate(SOLAR_IRRADIANCE)
    )
    spectral = "\n".join(
        f'        <Spectral_Information bandId="{i}" physicalBand="{b.replace("B0", "B")}">'
        f"<RESOLUTION>{NATIVE_RESOLUTION[b]}</RESOLUTION><Wavelength>"
        f'<MIN unit="nm">{lo}</MIN><MAX unit="nm">{hi}</MAX><CENTRAL unit="nm">{c}</CENTRAL>'
        "</Wavelength></Spectral_Information>"
        for (i, b), (lo, hi, c) in zip(BAND_IDS.items(), WAVELENGTHS, strict=True)
    )
    datastrip = f"{p.name[:3]}_OPER_MSI_L1C_DS_RUS_{p.generation:%Y%m%dT%H%M%S}_S{p.start:%Y%m%dT%H%M%S}_N{p.baseline}"
    u = sun_distance_factor(p.start.timetuple().tm_yday)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- {_NOTE} -->
<n1:Level-1C_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-1C.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <n1:General_Info>
    <Product_Info>
{product_info_head(p, "1C")}      <Query_Options completeSingleTile="true">
        <PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT>
      </Query_Options>
      <Product_Organisation>
        <Granule_List>
          <Granule datastripIdentifier="{datastrip}" granuleIdentifier="{p.granule}" imageFormat="JPEG2000">
{images}
          </Granule>
        </Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>
      <Image_Display_Order><RED_CHANNEL>3</RED_CHANNEL><GREEN_CHANNEL>2</GREEN_CHANNEL><BLUE_CHANNEL>1</BLUE_CHANNEL></Image_Display_Order>
      <QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>{offsets}
      <Reflectance_Conversion>
        <U>{u:.15f}</U>
        <Solar_Irradiance_List>
{irradiance}
        </Solar_Irradiance_List>
      </Reflectance_Conversion>
      <Spectral_Information_List>
{spectral}
      </Spectral_Information_List>
      <REFERENCE_BAND>1</REFERENCE_BAND>
    </Product_Image_Characteristics>
  </n1:General_Info>
{geometric_info(p)}    <Technical_Quality_Assessment>
      <DEGRADED_ANC_DATA_PERCENTAGE>0.0</DEGRADED_ANC_DATA_PERCENTAGE>
      <DEGRADED_MSI_DATA_PERCENTAGE>0</DEGRADED_MSI_DATA_PERCENTAGE>
    </Technical_Quality_Assessment>
  </n1:Quality_Indicators_Info>
</n1:Level-1C_User_Product>
"""
