"""Raster and picture outputs of the burned-area chain: COGs, QGIS styling, quicklook.

- Float indices: float32 Cloud-Optimized GeoTIFFs, ZSTD level 1, NaN no data,
  band metadata stating units and scale (unitless, NOT multiplied by 1000); no internal
  overviews unless asked (``BurnParams(index_overviews=True)``).
- Severity: uint8 COG with a GDAL colour table (QGIS opens it as a paletted layer), GDAL category
  names in the ``.aux.xml`` sidecar (GDAL's PAM format, read by GDAL and QGIS) and a
  ``severity.qml`` QGIS style beside it (QGIS loads a same-named ``.qml`` as the default style).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from rus._io import atomic_path, atomic_write_text
from rus.toolbox import burn

#: Creation options of the float COGs: ZSTD level 1 (GDAL >= 2.3 and QGIS read it). No
#: predictor: on index maps it made files larger (76 vs 72 MB a tile) and writes slower.
#: Single-threaded compression: the chain writes several files at once, one per thread, and
#: GDAL's ``NUM_THREADS`` doubled the CPU time of a write on a 2-core machine (0.53 vs 0.26
#: CPU-s for a 5490 x 5490 float32 tile) for the same bytes.
FLOAT_COG = {"compress": "ZSTD", "level": 1}
#: Creation options of the class map COG (overviews by nearest neighbour: classes stay classes).
CLASS_COG = {"compress": "ZSTD", "level": 3, "overview_resampling": "nearest"}


@contextmanager
def _mem_dataset(arr: np.ndarray, transform: Any, crs: Any, nodata: float) -> Iterator[Any]:
    """An in-memory GDAL dataset holding ``arr`` (the source of :func:`_copy_to_cog`)."""
    import rasterio

    with rasterio.open(
        "mem",
        "w",
        driver="MEM",
        width=arr.shape[1],
        height=arr.shape[0],
        count=1,
        dtype=arr.dtype.name,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as src:
        src.write(arr, 1)
        yield src


def _copy_to_cog(src: Any, path: Path, options: Mapping[str, Any]) -> None:
    """``GDALCreateCopy`` to a COG, atomically.

    ``rasterio.shutil.copy`` releases the GIL while GDAL compresses (a ``driver="COG"`` dataset
    opened for writing does the same copy when it closes, holding the GIL): the other threads
    of the chain keep running meanwhile. The file is byte-identical.
    """
    from rasterio.shutil import copy

    with atomic_path(path) as tmp:
        copy(src, str(tmp), driver="COG", **options)


def write_float_cog(
    data: np.ndarray,
    path: Path,
    *,
    transform: Any,
    crs: Any,
    description: str,
    tags: Mapping[str, Any],
    overviews: bool = False,
) -> Path:
    """Write a 2-D float32 array as a COG (NaN = no data), atomically.

    Parameters
    ----------
    data
        The values (cast to float32).
    path
        Output ``.tif``.
    transform, crs
        Georeferencing.
    description
        Band description (shown by QGIS and gdalinfo).
    tags
        Band metadata items (units, long_name, scale, ...).
    overviews
        Build internal overviews (average). Off by default: they cost about twice the write
        time of the full-resolution data; QGIS builds its own pyramids on demand.
    """
    arr = np.asarray(data, dtype=np.float32)
    extra: dict[str, str] = (
        {"overview_resampling": "average"} if overviews else {"overviews": "NONE"}
    )
    with _mem_dataset(arr, transform, crs, float("nan")) as src:
        src.set_band_description(1, description)
        src.update_tags(1, **{k: str(v) for k, v in tags.items()})
        _copy_to_cog(src, path, {**extra, **FLOAT_COG})
    return path


def write_severity_cog(
    severity: np.ndarray,
    path: Path,
    *,
    transform: Any,
    crs: Any,
    tags: Mapping[str, Any],
) -> list[Path]:
    """Write the class map as a styled uint8 COG plus its ``.aux.xml`` and ``.qml`` sidecars.

    Returns
    -------
    list of Path
        ``[path, path + ".aux.xml", path with suffix ".qml"]``.
    """
    arr = np.asarray(severity, dtype=np.uint8)
    with _mem_dataset(arr, transform, crs, burn.MASKED) as src:
        src.write_colormap(1, burn.severity_colormap())
        src.set_band_description(1, "burn severity class")
        src.update_tags(
            1,
            **{k: str(v) for k, v in tags.items()},
            **{f"CLASS_{c.code}": c.name for c in burn.SEVERITY_CLASSES},
        )
        _copy_to_cog(src, path, CLASS_COG)
    aux = path.with_name(path.name + ".aux.xml")
    atomic_write_text(aux, pam_category_xml())
    qml = path.with_suffix(".qml")
    atomic_write_text(qml, qgis_style_qml())
    return [path, aux, qml]


def pam_category_xml() -> str:
    """GDAL PAM sidecar giving band 1 its category names (code order, 0..7)."""
    cats = "\n".join(f"      <Category>{escape(c.name)}</Category>" for c in burn.SEVERITY_CLASSES)
    return (
        "<PAMDataset>\n"
        '  <PAMRasterBand band="1">\n'
        "    <Description>burn severity class</Description>\n"
        "    <CategoryNames>\n"
        f"{cats}\n"
        "    </CategoryNames>\n"
        "  </PAMRasterBand>\n"
        "</PAMDataset>\n"
    )


def qgis_style_qml() -> str:
    """A QGIS paletted-renderer style with the class colours and names."""
    entries = "\n".join(
        f'          <paletteEntry value="{c.code}" color="{c.color}" '
        f'alpha="{0 if c.code == burn.MASKED else 255}" label="{escape(c.name)}"/>'
        for c in burn.SEVERITY_CLASSES
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22" styleCategories="AllStyleCategories">\n'
        "  <pipe>\n"
        '    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" '
        'nodataColor="">\n'
        "      <rasterTransparency/>\n"
        "      <colorPalette>\n"
        f"{entries}\n"
        "      </colorPalette>\n"
        "    </rasterrenderer>\n"
        "  </pipe>\n"
        "</qgis>\n"
    )


def write_quicklook(
    rgb: np.ndarray,
    severity: np.ndarray,
    path: Path,
    *,
    title: str,
    simulated: bool,
    burned_ha: float,
) -> Path:
    """PNG: severity classes over a false-colour post-fire image, with a legend.

    Parameters
    ----------
    rgb
        Post-fire false colour (SWIR-2, NIR, red) in [0, 1], any size.
    severity
        Full-resolution class map (decimated here to the picture size).
    title
        Figure title (dates, sources).
    simulated
        Stamp "SIMULATED" across the picture.
    burned_ha
        Burned area shown in the subtitle.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = np.minimum(
        (np.arange(rgb.shape[0]) * severity.shape[0]) // rgb.shape[0], severity.shape[0] - 1
    )
    cols = np.minimum(
        (np.arange(rgb.shape[1]) * severity.shape[1]) // rgb.shape[1], severity.shape[1] - 1
    )
    sev = severity[np.ix_(rows, cols)]
    shown = np.ma.masked_where(np.isin(sev, (burn.MASKED, burn.UNBURNED)), sev)
    colors = [c.color for c in burn.SEVERITY_CLASSES]
    height = 8.0
    width = max(4.0, height * rgb.shape[1] / rgb.shape[0]) + 3.2
    fig = Figure(figsize=(width, height + 0.8), dpi=110)
    ax = fig.add_axes((0.02, 0.04, 0.72, 0.86))
    background = np.where(np.isfinite(rgb), rgb, 0.0)
    ax.imshow(background, interpolation="nearest")
    ax.imshow(
        shown,
        cmap=ListedColormap(colors),
        vmin=-0.5,
        vmax=len(colors) - 0.5,
        alpha=0.75,
        interpolation="nearest",
    )
    ax.set_xticks([])
    ax.set_yticks([])
    fig.suptitle(title, fontsize=11)
    ax.set_title(f"burned (low severity and above): {burned_ha:,.1f} ha", fontsize=10)
    handles = [
        Patch(facecolor=c.color, edgecolor="black", label=c.name)
        for c in burn.SEVERITY_CLASSES
        if c.code not in (burn.MASKED, burn.UNBURNED)
    ]
    handles.append(Patch(facecolor="none", edgecolor="black", label="unburned / masked: image"))
    fig.legend(handles=handles, loc="center right", fontsize=9, title="Burn severity")
    fig.text(0.99, 0.005, "background: post-fire SWIR-2 / NIR / red", ha="right", fontsize=7)
    if simulated:
        ax.text(
            0.5,
            0.5,
            "SIMULATED",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=48,
            color="white",
            alpha=0.55,
            rotation=30,
            fontweight="bold",
        )
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", pil_kwargs={"compress_level": 3})
    return path
