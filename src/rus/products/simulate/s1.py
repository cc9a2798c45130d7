"""``rus simulate s1``: write a SIMULATED Sentinel-1 IW GRDH SAFE product with ships.

The product has the real layout (``manifest.safe``, product annotation, calibration and noise
XML, uint16 GeoTIFF measurements with GCPs) and is labelled SIMULATED in its manifest, its XML
comments and its TIFF tags. The scene is generated and written strip by strip (512 lines), so a
full-size scene (16,705 lines x 26,102 pixels) needs about 300 MB of working memory on top of
the GSHHG land mask (roaring-landmask, about 1.3 GB once loaded).
Measurements are written uncompressed and tiled 512 x 512 (real products are uncompressed too;
tiles let readers chunk along both axes). Same seed, same bytes.

See :mod:`rus.products.simulate._s1_scene` for the backscatter model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rus._io import atomic_write_text
from rus.products.errors import ProductError
from rus.products.sentinel1.annotation import SIMULATED_MARK
from rus.products.sentinel1.calibration import VectorGrid
from rus.products.simulate import _s1_scene as scene
from rus.products.simulate import _s1_xml as sx
from rus.products.simulate._s1_geometry import (
    AZIMUTH_TIME_INTERVAL_S,
    SceneGeometry,
    make_geometry,
)
from rus.products.simulate._s1_luts import Luts, gcp_grid, make_luts, vector_lines, vector_pixels

STRIP_LINES = 512
TILE = 512
ABSOLUTE_ORBIT = 53_819
RELATIVE_ORBIT = 22
POL_SETS = {("VV",): "SSV", ("HH",): "SSH", ("VV", "VH"): "SDV", ("HH", "HV"): "SDH"}


@dataclass(frozen=True)
class S1SimulationResult:
    """What :func:`simulate_s1_grd` wrote.

    Attributes
    ----------
    product : Path
        The ``S1A_IW_GRDH_...SAFE`` directory.
    truth : Path
        ``<product name>.truth.geojson`` beside it (one Point per ship).
    ships : list of dict
        The truth properties of each ship (as in the GeoJSON, plus ``lon``/``lat``).
    model : dict
        The radiometric model used (for checks): incidence at near/far range and mean sea
        sigma0 in dB per polarisation there, ENL, whether wind was on.
    """

    product: Path
    truth: Path
    ships: list[dict[str, Any]] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)


def _pols(pols: Sequence[str]) -> tuple[str, ...]:
    ps = tuple(p.strip().upper() for p in pols if p.strip())
    ordered = tuple(sorted(ps, key=lambda p: (scene.is_cross(p), p)))
    if ordered not in POL_SETS:
        raise ProductError(
            f"polarisations {','.join(ps) or '(none)'}: IW GRDH has VV, HH, VV,VH or HH,HV"
        )
    return ordered


def _names(
    geometry: SceneGeometry, pols: tuple[str, ...], seed: int, key: str
) -> tuple[str, dict[str, str], int]:
    start, stop = geometry.start_time, geometry.stop_time
    datatake = 0x060000 + (seed * 7919) % 0xFFFF
    crc = zlib.crc32(key.encode()) & 0xFFFF
    name = (
        f"S1A_IW_GRDH_1{POL_SETS[pols]}_{start:%Y%m%dT%H%M%S}_{stop:%Y%m%dT%H%M%S}_"
        f"{ABSOLUTE_ORBIT:06d}_{datatake:06X}_{crc:04X}"
    )
    stems = {
        pol: (
            f"s1a-iw-grd-{pol.lower()}-{start:%Y%m%dt%H%M%S}-{stop:%Y%m%dt%H%M%S}-"
            f"{ABSOLUTE_ORBIT:06d}-{datatake:06x}-{i + 1:03d}"
        )
        for i, pol in enumerate(pols)
    }
    return name, stems, datatake


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


class _Strip:
    """Per-strip inputs shared by the polarisations: land flag, wind, texture, A**2, noise."""

    def __init__(
        self,
        r0: int,
        r1: int,
        pixels: int,
        mask: scene.LandMask,
        wind_grid: VectorGrid,
        tex_grid: VectorGrid,
        luts: Luts,
    ) -> None:
        rows, cols = np.arange(r0, r1), np.arange(pixels)
        self.r0 = r0
        self.is_land = mask.strip(r0, r1, pixels)
        self.wind = wind_grid.evaluate(rows, cols)
        self.texture = tex_grid.evaluate(rows, cols)
        a2 = luts.sigma.evaluate(rows, cols)
        self.a2 = np.multiply(a2, a2, out=a2)
        self.noise = luts.noise.evaluate(rows, cols)

    def dn(
        self,
        pol: str,
        sea: NDArray[np.float32],
        land: NDArray[np.float32],
        ships: list[scene.Ship],
        rng: np.random.Generator,
    ) -> NDArray[np.uint16]:
        """DN of one polarisation: sqrt((A**2 sigma0 + noise) * speckle + ships), rounded."""
        sigma = np.where(self.is_land, land[None, :] * self.texture, sea[None, :] * self.wind)
        power = np.multiply(self.a2, sigma, dtype=np.float32)
        del sigma
        power += self.noise
        power *= rng.standard_gamma(scene.ENL, size=power.shape, dtype=np.float32)
        power /= np.float32(scene.ENL)
        scene.add_ships(power, self.a2, self.r0, ships, pol, rng)
        np.sqrt(power, out=power)
        np.rint(power, out=power)
        np.clip(power, 1, 65535, out=power)
        return power.astype(np.uint16)


def _write_measurements(
    tmp: Path,
    geometry: SceneGeometry,
    pols: tuple[str, ...],
    stems: dict[str, str],
    luts: Luts,
    gcps: list[sx.GridPoint],
    mask: scene.LandMask,
    ships: list[scene.Ship],
    seed: int,
    wind: bool,
    progress: bool,
) -> dict[str, tuple[float, float]]:
    """Generate and write every polarisation strip by strip; return DN mean/std per pol."""
    import rasterio
    from rasterio.control import GroundControlPoint
    from rasterio.crs import CRS
    from rasterio.windows import Window

    lines, pixels = geometry.shape
    field_rng = np.random.default_rng([seed, 2])
    wind_grid = scene.wind_field(field_rng, geometry.shape, wind)
    tex_grid = scene.land_texture(field_rng, geometry.shape)
    inc = geometry.incidence(np.arange(pixels, dtype=np.float64))
    sea = {p: (10.0 ** (scene.sea_sigma0_db(inc, p) / 10.0)).astype(np.float32) for p in pols}
    land = {p: (10.0 ** (scene.land_sigma0_db(inc, p) / 10.0)).astype(np.float32) for p in pols}
    gcp_objs = [
        GroundControlPoint(row=g.line, col=g.pixel, x=g.lon, y=g.lat, z=0.0, id=str(k + 1))
        for k, g in enumerate(gcps)
    ]
    profile = {
        "driver": "GTiff",
        "dtype": "uint16",
        "width": pixels,
        "height": lines,
        "count": 1,
        "tiled": True,
        "blockxsize": TILE,
        "blockysize": TILE,
        "compress": "none",
    }
    (tmp / "measurement").mkdir(parents=True, exist_ok=True)
    paths = {pol: tmp / "measurement" / f"{stems[pol]}.tiff" for pol in pols}
    stats = {p: [0.0, 0.0, 0] for p in pols}
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task(f"simulating {lines}x{pixels} S1 GRD (SIMULATED)", total=lines)
    dsts: dict[str, Any] = {}
    try:
        # a small GDAL block cache, and a close/reopen every few strips, keep the dirty tiles
        # GDAL holds for the writer bounded (its default cache is 5 % of the RAM)
        with rasterio.Env(GDAL_CACHEMAX=128 * 2**20):
            for pol in pols:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                    dst = rasterio.open(paths[pol], "w", **profile)
                dst.gcps = (gcp_objs, CRS.from_epsg(4326))
                dst.update_tags(
                    TIFFTAG_IMAGEDESCRIPTION=f"Sentinel-1A IW GRD HR L1 {pol} ({SIMULATED_MARK})",
                    TIFFTAG_SOFTWARE=f"rus simulate s1 ({SIMULATED_MARK})",
                )
                dsts[pol] = dst
            for k, r0 in enumerate(range(0, lines, STRIP_LINES)):
                r1 = min(lines, r0 + STRIP_LINES)
                strip = _Strip(r0, r1, pixels, mask, wind_grid, tex_grid, luts)
                for j, pol in enumerate(pols):
                    rng = np.random.default_rng([seed, 3, k, j])
                    dn = strip.dn(pol, sea[pol], land[pol], ships, rng)
                    s = stats[pol]
                    s[0] += float(dn.sum(dtype=np.float64))
                    s[1] += float(np.square(dn.astype(np.float32)).sum(dtype=np.float64))
                    s[2] += dn.size
                    dsts[pol].write(dn, 1, window=Window(0, r0, pixels, r1 - r0))
                del strip
                if k % 4 == 3:
                    for pol in pols:
                        dsts[pol].close()
                        dsts[pol] = rasterio.open(paths[pol], "r+")
                if bar is not None:
                    bar.update(task, advance=r1 - r0)
    finally:
        for dst in dsts.values():
            dst.close()
        if bar is not None:
            bar.stop()
    out = {}
    for pol, (s1, s2, n) in stats.items():
        mean = s1 / n
        out[pol] = (mean, float(np.sqrt(max(s2 / n - mean * mean, 0.0))))
    return out


def simulate_s1_grd(
    out_dir: str | os.PathLike[str],
    *,
    shape: tuple[int, int] | None = None,
    ships: int = 50,
    seed: int = 0,
    aoi: str = "trieste",
    pols: Sequence[str] = ("VV", "VH"),
    progress: bool = False,
    wind: bool = True,
) -> S1SimulationResult:
    """Write a SIMULATED Sentinel-1A IW GRDH SAFE product and its ship truth.

    Parameters
    ----------
    out_dir : path-like
        Folder that receives ``S1A_IW_GRDH_1SDV_..._XXXX.SAFE`` and
        ``<name>.truth.geojson`` (an existing product of the same name is replaced).
    shape : (int, int), optional
        ``(lines, pixels)``; lines run along track. A full IW GRDH scene is
        16,705 x 26,102. ``None``: the WKT AOI's extent, or 2000 x 3000 for a named AOI.
    ships : int
        Ships to place (at sea, >= ~1 km from the coast); fewer are placed, with a warning, if
        the sea is too small.
    seed : int
        Random seed: same seed and arguments give the same bytes.
    aoi : str
        ``"trieste"`` (Gulf of Trieste, descending pass) or a WKT polygon in lon/lat whose
        centroid becomes the scene centre.
    pols : sequence of str
        ``("VV",)``, ``("HH",)``, ``("VV", "VH")`` or ``("HH", "HV")``.
    progress : bool
        Show a progress bar.
    wind : bool
        Modulate sea clutter with wind patches (``False`` gives the plain incidence trend).

    Returns
    -------
    S1SimulationResult
    """
    if ships < 0:
        raise ProductError(f"ships={ships}: must be >= 0")
    pol_t = _pols(pols)
    geometry = make_geometry(aoi, shape)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    key = json.dumps([seed, geometry.shape, aoi, pol_t, ships, wind])
    name, stems, datatake = _names(geometry, pol_t, seed, key)
    gcps, geoloc = gcp_grid(geometry)
    luts = make_luts(geometry, np.random.default_rng([seed, 1]))
    mask = scene.LandMask(geoloc)
    ship_list = scene.place_ships(np.random.default_rng([seed, 4]), geometry, mask, ships)
    if len(ship_list) < ships:
        warnings.warn(
            f"placed {len(ship_list)} of {ships} ships: not enough open sea >= 1 km from the "
            f"coast in this scene",
            stacklevel=2,
        )
    final = out / f"{name}.SAFE"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=out))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        _write_product(
            tmp, geometry, pol_t, stems, datatake, luts, gcps, mask, ship_list, seed, wind, progress
        )
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    truth_path = out / f"{name}.truth.geojson"
    features = []
    props_list = []
    for s in ship_list:
        lon, lat = geometry.lonlat(s.line, s.pixel)
        props = s.truth(float(lon), float(lat))
        props_list.append({**props, "lon": float(lon), "lat": float(lat)})
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(lon), 7), round(float(lat), 7)],
                },
                "properties": props,
            }
        )
    doc = {
        "type": "FeatureCollection",
        "name": f"{name} ship truth ({SIMULATED_MARK})",
        "product": name,
        "simulated": True,
        "features": features,
    }
    atomic_write_text(truth_path, json.dumps(doc, indent=1) + "\n")
    cols = np.array([0.0, geometry.shape[1] - 1.0])
    inc = geometry.incidence(cols)
    model = {
        "incidence_near_far_deg": [float(v) for v in inc],
        "sea_sigma0_db_near_far": {
            p: [float(v) for v in scene.sea_sigma0_db(inc, p)] for p in pol_t
        },
        "enl": scene.ENL,
        "wind": wind,
        "simulated": True,
    }
    return S1SimulationResult(final, truth_path, props_list, model)


def _write_product(
    tmp: Path,
    geometry: SceneGeometry,
    pols: tuple[str, ...],
    stems: dict[str, str],
    datatake: int,
    luts: Luts,
    gcps: list[sx.GridPoint],
    mask: scene.LandMask,
    ships: list[scene.Ship],
    seed: int,
    wind: bool,
    progress: bool,
) -> None:
    """Write measurement, annotation, calibration, noise and manifest into ``tmp``."""
    start, stop = geometry.start_time, geometry.stop_time
    lines, pixels = geometry.shape
    anx = start - timedelta(seconds=2952.125)
    stats = _write_measurements(
        tmp, geometry, pols, stems, luts, gcps, mask, ships, seed, wind, progress
    )
    vec_lines = vector_lines(lines)
    times = [start + timedelta(seconds=v * AZIMUTH_TIME_INTERVAL_S) for v in vec_lines]
    pix = vector_pixels(pixels)
    objects: list[sx.DataObject] = []
    for i, pol in enumerate(pols):
        header = sx.Header("S1A", pol, start, stop, ABSOLUTE_ORBIT, datatake, f"{i + 1:03d}")
        stem = stems[pol]
        info = sx.ImageInfo(
            ascending_node=anx,
            slant_range_time=float(geometry.slant_range_time(0.0)),
            lines=lines,
            pixels=pixels,
            incidence_mid=float(geometry.incidence((pixels - 1) / 2.0)),
            dn_mean=stats[pol][0],
            dn_std=stats[pol][1],
            pass_direction=geometry.pass_direction,
            heading=geometry.heading_deg - 360.0
            if geometry.heading_deg > 180
            else geometry.heading_deg,
        )
        files = {
            f"annotation/{stem}.xml": (
                "product",
                "s1Level1ProductSchema",
                sx.annotation_xml(header, info, gcps),
            ),
            f"annotation/calibration/calibration-{stem}.xml": (
                "calibration",
                "s1Level1CalibrationSchema",
                sx.calibration_xml(header, times, vec_lines, pix, luts.cal_text),
            ),
            f"annotation/calibration/noise-{stem}.xml": (
                "noise",
                "s1Level1NoiseSchema",
                sx.noise_xml(header, times, vec_lines, pix, luts.noise_text, luts.azimuth),
            ),
        }
        for member, (prefix, rep, text) in files.items():
            path = tmp / member
            atomic_write_text(path, text)
            objects.append(
                sx.DataObject(
                    f"{prefix}{stem.replace('-', '')}",
                    rep,
                    f"./{member}",
                    "text/xml",
                    path.stat().st_size,
                    _md5(path),
                )
            )
        tiff = tmp / "measurement" / f"{stem}.tiff"
        objects.append(
            sx.DataObject(
                stem.replace("-", ""),
                "s1Level1MeasurementSchema",
                f"./measurement/{stem}.tiff",
                "application/octet-stream",
                tiff.stat().st_size,
                _md5(tiff),
            )
        )
    _gl, gp = geometry.gcp_axes()
    n_p = gp.size
    corner_idx = [0, n_p - 1, len(gcps) - 1, len(gcps) - n_p]
    corners = [gcps[k] for k in corner_idx]
    minfo = sx.ManifestInfo(
        mission_letter="A",
        pols=pols,
        start=start,
        stop=stop,
        absolute_orbit=ABSOLUTE_ORBIT,
        relative_orbit=RELATIVE_ORBIT,
        pass_direction=geometry.pass_direction,
        ascending_node=anx,
        datatake=datatake,
        footprint=[(c.lon, c.lat) for c in corners],
        seed=seed,
    )
    atomic_write_text(tmp / "manifest.safe", sx.manifest_xml(minfo, objects))
