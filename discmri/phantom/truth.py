"""Per-disc truth of the phantom, computed from its analytic geometry (never from voxels)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .anatomy import DiscState
from .geometry import HEIGHT_POSITIONS, SpineGeometry
from .tissue import ANNULUS, CLEFT, griffith_grade, pfirrmann_from_griffith

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["L5S1_NOTE", "truth_table"]

#: What the truth does at L5-S1 (the sacrum is not a vertebral body of comparable shape).
L5S1_NOTE = "caudal vertebra is S1 (sacrum): DHI from the cranial vertebral body only"


def _dhi(heights, depth, central_area, cranial, caudal) -> dict[str, float]:
    """The DHI formulas as ../shared/REFERENCE.md §2 states them, written here on their own.

    The phantom does not call the code it tests: a mistake in :mod:`discmri.morphometry.dhi`
    then shows as a difference between measurement and truth instead of hiding in both.
    ``cranial``/``caudal`` are ((Ha, Hm, Hp), mid-sagittal area, depth) of the vertebral
    bodies; ``caudal`` None at L5-S1, where the cranial body alone is used.
    """
    ha, hm, hp = heights
    (up_a, up_m, up_p), up_area, up_depth = cranial

    def adjacent(up: float, low: float | None) -> float:
        return up if low is None else (up + low) / 2

    low_m = low_sum = low_hv = None
    if caudal is not None:
        (low_a, low_m, low_p), low_area, low_depth = caudal
        low_sum = low_a + low_m + low_p
        low_hv = low_area / low_depth
    return {
        "dhi_mean_height": (ha + hm + hp) / 3 / adjacent(up_m, low_m),
        "dhi_masuda": (ha + hm + hp) / adjacent(up_a + up_m + up_p, low_sum),
        "dhi_farfan": (ha + hp) / depth,
        # central 80 % of the depth: its area over its width
        "dhi_area": central_area / (0.8 * depth) / adjacent(up_area / up_depth, low_hv),
        "height_width_ratio": (ha + hm + hp) / 3 / depth,
    }


def _heights(fn, segment, positions) -> tuple[float, float, float]:
    return tuple(fn(segment, f) for f in positions)  # type: ignore[return-value]


def truth_table(
    geometry: SpineGeometry, *, positions: tuple[float, float, float] = HEIGHT_POSITIONS
) -> pd.DataFrame:
    """One row per disc (cranial to caudal) with its exact measurements and properties.

    Parameters
    ----------
    geometry : SpineGeometry
    positions : (anterior, middle, posterior) fractions of AP depth from the anterior margin
        Where the three heights are taken (default 10 %, 50 %, 90 %).

    Returns
    -------
    pandas.DataFrame
        Columns (mm, mm², mm³, ms, mm²/s): ``level``, ``grade_griffith``, ``grade_pfirrmann``,
        ``severity``, ``height_anterior_mm``, ``height_middle_mm``, ``height_posterior_mm``,
        ``height_mean_mm``, ``normal_height_mean_mm`` (same disc, healthy, no treatment),
        ``height_loss_fraction``, ``ap_depth_mm``, ``width_mm``, ``area_mm2``,
        ``central_area_mm2`` (central 80 %), ``volume_mm3``, ``wedge_angle_deg``,
        ``vb_cranial_height_{anterior,middle,posterior}_mm``, ``vb_caudal_height_…_mm``,
        ``vb_cranial_area_mm2``, ``vb_caudal_area_mm2``, ``vb_cranial_depth_mm``,
        ``vb_caudal_depth_mm``, ``dhi_mean_height``, ``dhi_masuda``, ``dhi_farfan``,
        ``dhi_area``, ``height_width_ratio``, ``dhi_note``, ``np_volume_mm3``, ``np_t2_ms``
        (nucleus tissue), ``np_t2_mean_ms`` (volume mean over the nucleus label, cleft
        included), ``cleft_mm``, ``af_t2_ms``, ``np_adc_mm2_s``, ``af_adc_mm2_s``, ``np_pd``,
        ``af_pd``, ``height_gain_mm``.
    """
    import pandas as pd

    anatomy = geometry.anatomy
    healthy = SpineGeometry(
        anatomy.with_states({d: replace(anatomy.state(d), severity=1.0, height_gain_mm=0.0)
                             for d in anatomy.disc_names})
    )
    rows = []
    for k, disc in enumerate(geometry.discs):
        up, low = geometry.vertebrae[k], geometry.vertebrae[k + 1]
        state: DiscState = anatomy.state(disc.name)
        tissue = geometry.disc_tissue[disc.name]
        ha, hm, hp = _heights(geometry.disc_height, disc, positions)
        mean = (ha + hm + hp) / 3
        normal = float(np.mean(_heights(healthy.disc_height, healthy.discs[k], positions)))
        vb_up = _heights(geometry.vertebra_height, up, positions)
        vb_low = _heights(geometry.vertebra_height, low, positions)
        sacral = low.name == "S1"
        area_up, area_low = geometry.vertebra_area(up), geometry.vertebra_area(low)
        central = geometry.disc_area(disc, 0.8)
        grade = griffith_grade(state.severity)
        cranial_vb = (vb_up, area_up, up.depth)
        caudal_vb = None if sacral else (vb_low, area_low, low.depth)
        dhi = _dhi((ha, hm, hp), disc.depth, central, cranial_vb, caudal_vb)
        cleft = geometry.cleft_fraction(k) if tissue.cleft_mm > 0 else 0.0
        rows.append(
            {
                "level": disc.name,
                "grade_griffith": grade,
                "grade_pfirrmann": pfirrmann_from_griffith(grade),
                "severity": state.severity,
                "height_anterior_mm": ha,
                "height_middle_mm": hm,
                "height_posterior_mm": hp,
                "height_mean_mm": mean,
                "normal_height_mean_mm": normal,
                "height_loss_fraction": 1.0 - mean / normal,
                "ap_depth_mm": disc.depth,
                "width_mm": disc.width,
                "area_mm2": geometry.disc_area(disc),
                "central_area_mm2": central,
                "volume_mm3": geometry.disc_volume(disc),
                "wedge_angle_deg": math.degrees(disc.wedge),
                "vb_cranial_height_anterior_mm": vb_up[0],
                "vb_cranial_height_middle_mm": vb_up[1],
                "vb_cranial_height_posterior_mm": vb_up[2],
                "vb_caudal_height_anterior_mm": vb_low[0],
                "vb_caudal_height_middle_mm": vb_low[1],
                "vb_caudal_height_posterior_mm": vb_low[2],
                "vb_cranial_area_mm2": area_up,
                "vb_caudal_area_mm2": area_low,
                "vb_cranial_depth_mm": up.depth,
                "vb_caudal_depth_mm": low.depth,
                **dhi,
                "dhi_note": L5S1_NOTE if sacral else "",
                "np_volume_mm3": geometry.nucleus_volume(k),
                "np_t2_ms": tissue.nucleus.t2_ms,
                "np_t2_mean_ms": (1 - cleft) * tissue.nucleus.t2_ms + cleft * CLEFT.t2_ms,
                "cleft_mm": tissue.cleft_mm,
                "af_t2_ms": ANNULUS.t2_ms,
                "np_adc_mm2_s": tissue.nucleus.adc_mm2_s,
                "af_adc_mm2_s": ANNULUS.adc_mm2_s,
                "np_pd": tissue.nucleus.pd,
                "af_pd": ANNULUS.pd,
                "height_gain_mm": state.height_gain_mm,
            }
        )
    return pd.DataFrame(rows)
