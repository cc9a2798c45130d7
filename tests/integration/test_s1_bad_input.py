"""Bad Sentinel-1 input gives one clear ProductError naming the file and the problem."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rus.products.errors import ProductError
from rus.products.sentinel1 import open_s1_grd
from rus.products.simulate.s1 import S1SimulationResult, simulate_s1_grd

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> S1SimulationResult:
    out = tmp_path_factory.mktemp("s1-small")
    return simulate_s1_grd(out, shape=(256, 300), ships=1, seed=11, aoi="trieste", pols=("VV",))


def _copy(result: S1SimulationResult, dest: Path) -> Path:
    target = dest / result.product.name
    shutil.copytree(result.product, target)
    return target


def _zip(safe: Path, dest: Path) -> Path:
    archive = dest / f"{safe.stem}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(safe.rglob("*")):
            zf.write(path, f"{safe.name}/{path.relative_to(safe).as_posix()}")
    return archive


def _rus_info(path: Path) -> subprocess.CompletedProcess[str]:
    rus = Path(sys.executable).with_name("rus")
    return subprocess.run(
        [str(rus), "info", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "300"},
    )


def test_truncated_zip(small: S1SimulationResult, tmp_path: Path) -> None:
    archive = _zip(small.product, tmp_path)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProductError, match="truncated") as err:
        open_s1_grd(archive)
    assert str(archive) in str(err.value)
    proc = _rus_info(archive)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "rus: error:" in lines[0] and archive.name in lines[0]
    assert proc.stdout == ""


def test_missing_calibration_file(small: S1SimulationResult, tmp_path: Path) -> None:
    safe = _copy(small, tmp_path)
    cal = next((safe / "annotation" / "calibration").glob("calibration-*.xml"))
    cal.unlink()
    with pytest.raises(ProductError, match="missing calibration file") as err:
        open_s1_grd(safe)
    assert cal.name in str(err.value) and str(safe) in str(err.value)
    proc = _rus_info(safe)
    assert proc.returncode == 2 and "missing calibration file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_non_sentinel_tiff(tmp_path: Path, small: S1SimulationResult) -> None:
    import rasterio

    photo = tmp_path / "holiday.tif"
    with rasterio.open(
        photo, "w", driver="GTiff", width=64, height=32, count=3, dtype="uint8"
    ) as ds:
        ds.write(np.zeros((3, 32, 64), dtype=np.uint8))
    with pytest.raises(ProductError, match=r"neither a \.SAFE directory nor a \.zip") as err:
        open_s1_grd(photo)
    assert str(photo) in str(err.value)
    # the same photo in place of a SAFE measurement
    safe = _copy(small, tmp_path)
    meas = next((safe / "measurement").glob("*.tiff"))
    shutil.copyfile(photo, meas)
    with pytest.raises(ProductError, match="not a Sentinel-1 GRD measurement") as err:
        open_s1_grd(safe)
    assert meas.name in str(err.value)
    proc = _rus_info(safe)
    assert proc.returncode == 2 and "not a Sentinel-1 GRD measurement" in proc.stderr


def test_wrong_size_measurement_and_broken_xml(small: S1SimulationResult, tmp_path: Path) -> None:
    import rasterio

    safe = _copy(small, tmp_path)
    meas = next((safe / "measurement").glob("*.tiff"))
    with rasterio.open(
        meas, "w", driver="GTiff", width=300, height=200, count=1, dtype="uint16"
    ) as ds:
        ds.write(np.ones((1, 200, 300), dtype=np.uint16))
    with pytest.raises(ProductError, match="annotation says 256 lines x 300 pixels"):
        open_s1_grd(safe)
    safe2 = _copy(small, tmp_path / "b")
    ann = next((safe2 / "annotation").glob("s1a-*.xml"))
    ann.write_text(ann.read_text()[:5000])
    with pytest.raises(ProductError, match=ann.name.replace(".", r"\.")):
        open_s1_grd(safe2)


def test_not_a_product_and_unknown_pol(small: S1SimulationResult, tmp_path: Path) -> None:
    with pytest.raises(ProductError, match="no such file"):
        open_s1_grd(tmp_path / "S1A_IW_GRDH_nothing.SAFE")
    grd = open_s1_grd(small.product)
    with pytest.raises(ProductError, match="no polarisation 'HV'"):
        grd.measurement("HV")
    with pytest.raises(ValueError, match="kind must be one of"):
        grd.intensity("VV", kind="sigma1")


def test_simulator_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ProductError, match="polarisations"):
        simulate_s1_grd(tmp_path, shape=(256, 256), pols=("VH", "HH"))
    with pytest.raises(ProductError, match="neither a named AOI"):
        simulate_s1_grd(tmp_path, shape=(256, 256), aoi="atlantis")
    with pytest.raises(ProductError, match="larger than an IW GRDH scene"):
        simulate_s1_grd(tmp_path, shape=(1000, 40000))
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_wkt_aoi_sets_centre_and_extent(tmp_path: Path) -> None:
    from shapely import wkt
    from shapely.geometry import Point

    aoi = "POLYGON((14.98 43.28, 15.02 43.28, 15.02 43.31, 14.98 43.31, 14.98 43.28))"
    result = simulate_s1_grd(tmp_path, shape=None, ships=2, seed=1, aoi=aoi, pols=("HH", "HV"))
    assert result.product.name.startswith("S1A_IW_GRDH_1SDH_")
    grd = open_s1_grd(result.product)
    assert grd.metadata.polarisations == ("HH", "HV")
    lines, pixels = grd.metadata.shape
    assert 300 <= lines <= 340 and 300 <= pixels <= 340  # ~3.3 km at 10 m
    assert grd.metadata.footprint.contains(wkt.loads(aoi).centroid)
    assert grd.metadata.footprint.contains(Point(15.0, 43.295))
