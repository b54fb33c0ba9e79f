"""Disc height index (DHI) formulas.

All functions are vectorized over discs (any array shape) and take heights and depths in mm.
The formulas are those compared by Chen et al. [1]_: mean height, Masuda/Lu [2]_, Farfan [3]_
and the area method of BianqueNet [4]_.
Where a formula needs the vertebral body caudal to the disc and there is none to use (L5-S1: the
sacrum is not a vertebral body of comparable shape), pass ``caudal=None`` (or NaN): the
formula is then computed from the cranial vertebral body alone, as stated per function.

References
----------
.. [1] Chen L, et al. Comparison of seven radiographic disc height index methods. J Clin
   Neurosci 2022;103:153. (Formulas compared; the conventions below follow it.)
.. [2] Masuda K, et al. / Lu Y, et al. Disc height index as (Ha+Hm+Hp) of the disc over that of
   the adjacent vertebral bodies.
.. [3] Farfan HF. Mechanical disorders of the low back. 1973. (Ha+Hp)/D.
.. [4] BianqueNet area method: disc height = central-80 % disc area / its width; vertebral height
   = body area / mean endplate width.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..errors import ParameterError

__all__ = [
    "DHI_COLUMNS",
    "DHI_FORMULAS",
    "L5S1_NOTE",
    "disc_height_index",
    "dhi_area",
    "dhi_farfan",
    "dhi_masuda",
    "dhi_mean_height",
    "height_width_ratio",
]

#: Names accepted wherever a DHI formula is chosen.
DHI_FORMULAS = ("mean_height", "masuda", "farfan", "area", "height_width")

#: Table column of each formula.
DHI_COLUMNS = {"mean_height": "dhi_mean_height", "masuda": "dhi_masuda",
               "farfan": "dhi_farfan", "area": "dhi_area", "height_width": "height_width_ratio"}

#: What the formulas do at a disc whose caudal vertebra is S1.
L5S1_NOTE = "caudal vertebra is S1 (sacrum): DHI from the cranial vertebral body only"


def _caudal(caudal: ArrayLike | None, like: np.ndarray) -> np.ndarray:
    if caudal is None:
        return np.full_like(like, np.nan)
    return np.asarray(caudal, dtype=np.float64)


def _adjacent_mean(cranial: np.ndarray, caudal: np.ndarray) -> np.ndarray:
    """Mean of cranial and caudal; the cranial value alone where caudal is NaN."""
    return np.where(np.isnan(caudal), cranial, 0.5 * (cranial + caudal))


def dhi_mean_height(
    ha: ArrayLike,
    hm: ArrayLike,
    hp: ArrayLike,
    vb_cranial_mid: ArrayLike,
    vb_caudal_mid: ArrayLike | None,
) -> np.ndarray:
    """Mean-height DHI: ``((Ha+Hm+Hp)/3) / mean(mid-height of the adjacent vertebral bodies)``.

    Parameters
    ----------
    ha, hm, hp : array_like
        Anterior, middle, posterior disc height, mm.
    vb_cranial_mid, vb_caudal_mid : array_like
        Middle height of the vertebral body above and below, mm. ``None``/NaN caudal: divide by
        the cranial body's middle height alone (L5-S1).

    Returns
    -------
    ndarray
        Dimensionless index.

    Examples
    --------
    >>> float(dhi_mean_height(12, 11, 9, 28, 26))
    0.3950617283950617
    """
    ha, hm, hp = (np.asarray(v, dtype=np.float64) for v in (ha, hm, hp))
    cranial = np.asarray(vb_cranial_mid, dtype=np.float64)
    return ((ha + hm + hp) / 3.0) / _adjacent_mean(cranial, _caudal(vb_caudal_mid, cranial))


def dhi_masuda(
    disc: tuple[ArrayLike, ArrayLike, ArrayLike],
    vb_cranial: tuple[ArrayLike, ArrayLike, ArrayLike],
    vb_caudal: tuple[ArrayLike, ArrayLike, ArrayLike] | None,
) -> np.ndarray:
    """Masuda/Lu DHI: ``2(Ha+Hm+Hp)_disc / ((Ha+Hm+Hp)_cranial VB + (Ha+Hm+Hp)_caudal VB)``.

    Parameters
    ----------
    disc, vb_cranial, vb_caudal : tuple of 3 array_like
        (anterior, middle, posterior) heights in mm of the disc and the adjacent bodies.
        ``vb_caudal=None`` (or NaN): ``(Ha+Hm+Hp)_disc / (Ha+Hm+Hp)_cranial`` (L5-S1).

    Returns
    -------
    ndarray
    """
    d = sum(np.asarray(v, dtype=np.float64) for v in disc)
    up = sum(np.asarray(v, dtype=np.float64) for v in vb_cranial)
    low = (
        _caudal(None, np.asarray(up))
        if vb_caudal is None
        else sum(np.asarray(v, dtype=np.float64) for v in vb_caudal)
    )
    return d / _adjacent_mean(np.asarray(up), np.asarray(low))


def dhi_farfan(ha: ArrayLike, hp: ArrayLike, depth: ArrayLike) -> np.ndarray:
    """Farfan index: ``(Ha + Hp) / D`` with D the disc's AP depth (mm)."""
    return (np.asarray(ha, dtype=np.float64) + np.asarray(hp, dtype=np.float64)) / np.asarray(
        depth, dtype=np.float64
    )


