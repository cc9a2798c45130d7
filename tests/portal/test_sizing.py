"""The documented sizing rules, level caps, eligibility and AOI parsing (pure functions)."""

from __future__ import annotations

import pytest

from rus.services.aoi import parse_aoi
from rus.services.errors import ValidationFailed
from rus.services.sizing import (
    Sizing,
    SizingInput,
    check_eligibility,
    is_copernicus_dataset,
    propose_sizing,
    validate_sizing,
)


def test_basic_light_single_user() -> None:
    s = propose_sizing(SizingInput("basic", "light", 100.0, 2, 1))
    assert (s.vms, s.cores_per_vm, s.ram_per_core_gb) == (1, 2, 4)
    assert s.disk_tb == 0.3  # 100 GB x 2.5 = 250 GB -> 0.3 TB
    assert (s.duration_months, s.support_hours, s.notes) == (2, 4, ())


@pytest.mark.parametrize(
    ("level", "cores", "disk", "months"),
    [("basic", 2, 1.0, 3), ("rnd", 5, 10.0, 6), ("proficient", 20, 50.0, 12)],
)
def test_caps_bite_at_each_level(level: str, cores: int, disk: float, months: int) -> None:
    s = propose_sizing(SizingInput(level, "heavy", 1e6, 36, 50))
    assert s.total_cores <= cores and s.total_cores >= cores - 1
    assert s.disk_tb == disk and s.duration_months == months
    assert len(s.notes) == 3 and all("capped" in n for n in s.notes)
    assert s.ram_per_core_gb == 8


def test_vms_follow_users_within_caps() -> None:
    s = propose_sizing(SizingInput("proficient", "moderate", 10.0, 6, 3))
    # 4 + 2 x 2 = 8 cores over 3 VMs -> 2 cores each (integer split)
    assert (s.vms, s.cores_per_vm) == (3, 2)
    assert s.support_hours == 16 + 4


def test_validate_sizing_refuses_over_cap() -> None:
    ok = Sizing(1, 2, 4, 1.0, 3, 8)
    assert validate_sizing(ok, "basic") == ok
    with pytest.raises(ValidationFailed, match="exceed the basic cap of 2"):
        validate_sizing(Sizing(1, 4, 4, 1.0, 3, 8), "basic")
    with pytest.raises(ValidationFailed, match="disk 2 TB"):
        validate_sizing(Sizing(1, 2, 4, 2.0, 3, 8), "basic")
    with pytest.raises(ValidationFailed, match="unknown support level"):
        validate_sizing(ok, "gold")


def test_eligibility() -> None:
    assert is_copernicus_dataset("Sentinel-1 GRD") and is_copernicus_dataset("s2 l2a")
    assert not is_copernicus_dataset("Landsat 8")
    assert check_eligibility(["S1 GRD", "Landsat 8"], True)[0]
    assert not check_eligibility(["Landsat 8"], True)[0]
    ok, note = check_eligibility(["S2 L2A"], False)
    assert not ok and "not its main source" in note


def test_parse_aoi_forms_and_errors() -> None:
    fc = (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
        '{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}'
    )
    assert parse_aoi(fc) == "POLYGON ((0 0, 1 0, 1 1, 0 0))"
    assert parse_aoi("MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))").startswith("MULTIPOLYGON")
    with pytest.raises(ValidationFailed, match="empty"):
        parse_aoi("  ")
    with pytest.raises(ValidationFailed, match="one feature"):
        parse_aoi('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(ValidationFailed, match="Self-intersection"):
        parse_aoi("POLYGON((0 0, 2 2, 2 0, 0 2, 0 0))")
