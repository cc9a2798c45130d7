"""``run_burned_area``: the whole chain from two products to the files a user opens in QGIS."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rus._io import atomic_write_text
from rus.chains.burned_area._jobs import SharedQueue
from rus.chains.burned_area.core import (
    BurnComputation,
    compute_stage,
    finish_stage,
    index_attrs,
)
from rus.chains.burned_area.params import BurnParams
from rus.chains.burned_area.writers import (
    write_float_cog,
    write_quicklook,
    write_severity_cog,
)
from rus.chains.errors import ChainError
from rus.toolbox import burn

#: Output files, in the order they are written.
OUTPUTS = (
    "dnbr.tif",
    "rbr.tif",
    "rdnbr.tif",
    "severity.tif",
    "burned.gpkg",
    "burned.kml",
    "quicklook.png",
    "stats.json",
    "item.json",
)

#: Steps reported to the ``progress`` callback, in order.
STEPS = (
    "decode and compute",
    "write rasters, vectorise, quicklook",
    "minimum mapping unit",
    "statistics",
    "vectorise",
    "quicklook",
    "wait for raster writes",
)


@dataclass
class BurnRun:
    """What :func:`run_burned_area` produced."""

    out_dir: Path
    files: dict[str, Path]
    stats: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


class _Timer:
    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self.times: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name)
        t0, c0 = time.perf_counter(), time.process_time()
        yield
        self.times[name] = round(time.perf_counter() - t0, 3)
        self.cpu[name] = round(time.process_time() - c0, 3)


def _preload() -> None:
    """Import what the steps after the decode need (Pillow, vector I/O, numba kernels) meanwhile.

    Runs on a side thread while GDAL decodes without the GIL (``compute_stage(background=)``),
    so that these imports are off the critical path after the decode. Started once the decode
    runs, not before: imports hold the GIL and would slow the main thread's own start-up.
    """
    import PIL.ImageDraw  # noqa: F401
    import pyogrio  # noqa: F401
    import rasterio.features  # noqa: F401
    import scipy.ndimage  # noqa: F401

    # numba and the statistics kernels: the first call in a process loads them from the
    # on-disk cache (about 0.4 s), so make it here, with arguments of the real types
    burn.class_statistics(np.zeros((1, 1), np.uint8), 1.0, index=np.zeros((1, 1), np.float32))
    burn.count_outside(np.zeros(1, np.float32), -0.5, 1.3)


def _index_tags(attrs: dict[str, Any], simulated: bool) -> dict[str, Any]:
    return {
        "units": attrs.get("units", "1"),
        "long_name": attrs.get("long_name", ""),
        "scale": attrs.get("scale", ""),
        "usgs_scale_note": attrs.get("usgs_scale_note", ""),
        "masked": "NaN where masked (cloud mask: SCL classes or s2cloudless; no data)",
        "simulated": "SIMULATED inputs" if simulated else "no",
    }


def write_vectors(severity: np.ndarray, comp: BurnComputation, out: Path) -> dict[str, int]:
    """``burned.gpkg`` (layers ``burned_severity`` and ``burned_perimeter``) and ``burned.kml``."""
    from rus.chains.outputs import write_gpkg, write_kml

    ds = comp.dataset
    transform, crs = ds.rio.transform(), ds.rio.crs
    polys = burn.vectorize_severity(
        severity, transform, crs, connectivity=int(ds.attrs.get("connectivity", 8))
    )
    polys["simulated"] = comp.simulated
    perimeters = burn.burned_perimeters(polys)
    perimeters["simulated"] = comp.simulated
    write_gpkg({"burned_severity": polys, "burned_perimeter": perimeters}, out / "burned.gpkg")
    colors = {c.code: c.color for c in burn.SEVERITY_CLASSES}
    write_kml(
        polys,
        out / "burned.kml",
        name=lambda r: f"{r['severity']}: {r['area_ha']:.2f} ha",
        description=lambda r: (
            f"Burn severity class {r['severity_code']} ({r['severity']}), {r['area_ha']:.2f} ha, "
            f"patch {r['patch_id']}" + (" (SIMULATED data)" if r["simulated"] else "")
        ),
        document_name="Burned area" + (" (SIMULATED)" if comp.simulated else ""),
        color_field="severity_code",
        colors=colors,
    )
    return {"polygons": len(polys), "perimeters": len(perimeters)}


def _footprint_lonlat(comp: BurnComputation) -> Any:
    from rasterio.warp import transform_geom
    from shapely.geometry import box, mapping, shape

    ds = comp.dataset
    left, bottom, right, top = ds.rio.bounds()
    geom = transform_geom(ds.rio.crs, "EPSG:4326", mapping(box(left, bottom, right, top)))
    return shape(geom)


def _input_info(bands: Any, cloud_method: str | None = None) -> dict[str, Any]:
    m = bands.product.metadata
    t = getattr(m, "sensing_time", None)
    return {
        "source": bands.source,
        "mission": getattr(m, "mission", None),
        "product_type": getattr(m, "product_type", None),
        "sensing_time": t.isoformat() if t else None,
        "tile_id": getattr(m, "tile_id", None),
        "cloud_cover": getattr(m, "cloud_cover", None),
        "simulated": bool(getattr(m, "simulated", False)),
        "nir_band": bands.nir_name,
        "swir2_band": bands.swir2_name,
        "scl": bands.scl is not None,
        "cloud_mask": cloud_method,
        "reprojected": bool(bands.nir.attrs.get("reprojected")),
    }


def build_stats(
    comp: BurnComputation, params: BurnParams, vectors: dict[str, int]
) -> dict[str, Any]:
    """The content of ``stats.json``."""
    ds = comp.dataset
    severity = ds["severity"].to_numpy()
    index = ds[params.index].to_numpy()
    stats = burn.class_statistics(
        severity,
        float(abs(ds.rio.transform().a * ds.rio.transform().e)),
        index=index,
        index_name=params.index,
    )
    dnbr = ds["dnbr"].to_numpy()
    lo, hi = burn.USGS_RANGE
    grid_t = ds.rio.transform()
    return {
        "simulated": comp.simulated,
        "title": ds.attrs["title"],
        "pre_fire": _input_info(comp.pre, comp.cloud_methods.get("pre")),
        "post_fire": _input_info(comp.post, comp.cloud_methods.get("post")),
        "classified_index": params.index,
        "index_scale": "unitless (NOT x1000); USGS thresholds / 1000",
        "boundary_convention": "lower bound inclusive, upper bound exclusive",
        "burned_ha": stats["burned_ha"],
        "burned_definition": "classes 4..7 (low severity and above) after the minimum mapping unit",
        "masked_fraction": stats["masked_fraction"],
        "valid_pixels": stats["valid_pixels"],
        "masked_pixels": stats["masked_pixels"],
        "total_pixels": stats["total_pixels"],
        "mask_counts": comp.counts,
        "classes": stats["classes"],
        "dnbr_outside_usgs_range_pixels": burn.count_outside(dnbr, lo / 1000, hi / 1000),
        "minimum_mapping_unit": {"ha": params.min_mapping_unit_ha, **comp.mmu},
        "vectors": vectors,
        "grid": {
            "crs": str(ds.rio.crs),
            "transform": list(grid_t)[:6],
            "shape": list(severity.shape),
            "resolution_m": ds.attrs["resolution_m"],
            "post_reprojected": bool(comp.post.nir.attrs.get("reprojected")),
        },
        "warnings": comp.warnings,
        "parameters": params.model_dump(mode="json"),
    }


def _assets(simulated: bool) -> dict[str, Any]:
    from rus.chains.outputs import Asset

    sim = " (SIMULATED inputs)" if simulated else ""
    cog = "image/tiff; application=geotiff; profile=cloud-optimized"
    return {
        "dnbr": Asset("dnbr.tif", cog, ("data",), "dNBR" + sim, "unitless, not x1000"),
        "rbr": Asset("rbr.tif", cog, ("data",), "RBR" + sim, "unitless, not x1000"),
        "rdnbr": Asset("rdnbr.tif", cog, ("data",), "RdNBR" + sim, "unitless, not x1000"),
        "severity": Asset(
            "severity.tif",
            cog,
            ("data", "classification"),
            "Burn severity classes" + sim,
            "uint8 codes 0..7 (0 masked), colour table, category names in .aux.xml",
        ),
        "burned": Asset(
            "burned.gpkg",
            "application/geopackage+sqlite3",
            ("data",),
            "Burned-area polygons" + sim,
            "layers burned_severity and burned_perimeter",
        ),
        "kml": Asset(
            "burned.kml",
            "application/vnd.google-earth.kml+xml",
            ("data",),
            "Burned-area polygons for Google Earth" + sim,
        ),
        "severity_style": Asset(
            "severity.qml",
            "text/xml",
            ("style",),
            "QGIS style of severity.tif",
            "paletted renderer with the class colours and names",
        ),
        "stats": Asset("stats.json", "application/json", ("metadata",), "Statistics" + sim),
        "quicklook": Asset("quicklook.png", "image/png", ("overview",), "Quicklook" + sim),
    }


def run_burned_area(
    pre: Any,
    post: Any,
    out_dir: str | os.PathLike[str],
    params: BurnParams | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> BurnRun:
    """Run the burned-area chain and write every output into ``out_dir``.

    Parameters
    ----------
    pre, post
        Pre- and post-fire products: paths (Sentinel-2 SAFE dir/zip, STAC Item, Landsat
        ``*_MTL.txt``, GeoTIFF) or opened products.
    out_dir
        Output folder (created). Existing outputs are replaced atomically, one file at a time.
    params
        :class:`BurnParams`.
    progress
        Called with the name of each step as it starts.

    Returns
    -------
    BurnRun
        Paths of the outputs, the statistics (also in ``stats.json``) and the warnings.
    """
    from rus.chains.outputs import run_item, write_run_item

    params = params or BurnParams()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ChainError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    timer = _Timer(progress)
    with timer.step("decode and compute"):
        stage = compute_stage(pre, post, params, background=_preload)
    transform, crs = stage.transform, stage.crs
    files: dict[str, Path] = {}
    attrs = index_attrs()
    # a helper thread compresses the rasters (GDAL copies with the GIL released) while this
    # thread cleans, counts, vectorises and draws; then this thread takes the writes still
    # queued (see _jobs.SharedQueue): both cores busy to the end
    writers = SharedQueue("burn-writer")
    futures: dict[str, Future[Any]] = {}
    try:
        with timer.step("write rasters, vectorise, quicklook"):
            for name in ("rbr", "dnbr", "rdnbr"):
                futures[name] = writers.submit(
                    write_float_cog,
                    getattr(stage.fused, name),
                    out / f"{name}.tif",
                    transform=transform,
                    crs=crs,
                    description=str(attrs[name]["long_name"]),
                    tags=_index_tags(attrs[name], stage.simulated),
                    overviews=params.index_overviews,
                )
            with timer.step("minimum mapping unit"):
                comp = finish_stage(stage)
            ds = comp.dataset
            severity = ds["severity"].to_numpy()
            sev_tags = {
                "long_name": ds["severity"].attrs["long_name"],
                "boundary_convention": "lower bound inclusive, upper bound exclusive",
                "thresholds": ",".join(f"{v:g}" for v in params.thresholds),
                "simulated": "SIMULATED inputs" if comp.simulated else "no",
            }
            futures["severity"] = writers.submit(
                write_severity_cog, severity, out / "severity.tif",
                transform=transform, crs=crs, tags=sev_tags,
            )  # fmt: skip
            with timer.step("statistics"):
                stats = build_stats(comp, params, {})
            with timer.step("vectorise"):
                stats["vectors"] = write_vectors(severity, comp, out)
                files["burned"], files["kml"] = out / "burned.gpkg", out / "burned.kml"
            with timer.step("quicklook"):
                t0, t1 = comp.times.get("pre"), comp.times.get("post")
                dates = f"{t0:%Y-%m-%d} -> {t1:%Y-%m-%d}" if t0 and t1 else "dates unknown"
                files["quicklook"] = write_quicklook(
                    comp.quicklook_rgb,
                    severity,
                    out / "quicklook.png",
                    title=f"Burn severity ({params.index.upper()}), {dates}"
                    + (" - SIMULATED DATA" if comp.simulated else ""),
                    simulated=comp.simulated,
                    burned_ha=float(stats["burned_ha"]),
                )
            with timer.step("wait for raster writes"):
                writers.help_and_wait()
    finally:
        writers.help_and_wait()  # never leave a write running behind an error
    files["severity"], files["severity_aux"], files["severity_qml"] = futures.pop(
        "severity"
    ).result()
    for name, fut in futures.items():
        files[name] = fut.result()
    stats["timings_s"] = timer.times
    stats["cpu_s"] = timer.cpu
    files["stats"] = atomic_write_text(
        out / "stats.json", json.dumps(stats, indent=2, default=str) + "\n"
    )
    when = comp.times.get("post") or comp.times.get("pre") or datetime.now(UTC)
    item = run_item(
        item_id=f"burn-{Path(comp.pre.source).stem}-{Path(comp.post.source).stem}",
        geometry=_footprint_lonlat(comp),
        datetime=when,
        inputs=[comp.pre.source, comp.post.source],
        parameters=params.model_dump(mode="json"),
        assets=_assets(comp.simulated),
        properties={
            "rus:burned_ha": stats["burned_ha"],
            "rus:masked_fraction": stats["masked_fraction"],
            "rus:warnings": comp.warnings,
        },
        simulated=comp.simulated,
    )
    files["item"] = write_run_item(out / "item.json", item)
    return BurnRun(out_dir=out, files=files, stats=stats, warnings=comp.warnings)
