"""Quicklook PNG of a detection run: scene in dB, land shaded, detections circled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rus._io import atomic_path


def write_quicklook(
    path: Path,
    detection: Any,
    *,
    title: str,
    simulated: bool,
) -> Path:
    """Render the decimated scene (dB, 2-98 % stretch), shaded land and circled ships.

    Parameters
    ----------
    path
        Output ``.png``.
    detection
        A :class:`rus.chains.ship_detection.core.Detection`.
    title
        Plot title (``SIMULATED DATA`` is prepended when ``simulated``).
    simulated
        Whether the input is simulated.

    Returns
    -------
    The written path.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    step = detection.quicklook_step
    img = detection.quicklook.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 10.0 * np.log10(img)
    db[~np.isfinite(db)] = np.nan
    land = None
    if detection.land is not None:
        land = detection.land.decimated(step)[: db.shape[0], : db.shape[1]]
    sea = db[~land] if land is not None else db
    finite = sea[np.isfinite(sea)]
    lo, hi = np.percentile(finite, [2, 98]) if finite.size else (-30.0, 0.0)
    h, w = db.shape
    fig = Figure(figsize=(9, 9 * h / max(w, 1) + 0.8), dpi=110)
    ax = fig.add_subplot()
    im = ax.imshow(db, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
    handles: list[Any] = []
    if land is not None and land.any():
        overlay = np.zeros((*land.shape, 4), np.float32)
        overlay[land] = (0.80, 0.62, 0.30, 0.55)
        ax.imshow(overlay, interpolation="nearest")
        handles.append(Patch(facecolor=(0.80, 0.62, 0.30, 0.55), label="land mask (+ buffer)"))
    ships = detection.ships
    if len(ships):
        x = ships["col"].to_numpy() / step
        y = ships["row"].to_numpy() / step
        ax.scatter(x, y, s=90, facecolors="none", edgecolors="#ff2a2a", linewidths=1.4)
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markerfacecolor="none",
            markeredgecolor="#ff2a2a",
            markersize=9,
            label=f"detected ship ({len(ships)})",
        )
    )
    ax.legend(handles=handles, loc="upper right", framealpha=0.85, fontsize=10)
    full_title = ("SIMULATED DATA - " if simulated else "") + title
    ax.set_title(full_title, fontsize=9, color="#b00000" if simulated else "black", wrap=True)
    ax.set_xlabel(f"pixel (range) / {step}")
    ax.set_ylabel(f"line (azimuth) / {step}")
    cbar = fig.colorbar(im, ax=ax, shrink=0.7)
    cbar.set_label("backscatter (dB)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
