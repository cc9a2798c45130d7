"""Typed parameters of the burned-area chain and the warning category it emits."""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rus.toolbox.burn import DEFAULT_SCL_MASK, DEFAULT_SCL_WATER, USGS_THRESHOLDS


class BurnWarning(UserWarning):
    """Something about the inputs the user should know; the chain still ran."""


class BurnParams(BaseModel):
    """Parameters of :func:`rus.chains.burned_area.run_burned_area`.

    Attributes
    ----------
    index
        Index the USGS classes are applied to: ``"rbr"`` (the RUS exercise, default) or
        ``"dnbr"``.
    nir_band
        Sentinel-2 NIR band: ``"B8A"`` (20 m, same grid as B12: no resampling; default) or
        ``"B08"`` (10 m; B12 and SCL are repeated 2 x 2 onto the 10 m grid).
    nir, swir2
        Band names for the NIR and SWIR-2 roles on non-Sentinel-2 inputs (default: Landsat
        ``B5``/``B7``, generic rasters ``nir``/``swir2``). Override any automatic choice.
    use_scl
        Mask clouds at all (False is the same as ``cloud_mask="none"``; kept for ``--no-scl``).
    cloud_mask
        What masks clouds on each date (see :mod:`rus.chains.burned_area.clouds`): ``"auto"``
        (default: the SCL of L2A products, s2cloudless for L1C products when installed),
        ``"scl"``, ``"s2cloudless"`` (L1C dates; L2A dates keep the SCL) or ``"none"``.
    cloud_probability
        s2cloudless probability threshold (0.4, the model's default).
    cloud_resolution_m
        Grid on which s2cloudless runs (160 m: its training resolution).
    cloud_average_px, cloud_dilation_px
        Radii (pixels of that grid) of the probability averaging disk and of the mask dilation:
        1 and 1, the s2cloudless detector's own defaults. Its examples use 4 and 2 at 160 m,
        but a 640 m averaging disk erases clouds under about 1 km2 and a missed cloud reads as
        a burn (a cloud's NBR is far below vegetation's); see docs/burned-area.md.
    mask_classes
        SCL classes masked on either date (default no data, defective, cloud shadow, clouds,
        cirrus, snow).
    water_classes
        SCL classes masked from the pre-fire date only (default water).
    min_mapping_unit_ha
        Burned patches smaller than this are set to unburned (0 keeps everything).
    connectivity
        Pixel connectivity of patches and polygons (8 joins diagonal neighbours).
    thresholds
        The six class boundaries on the unitless scale (USGS dNBR x 1000 / 1000).
    min_valid_fraction
        Below this fraction of valid (unmasked) pixels the chain stops with an error.
    quicklook_size
        Longest side of ``quicklook.png`` in pixels.
    index_overviews
        Build internal overviews in the float index COGs (slower; ``severity.tif`` always has
        them).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: Literal["rbr", "dnbr"] = "rbr"
    nir_band: Literal["B8A", "B08"] = "B8A"
    nir: str | None = None
    swir2: str | None = None
    use_scl: bool = True
    cloud_mask: Literal["auto", "scl", "s2cloudless", "none"] = "auto"
    cloud_probability: float = Field(0.4, gt=0.0, lt=1.0)
    cloud_resolution_m: float = Field(160.0, ge=10.0, le=1000.0)
    cloud_average_px: int = Field(1, ge=0, le=50)
    cloud_dilation_px: int = Field(1, ge=0, le=50)
    mask_classes: tuple[int, ...] = DEFAULT_SCL_MASK
    water_classes: tuple[int, ...] = DEFAULT_SCL_WATER
    min_mapping_unit_ha: float = Field(1.0, ge=0.0)
    connectivity: Literal[4, 8] = 8
    thresholds: tuple[float, float, float, float, float, float] = USGS_THRESHOLDS  # type: ignore[assignment]
    min_valid_fraction: float = Field(0.001, ge=0.0, le=1.0)
    quicklook_size: int = Field(1000, ge=64, le=8000)
    index_overviews: bool = False

    @property
    def cloud_masking(self) -> Literal["auto", "scl", "s2cloudless", "none"]:
        """The cloud-mask mode in effect: ``cloud_mask``, or ``"none"`` when ``use_scl`` is
        False (``--no-scl``)."""
        return self.cloud_mask if self.use_scl else "none"

    @field_validator("mask_classes", "water_classes")
    @classmethod
    def _scl_classes(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [v for v in value if not 0 <= v <= 11]
        if bad:
            raise ValueError(f"SCL classes are 0..11, got {bad}")
        return tuple(sorted(set(value)))

    @field_validator("thresholds")
    @classmethod
    def _increasing(
        cls, value: tuple[float, float, float, float, float, float]
    ) -> tuple[float, float, float, float, float, float]:
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"thresholds must increase, got {value}")
        return value
