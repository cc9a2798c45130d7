"""Cloud masking of each date: the SCL of L2A products, s2cloudless for L1C products.

:func:`cloud_method` decides, per date, what masks the clouds (``BurnParams.cloud_mask``):

- ``"auto"`` (default): the SCL where the product has one (L2A); s2cloudless for a Sentinel-2
  L1C product when the optional package is installed (``pip install 'rus[cloudmask]'``);
  otherwise nothing (a warning says so).
- ``"scl"``: the SCL only; ``"s2cloudless"``: s2cloudless on L1C dates (L2A dates keep their
  SCL: the model needs top-of-atmosphere reflectance and the cirrus band B10, which an L2A
  lacks); ``"none"``: no-data pixels only.

:func:`s2cloudless_layer` runs the model on the L1C top-of-atmosphere reflectance read at
``cloud_resolution_m`` (160 m, the model's training resolution) from the JPEG2000
reduced-resolution levels (about a second for a tile), and brings the mask onto the analysis
grid by nearest neighbour. s2cloudless does not find cloud shadows; NBR is a band ratio, so a
shadow that darkens both bands alike changes it little.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rus.chains.burned_area.fused import MaskLayer
from rus.chains.errors import ChainError
from rus.toolbox import burn
from rus.toolbox.clouds import MISSING_PACKAGE, s2cloudless_available

if TYPE_CHECKING:
    import xarray as xr

    from rus.chains.burned_area.inputs import DateBands
    from rus.chains.burned_area.params import BurnParams

#: ``MaskLayer`` table of a 0/1 mask: 1 is masked.
BINARY_TABLE = np.zeros(256, dtype=bool)
BINARY_TABLE[1] = True


def is_s2_l1c(bands: DateBands) -> bool:
    from rus.products.sentinel2 import S2Product

    product = bands.product
    if not isinstance(product, S2Product):
        return False
    return getattr(product.metadata, "processing_level", None) == "L1C"


def cloud_method(bands: DateBands, params: BurnParams) -> str:
    """``"scl"``, ``"s2cloudless"`` or ``"none"``: what masks the clouds of this date.

    Raises
    ------
    ChainError
        ``cloud_mask="s2cloudless"`` on a date that has no SCL and is not a Sentinel-2 L1C
        product, or with the package missing.
    """
    mode = params.cloud_masking
    if mode == "none":
        return "none"
    if bands.scl is not None:
        return "scl"
    if mode == "scl":
        return "none"
    l1c = is_s2_l1c(bands)
    if mode == "s2cloudless":
        if not l1c:
            raise ChainError(
                f"{bands.source}: s2cloudless needs a Sentinel-2 L1C product (top-of-atmosphere "
                "reflectance with the cirrus band B10); use the SCL of an L2A product or "
                "--cloud-mask none"
            )
        if not s2cloudless_available():
            raise ChainError(f"{MISSING_PACKAGE} (or --cloud-mask none to map without it)")
        return "s2cloudless"
    return "s2cloudless" if l1c and s2cloudless_available() else "none"


def s2cloudless_layer(bands: DateBands, like: xr.DataArray, params: BurnParams) -> MaskLayer:
    """The s2cloudless cloud mask of an L1C date as a fused-pass layer on the grid of ``like``.

    Raises
    ------
    ChainError
        The bands cannot be read, or s2cloudless fails.
    """
    import dask.array as da
    from rasterio.enums import Resampling

    from rus.products.errors import ProductError
    from rus.products.sentinel2 import load_s2_coarse
    from rus.toolbox.clouds import S2CLOUDLESS_BANDS, s2cloudless_mask, s2cloudless_probability
    from rus.toolbox.errors import ToolboxError

    try:
        toa = load_s2_coarse(bands.product, S2CLOUDLESS_BANDS, params.cloud_resolution_m)
        prob = s2cloudless_probability(toa)
        mask = s2cloudless_mask(
            prob,
            threshold=params.cloud_probability,
            average_over=params.cloud_average_px,
            dilation_size=params.cloud_dilation_px,
        )
    except (ProductError, ToolboxError) as exc:
        raise ChainError(f"{bands.source}: s2cloudless cloud mask: {exc}") from exc
    coarse = mask.astype(np.uint8)
    coarse = coarse.rio.write_crs(toa.rio.crs).rio.write_nodata(0, encoded=False)
    fine = coarse.rio.reproject_match(like, resampling=Resampling.nearest, nodata=0)
    data: Any = np.ascontiguousarray(fine.values.astype(np.uint8))
    chunks = like.data.chunksize if hasattr(like.data, "chunksize") else data.shape
    layer = da.from_array(data, chunks=chunks, name=f"s2cloudless-{bands.label}")  # type: ignore[no-untyped-call]
    return MaskLayer(f"s2cloudless_masked_{bands.label}_pixels", layer, BINARY_TABLE)


def mask_layers(
    pre: DateBands, post: DateBands, params: BurnParams
) -> tuple[list[MaskLayer], dict[str, str]]:
    """The fused pass's masking layers and the method used per date (``{"pre": "scl", ...}``).

    SCL: ``mask_classes`` on either date plus ``water_classes`` on the pre-fire date.
    """
    layers: list[MaskLayer] = []
    methods: dict[str, str] = {}
    for bands in (pre, post):
        method = cloud_method(bands, params)
        methods[bands.label] = method
        if method == "scl" and bands.scl is not None:
            classes = params.mask_classes
            if bands.label == "pre":
                classes = (*classes, *params.water_classes)
            layers.append(
                MaskLayer(f"scl_masked_{bands.label}_pixels", bands.scl, burn.scl_lookup(classes))
            )
        elif method == "s2cloudless":
            layers.append(s2cloudless_layer(bands, pre.nir, params))
    return layers, methods
