"""Sentinel-2 metadata parsing: the REAL L1C manifest of the xarray-sentinel 0.9.6 sdist, and MTD
parsing (offsets per band, baseline rule) on hand-written documents."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from rus.products.errors import ProductError
from rus.products.sentinel2 import open_s2, parse_manifest, parse_product_mtd, parse_tile_mtd

L1C = "S2A_MSIL1C_20210403T101021_N0300_R022_T33TUM_20210403T110551.SAFE"


def test_real_l1c_manifest(xarray_sentinel_data: Path) -> None:
    safe = xarray_sentinel_data / L1C
    info = parse_manifest((safe / "manifest.safe").read_bytes(), "manifest.safe", str(safe))
    assert info.start_time == datetime(2021, 4, 3, 10, 10, 21, 24000, tzinfo=UTC)
    assert info.spacecraft == "Sentinel-2A"
    assert info.relative_orbit == 22
    assert info.orbit_direction == "descending"
    assert info.level == "1C"
    assert info.simulated is False
    assert info.footprint is not None
    minx, miny, maxx, maxy = info.footprint.bounds  # lon/lat, read lat-first from gml
    assert minx == pytest.approx(12.372989807609915)
    assert maxx == pytest.approx(13.83595551697594)
    assert miny == pytest.approx(45.93641922924405)
    assert maxy == pytest.approx(46.947573655919015)
    jp2 = [f for f in info.data_files if f.endswith(".jp2") and "/IMG_DATA/" in f]
    bands = sorted(f.rsplit("_", 1)[1].removesuffix(".jp2") for f in jp2)
    assert bands == sorted(
        [
            "B01",
            "B02",
            "B03",
            "B04",
            "B05",
            "B06",
            "B07",
            "B08",
            "B8A",
            "B09",
            "B10",
            "B11",
            "B12",
            "TCI",
        ]
    )
    assert "MTD_MSIL1C.xml" in info.data_files


def test_real_l1c_without_product_metadata_is_a_clear_error(xarray_sentinel_data: Path) -> None:
    safe = xarray_sentinel_data / L1C  # the sdist ships only manifest.safe
    with pytest.raises(ProductError, match=r"MTD_MSIL1C\.xml"):
        open_s2(safe)


MTD_L1C = b"""<?xml version="1.0"?>
<n1:Level-1C_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-1C.xsd">
<n1:General_Info><Product_Info>
<PRODUCT_START_TIME>2023-07-01T10:30:31.024Z</PRODUCT_START_TIME>
<PRODUCT_TYPE>S2MSI1C</PRODUCT_TYPE><PROCESSING_BASELINE>05.09</PROCESSING_BASELINE>
<Datatake><SPACECRAFT_NAME>Sentinel-2B</SPACECRAFT_NAME></Datatake>
</Product_Info>
<Product_Image_Characteristics>
<QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>
<Radiometric_Offset_List>
<RADIO_ADD_OFFSET band_id="8">-1000</RADIO_ADD_OFFSET>
<RADIO_ADD_OFFSET band_id="12">-1000</RADIO_ADD_OFFSET>
</Radiometric_Offset_List>
</Product_Image_Characteristics></n1:General_Info>
<n1:Quality_Indicators_Info><Cloud_Coverage_Assessment>12.5</Cloud_Coverage_Assessment>
</n1:Quality_Indicators_Info>
</n1:Level-1C_User_Product>"""


def test_l1c_radio_offsets_by_band_id() -> None:
    m = parse_product_mtd(MTD_L1C, "MTD_MSIL1C.xml", "x.SAFE")
    assert m.level == "L1C" and m.spacecraft == "Sentinel-2B"
    assert m.quantification == 10000.0 and m.cloud_cover == 12.5
    assert m.offset("B8A") == -1000.0 and m.offset("B12") == -1000.0
    assert m.offset("B02") == 0.0


def test_no_offset_before_baseline_04() -> None:
    m = parse_product_mtd(MTD_L1C.replace(b"05.09", b"03.00"), "MTD_MSIL1C.xml", "x.SAFE")
    assert m.offset("B8A") == 0.0


def test_bad_xml_names_member() -> None:
    with pytest.raises(ProductError, match=r"x\.SAFE: MTD_MSIL2A\.xml is not valid XML"):
        parse_product_mtd(b"<oops", "MTD_MSIL2A.xml", "x.SAFE")
    with pytest.raises(ProductError, match="HORIZONTAL_CS_CODE"):
        parse_tile_mtd(b"<a><b/></a>", "GRANULE/g/MTD_TL.xml", "x.SAFE")