def dhi_area(
    disc_central_area: ArrayLike,
    disc_central_width: ArrayLike,
    vb_cranial_area: ArrayLike,
    vb_cranial_width: ArrayLike,
    vb_caudal_area: ArrayLike | None,
    vb_caudal_width: ArrayLike | None,
) -> np.ndarray:
    """Area-based DHI (BianqueNet style).

    ``DH = A_disc,central80 / W_central80``, ``HV = A_VB / W_VB`` (mean endplate width), and
    ``DHI = 2·DH / (HV_cranial + HV_caudal)``; with no caudal body (L5-S1), ``DH / HV_cranial``.

    Parameters
    ----------
    disc_central_area : array_like
        Mid-sagittal area of the central 80 % (AP) of the disc, mm².
    disc_central_width : array_like
        AP width of that central part, mm.
    vb_cranial_area, vb_cranial_width : array_like
        Mid-sagittal area (mm²) and mean endplate width (mm) of the body above.
    vb_caudal_area, vb_caudal_width : array_like or None
        The same for the body below; ``None`` for L5-S1.
    """
    dh = np.asarray(disc_central_area, dtype=np.float64) / np.asarray(
        disc_central_width, dtype=np.float64
    )
    hv_up = np.asarray(vb_cranial_area, dtype=np.float64) / np.asarray(
        vb_cranial_width, dtype=np.float64
    )
    if vb_caudal_area is None or vb_caudal_width is None:
        hv_low = np.full_like(hv_up, np.nan)
    else:
        hv_low = np.asarray(vb_caudal_area, dtype=np.float64) / np.asarray(
            vb_caudal_width, dtype=np.float64
        )
    return dh / _adjacent_mean(hv_up, hv_low)


def height_width_ratio(ha: ArrayLike, hm: ArrayLike, hp: ArrayLike, depth: ArrayLike) -> np.ndarray:
    """Disc height-to-width ratio: ``((Ha+Hm+Hp)/3) / D``."""
    mean = (np.asarray(ha, dtype=np.float64) + np.asarray(hm) + np.asarray(hp)) / 3.0
    return mean / np.asarray(depth, dtype=np.float64)


def disc_height_index(
    formula: str,
    heights: tuple[float, float, float],
    depth: float,
    central_area: float,
    cranial: tuple[tuple[float, float, float], float, float],
    caudal: tuple[tuple[float, float, float], float, float] | None,
) -> float:
    """One disc's DHI by a named formula, from its measurements and its neighbours'.

    Parameters
    ----------
    formula : str
        One of :data:`DHI_FORMULAS`.
    heights : (Ha, Hm, Hp)
        Disc heights, mm.
    depth : float
        Disc AP depth, mm.
    central_area : float
        Mid-sagittal area of the central 80 % of the depth, mm².
    cranial, caudal : ((Ha, Hm, Hp), area, depth)
        Heights (mm), mid-sagittal area (mm²) and depth (mm) of the vertebral bodies above
        and below. ``caudal=None`` applies the L5-S1 rule (:data:`L5S1_NOTE`); a caudal body
        with missing (NaN) values gives NaN, not that rule.

    Returns
    -------
    float
    """
    ha, hm, hp = heights
    if formula == "farfan":
        return float(dhi_farfan(ha, hp, depth))
    if formula == "height_width":
        return float(height_width_ratio(ha, hm, hp, depth))
    if formula not in DHI_FORMULAS:
        raise ParameterError(f"unknown DHI formula {formula!r}; expected one of {DHI_FORMULAS}")
    if caudal is not None and not np.isfinite([*caudal[0], caudal[1], caudal[2]]).all():
        return float("nan")
    up_h, up_area, up_depth = cranial
    low_h, low_area, low_depth = caudal if caudal is not None else (None, None, None)
    if formula == "mean_height":
        return float(dhi_mean_height(ha, hm, hp, up_h[1], None if low_h is None else low_h[1]))
    if formula == "masuda":
        return float(dhi_masuda(heights, up_h, low_h))
    return float(dhi_area(central_area, 0.8 * depth, up_area, up_depth, low_area, low_depth))
