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
from contextlib import ExitStack, contextmanager
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


#: GDAL data type names of the arrays the chain writes.
_GDAL_TYPES = {"float32": "Float32", "uint8": "Byte"}


@contextmanager
def _mem_dataset(arr: np.ndarray, transform: Any, crs: Any, nodata: float) -> Iterator[Any]:
    """An in-memory GDAL dataset holding ``arr`` (the source of :func:`_copy_to_cog`).

    The MEM driver wraps the array's own buffer (``MEM:::DATAPOINTER``; no copy of a 120 MB
    tile, about 0.06 s a file); where GDAL refuses that, the array is copied into a new MEM
    dataset. Either way the COG written from it is byte-identical.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    arr = np.ascontiguousarray(arr)
    gdal_type = _GDAL_TYPES.get(arr.dtype.name)
    with ExitStack() as stack:
        src = None
        if gdal_type is not None:
            name = (
                f"MEM:::DATAPOINTER={arr.__array_interface__['data'][0]},PIXELS={arr.shape[1]},"
                f"LINES={arr.shape[0]},BANDS=1,DATATYPE={gdal_type}"
            )
            stack.enter_context(rasterio.Env(GDAL_MEM_ENABLE_OPEN="YES"))
            try:
                src = stack.enter_context(rasterio.open(name, "r+"))
            except RasterioIOError:
                src = None  # opening MEM datasets by name is disabled in this GDAL: copy
        if src is not None:
            src.transform = transform
            src.crs = crs
            src.nodata = nodata
        else:
            src = stack.enter_context(
                rasterio.open(
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
                )
            )
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


def _font(size: int, bold: bool = False) -> Any:
    """DejaVu Sans (shipped with matplotlib, found without importing it) or Pillow's default."""
    import importlib.util

    from PIL import ImageFont

    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / name
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def _rgb_hex(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def fit_nearest(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a 2-D array to ``shape`` (quicklook sizes: a gather)."""
    rows = np.minimum((np.arange(shape[0]) * img.shape[0]) // shape[0], img.shape[0] - 1)
    cols = np.minimum((np.arange(shape[1]) * img.shape[1]) // shape[1], img.shape[1] - 1)
    return img[np.ix_(rows, cols)]


def _severity_overlay(rgb: np.ndarray, severity: np.ndarray, alpha: float) -> np.ndarray:
    """uint8 RGB picture: the false-colour image with the burn classes blended over it."""
    sev = fit_nearest(severity, (rgb.shape[0], rgb.shape[1]))
    background = np.where(np.isfinite(rgb), rgb, 0.0).astype(np.float32) * 255.0
    colors = np.zeros((256, 3), np.float32)
    weight = np.zeros(256, np.float32)
    for c in burn.SEVERITY_CLASSES:
        colors[c.code] = _rgb_hex(c.color)
        weight[c.code] = 0.0 if c.code in (burn.MASKED, burn.UNBURNED) else alpha
    w = weight[sev][..., None]
    out = background + w * (colors[sev] - background)
    return np.asarray(np.clip(np.rint(out), 0, 255), dtype=np.uint8)


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

    Drawn with Pillow (fast: no plotting library in the chain's critical path).

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
    from PIL import Image, ImageDraw

    picture = Image.fromarray(_severity_overlay(rgb, severity, 0.75), mode="RGB")
    h, w = rgb.shape[0], rgb.shape[1]
    f_title, f_sub, f_legend, f_small = _font(18), _font(14), _font(13), _font(11)
    f_legend_title = _font(14, bold=True)
    shown = [c for c in burn.SEVERITY_CLASSES if c.code not in (burn.MASKED, burn.UNBURNED)]
    labels = [c.name for c in shown] + ["unburned / masked: image"]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    legend_w = 40 + max(int(probe.textlength(t, font=f_legend)) for t in labels)
    legend_h = 34 + 22 * len(labels)
    margin, top = 24, 76
    width = max(
        margin + w + 24 + legend_w + margin, int(probe.textlength(title, font=f_title)) + 40
    )
    height = top + max(h, legend_h) + 34
    canvas = Image.new("RGB", (width, height), "white")
    if simulated:
        stamp_font = _font(max(24, min(w, h) // 9), bold=True)
        text = Image.new("RGBA", (int(1.2 * max(w, h)), max(w, h) // 4), (0, 0, 0, 0))
        td = ImageDraw.Draw(text)
        td.text(
            (text.width // 2, text.height // 2), "SIMULATED", font=stamp_font,
            fill=(255, 255, 255, 170), anchor="mm", stroke_width=3, stroke_fill=(0, 0, 0, 150),
        )  # fmt: skip
        text = text.rotate(30, expand=True, resample=Image.Resampling.BICUBIC)
        layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        layer.paste(text, ((w - text.width) // 2, (h - text.height) // 2), text)
        picture = Image.alpha_composite(picture.convert("RGBA"), layer).convert("RGB")
    canvas.paste(picture, (margin, top))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((margin - 1, top - 1, margin + w, top + h), outline="black")
    draw.text((width // 2, 14), title, font=f_title, fill="black", anchor="mt")
    subtitle = f"burned (low severity and above): {burned_ha:,.1f} ha"
    draw.text((margin + w // 2, top - 8), subtitle, font=f_sub, fill="black", anchor="mb")
    lx = margin + w + 24
    ly = top + max(0, (h - legend_h) // 2)
    draw.rectangle((lx, ly, lx + legend_w, ly + legend_h), outline="#999999", fill="white")
    draw.text((lx + legend_w // 2, ly + 8), "Burn severity", font=f_legend_title, fill="black",
              anchor="mt")  # fmt: skip
    for k, label in enumerate(labels):
        y = ly + 32 + 22 * k
        fill = shown[k].color if k < len(shown) else "white"
        draw.rectangle((lx + 8, y + 2, lx + 28, y + 14), fill=fill, outline="black")
        draw.text((lx + 34, y + 8), label, font=f_legend, fill="black", anchor="lm")
    draw.text(
        (width - 8, height - 6), "background: post-fire SWIR-2 / NIR / red", font=f_small,
        fill="black", anchor="rd",
    )  # fmt: skip
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG", compress_level=3)
    return path
