"""Sentinel-1 GRD (IW/EW, GRDH/GRDM) reader: lazy, dask-backed, calibrated, geolocated.

>>> from rus.products.sentinel1 import open_s1_grd
>>> grd = open_s1_grd("S1A_IW_GRDH_1SDV_....SAFE")      # or the .zip  # doctest: +SKIP
>>> sigma0 = grd.intensity("VV")                          # lazy float32, linear  # doctest: +SKIP

See ``docs/sentinel1.md``.
"""

from rus.products.sentinel1.annotation import S1Metadata
from rus.products.sentinel1.calibration import calibrate_intensity
from rus.products.sentinel1.geolocation import GCPGeolocation
from rus.products.sentinel1.reader import S1GRD, open_s1_grd

__all__ = ["S1GRD", "GCPGeolocation", "S1Metadata", "calibrate_intensity", "open_s1_grd"]
