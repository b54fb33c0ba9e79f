"""Per-disc truth of the phantom, computed from its analytic geometry.

Every value comes from the geometry and the tissue tables, never from the code under test. The
one exception to "never from voxels" is deliberate: the nucleus-region medians
(:func:`np_region_median`) are what a region median of a map estimates, partial volume
included, so they are taken over the phantom's own noise-free maps on the acquisition grid.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .analytic import HEIGHT_POSITIONS, SpineGeometry
from .anatomy import DiscState
from .tissue import ANNULUS, CLEFT, griffith_grade, pfirrmann_from_griffith

if TYPE_CHECKING:
    import pandas as pd

    from ..volume import Volume
    from .grid import Pose

__all__ = ["L5S1_NOTE", "NP_REGION", "np_region_median", "truth_table"]

#: What the truth does at L5-S1 (the sacrum is not a vertebral body of comparable shape).
L5S1_NOTE = "caudal vertebra is S1 (sacrum): DHI from the cranial vertebral body only"


#: The nucleus region of discmri's tables (docs/morphometry.rst, *Regions*), stated again here
#: from the phantom's side, on the exact geometry: the central 60 % of the disc's depth
#: (segments 2–4 of five), the central 60 % of its local height, voxel centres within 5 mm of
#: its mid-sagittal plane.
NP_REGION = {"depth_fraction": 0.6, "height_fraction": 0.6, "half_width_mm": 5.0}


def np_region_median(geometry: SpineGeometry, pose: Pose, truth_map: Volume) -> dict[str, float]:
    """Median of a noise-free parameter map over each disc's nucleus region.

    A table's ``np_t2_ms`` is the median of a T2 map over the nucleus region: the region's
    tissue as the voxels hold it, an intranuclear cleft and the partial volume of voxels that
    straddle it or the annulus included. On discs with a cleft it differs from the nucleus
    tissue's T2 by up to a third at 1 mm in-plane. This is the truth of that same quantity:
    the phantom's own parameter map (each voxel the volume-weighted mean of its tissues) over
    voxels whose centres lie in :data:`NP_REGION` of the exact geometry, not the measured one.

    Parameters
    ----------
    geometry : SpineGeometry
    pose : Pose
        Body-to-scanner pose of the session.
    truth_map : Volume
        A noise-free parameter map of the session (``t2_truth`` in ms, ``adc_truth`` in mm²/s).

    Returns
    -------
    dict
        Level name → median (NaN when no voxel centre lies in the region).
    """
    data = np.asarray(truth_map.data, dtype=np.float64)
    affine = np.asarray(truth_map.affine, dtype=np.float64)
    ijk = np.indices(data.shape).reshape(3, -1).T
    body = pose.to_body(ijk @ affine[:3, :3].T + affine[:3, 3])
    values = data.ravel()
    out = {}
    for disc in geometry.discs:
        p, q = disc.local(body[:, 1:])
        x = body[:, 0]
        lower, upper = disc.lower(p, x), disc.upper(p, x)
        inside = ((np.abs(p) <= NP_REGION["depth_fraction"] * disc.depth / 2)
                  & (np.abs(x) <= NP_REGION["half_width_mm"])
                  & (np.abs(q - (lower + upper) / 2)
                     <= NP_REGION["height_fraction"] * (upper - lower) / 2))
        v = values[inside]
        v = v[np.isfinite(v)]
        out[disc.name] = float(np.median(v)) if v.size else math.nan
    return out


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
