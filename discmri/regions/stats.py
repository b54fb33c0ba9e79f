"""Statistics of a parameter map in regions: n, mean, median, SD, excluded voxels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..errors import GeometryError
from .layout import Region, SpineRegions

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["region_stats"]


def region_stats(
    values: np.ndarray,
    regions: SpineRegions | Mapping[tuple[str, str], Region | np.ndarray],
) -> pd.DataFrame:
    """Mean, median, SD and voxel count of a map in every region.

    Parameters
    ----------
    values : (X, Y, Z) ndarray
        A parameter map (T2 ms, ADC mm²/s …) on the regions' grid. NaN voxels (failed fits)
        are left out and not counted.
    regions : SpineRegions or mapping of (level, region) to Region or full-grid mask

    Returns
    -------
    pandas.DataFrame
        Columns ``level``, ``region``, ``n``, ``mean``, ``median``, ``sd`` (sample SD,
        ``ddof=1``), ``n_excluded`` (NaN voxels in the region). Empty regions give NaN.
    """
    import pandas as pd

    data = np.asarray(values)
    if isinstance(regions, SpineRegions):
        if tuple(regions.shape) != data.shape:
            raise GeometryError(f"map has shape {data.shape} but the regions were laid on a "
                                f"grid of shape {tuple(regions.shape)}; expected the regions "
                                "made on the map's grid")
        items = regions.regions.items()
    else:
        items = regions.items()
    rows = []
    for (level, region), found in items:
        if isinstance(found, Region):
            v = found.values(data).astype(np.float64)
        else:
            if found.shape != data.shape:
                raise GeometryError(f"map has shape {data.shape} but region {level} {region} "
                                    f"has {found.shape}; expected the regions made on the "
                                    "map's grid")
            v = data[found].astype(np.float64)
        ok = np.isfinite(v)
        v = v[ok]
        n = int(v.size)
        rows.append({
            "level": level, "region": region, "n": n,
            "mean": float(v.mean()) if n else np.nan,
            "median": float(np.median(v)) if n else np.nan,
            "sd": float(v.std(ddof=1)) if n > 1 else np.nan,
            "n_excluded": int((~ok).sum()),
        })
    return pd.DataFrame(rows, columns=["level", "region", "n", "mean", "median", "sd",
                                       "n_excluded"])
