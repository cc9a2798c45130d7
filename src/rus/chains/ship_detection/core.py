"""The detection core: land mask -> CFAR -> clustering -> discrimination -> attributes.

Everything that touches pixels runs in one dask computation (each chunk is read and calibrated
once); clustering and attributes then work on the sparse table of flagged pixels only.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rus.chains.errors import ChainError
from rus.chains.ship_detection.inputs import Scene
from rus.chains.ship_detection.params import ShipDetectionParams
from rus.toolbox.errors import ToolboxError
from rus.toolbox.sar.attributes import SHIP_COLUMNS, ship_attributes
from rus.toolbox.sar.cfar import (
    CfarWindows,
    cfar_numpy,
    pfa_to_threshold,
    safe_chunks,
    windows_from_metres,
)
from rus.toolbox.sar.cluster import PixelTable, block_pixels, label_pixels
from rus.toolbox.sar.discrimination import cluster_boxes, discriminate
from rus.toolbox.sar.land_check import GshhgLookup, detections_on_land
from rus.toolbox.sar.masking import GridMask, Predicate, grid_cells, user_predicate


class ShipDetectionWarning(UserWarning):
    """A run that completed with a caveat (empty scene, clipped windows...)."""


#: Scenes larger than this (pixels) look the GSHHG mask up in a worker process.
ISOLATE_LANDMASK_PIXELS = 100_000_000

#: Longest side of the quicklook image in pixels (the scene is decimated to fit).
QUICKLOOK_SIDE = 1600


@dataclass
class Detection:
    """Result of :func:`detect_in_scene`.

    Attributes
    ----------
    ships
        GeoDataFrame (EPSG:4326 points) with the columns of :data:`SHIP_COLUMNS`.
    land
        Land mask used (buffered per block), or None.
    quicklook
        Decimated linear intensity (every ``quicklook_step``-th line and pixel).
    quicklook_step
        Decimation factor of ``quicklook``.
    windows, threshold
        CFAR windows (pixels) and threshold multiplier.
    flagged_pixels, clusters
        Pixels flagged by the CFAR and clusters before the size test.
    valid_pixels
        Pixels that were neither no-data nor masked.
    warnings
        Caveats of the run.
    timings
        Seconds per stage.
    removed_on_land
        Detections removed by the exact land test (their centre or a pixel on land that the
        cell mask missed, e.g. an islet smaller than a mask cell): ``lon``, ``lat``, ``row``,
        ``col``, ``npix`` and ``length_m`` of each.
    """

    ships: Any
    land: GridMask | None
    quicklook: npt.NDArray[np.float32]
    quicklook_step: int
    windows: CfarWindows
    threshold: float
    flagged_pixels: int
    clusters: int
    valid_pixels: int
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    removed_on_land: list[dict[str, float]] = field(default_factory=list)


def compute(*objs: Any, scheduler: Any = None) -> tuple[Any, ...]:
    """``dask.compute`` on the local threads, a named scheduler, a Client, or an address.

    Parameters
    ----------
    objs
        Dask collections / delayed objects.
    scheduler
        None (threads on all cores), ``"threads"``, ``"synchronous"``, a
        :class:`distributed.Client`, or a scheduler address such as ``tcp://127.0.0.1:8786``.
    """
    import dask as _dask

    dask: Any = _dask

    if scheduler is None:
        return tuple(dask.compute(*objs, scheduler="threads"))
    if isinstance(scheduler, str) and scheduler in ("threads", "synchronous", "sync"):
        return tuple(dask.compute(*objs, scheduler=scheduler))
    if isinstance(scheduler, str):
        import distributed as _distributed

        Client: Any = _distributed.Client

        try:
            client = Client(scheduler, timeout="20s", set_as_default=False)
        except OSError as exc:
            raise ChainError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from exc
        with client:
            return tuple(dask.compute(*objs, scheduler=client))
    return tuple(dask.compute(*objs, scheduler=scheduler))


def land_source(
    scene: Scene, params: ShipDetectionParams, *, exact: bool = True
) -> tuple[GridMask | None, Predicate | None]:
    """The scene's land mask (GSHHG, user file, or none) and its exact ``(lon, lat)`` land test.

    The mask is kept per 4 x 4 pixel cell with the shoreline buffer; the exact test (GSHHG
    polygons or the user's file) checks the detections at the end (None with ``exact=False``).
    Big scenes in a fresh process (the CLI) look GSHHG up in worker processes, so that its
    1.3 GB lookup structure never adds to this process's memory; the exact test then uses the
    GSHHG polygons clipped to the scene.
    """
    if params.land_mask == "none":
        return None, None
    if params.land_mask == "gshhg":
        from rus.products.landmask import is_loaded

        big = scene.shape[0] * scene.shape[1] > ISOLATE_LANDMASK_PIXELS
        gshhg = GshhgLookup(isolate=big and not is_loaded(), exact=exact)
        try:
            cells = gshhg.cells(scene.to_lonlat, scene.shape)
        except ToolboxError as exc:
            raise ChainError(f"{scene.name}: {exc}") from exc
        mask = GridMask(cells, 4, scene.shape, scene.spacing, params.shoreline_buffer_m)
        return mask, (gshhg.is_land if exact else None)
    try:
        pred = user_predicate(Path(params.land_mask))
        cells = grid_cells(pred, scene.to_lonlat, scene.shape)
    except ToolboxError as exc:
        raise ChainError(str(exc)) from exc
    mask = GridMask(cells, 4, scene.shape, scene.spacing, params.shoreline_buffer_m)
    return mask, (pred if exact else None)


def land_mask(scene: Scene, params: ShipDetectionParams) -> GridMask | None:
    """The land mask of the scene (GSHHG, user file, or none) with the shoreline buffer."""
    return land_source(scene, params, exact=False)[0]


def _warn(msgs: list[str], text: str) -> None:
    msgs.append(text)
    warnings.warn(text, ShipDetectionWarning, stacklevel=3)


def empty_ships() -> Any:
    """An empty ships GeoDataFrame with the documented columns (EPSG:4326)."""
    import geopandas as gpd
    import pandas as _pd  # type: ignore[import-untyped]

    pd: Any = _pd
    cols = {c: pd.Series(dtype="float64") for c in SHIP_COLUMNS}
    df = pd.DataFrame(cols).astype({"id": "int64", "npix": "int64"})
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy([], []), crs="EPSG:4326")


@dataclass(frozen=True)
class BlockResult:
    """What one processing block hands back: its flagged pixels, valid count and quicklook."""

    table: PixelTable
    valid: int
    quicklook: npt.NDArray[np.float32]
    ql_row: int
    ql_col: int


def detect_block(
    padded: npt.NDArray[np.float32],
    r0: int,
    c0: int,
    depth: int,
    windows: CfarWindows,
    t: float,
    floor: float,
    mask: GridMask | None,
    step: int,
) -> BlockResult:
    """Mask, CFAR and pixel extraction of one block given with a halo of ``depth`` pixels.

    Parameters
    ----------
    padded
        Intensity of rows ``r0 - depth .. r1 + depth`` (NaN beyond the image).
    r0, c0
        Image position of the block's first interior pixel.
    depth
        Halo width (half the background window).
    windows, t, floor
        CFAR parameters.
    mask
        Land mask (buffered per block) or None.
    step
        Quicklook decimation (lines and pixels that are multiples of ``step`` are kept).
    """
    rows_p, cols_p = padded.shape
    r1, c1 = r0 + rows_p - 2 * depth, c0 + cols_p - 2 * depth
    x = np.asarray(padded, dtype=np.float32)
    off_r, off_c = (-r0) % step, (-c0) % step
    ql = np.array(x[depth + off_r : depth + r1 - r0 : step, depth + off_c : depth + c1 - c0 : step])
    if mask is not None:
        m = mask.block(r0 - depth, r1 + depth, c0 - depth, c1 + depth)
        if m.any():
            x = np.where(m, np.float32(np.nan), x)
    flag, clutter = cfar_numpy(x, windows, t, floor=floor, margin=depth)
    inner = (slice(depth, depth + r1 - r0), slice(depth, depth + c1 - c0))
    table = block_pixels(flag[inner], x[inner], clutter[inner], r0, c0)
    valid = int(np.count_nonzero(~np.isnan(x[inner])))
    return BlockResult(table, valid, ql, (r0 + off_r) // step, (c0 + off_c) // step)


def _blocks(
    data: Any,
    windows: CfarWindows,
    t: float,
    floor: float,
    mask: GridMask | None,
    step: int,
) -> list[Any]:
    """One delayed :func:`detect_block` per chunk of ``data`` (with a NaN-padded halo)."""
    import dask as _dask
    import dask.array as _da

    dask: Any = _dask
    da: Any = _da
    depth = windows.halo
    arr = data if isinstance(data, da.Array) else da.from_array(data)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    safe = tuple(safe_chunks(tuple(c), depth) for c in arr.chunks)
    if safe != arr.chunks:
        arr = arr.rechunk(safe)
    padded = da.overlap.overlap(arr, depth={0: depth, 1: depth}, boundary={0: np.nan, 1: np.nan})
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]) for c in arr.chunks]
    pieces = padded.to_delayed()
    fn = dask.delayed(detect_block, pure=True)
    mask_d = dask.delayed(mask, pure=True) if mask is not None else None
    return [
        fn(pieces[i, j], int(r0), int(c0), depth, windows, t, floor, mask_d, step)
        for i, r0 in enumerate(starts[0])
        for j, c0 in enumerate(starts[1])
    ]


def _assemble_quicklook(
    parts: list[BlockResult], shape: tuple[int, int], step: int
) -> npt.NDArray[np.float32]:
    out = np.full((-(-shape[0] // step), -(-shape[1] // step)), np.nan, np.float32)
    for p in parts:
        h, w = p.quicklook.shape
        out[p.ql_row : p.ql_row + h, p.ql_col : p.ql_col + w] = p.quicklook
    return out


def remove_on_land(
    attrs: Any,
    table: PixelTable,
    labels: npt.NDArray[np.int64],
    keep: npt.NDArray[np.bool_],
    scene: Scene,
    exact: Predicate,
) -> tuple[Any, list[dict[str, float]]]:
    """Drop detections whose centre or any pixel is on land by the exact test; renumber ids.

    Parameters
    ----------
    attrs
        Attribute table of the kept clusters (ordered by label, as from ``ship_attributes``).
    table, labels, keep
        Flagged pixels, their cluster labels and the clusters kept by the size test.
    scene
        The scene (for its geolocation).
    exact
        ``(lon, lat) -> bool``, True on land.

    Returns
    -------
    (attributes of the remaining detections, the removed ones as dicts).
    """
    if len(attrs) == 0:
        return attrs, []
    sel = keep[labels]
    remap = np.full(keep.size, -1, np.int64)
    remap[np.nonzero(keep)[0]] = np.arange(int(keep.sum()))
    on_land = detections_on_land(
        table.rows[sel],
        table.cols[sel],
        remap[labels[sel]],
        attrs["row"].to_numpy(np.float64),
        attrs["col"].to_numpy(np.float64),
        scene.to_lonlat,
        exact,
    )
    if not on_land.any():
        return attrs, []
    cols = ["lon", "lat", "row", "col", "npix", "length_m"]
    removed = [
        {k: float(v) for k, v in rec.items()} for rec in attrs.loc[on_land, cols].to_dict("records")
    ]
    kept = attrs.loc[~on_land].reset_index(drop=True)
    kept["id"] = np.arange(1, len(kept) + 1, dtype=np.int64)
    return kept, removed


def _removed_message(name: str, removed: list[dict[str, float]], source: str) -> str:
    where = "; ".join(f"{d['lon']:.5f} E {d['lat']:.5f} N" for d in removed[:5])
    more = f" and {len(removed) - 5} more" if len(removed) > 5 else ""
    return (
        f"{name}: {len(removed)} detection(s) removed because they touch land by the exact "
        f"{source} test although the 4-pixel land-mask cells called them sea (islets or "
        f"shoreline details smaller than a cell): {where}{more}"
    )


def detect_in_scene(
    scene: Scene, params: ShipDetectionParams, *, scheduler: Any = None
) -> Detection:
    """Detect ships in an opened scene (see :func:`rus.chains.ship_detection.detect_ships`)."""
    msgs: list[str] = []
    rows, cols = scene.shape
    mean_spacing = 0.5 * (scene.spacing[0] + scene.spacing[1])
    try:
        windows = windows_from_metres(
            params.target_window_m, params.guard_window_m, params.background_window_m, mean_spacing
        )
        t = pfa_to_threshold(params.pfa)
    except ToolboxError as exc:
        raise ChainError(str(exc)) from exc
    if windows.background > min(rows, cols):
        _warn(
            msgs,
            f"the background window ({windows.background} px) is larger than the image "
            f"({rows} x {cols} px): ring statistics use the clipped window",
        )
    t0 = time.perf_counter()
    land, exact = land_source(scene, params)
    timings = {"land_mask_s": time.perf_counter() - t0}
    return _detect(scene, params, windows, t, land, exact, msgs, timings, scheduler)


def _detect(
    scene: Scene,
    params: ShipDetectionParams,
    windows: CfarWindows,
    t: float,
    land: GridMask | None,
    exact: Predicate | None,
    msgs: list[str],
    timings: dict[str, float],
    scheduler: Any,
) -> Detection:
    """:func:`detect_in_scene` once the land mask is known."""
    import geopandas as gpd

    rows, cols = scene.shape
    step = max(1, math.ceil(max(rows, cols) / QUICKLOOK_SIDE))
    if land is not None and land.all():
        _warn(msgs, f"{scene.name}: the scene is entirely on land (after the buffer): no ships")
        ql = compute(scene.intensity.data[::step, ::step], scheduler=scheduler)[0]
        return Detection(
            empty_ships(),
            land,
            np.asarray(ql, np.float32),
            step,
            windows,
            t,
            0,
            0,
            0,
            msgs,
            timings,
        )

    t0 = time.perf_counter()
    parts = list(
        compute(
            *_blocks(scene.intensity.data, windows, t, params.floor, land, step),
            scheduler=scheduler,
        )
    )
    timings["read_calibrate_cfar_s"] = time.perf_counter() - t0
    table = PixelTable.concat([p.table for p in parts])
    ql = _assemble_quicklook(parts, scene.shape, step)
    n_valid = sum(p.valid for p in parts)
    if n_valid == 0:
        _warn(msgs, f"{scene.name}: no valid (unmasked, non-no-data) pixel in the scene: no ships")

    t0 = time.perf_counter()
    labels, n = label_pixels(table.rows, table.cols)
    boxes = cluster_boxes(table.rows, table.cols, labels, n)
    keep = discriminate(boxes, scene.spacing, params.min_size_m, params.max_size_m)
    attrs = ship_attributes(
        table,
        labels,
        boxes,
        keep,
        spacing=scene.spacing,
        resolution=scene.resolution,
        to_lonlat=scene.to_lonlat,
    )
    timings["cluster_attributes_s"] = time.perf_counter() - t0
    removed: list[dict[str, float]] = []
    if exact is not None:
        t0 = time.perf_counter()
        attrs, removed = remove_on_land(attrs, table, labels, keep, scene, exact)
        timings["exact_land_test_s"] = time.perf_counter() - t0
        if removed:
            source = "GSHHG" if params.land_mask == "gshhg" else "land-mask file"
            _warn(msgs, _removed_message(scene.name, removed, source))
    t0 = time.perf_counter()
    if land is not None:
        attrs["distance_to_coast_m"] = land.distance_m(
            attrs["row"].to_numpy(), attrs["col"].to_numpy()
        )
    else:
        attrs["distance_to_coast_m"] = np.full(len(attrs), np.nan)
    ships = gpd.GeoDataFrame(
        attrs, geometry=gpd.points_from_xy(attrs["lon"], attrs["lat"]), crs="EPSG:4326"
    )
    timings["cluster_attributes_s"] += time.perf_counter() - t0
    return Detection(
        ships=ships,
        land=land,
        quicklook=ql,
        quicklook_step=step,
        windows=windows,
        threshold=t,
        flagged_pixels=len(table),
        clusters=n,
        valid_pixels=n_valid,
        warnings=msgs,
        timings=timings,
        removed_on_land=removed,
    )
