"""Simulate a pre-/post-fire Sentinel-2 L2A (or L1C) SAFE pair with a burn scar of known severity.

``simulate_s2_fire(out_dir, shape=(rows, cols), seed=0, aoi="pedrogao", level="L2A")`` writes,
in ``out_dir``:

- ``S2A_MSIL2A_20170614T112111_N0205_R037_T29TNE_20170614T143000.SAFE`` (pre-fire) and
  ``S2A_MSIL2A_20170704T112111_N0205_R037_T29TNE_20170704T143000.SAFE`` (post-fire): manifest,
  MTD_MSIL2A.xml, GRANULE/<id>/MTD_TL.xml and lossless tiled JPEG2000 bands in
  IMG_DATA/R10m|R20m|R60m named as distributed (``T29TNE_20170614T112111_B8A_20m.jp2``);
  with ``level="L1C"`` the ``S2A_MSIL1C_...`` pair instead: MTD_MSIL1C.xml and the 13
  top-of-atmosphere bands (B10 included) at native resolution in ``IMG_DATA/`` (see
  :mod:`rus.products.simulate._s2_l1c`), no SCL;
- ``truth.geojson``: one feature per USGS severity class (codes 4..7) with ``area_ha``, in
  EPSG:32629 (UTM) coordinates with a ``crs`` member;
- ``truth_severity.tif``: uint8 COG on the 20 m grid, the true class per pixel (3 unburned,
  4..7 burned, 0 masked: cloud, shadow, cirrus, water or no data on either date);
- ``truth_clouds_pre.tif`` / ``truth_clouds_post.tif``: uint8 COGs on the 20 m grid, the true
  cloud state of each date (0 clear, 1 opaque cloud, 2 thin cirrus, 3 cloud shadow, 255 no
  data), for both levels.

Everything is labelled SIMULATED. Pixels are generated block by block (bounded memory). The
full tile (10980 x 10980) takes a few minutes on two cores (see docs/sentinel2.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from rus._io import atomic_path, atomic_write_text
from rus.products.errors import ProductError
from rus.products.simulate._s2_l1c import LAYOUT_L1C, l1c_member, product_mtd_l1c
from rus.products.simulate._s2_pixels import cloud_truth, date_block, mean60, to_dn, upsample10
from rus.products.simulate._s2_scene import (
    RBR_TARGET,
    SEVERITY_NAMES,
    Grid,
    Scene,
    make_grid,
)
from rus.products.simulate._s2_xml import ProductInfo, manifest, product_mtd, tile_mtd

#: Bands written per resolution folder (what a real L2A holds; AOT/WVP/TCI omitted).
LAYOUT: dict[int, tuple[str, ...]] = {
    10: ("B02", "B03", "B04", "B08"),
    20: ("B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12", "SCL"),
    60: ("B01", "B09", "SCL"),
}
LEVELS = ("L2A", "L1C")
PRE_START = datetime(2017, 6, 14, 11, 21, 11, 26000, tzinfo=UTC)
POST_START = PRE_START + timedelta(days=20)
DATES = {"pre": (PRE_START, 10349), "post": (POST_START, 10635)}
BLOCK20 = 255  # 20 m rows per block (divisible by 3; 510 rows at 10 m)
#: GDAL block cache while writing (bounded memory: the default is 5 % of RAM).
GDAL_ENV = {"GDAL_PAM_ENABLED": "NO", "GDAL_CACHEMAX": 128 * 2**20}
JP2_OPTIONS = {
    "QUALITY": "100",
    "REVERSIBLE": "YES",
    "BLOCKXSIZE": "1024",
    "BLOCKYSIZE": "1024",
    "YCBCR420": "NO",
}


@dataclass(frozen=True)
class S2FireSimulation:
    """Paths written by :func:`simulate_s2_fire` and the true zones."""

    pre: Path
    post: Path
    truth: Path
    truth_severity: Path
    zones: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    simulated: bool = True
    truth_clouds: dict[str, Path] = field(default_factory=dict)  # "pre"/"post" -> COG
    level: str = "L2A"


def product_name(grid: Grid, date: str, baseline: str, level: str = "L2A") -> tuple[str, str]:
    """SAFE name (without .SAFE) and granule folder name for ``date`` (``level`` L2A/L1C)."""
    start, orbit = DATES[date]
    gen = start.replace(hour=14, minute=30, second=0, microsecond=0)
    n = baseline.replace(".", "")
    name = f"S2A_MSI{level}_{start:%Y%m%dT%H%M%S}_N{n}_R037_T{grid.tile_id}_{gen:%Y%m%dT%H%M%S}"
    granule = f"{level}_T{grid.tile_id}_A{orbit:06d}_{start + timedelta(seconds=209):%Y%m%dT%H%M%S}"
    return name, granule


def _member(grid: Grid, granule: str, date: str, res: int, band: str, level: str = "L2A") -> str:
    start = DATES[date][0]
    if level == "L1C":
        return l1c_member(grid.tile_id, granule, f"{start:%Y%m%dT%H%M%S}", band)
    return f"GRANULE/{granule}/IMG_DATA/R{res}m/T{grid.tile_id}_{start:%Y%m%dT%H%M%S}_{band}_{res}m"


def _layout(level: str) -> dict[int, tuple[str, ...]]:
    return LAYOUT_L1C if level == "L1C" else LAYOUT


def _footprint(grid: Grid) -> list[tuple[float, float]]:
    """(lat, lon) ring of the grid extent (edges densified)."""
    from pyproj import Transformer

    x0, y0 = grid.ulx, grid.uly
    x1, y1 = x0 + grid.cols10 * 10, y0 - grid.rows10 * 10
    t = np.linspace(0, 1, 5)[:-1]
    xs = np.concatenate([x0 + (x1 - x0) * t, np.full(4, x1), x1 - (x1 - x0) * t, np.full(4, x0)])
    ys = np.concatenate([np.full(4, y0), y0 + (y1 - y0) * t, np.full(4, y1), y1 - (y1 - y0) * t])
    lon, lat = Transformer.from_crs(grid.epsg, 4326, always_xy=True).transform(xs, ys)
    ring = [(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    return [*ring, ring[0]]


def _blocks(rows20: int) -> Iterator[tuple[int, int]]:
    for r0 in range(0, rows20, BLOCK20):
        yield r0, min(r0 + BLOCK20, rows20)


def _open_tmp(path: Path, grid: Grid, res: int, dtype: str) -> Any:
    import rasterio
    from affine import Affine

    rows, cols = grid.shape(res)
    return rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype=dtype,
        tiled=True,
        blockxsize=512,
        blockysize=512,
        crs=f"EPSG:{grid.epsg}",
        transform=Affine(res, 0, grid.ulx, 0, -res, grid.uly),
    )


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_block(
    sinks: dict[tuple[str, int, str], Any],
    date: str,
    blk: Any,
    offset: int,
    rng: np.random.Generator,
    layout: dict[int, tuple[str, ...]],
) -> None:
    """Write one block of every band of ``layout``: 20 m as generated, 10 m upsampled with
    pixel noise (``rng``, drawn in band order), 60 m as 3 x 3 means (SCL: centre pixel)."""
    from rasterio.windows import Window

    r0, r1 = blk.r0, blk.r1
    cols20 = blk.scl.shape[1]
    nod20 = blk.nodata
    nod10 = np.repeat(np.repeat(nod20, 2, axis=0), 2, axis=1)
    nod60 = nod20[1::3, 1::3]
    windows = {
        10: Window(0, 2 * r0, 2 * cols20, 2 * (r1 - r0)),
        20: Window(0, r0, cols20, r1 - r0),
        60: Window(0, r0 // 3, cols20 // 3, (r1 - r0) // 3),
    }
    for res, bands in layout.items():
        for band in bands:
            if band == "SCL":
                data = blk.scl if res == 20 else blk.scl[1::3, 1::3]
            elif res == 10:
                data = to_dn(upsample10(blk.refl[band], rng, 0.02), offset, nod10)
            elif res == 20:
                data = to_dn(blk.refl[band], offset, nod20)
            else:
                data = to_dn(mean60(blk.refl[band]), offset, nod60)
            sinks[(date, res, band)].write(data, 1, window=windows[res])


def _truth_block(pre: Any, post: Any) -> np.ndarray[Any, Any]:
    clear = np.isin(pre.scl, (4, 5)) & np.isin(post.scl, (4, 5))
    truth = np.where(clear, post.severity, 0).astype(np.uint8)
    return truth


def _zones(
    sev: np.ndarray[Any, Any], grid: Grid, scene: Scene
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Polygons (UTM) and summaries of the burned classes, from the 20 m severity map."""
    from affine import Affine
    from rasterio.features import shapes
    from shapely.geometry import mapping, shape
    from shapely.ops import unary_union

    r0c, c0c = scene.scar_centre
    half = int(1.5 * scene.scar_radius) + 4
    ra, rb = max(int(r0c) - half, 0), min(int(r0c) + half, grid.rows20)
    ca, cb = max(int(c0c) - half, 0), min(int(c0c) + half, grid.cols20)
    win = np.ascontiguousarray(sev[ra:rb, ca:cb])
    tr = Affine(20, 0, grid.ulx + 20 * ca, 0, -20, grid.uly - 20 * ra)
    geoms: dict[int, list[Any]] = {}
    for geom, val in shapes(win, mask=win >= 4, transform=tr, connectivity=4):
        geoms.setdefault(int(val), []).append(shape(geom))
    features, zones = [], []
    for code in sorted(geoms):
        merged = unary_union(geoms[code])
        pixels = int((sev == code).sum())
        info = {
            "severity_code": code,
            "severity_name": SEVERITY_NAMES[code],
            "area_ha": round(pixels * 0.04, 2),
            "pixels_20m": pixels,
            "rbr_x1000_target": round(RBR_TARGET[code] * 1000),
            "simulated": True,
        }
        zones.append(info)
        features.append({"type": "Feature", "properties": info, "geometry": mapping(merged)})
    return features, zones


