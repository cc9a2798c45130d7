"""``rus demo`` (what ``make run`` runs) prepares the demo end to end, without serving."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_prepares_products_chains_and_store(rus_home: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable, "-m", "rus.cli", "demo", "--no-serve", "--json",
            "--s1-shape", "900x1200", "--s2-shape", "402x402",
        ],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["simulated"] is True
    assert summary["ships"]["count"] > 0
    assert Path(summary["ships"]["ships_kml"]).is_file()
    assert summary["burn"]["burned_ha"] > 0
    assert Path(summary["burn"]["severity"]).is_file()
    assert summary["store_products"] == 3  # one S1 GRD and the S2 pre/post pair
    assert (rus_home / "demo" / "products" / "s1").is_dir()
