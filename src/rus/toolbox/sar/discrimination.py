"""Per-cluster extents and SNAP's size discrimination (Object-Discrimination operator)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rus.toolbox.errors import ToolboxError


@dataclass(frozen=True)
class ClusterBoxes:
    """Axis-aligned extents of every cluster (index = label).

    Attributes
    ----------
    npix
        Number of pixels.
    row_min, row_max, col_min, col_max
        Inclusive bounding box in pixels.
    """

    npix: npt.NDArray[np.int64]
    row_min: npt.NDArray[np.int64]
    row_max: npt.NDArray[np.int64]
    col_min: npt.NDArray[np.int64]
    col_max: npt.NDArray[np.int64]

    def snap_length_width(
        self, spacing: tuple[float, float]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """SNAP's length (azimuth extent) and width (range extent) in metres.

        Parameters
        ----------
        spacing
            ``(azimuth, range)`` pixel spacing in metres.
        """
        length = (self.row_max - self.row_min + 1) * float(spacing[0])
        width = (self.col_max - self.col_min + 1) * float(spacing[1])
        return length.astype(np.float64), width.astype(np.float64)


def cluster_boxes(
    rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], labels: npt.NDArray[np.int64], n: int
) -> ClusterBoxes:
    """Bounding boxes and pixel counts of ``n`` labelled clusters."""
    if n == 0:
        z = np.zeros(0, np.int64)
        return ClusterBoxes(z, z, z, z, z)
    big = np.iinfo(np.int64).max
    rmin = np.full(n, big, np.int64)
    cmin = np.full(n, big, np.int64)
    rmax = np.full(n, -1, np.int64)
    cmax = np.full(n, -1, np.int64)
    np.minimum.at(rmin, labels, rows)
    np.minimum.at(cmin, labels, cols)
    np.maximum.at(rmax, labels, rows)
    np.maximum.at(cmax, labels, cols)
    return ClusterBoxes(np.bincount(labels, minlength=n).astype(np.int64), rmin, rmax, cmin, cmax)


def discriminate(
    boxes: ClusterBoxes, spacing: tuple[float, float], min_size_m: float, max_size_m: float
) -> npt.NDArray[np.bool_]:
    """SNAP's size test: keep clusters with ``min <= sqrt(length^2 + width^2) <= max``.

    Parameters
    ----------
    boxes
        Cluster bounding boxes.
    spacing
        ``(azimuth, range)`` pixel spacing in metres.
    min_size_m, max_size_m
        Size bounds in metres (training exercise: 30 and 600).

    Returns
    -------
    numpy.ndarray of bool, one per cluster: True = kept.
    """
    if not (0 <= min_size_m <= max_size_m) or not math.isfinite(max_size_m):
        raise ToolboxError(
            "discrimination: need 0 <= min size <= max size (metres), "
            f"got {min_size_m}, {max_size_m}"
        )
    length, width = boxes.snap_length_width(spacing)
    size = np.hypot(length, width)
    return np.asarray((size >= min_size_m) & (size <= max_size_m), dtype=bool)