def _write_pixels(
    scene: Scene, tmp: Path, offset: int, tick: Callable[[], None], level: str = "L2A"
) -> tuple[dict[str, np.ndarray[Any, Any]], np.ndarray[Any, Any]]:
    """Generate both dates block by block into temporary tiled GeoTIFFs (and the truths).

    Returns the SCL class counts per date and the 20 m true severity map (uint8).
    """
    import rasterio
    from rasterio.windows import Window

    grid = scene.grid
    counts = {d: np.zeros(12, dtype=np.int64) for d in DATES}
    sev_full = np.zeros((grid.rows20, grid.cols20), dtype=np.uint8)
    with rasterio.Env(**GDAL_ENV), ExitStack() as stack:
        sinks = {
            (d, res, b): stack.enter_context(
                _open_tmp(
                    tmp / f"{d}_{res}_{b}.tif", grid, res, "uint8" if b == "SCL" else "uint16"
                )
            )
            for d in DATES
            for res, bands in _layout(level).items()
            for b in bands
        }
        cloud_sinks = {d: stack.enter_context(_cloud_sink(tmp, grid, d)) for d in DATES}
        truth_sink = stack.enter_context(_open_tmp(tmp / "truth.tif", grid, 20, "uint8"))
        truth_sink.update_tags(
            SIMULATED="yes: true burn severity of rus simulate s2-fire",
            CLASSES=json.dumps(SEVERITY_NAMES),
            MASKED_CODE="0 (cloud, shadow, cirrus, water or no data on either date)",
        )
        for r0, r1 in _blocks(grid.rows20):
            blks = {d: date_block(scene, d, r0, r1, level) for d in DATES}
            for d, blk in blks.items():
                counts[d] += np.bincount(blk.scl.ravel(), minlength=12)[:12]
                rng = np.random.default_rng([scene.seed, 3, r0])
                _write_block(sinks, d, blk, offset, rng, _layout(level))
                win = Window(0, r0, grid.cols20, r1 - r0)
                cloud_sinks[d].write(cloud_truth(blk), 1, window=win)
            truth = _truth_block(blks["pre"], blks["post"])
            truth_sink.write(truth, 1, window=Window(0, r0, grid.cols20, r1 - r0))
            sev_full[r0:r1] = blks["post"].severity
            tick()
    return counts, sev_full


