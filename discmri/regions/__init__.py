"""Regions of interest laid in each disc's measured frame on any grid, and their statistics.

Regions sit above morphometry in the data flow: they are made from the disc geometry that
:mod:`discmri.morphometry` measures on the T2-weighted image, so the same regions fall on the
T2w, MESE and DWI grids without disc labels on those grids.
"""

from .layout import (
    DISC_REGIONS,
    Region,
    SpineRegions,
    disc_regions,
    resample_labels,
    spine_regions,
)
from .stats import region_stats

__all__ = [
    "DISC_REGIONS",
    "Region",
    "SpineRegions",
    "disc_regions",
    "region_stats",
    "resample_labels",
    "spine_regions",
]
