"""Shared fixtures: real sample data (../shared/data) and real-data packages fetched by pip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CACHE = Path(os.environ.get("RUS_TEST_CACHE", ROOT / ".cache" / "test-data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real samples); skip with a reason when absent (fresh clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not found at {SHARED_DATA} (only present beside CI clones)")
    return SHARED_DATA


def _package_data(name: str) -> Path:
    from tests.fetch_data import fetch

    path = fetch(CACHE, name)
    if path is None:
        pytest.skip(f"could not fetch the {name} package data with pip")
    return path


@pytest.fixture(scope="session")
def sarsen_data() -> Path:
    """``tests/data`` of the sarsen 0.9.6 sdist (real S1B IW GRDH XML, placeholder pixels)."""
    return next((_package_data("sarsen")).glob("sarsen-*/tests/data"))


@pytest.fixture(scope="session")
def xarray_sentinel_data() -> Path:
    """``tests/data`` of the xarray-sentinel 0.9.6 sdist (S1 SAFE products with real XML)."""
    return next((_package_data("xarray-sentinel")).glob("xarray*sentinel-*/tests/data"))


@pytest.fixture(scope="session")
def xrspatial_s2_dir() -> Path:
    """Folder of the real Sentinel-2 crop NetCDFs in the xarray-spatial 0.5.3 wheel."""
    return _package_data("xarray-spatial") / "xrspatial" / "datasets" / "sentinel-2"


@pytest.fixture()
def rus_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``RUS_HOME`` for one test."""
    home = tmp_path / "rus-home"
    home.mkdir()
    monkeypatch.setenv("RUS_HOME", str(home))
    return home
