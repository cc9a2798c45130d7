"""The detector core on real Sentinel-1 ship chips (SAR-Ship-Dataset, 8-bit amplitude, ~10 m)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from rus.toolbox.sar.cfar import CfarWindows, cfar_numpy, pfa_to_threshold
from rus.toolbox.sar.cluster import label_pixels
from rus.toolbox.sar.discrimination import cluster_boxes, discriminate

BOX_RE = re.compile(
    r"<xmin>(\d+)</xmin>\s*<ymin>(\d+)</ymin>\s*<xmax>(\d+)</xmax>\s*<ymax>(\d+)</ymax>"
)


def _chips(root: Path) -> list[tuple[np.ndarray, list[tuple[int, int, int, int]]]]:
    from PIL import Image

    out = []
    for jpg in sorted((root / "s1-ship-chips").glob("*.jpg")):
        amp = np.asarray(Image.open(jpg).convert("L"), np.float32)
        boxes = [
            tuple(int(v) for v in m) for m in BOX_RE.findall(jpg.with_suffix(".xml").read_text())
        ]
        out.append((amp, boxes))
    return out


def _score(
    chips: list[tuple[np.ndarray, list[tuple[int, int, int, int]]]],
    windows: CfarWindows,
    pfa: float,
    min_size_m: float,
) -> tuple[int, int, int]:
    """(boxed ships found, boxed ships, false alarms); a cluster touching no box is an alarm."""
    found = total = false_alarms = 0
    for amp, boxes in chips:
        intensity = amp * amp  # display amplitude -> intensity
        flag, _ = cfar_numpy(intensity, windows, pfa_to_threshold(pfa), floor=0.0)
        rows, cols = np.nonzero(flag)
        labels, n = label_pixels(rows, cols)
        b = cluster_boxes(rows, cols, labels, n)
        keep = discriminate(b, (10.0, 10.0), min_size_m, 600.0)
        hits: set[int] = set()
        for k in np.nonzero(keep)[0]:
            touched = [
                i
                for i, (x0, y0, x1, y1) in enumerate(boxes)
                if not (
                    b.col_max[k] < x0 - 2
                    or b.col_min[k] > x1 + 2
                    or b.row_max[k] < y0 - 2
                    or b.row_min[k] > y1 + 2
                )
            ]
            hits.update(touched)
            false_alarms += not touched
        found += len(hits)
        total += len(boxes)
    return found, total, false_alarms


def test_real_chips_ships_found(shared_data: Path) -> None:
    chips = _chips(shared_data)
    assert len(chips) == 4
    # Windows for 256 x 256 chips at ~10 m: target 50 m, guard 400 m, background 600 m.
    found, total, fa = _score(chips, CfarWindows(5, 41, 61), pfa=6.5, min_size_m=50.0)
    assert total == 9
    assert found >= 8, (found, fa)
    assert fa <= 20, (found, fa)
    # Stricter PFA trades a little recall for fewer false alarms.
    found_s, _, fa_s = _score(chips, CfarWindows(7, 61, 81), pfa=12.5, min_size_m=80.0)
    assert found_s >= 6
    assert fa_s < fa
