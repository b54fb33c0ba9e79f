"""Per-disc truth of the phantom, computed from its analytic geometry (never from voxels)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..morphometry.dhi import DHI_COLUMNS, L5S1_NOTE, disc_height_index
from .anatomy import DiscState
from .geometry import HEIGHT_POSITIONS, SpineGeometry
from .tissue import ANNULUS, CLEFT, griffith_grade, pfirrmann_from_griffith

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["L5S1_NOTE", "truth_table"]



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
        dhi = {column: disc_height_index(formula, (ha, hm, hp), disc.depth, central, cranial_vb,
                                         caudal_vb)
               for formula, column in DHI_COLUMNS.items()}
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
