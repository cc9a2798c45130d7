"""Search input normalisation, the OData $filter builder and its server-side parser."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from rus.hub.errors import QueryError, UnsafeNameError
from rus.hub.odata_filter import parse_filter, parse_orderby, split_and
from rus.hub.query import (
    build_filter,
    make_query,
    odata_datetime,
    parse_aoi,
    parse_datetime,
    parse_period,
)
from rus.hub.records import ProductRecord, check_name, file_name


def test_aoi_forms_agree(tmp_path: Path) -> None:
    gj = tmp_path / "aoi.geojson"
    poly = {"type": "Polygon", "coordinates": [[[12, 41], [13, 41], [13, 42], [12, 42], [12, 41]]]}
    gj.write_text(
        json.dumps(
            {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": poly}]}
        )
    )
    forms = [
        "12,41,13,42",
        [12, 41, 13, 42],
        "POLYGON((12 41, 13 41, 13 42, 12 42, 12 41))",
        "SRID=4326;POLYGON((12 41, 13 41, 13 42, 12 42, 12 41))",
        gj,
        str(gj),
        poly,
    ]
    geoms = [parse_aoi(f) for f in forms]
    assert all(g.equals(geoms[0]) for g in geoms)
    assert parse_aoi("Rome").bounds == (12.3, 41.7, 12.7, 42.0)


@pytest.mark.parametrize(
    "bad",
    ["12,41,11,42", "200,0,210,1", "nowhere-land", "POLYGON((1 2", "missing.geojson", [1, 2, 3]],
)
def test_aoi_errors_are_clear(bad: object) -> None:
    with pytest.raises(QueryError):
        parse_aoi(bad)


def test_periods() -> None:
    assert parse_period("2024-03") == (
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 4, 1, tzinfo=UTC),
    )
    assert parse_period("2024") == (
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert parse_period("2024-12-31", None)[1] is None
    assert parse_period("2024-02-01/2024-02-03")[1] == datetime(2024, 2, 4, tzinfo=UTC)
    assert parse_period("../2024-02-03")[0] is None
    assert parse_period(date(2024, 5, 1), date(2024, 5, 1))[1] == datetime(2024, 5, 2, tzinfo=UTC)
    assert parse_datetime("2024-05-01T10:00:00Z").hour == 10
    assert parse_datetime(datetime(2024, 5, 1, 12)).tzinfo is UTC
    with pytest.raises(QueryError, match="before it starts"):
        parse_period("2024-05-02", "2024-05-01T00:00:00Z")
    with pytest.raises(QueryError, match="cannot read the date"):
        parse_datetime("yesterday")


def test_filter_matches_cdse_documentation() -> None:
    q = make_query(
        "sentinel-2",
        product_type="S2MSI2A",
        aoi="12,41,13,42",
        start="2017-06-01",
        end="2017-06-30",
        cloud_max=40,
        orbit_direction="descending",
        relative_orbit=22,
        tile="33TUM",
    )
    flt = build_filter(q)
    clauses = split_and(flt)
    assert clauses[0] == "Collection/Name eq 'SENTINEL-2'"
    assert clauses[1] == "ContentDate/Start ge 2017-06-01T00:00:00.000Z"
    assert clauses[2] == "ContentDate/Start lt 2017-07-01T00:00:00.000Z"
    assert clauses[3] == (
        "OData.CSC.Intersects(area=geography'SRID=4326;POLYGON((13 41, 13 42, "
        "12 42, 12 41, 13 41))')"
    )
    assert clauses[4] == (
        "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'productType' and "
        "att/OData.CSC.StringAttribute/Value eq 'S2MSI2A')"
    )
    assert clauses[5] == (
        "Attributes/OData.CSC.DoubleAttribute/any(att:att/Name eq 'cloudCover' and "
        "att/OData.CSC.DoubleAttribute/Value le 40.00)"
    )
    assert "relativeOrbitNumber' and att/OData.CSC.IntegerAttribute/Value eq 22)" in clauses[7]
    assert odata_datetime(datetime(2017, 6, 1, 0, 0, 0, 123456, tzinfo=UTC)).endswith(".123Z")


def test_filter_round_trip_through_the_server_parser() -> None:
    q = make_query(
        "SENTINEL-2",
        product_type="S2MSI2A",
        aoi="rome",
        start="2024-03",
        cloud_max=25.5,
        orbit_direction="ascending",
        relative_orbit=117,
        tile="33TTG",
        name_contains="MSIL2A",
    )
    back = parse_orderby(parse_filter(build_filter(q)), "ContentDate/Start desc")
    for field in (
        "collection",
        "product_type",
        "start",
        "end",
        "cloud_max",
        "orbit_direction",
        "relative_orbit",
        "tile",
        "name_contains",
    ):
        assert getattr(back, field) == getattr(q, field), field
    assert back.aoi.equals(q.aoi)
    assert back.descending


@pytest.mark.parametrize(
    "bad",
    [
        "Name ne 'x'",
        "Collection/Name eq 'S1' and (",
        "foo(bar)",
        "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'x' "
        "and att/OData.CSC.StringAttribute/Value eq 'y')",
    ],
)
def test_server_refuses_unknown_clauses(bad: str) -> None:
    with pytest.raises(QueryError):
        parse_filter(bad)


def test_query_validation() -> None:
    with pytest.raises(QueryError, match="orbit direction"):
        make_query(orbit_direction="sideways")
    with pytest.raises(QueryError, match="cloud cover"):
        make_query(cloud_max=140)
    with pytest.raises(QueryError, match="invalid product type"):
        make_query(product_type="x' or 1 eq 1 or 'a")


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "..", ".hidden", "x\x00y", "a\\b", ""])
def test_path_traversal_names_refused(name: str) -> None:
    with pytest.raises(UnsafeNameError):
        check_name(name)
    with pytest.raises(UnsafeNameError):
        file_name(name)


def test_file_names_and_odata_round_trip() -> None:
    assert file_name("S1A_IW_GRDH_X.SAFE") == "S1A_IW_GRDH_X.zip"
    assert file_name("scene.tif") == "scene.tif"
    assert file_name("S3A_OL_1_EFR") == "S3A_OL_1_EFR.zip"
    rec = ProductRecord(
        id="a1",
        name="S1A_X.SAFE",
        collection="SENTINEL-1",
        content_length=5,
        checksums={"MD5": "00ff", "BLAKE3": "aa"},
        start=datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        footprint={"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        attributes={"productType": "IW_GRDH_1S", "relativeOrbitNumber": 7, "cloudCover": 1.5},
    )
    back = ProductRecord.from_odata(rec.to_odata())
    assert back.checksums == rec.checksums and back.start == rec.start
    assert back.attributes == rec.attributes and back.collection == "SENTINEL-1"
    doc = rec.to_odata()
    doc["Checksum"], doc["ContentLength"] = [], 0  # CDSE sometimes sends neither
    empty = ProductRecord.from_odata(doc)
    assert empty.checksums == {} and empty.content_length == 0
