"""Foundation: settings, atomic writes, SAFE access, CLI error handling, land mask."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rus._io import atomic_path, atomic_write_text
from rus.cli import build_app
from rus.errors import ConfigurationError
from rus.products._safe import SafeSource
from rus.products.errors import ProductError
from rus.settings import Settings


def test_settings_env_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUS_HOME", str(tmp_path))
    s = Settings()
    assert s.resolved_home == tmp_path.resolve()
    assert s.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'rus.db'}"


def test_settings_refuse_default_secret_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUS_ENVIRONMENT", "production")
    monkeypatch.delenv("RUS_SECRET_KEY", raising=False)
    with pytest.raises((ConfigurationError, ValueError), match="RUS_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("RUS_SECRET_KEY", "x" * 40)
    assert Settings().secret_key == "x" * 40


def test_atomic_write_keeps_old_file_on_error(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def _make_safe(root: Path) -> Path:
    safe = root / "S1A_IW_GRDH_1SDV_TEST.SAFE"
    (safe / "annotation").mkdir(parents=True)
    (safe / "manifest.safe").write_text("<xfdu/>")
    (safe / "annotation" / "a.xml").write_text("<a/>")
    return safe


def test_safe_directory_and_zip(tmp_path: Path) -> None:
    safe = _make_safe(tmp_path)
    src = SafeSource(safe)
    assert src.members("annotation/*.xml") == ["annotation/a.xml"]
    assert src.read_bytes("annotation/a.xml") == b"<a/>"
    with pytest.raises(ProductError, match=r"missing file 'annotation/b\.xml'"):
        src.read_bytes("annotation/b.xml")
    zpath = tmp_path / "S1A_IW_GRDH_1SDV_TEST.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in safe.rglob("*"):
            zf.write(f, f.relative_to(tmp_path).as_posix())
    zsrc = SafeSource(zpath)
    assert zsrc.name == "S1A_IW_GRDH_1SDV_TEST"
    assert zsrc.read_bytes("manifest.safe") == b"<xfdu/>"
    assert zsrc.gdal_path("annotation/a.xml").startswith("/vsizip/")


def test_truncated_zip_is_a_clear_error(tmp_path: Path) -> None:
    safe = _make_safe(tmp_path)
    zpath = tmp_path / "S1A_IW_GRDH_1SDV_TEST.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in safe.rglob("*"):
            zf.write(f, f.relative_to(tmp_path).as_posix())
    data = zpath.read_bytes()
    zpath.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProductError, match="corrupt or truncated zip"):
        SafeSource(zpath)


def test_cli_help_on_every_command() -> None:
    runner = CliRunner()
    app = build_app()
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    import typer.main

    group = typer.main.get_command(app)
    ctx = group.make_context("rus", [], resilient_parsing=True)
    names = group.list_commands(ctx)  # type: ignore[attr-defined]
    assert "info" in names and "simulate" in names
    for name in names:
        res = runner.invoke(app, [name, "--help"])
        assert res.exit_code == 0, (name, res.output)


def test_cli_error_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    proc = subprocess.run(
        [sys.executable, "-m", "rus.cli", "info", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "not a product rus understands" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_land_mask_known_places() -> None:
    from rus.products.landmask import coarse_raster, is_land

    # Trieste city centre (land), Gulf of Trieste (sea), Venice lagoon mainland (land)
    lon, lat = np.array([13.7768, 13.60, 12.25]), np.array([45.6495, 45.65, 45.49])
    got = is_land(lon, lat)
    assert got.tolist() == [True, False, True]
    # the coarse raster never says sea where the shoreline polygons say land
    raster = np.asarray(coarse_raster().contains_many(lon, lat), dtype=bool)
    assert (raster | ~got).all()


def test_info_detects_landsat_mtl(shared_data: Path) -> None:
    from rus.products.info import describe_product, detect_kind

    mtl = next((shared_data / "landsat8-corumba-fire-2019").glob("*20190809*_MTL.txt"))
    assert detect_kind(mtl) == "landsat"
    with pytest.warns(UserWarning, match="georeferencing built from the MTL"):
        info = describe_product(mtl)
    assert info["mission"] == "LANDSAT_8" and info["simulated"] is False


def test_truth_geojson_beside_a_safe_is_not_a_product(tmp_path: Path) -> None:
    from rus.products.errors import UnknownProductError
    from rus.products.info import detect_kind

    truth = tmp_path / "S1A_IW_GRDH_1SDV_X.truth.geojson"
    truth.write_text("{}")
    with pytest.raises(UnknownProductError):
        detect_kind(truth)
