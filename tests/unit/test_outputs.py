"""Shared chain writers: vector formats, KML, STAC run item."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pyogrio
import pystac
import pytest
from shapely.geometry import Point, box

from rus.chains.errors import ChainError
from rus.chains.outputs import Asset, run_item, write_kml, write_run_item, write_vector

KML_NS = {"k": "http://www.opengis.net/kml/2.2"}


@pytest.fixture()
def ships() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [1, 2], "length_m": [120.5, 33.0], "note": ["a & b", None]},
        geometry=[Point(13.5, 45.6), Point(13.6, 45.65)],
        crs="EPSG:4326",
    )


def test_vector_formats_round_trip(tmp_path: Path, ships: gpd.GeoDataFrame) -> None:
    gpkg = write_vector(ships, tmp_path / "ships.gpkg", layer="ships")
    assert pyogrio.list_layers(gpkg)[0][0] == "ships"
    back = gpd.read_file(gpkg, layer="ships")
    assert back["length_m"].tolist() == [120.5, 33.0]
    gj = json.loads(write_vector(ships, tmp_path / "ships.geojson").read_text())
    assert gj["features"][0]["geometry"]["coordinates"] == [13.5, 45.6]
    csv = write_vector(ships, tmp_path / "ships.csv").read_text().splitlines()
    assert csv[0].split(",")[:3] == ["lon", "lat", "id"]
    assert not list(tmp_path.glob(".*part*")), "no temporary file left behind"


def test_geojson_reprojects_to_lonlat(tmp_path: Path) -> None:
    utm = gpd.GeoDataFrame({"v": [1]}, geometry=[Point(500000, 5000000)], crs="EPSG:32633")
    gj = json.loads(write_vector(utm, tmp_path / "p.geojson").read_text())
    lon, lat = gj["features"][0]["geometry"]["coordinates"]
    assert lon == pytest.approx(15.0, abs=1e-6) and 44 < lat < 46


def test_unknown_format_is_refused(tmp_path: Path, ships: gpd.GeoDataFrame) -> None:
    with pytest.raises(ChainError, match="unsupported vector format"):
        write_vector(ships, tmp_path / "ships.shp")


def test_kml_one_placemark_per_feature(tmp_path: Path, ships: gpd.GeoDataFrame) -> None:
    path = write_kml(
        ships,
        tmp_path / "ships.kml",
        name=lambda r: f"Ship {r['id']}: {r['length_m']:.0f} m",
        description=lambda r: f"length {r['length_m']} m",
        document_name="Ships <test>",
        color_field="id",
        colors={1: "#ff0000", 2: "#00ff00"},
    )
    root = ET.parse(path).getroot()
    marks = root.findall(".//k:Placemark", KML_NS)
    assert [m.findtext("k:name", namespaces=KML_NS) for m in marks] == [
        "Ship 1: 120 m",
        "Ship 2: 33 m",
    ]
    data = {
        d.get("name"): d.findtext("k:value", namespaces=KML_NS)
        for d in marks[0].iter("{http://www.opengis.net/kml/2.2}Data")
    }
    assert data == {"id": "1", "length_m": "120.5", "note": "a & b"}
    assert marks[0].findtext("k:styleUrl", namespaces=KML_NS) == "#c1"
    coords = marks[0].findtext(".//k:coordinates", namespaces=KML_NS)
    assert coords.startswith("13.5000000,45.6000000")


def test_kml_polygons(tmp_path: Path) -> None:
    polys = gpd.GeoDataFrame(
        {"cls": [4]}, geometry=[box(0, 0, 1, 1).difference(box(0.4, 0.4, 0.6, 0.6))], crs=4326
    )
    path = write_kml(polys, tmp_path / "b.kml", name=lambda r: "burn", document_name="d")
    root = ET.parse(path).getroot()
    assert root.find(".//k:outerBoundaryIs", KML_NS) is not None
    assert root.find(".//k:innerBoundaryIs", KML_NS) is not None


def test_run_item_is_valid_stac(tmp_path: Path) -> None:
    item = run_item(
        item_id="ships-test",
        geometry=box(13, 45, 14, 46),
        datetime=datetime(2021, 12, 23, 5, 11, 22, tzinfo=UTC),
        inputs=["S1B_IW_GRDH_1SDV_X.SAFE"],
        parameters={"pfa": 12.5, "path": Path("/x")},
        assets={"ships": Asset("ships.gpkg", "application/geopackage+sqlite3", ("data",), "Ships")},
        simulated=True,
    )
    path = write_run_item(tmp_path / "item.json", item)
    loaded = pystac.Item.from_file(str(path))
    assert loaded.properties["rus:simulated"] is True
    assert loaded.properties["rus:parameters"] == {"pfa": 12.5, "path": "/x"}
    assert loaded.assets["ships"].href.endswith("ships.gpkg")
    assert item["bbox"] == [13.0, 45.0, 14.0, 46.0]
