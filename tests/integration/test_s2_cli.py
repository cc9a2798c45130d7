"""End to end through the real CLI: ``rus simulate s2-fire`` then ``rus info`` on every format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rus.products.simulate.s2 import write_cog_copy, zip_safe


def _rus(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rus.cli", *args], capture_output=True, text=True, check=False
    )


def test_simulate_then_info(tmp_path: Path) -> None:
    out = tmp_path / "fire"
    proc = _rus("simulate", "s2-fire", str(out), "--shape", "300x300", "--seed", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    paths = json.loads(proc.stdout)
    pre, post, truth = Path(paths["pre"]), Path(paths["post"]), Path(paths["truth"])
    assert pre.is_dir() and post.is_dir() and truth.is_file()
    assert (out / "truth_severity.tif").is_file()
    assert not list(out.glob(".*")), "no temporary files left behind"

    info = _rus("info", str(post), "--json")
    assert info.returncode == 0, info.stderr
    desc = json.loads(info.stdout)
    assert desc["simulated"] is True and desc["tile_id"] == "29TNE"
    assert desc["start_time"].startswith("2017-07-04T11:21:11")
    assert desc["footprint"]["type"] == "Polygon"
    assert desc["shapes"]["10m"] == [300, 300]

    human = _rus("info", str(zip_safe(pre, tmp_path)))
    assert human.returncode == 0, human.stderr
    assert "SIMULATED PRODUCT" in human.stdout

    item = write_cog_copy(post, tmp_path / "cog")
    stac = json.loads(_rus("info", str(item), "--json").stdout)
    assert stac["simulated"] is True and set(stac["bands"]) == {"B8A", "B12", "SCL"}

    tif = json.loads(_rus("info", str(out / "truth_severity.tif"), "--json").stdout)
    assert tif["crs"] == "EPSG:32629" and tif["shapes"]["20m"] == [150, 150]


def test_simulate_l1c_then_info(tmp_path: Path) -> None:
    out = tmp_path / "l1c"
    proc = _rus("simulate", "s2-fire", str(out), "--shape", "120x120", "--level", "L1C", "--json")
    assert proc.returncode == 0, proc.stderr
    paths = json.loads(proc.stdout)
    assert paths["level"] == "L1C" and Path(paths["pre"]).name.startswith("S2A_MSIL1C_")
    assert {Path(p).name for p in paths["truth_clouds"].values()} == {
        "truth_clouds_pre.tif",
        "truth_clouds_post.tif",
    }
    desc = json.loads(_rus("info", paths["post"], "--json").stdout)
    assert desc["level"] == "L1C" and desc["product_type"] == "S2MSI1C"
    assert desc["bands"]["B10"] == [60.0] and "SCL" not in desc["bands"]
    bad = _rus("simulate", "s2-fire", str(tmp_path / "x"), "--shape", "120x120", "--level", "L3")
    assert bad.returncode == 2 and "level 'L3'" in bad.stderr


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "S2B_MSIL2A_20200101T000000_N0213_R001_T01AAA_20200101T000000.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    proc = _rus("info", str(bad))
    assert proc.returncode == 2
    assert "rus: error:" in proc.stderr and bad.name in proc.stderr
    proc = _rus("simulate", "s2-fire", str(tmp_path / "x"), "--shape", "100x100")
    assert proc.returncode == 2 and "multiples of 6" in proc.stderr