def _cloud_sink(tmp: Path, grid: Grid, date: str) -> Any:
    """Temporary GeoTIFF of the cloud truth of ``date`` (nodata 255, labelled)."""
    sink = _open_tmp(tmp / f"clouds_{date}.tif", grid, 20, "uint8")
    sink.nodata = 255
    sink.update_tags(
        SIMULATED=f"yes: true cloud state on the {date}-fire date of rus simulate s2-fire",
        CLASSES=json.dumps({0: "clear", 1: "opaque cloud", 2: "thin cirrus", 3: "cloud shadow"}),
        NODATA_CODE="255 (no data: swath edge)",
    )
    return sink


def _write_truth(
    out: Path, tmp: Path, sev_full: np.ndarray[Any, Any], scene: Scene
) -> tuple[Path, Path, list[dict[str, Any]]]:
    """``truth_severity.tif``, ``truth_clouds_<date>.tif`` (COGs) and ``truth.geojson``;
    returns the GeoJSON and severity paths and the zones."""
    import rasterio
    import rasterio.shutil

    grid = scene.grid
    truth_tif = out / "truth_severity.tif"
    copies = [(tmp / "truth.tif", truth_tif)]
    copies += [(tmp / f"clouds_{d}.tif", out / f"truth_clouds_{d}.tif") for d in DATES]
    for src, dst in copies:
        with rasterio.Env(**GDAL_ENV), atomic_path(dst) as t:
            rasterio.shutil.copy(src, t, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE="512")
    features, zones = _zones(sev_full, grid, scene)
    doc = {
        "type": "FeatureCollection",
        "name": "s2-fire truth (SIMULATED)",
        "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{grid.epsg}"}},
        "simulated": True,
        "burned_area_ha": round(sum(z["area_ha"] for z in zones), 2),
        "note": f"coordinates in EPSG:{grid.epsg} (UTM); burned = codes 4..7 "
        "(USGS classes applied to RBR)",
        "features": features,
    }
    truth_path = atomic_write_text(out / "truth.geojson", json.dumps(doc))
    return truth_path, truth_tif, zones


