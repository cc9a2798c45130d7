"""Pixels of the simulated Sentinel-2 pair, one block of 20 m rows at a time.

For each date a block holds the 12 surface-reflectance bands at 20 m, the SCL and (post date)
the true severity. Burned pixels get post-fire B8A/B12 such that the Relativized Burn Ratio
RBR = dNBR / (NBR_pre + 1.001) (NBR = (B8A - B12) / (B8A + B12)) lies at the centre of the
zone's USGS class with small Gaussian noise; unburned land changes by |dNBR| < 0.06.

``level="L1C"`` gives top-of-atmosphere reflectances of all 13 bands instead (B10 included):
the same ground, shadows, cirrus and clouds seen through :data:`ATMOSPHERE`. The L2A values do
not depend on this code path (same seed, same L2A bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rus.products.simulate._s2_scene import (
    ATMOSPHERE,
    B10_TOA,
    BANDS,
    BARE,
    BURN_FRACTION,
    CLOUD_HIGH,
    CLOUD_T,
    FOREST,
    RBR_NOISE,
    RBR_TARGET,
    SHRUB,
    SPECTRA,
    WATER,
    Scene,
)

Array = np.ndarray[Any, Any]
_IDX = {b: i for i, b in enumerate(BANDS)}
#: The 13 bands of an L1C, in MTD band-id order.
BANDS_L1C = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
)  # fmt: skip


@dataclass
class Block:
    """One block of 20 m rows for one date."""

    r0: int
    r1: int
    refl: dict[str, Array]  # band -> float32 BOA (L2A) or TOA (L1C) reflectance at 20 m
    scl: Array  # uint8
    nodata: Array  # bool
    severity: Array  # uint8 true severity (4..7 burned, 3 unburned, 0 water)
    landcover: Array  # uint8


def _rng(scene: Scene, *key: int) -> np.random.Generator:
    return np.random.default_rng([scene.seed, *key])


def surface_block(scene: Scene, r0: int, r1: int) -> tuple[dict[str, Array], Array, Array, Array]:
    """Pre-fire surface reflectance (all bands), land cover, coords (same for both dates)."""
    rr, cc = scene.coords(r0, r1)
    lc = scene.landcover_block(rr, cc)
    mix = np.clip(0.5 + 0.35 * scene.sample_mixing(rr, cc), 0.0, 1.0)
    rng = _rng(scene, 1, r0)
    grain = np.asarray(rng.normal(1.0, 0.03, size=lc.shape), dtype=np.float32)
    out: dict[str, Array] = {}
    for b in BANDS:
        i = _IDX[b]
        forest, shrub, bare = SPECTRA["forest"][i], SPECTRA["shrub"][i], SPECTRA["bare"][i]
        veg = forest * mix + shrub * (1 - mix)
        v = np.where(lc == FOREST, veg, np.where(lc == SHRUB, shrub * mix + bare * (1 - mix), 0))
        v = np.where(lc == BARE, bare * (0.9 + 0.2 * mix), v)
        v = np.where(lc == WATER, SPECTRA["water"][i], v)
        out[b] = (v * grain).astype(np.float32)
    return out, lc, rr, cc


def date_block(scene: Scene, date: str, r0: int, r1: int, level: str = "L2A") -> Block:
    """Reflectance, SCL and truth of 20 m rows ``r0:r1`` on ``date`` (``"pre"``/``"post"``).

    ``level="L2A"``: the 12 BOA bands of :data:`BANDS`; ``"L1C"``: the 13 TOA bands of
    :data:`BANDS_L1C`. The SCL (kept internally for L1C: it gives the truth and metadata
    percentages) is the same for both levels.
    """
    refl, lc, rr, cc = surface_block(scene, r0, r1)
    sev = scene.severity_block(rr, cc, lc)
    nodata = scene.nodata_block(rr, cc)
    scl = np.where(lc == WATER, 6, np.where(lc == BARE, 5, 4)).astype(np.uint8)
    if date == "post":
        refl, scl = _post_fire(scene, refl, lc, sev, scl, rr, cc, r0)
    cl, shadow, cirrus = scene.cloud_block(date, rr, cc)
    thin = cirrus & (cl <= CLOUD_T)
    alpha = np.clip((cl - CLOUD_T) / 0.3 + 0.6, 0.0, 1.0) * (cl > CLOUD_T)
    if level == "L1C":
        clouds = _Clouds(cl, thin, shadow, alpha, scene.cirrus_density(date, rr, cc))
        refl = toa_block(scene, date, r0, refl, lc, sev, clouds)
    else:
        for b in BANDS:
            i = _IDX[b]
            v = refl[b]
            v = np.where(thin, 0.6 * v + SPECTRA["cirrus"][i], v)
            v = np.where(shadow, 0.35 * v, v)
            refl[b] = (v * (1 - alpha) + SPECTRA["cloud"][i] * alpha).astype(np.float32)
    scl[thin] = 10
    scl[shadow] = 3
    scl[cl > CLOUD_T] = 8
    scl[cl > CLOUD_HIGH] = 9
    scl[nodata] = 0
    for v in refl.values():
        v[nodata] = 0.0
    return Block(r0, r1, refl, scl, nodata, sev, lc)


@dataclass(frozen=True)
class _Clouds:
    """Cloud fields of one block: opaque-cloud field, thin cirrus, shadow, cloud fraction."""

    field: Array  # smooth cloud field (> CLOUD_T: opaque cloud)
    thin: Array  # bool, thin cirrus without opaque cloud
    shadow: Array  # bool
    alpha: Array  # opaque-cloud fraction 0..1 (0.6..1 inside clouds)
    cirrus_density: Array  # 0..1


def toa_block(
    scene: Scene,
    date: str,
    r0: int,
    surface: dict[str, Array],
    lc: Array,
    sev: Array,
    clouds: _Clouds,
) -> dict[str, Array]:
    """Top-of-atmosphere reflectance of the 13 L1C bands from the ground (BOA) reflectance.

    Ground: ``TOA = path + T x BOA`` (:data:`ATMOSPHERE`); in cloud shadow the direct sun is
    cut (``path + T x 0.35 BOA``: the path reflectance stays, so shadows are less dark than in
    L2A). Thin cirrus above: ``0.6 TOA + cirrus``. Opaque cloud: mixed in with its fraction
    ``alpha`` (cloud spectrum as in L2A: clouds are above most of the atmosphere). B10 comes
    from :data:`B10_TOA`: ground values (water vapour absorbs the rest), cirrus scaled by its
    density (0.02-0.05), cloud by its height (0.10-0.30 for a full cloud).
    """
    grain = np.asarray(
        _rng(scene, 4, r0, 0 if date == "pre" else 1).normal(1.0, 0.08, size=lc.shape),
        dtype=np.float32,
    )
    b10 = np.select(
        [lc == WATER, lc == FOREST, lc == SHRUB, lc == BARE],
        [B10_TOA["water"], B10_TOA["forest"], B10_TOA["shrub"], B10_TOA["bare"]],
        default=B10_TOA["shrub"],
    ).astype(np.float32)
    if date == "post":
        b10 = np.where(sev >= 4, B10_TOA["char"], b10)
    b10 = b10 * grain
    height = np.clip((clouds.field - CLOUD_T) / 0.7, 0.0, 1.0)
    out: dict[str, Array] = {}
    ground: Array
    shade: Array
    cirrus: Any
    cloud: Any
    for b in BANDS_L1C:
        if b == "B10":
            ground, shade = b10, 0.35 * b10
            cirrus = B10_TOA["cirrus"] * (0.6 + 0.8 * clouds.cirrus_density)
            cloud = B10_TOA["cloud"] * (0.5 + height)
        else:
            path, trans = ATMOSPHERE[b]
            ground = path + trans * surface[b]
            shade = path + trans * 0.35 * surface[b]
            cirrus = np.float32(SPECTRA["cirrus"][_IDX[b]])
            cloud = np.float32(SPECTRA["cloud"][_IDX[b]])
        v = np.where(clouds.shadow, shade, ground)
        v = np.where(clouds.thin, 0.6 * v + cirrus, v)
        out[b] = (v * (1 - clouds.alpha) + cloud * clouds.alpha).astype(np.float32)
    return out


def cloud_truth(blk: Block) -> Array:
    """Cloud truth of a block (uint8): 0 clear, 1 opaque cloud, 2 thin cirrus, 3 cloud shadow,
    255 no data (from the SCL: 8/9 -> 1, 10 -> 2, 3 -> 3, 0 -> 255)."""
    out = np.zeros(blk.scl.shape, dtype=np.uint8)
    out[blk.scl == 10] = 2
    out[blk.scl == 3] = 3
    out[(blk.scl == 8) | (blk.scl == 9)] = 1
    out[blk.nodata] = 255
    return out


def _post_fire(
    scene: Scene,
    refl: dict[str, Array],
    lc: Array,
    sev: Array,
    scl: Array,
    rr: Array,
    cc: Array,
    r0: int,
) -> tuple[dict[str, Array], Array]:
    """Apply natural change everywhere and the burn on the scar (post-fire date)."""
    change = 1.0 + 0.015 * scene.sample_change(rr, cc)
    out = {b: (v * change).astype(np.float32) for b, v in refl.items()}
    # keep the unburned NBR change small: |dNBR| < 0.06
    nir, swir = refl["B8A"], refl["B12"]
    rng = _rng(scene, 2, r0)
    nbr_pre = (nir - swir) / np.maximum(nir + swir, 1e-6)
    nbr_nat = nbr_pre + np.clip(rng.normal(0.0, 0.015, size=nir.shape), -0.05, 0.05)
    s_nat = (nir + swir) * change
    out["B8A"] = (s_nat * (1 + nbr_nat) / 2).astype(np.float32)
    out["B12"] = (s_nat * (1 - nbr_nat) / 2).astype(np.float32)
    burned = sev >= 4
    if not burned.any():
        return out, scl
    target = np.zeros(nir.shape, dtype=np.float32)
    frac = np.zeros(nir.shape, dtype=np.float32)
    for code, centre in RBR_TARGET.items():
        target[sev == code] = centre
        frac[sev == code] = BURN_FRACTION[code]
    rbr = target + np.asarray(rng.normal(0.0, RBR_NOISE, size=nir.shape), dtype=np.float32)
    nbr_post = nbr_pre - rbr * (nbr_pre + 1.001)
    char = SPECTRA["char"]
    s_post = (nir + swir) * (1 - frac) + (char[_IDX["B8A"]] + char[_IDX["B12"]]) * frac
    for b in BANDS:
        mixed = refl[b] * (1 - frac) + char[_IDX[b]] * frac
        out[b] = np.where(burned, mixed, out[b]).astype(np.float32)
    b8a = s_post * (1 + nbr_post) / 2
    b12 = s_post * (1 - nbr_post) / 2
    ratio08 = refl["B08"] / np.maximum(nir, 1e-6)
    out["B8A"] = np.where(burned, b8a, out["B8A"]).astype(np.float32)
    out["B12"] = np.where(burned, b12, out["B12"]).astype(np.float32)
    out["B08"] = np.where(burned, b8a * ratio08, out["B08"]).astype(np.float32)
    scl = scl.copy()
    scl[burned] = np.where(sev[burned] >= 6, 5, 4)
    return out, scl


def to_dn(refl: Array, offset: int, nodata: Array) -> Array:
    """Reflectance -> uint16 DN ``refl * 10000 - offset`` (offset -1000 for baseline >= 04),
    1 at least on valid pixels (0 is no data)."""
    dn = np.rint(refl.astype(np.float64) * 10000.0 - offset)
    dn = np.clip(dn, 1, 65534)
    dn[nodata] = 0
    return dn.astype(np.uint16)


def upsample10(arr20: Array, rng: np.random.Generator, noise: float) -> Array:
    """20 m -> 10 m by pixel replication plus multiplicative pixel noise."""
    up = np.repeat(np.repeat(arr20, 2, axis=0), 2, axis=1)
    if noise:
        up = up * rng.normal(1.0, noise, size=up.shape).astype(np.float32)
    return np.asarray(up, dtype=np.float32)


def mean60(arr20: Array) -> Array:
    """20 m -> 60 m by 3 x 3 mean (rows and cols divisible by 3)."""
    r, c = arr20.shape
    return np.asarray(arr20.reshape(r // 3, 3, c // 3, 3).mean(axis=(1, 3)), dtype=np.float32)
