"""SAR processing steps on xarray/dask data: CFAR, clustering, discrimination, attributes, masks.

- :mod:`~rus.toolbox.sar.cfar`: SNAP's two-parameter CFAR with box sums (numba), chunk-exact.
- :mod:`~rus.toolbox.sar.cluster`: 8-connected clustering exact across chunk boundaries.
- :mod:`~rus.toolbox.sar.discrimination`: bounding boxes and SNAP's size test.
- :mod:`~rus.toolbox.sar.attributes`: per-ship attributes (corrected length, heading...).
- :mod:`~rus.toolbox.sar.masking`: shoreline buffer, user masks, distance to coast.
- :mod:`~rus.toolbox.sar.land_check`: exact land test of detections (sub-cell islets).
"""

from rus.toolbox.errors import ToolboxError

__all__ = ["ToolboxError"]
