"""Sentinel-2 (and Landsat, generic raster) burned area and burn severity chain.

``compute_burn_severity(pre, post, params)`` returns an in-memory :class:`xarray.Dataset`
(dNBR, RBR, RdNBR, severity classes); ``run_burned_area(pre, post, out_dir, params)`` also
writes the COGs, vectors, statistics, quicklook and STAC Item. See ``docs/burned-area.md``.
"""

from __future__ import annotations

from rus.chains.burned_area.core import BurnComputation, compute_burn_severity, run_core
from rus.chains.burned_area.inputs import band_roles, open_input
from rus.chains.burned_area.params import BurnParams, BurnWarning
from rus.chains.burned_area.run import OUTPUTS, BurnRun, run_burned_area

__all__ = [
    "OUTPUTS",
    "BurnComputation",
    "BurnParams",
    "BurnRun",
    "BurnWarning",
    "band_roles",
    "compute_burn_severity",
    "open_input",
    "run_burned_area",
    "run_core",
]
