"""Typed parameters of the ship detection chain (defaults of the RUS training exercise)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rus.chains.errors import ChainError

InputScale = Literal["linear", "db", "amplitude"]


class ShipDetectionParams(BaseModel):
    """Parameters of :func:`rus.chains.ship_detection.run_ship_detection`.

    Window sizes and ship sizes are in metres; they become pixels with the mean pixel spacing as
    SNAP does (``int(m / spacing) + 1``, forced odd). Defaults follow SNAP's ship-detection graph
    and the RUS Gulf of Trieste exercise: 50 / 500 / 800 m windows, PFA 12.5, ships 30-600 m.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    band: str | None = Field(
        None, description="polarisation to use; default cross-pol first: HV, VH, HH, VV"
    )
    target_window_m: float = Field(50.0, gt=0, description="CFAR target window side (m)")
    guard_window_m: float = Field(500.0, gt=0, description="CFAR guard window side (m)")
    background_window_m: float = Field(800.0, gt=0, description="CFAR background window side (m)")
    pfa: float = Field(
        12.5, gt=0, le=300, description="false-alarm probability exponent: 12.5 = 10^-12.5"
    )
    min_size_m: float = Field(30.0, ge=0, description="smallest kept target (SNAP size, m)")
    max_size_m: float = Field(600.0, gt=0, description="largest kept target (SNAP size, m)")
    land_mask: Literal["gshhg", "none"] | Path = Field(
        "gshhg", description="'gshhg' (offline GSHHG), 'none', or a vector/raster file of land"
    )
    shoreline_buffer_m: float = Field(
        100.0, ge=0, description="land mask grown by this distance (SNAP: 10 pixels)"
    )
    denoise: bool = Field(True, description="subtract thermal noise before calibration (SAFE)")
    input_scale: InputScale = Field(
        "linear", description="GeoTIFF input only: linear intensity, dB, or amplitude"
    )
    pixel_spacing_m: float | None = Field(
        None, gt=0, description="GeoTIFF input: pixel spacing (m); default from a metric CRS"
    )
    resolution_m: float | None = Field(
        None,
        gt=0,
        description="image resolution (PSF FWHM, m) for the length correction; default "
        "2.2 x azimuth and 2.0 x range spacing (Sentinel-1 IW GRDH: 22 x 20 m)",
    )
    floor: float = Field(0.005, ge=0, description="target means below this are never flagged")
    chunk_lines: int = Field(2048, ge=64, description="processing chunk height (lines)")
    chunk_pixels: int = Field(4096, ge=64, description="processing chunk width (pixels)")

    @model_validator(mode="after")
    def _check_order(self) -> ShipDetectionParams:
        if not self.target_window_m <= self.guard_window_m < self.background_window_m:
            raise ValueError("windows must satisfy target <= guard < background (metres)")
        if self.min_size_m > self.max_size_m:
            raise ValueError("min_size_m must not exceed max_size_m")
        return self

    @classmethod
    def build(cls, **values: Any) -> ShipDetectionParams:
        """Validate parameters, turning validation errors into one readable :class:`ChainError`."""
        try:
            return cls(**{k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            msgs = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'parameters'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ChainError(f"invalid ship detection parameters: {msgs}") from None

    def public(self) -> dict[str, Any]:
        """JSON-friendly dict of the parameters (for the STAC item)."""
        return self.model_dump(mode="json")