def simulate_s2_fire(
    out_dir: str | os.PathLike[str],
    *,
    shape: tuple[int, int] = (2196, 2196),
    seed: int = 0,
    aoi: str = "pedrogao",
    progress: bool = False,
    baseline: str = "02.05",
    level: str = "L2A",
) -> S2FireSimulation:
    """Write a simulated pre/post-fire Sentinel-2 SAFE pair, truth GeoJSON and truth COGs.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created).
    shape : (int, int)
        Rows, cols at 10 m, multiples of 6; (10980, 10980) is the full tile. Smaller shapes
        crop the tile from its upper-left corner.
    seed : int
        Same seed, same products (bit for bit).
    aoi : str
        ``"pedrogao"`` (tile T29TNE, EPSG:32629) or a WKT polygon in lon/lat (a tile-like grid
        centred on it, in its UTM zone).
    progress : bool
        Show a progress bar.
    baseline : str
        Processing baseline written in the products: ``"02.05"`` (2017, no offset) or
        ``"04.00"``/``"05.10"`` (DN = reflectance x 10000 + 1000, BOA_ADD_OFFSET = -1000;
        RADIO_ADD_OFFSET for L1C).
    level : str
        ``"L2A"`` (surface reflectance, SCL; the default, unchanged) or ``"L1C"``
        (top-of-atmosphere reflectance of all 13 bands incl. the cirrus band B10, no SCL).
        The scene, truth and SCL-derived masks are the same for both levels.

    Returns
    -------
    S2FireSimulation
        ``pre``, ``post`` (SAFE directories), ``truth`` (GeoJSON), ``truth_severity`` (COG),
        ``truth_clouds`` (``{"pre": COG, "post": COG}``), ``zones`` (class, name, area_ha,
        pixel count), ``seconds`` (wall time), ``level``.
    """
    t0 = time.perf_counter()
    try:
        bl = float(baseline)
    except ValueError:
        raise ProductError(
            f"baseline {baseline!r}: expected NN.NN such as 02.05 or 05.10"
        ) from None
    if level not in LEVELS:
        raise ProductError(f"level {level!r}: expected one of {', '.join(LEVELS)}")
    offset = -1000 if bl >= 4.0 else 0
    grid = make_grid(aoi, shape)
    scene = Scene(grid, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".s2fire-tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    names = {d: product_name(grid, d, baseline, level) for d in DATES}
    layout = _layout(level)
    n_blocks = len(list(_blocks(grid.rows20)))
    n_jobs = len(DATES) * sum(len(v) for v in layout.values())
    tick, close_bar = _progress(progress, n_blocks + n_jobs + 2, level)
    try:
        counts, sev_full = _write_pixels(scene, tmp, offset, tick, level)
        safes = {d: tmp / f"{names[d][0]}.SAFE" for d in DATES}
        jobs = [
            (
                tmp / f"{d}_{res}_{b}.tif",
                safes[d] / (_member(grid, names[d][1], d, res, b, level) + ".jp2"),
            )
            for d in DATES
            for res, bands in layout.items()
            for b in bands
        ]
        _encode_all(jobs, tick)
        truth_path, truth_tif, zones = _write_truth(out, tmp, sev_full, scene)
        tick()
        results = {
            d: _finish_product(out, safes[d], grid, d, names[d], baseline, counts[d], level)
            for d in DATES
        }
        tick()
    finally:
        close_bar()
        shutil.rmtree(tmp, ignore_errors=True)
    return S2FireSimulation(
        pre=results["pre"],
        post=results["post"],
        truth=truth_path,
        truth_severity=truth_tif,
        zones=zones,
        seconds=time.perf_counter() - t0,
        truth_clouds={d: out / f"truth_clouds_{d}.tif" for d in DATES},
        level=level,
    )


def _progress(
    enabled: bool, total: int, level: str = "L2A"
) -> tuple[Callable[[], None], Callable[[], None]]:
    if not enabled:
        return (lambda: None), (lambda: None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task(f"simulating Sentinel-2 {level} fire pair (SIMULATED)", total=total)
    bar.start()

    def tick() -> None:
        bar.update(task, advance=1)

    return tick, bar.stop


def _encode_one(src: Path, dst: Path) -> None:
    import rasterio
    import rasterio.shutil

    dst.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.Env(**GDAL_ENV):
        rasterio.shutil.copy(src, dst, driver="JP2OpenJPEG", **JP2_OPTIONS)
    src.unlink()


def _encode_all(jobs: list[tuple[Path, Path]], tick: Callable[[], None]) -> None:
    """JPEG2000-encode the temporary GeoTIFFs, two at a time (one per core)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        for fut in [pool.submit(_encode_one, s, d) for s, d in jobs]:
            fut.result()
            tick()


def _finish_product(
    out: Path,
    safe: Path,
    grid: Grid,
    date: str,
    names: tuple[str, str],
    baseline: str,
    counts: np.ndarray[Any, Any],
    level: str = "L2A",
) -> Path:
    """Write the XML metadata of one SAFE and move it into ``out`` (replacing any old one)."""
    name, granule = names
    start, orbit = DATES[date]
    total = max(int(counts.sum()), 1)
    valid = max(total - int(counts[0]), 1)
    pct = {k: 100.0 * float(counts[k]) / valid for k in range(1, 12)}
    members = sorted(p.relative_to(safe).as_posix() for p in safe.rglob("*.jp2") if p.is_file())
    info = ProductInfo(
        name=name,
        spacecraft="Sentinel-2A",
        start=start,
        stop=start,
        generation=start.replace(hour=14, minute=30, second=0, microsecond=0),
        baseline=baseline,
        relative_orbit=37,
        absolute_orbit=orbit,
        tile_id=grid.tile_id,
        granule=granule,
        epsg=grid.epsg,
        crs_name=f"WGS84 / UTM zone {grid.epsg % 100}{'N' if grid.epsg < 32700 else 'S'}",
        ulx=grid.ulx,
        uly=grid.uly,
        sizes={r: grid.shape(r) for r in (10, 20, 60)},
        footprint_latlon=_footprint(grid),
        image_files=[m.removesuffix(".jp2") for m in members],
        cloud_pct=pct[8] + pct[9] + pct[10],
        nodata_pct=100.0 * float(counts[0]) / total,
        class_pct=pct,
        level=level,
    )
    mtd = f"MTD_MSI{level}.xml"
    (safe / "GRANULE" / granule / "MTD_TL.xml").write_text(tile_mtd(info))
    (safe / mtd).write_text(product_mtd_l1c(info) if level == "L1C" else product_mtd(info))
    files = [
        (m, (safe / m).stat().st_size, _md5(safe / m))
        for m in [mtd, f"GRANULE/{granule}/MTD_TL.xml", *members]
    ]
    (safe / "manifest.safe").write_text(manifest(info, files))
    final = out / safe.name
    if final.exists():
        shutil.rmtree(final)
    os.replace(safe, final)
    return final


def zip_safe(safe: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None) -> Path:
    """Zip a SAFE directory as distributed (``NAME.zip`` holding ``NAME.SAFE/``), atomically."""
    import zipfile

    src = Path(safe)
    dest = Path(out_dir or src.parent) / (src.name.removesuffix(".SAFE") + ".zip")
    with atomic_path(dest) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for p in sorted(src.rglob("*")):
            if p.is_file():
                zf.write(p, f"{src.name}/{p.relative_to(src).as_posix()}")
    return dest


def write_cog_copy(
    safe: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    bands: tuple[str, ...] = ("B8A", "B12", "SCL"),
    resolution: float = 20,
) -> Path:
    """Convert bands of a SAFE into DEFLATE COGs plus a STAC Item (Earth Search naming).

    See :func:`rus.products.stac.write_cog_copy` (this is the same function).
    """
    from rus.products.stac import write_cog_copy as _write

    return _write(safe, out_dir, bands, resolution)
