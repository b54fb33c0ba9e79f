"""Simulated readers: Griffith or Pfirrmann grades of discs from their features, with scatter.

A reader looks at a disc and judges its nucleus against CSF, presacral fat and the outer
annulus, and its height, each with some scatter. Here a reader is the Griffith or the
Pfirrmann criteria (stated again below, independently of :mod:`discmri.grading`, so that
neither can hide a mistake of the other) applied to the features multiplied by log-normal
scatter (ratios) or shifted by normal scatter (height loss, percentage points), with the
reader's own thresholds. Used to test that
calibration recovers a site's thresholds, and to draw cohorts of disc features at the table
level (no images) for benchmarks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["READER_THRESHOLDS", "feature_cohort", "reader_grades"]

#: A site whose readers see the boundaries away from discmri's defaults (for tests): the
#: nucleus must be brighter to be called hyperintense, fat's level is 0.6 of CSF's.
READER_THRESHOLDS: dict[str, float] = {
    "csf_equal": 0.78, "fat_above": 1.1, "af_hyperintense": 3.3, "af_mild": 1.9,
    "loss_some": 16.0, "loss_moderate": 38.0, "loss_collapsed": 55.0,
}

_LEVELS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
_NAMES = ("csf_equal", "fat_above", "af_hyperintense", "af_mild", "loss_some",
          "loss_moderate", "loss_collapsed")


def _grade(af: float, csf: float, fat: float, loss: float, t: Mapping[str, float]) -> int:
    """Griffith grade by the reader's boundaries.

    Griffith 2007: 1 = CSF; 2 above fat; 3 below fat, bright; 4 slightly above the outer
    annulus; 5 hypointense with normal height; 6-8 with < 30, 30-60, > 60 % loss (the loss
    boundaries here are the reader's).
    """
    if af >= t["af_hyperintense"]:
        if csf >= t["csf_equal"]:
            return 1
        return 2 if fat >= t["fat_above"] else 3
    if af >= t["af_mild"]:
        return 4
    return 5 + int(loss >= t["loss_some"]) + int(loss >= t["loss_moderate"]) + int(
        loss >= t["loss_collapsed"])


def _pfirrmann(af: float, csf: float, fat: float, loss: float, t: Mapping[str, float]) -> int:
    """Pfirrmann grade (1-5 for I-V) by the reader's boundaries.

    Pfirrmann 2001: V collapsed; IV hypointense, or intermediate with the height decreased;
    III intermediate (grey) with normal height, or bright but below presacral fat's level; II
    bright, not CSF's; I = CSF, homogeneous (these readers see no cleft).
    """
    if loss >= t["loss_collapsed"]:
        return 5
    if af < t["af_mild"]:
        return 4
    if af < t["af_hyperintense"]:
        return 4 if loss >= t["loss_some"] else 3
    if fat < t["fat_above"]:
        return 3
    return 1 if csf >= t["csf_equal"] else 2


def feature_cohort(participants: int, *, thresholds: Mapping[str, float] = READER_THRESHOLDS,
                   fat_csf: float = 0.6, seed: int = 0) -> pd.DataFrame:
    """Disc features of a cohort, spread over all eight grades of ``thresholds``.

    Each disc gets a grade at random (1-8) and features inside that grade's band: the
    nucleus-to-outer-annulus and nucleus-to-CSF ratios log-uniform between the grade's
    boundaries, the nucleus-to-fat ratio that of CSF over each participant's fat-to-CSF ratio
    (``fat_csf`` with 8 % scatter, as one image's fat and CSF are), the height loss uniform in
    the grade's band. Standard errors are 5 % of each ratio.

    Parameters
    ----------
    participants : int
        Participants, one session each, five lumbar discs each.
    thresholds : mapping
        The cohort's grade boundaries (names of :data:`READER_THRESHOLDS`).
    fat_csf : float
        Presacral fat over CSF on T2w.
    seed : int

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``session``, ``level``, ``grade_griffith`` (the band drawn) and
        the feature columns of ``discs.tsv`` that grading reads.
    """
    import pandas as pd

    if participants < 1:
        raise ParameterError(f"participants={participants}; expected at least 1")
    missing = [n for n in _NAMES if n not in thresholds]
    if missing:
        raise ParameterError(f"thresholds: no {', '.join(missing)}; expected {_NAMES}")
    t = thresholds
    rng = np.random.default_rng(seed)

    def log_uniform(a: float, b: float) -> float:
        return float(np.exp(rng.uniform(np.log(a), np.log(b))))

    rows = []
    for p in range(participants):
        ratio = fat_csf * float(np.exp(rng.normal(0.0, 0.08)))
        for level in _LEVELS:
            g = int(rng.integers(1, 9))
            af = (log_uniform(t["af_hyperintense"], 1.6 * t["af_hyperintense"]) if g <= 3
                  else log_uniform(t["af_mild"], t["af_hyperintense"]) if g == 4
                  else log_uniform(1.0, t["af_mild"]))
            fat_level = t["fat_above"] * fat_csf  # CSF ratio at fat's level
            csf = (log_uniform(t["csf_equal"], 1.15) if g == 1
                   else log_uniform(fat_level, t["csf_equal"]) if g == 2
                   else log_uniform(0.5 * fat_level, fat_level) if g == 3
                   else log_uniform(0.1, 0.5 * fat_level))
            bands = {6: (t["loss_some"], t["loss_moderate"]),
                     7: (t["loss_moderate"], t["loss_collapsed"]),
                     8: (t["loss_collapsed"], 80.0)}
            loss = float(rng.uniform(*bands.get(g, (-10.0, t["loss_some"]))))
            rows.append({"participant_id": f"sub-{p + 1:02d}", "session": "ses-01",
                         "level": level, "grade_griffith": g,
                         "np_outer_af_ratio": af, "np_outer_af_ratio_se": 0.05 * af,
                         "np_csf_ratio": csf, "np_csf_ratio_se": 0.05 * csf,
                         "np_fat_ratio": csf / ratio, "np_fat_ratio_se": 0.05 * csf / ratio,
                         "np_inhomogeneity": 0.1, "cleft_depth": 0.0,
                         "height_loss_pct": loss, "height_reference": "simulated"})
    return pd.DataFrame(rows)


def reader_grades(features: pd.DataFrame, readers: int = 2, *,
                  thresholds: Mapping[str, float] = READER_THRESHOLDS,
                  ratio_scatter: float = 0.1, loss_scatter: float = 5.0,
                  seed: int = 0, scale: str = "griffith") -> pd.DataFrame:
    """Griffith (or Pfirrmann) grades of every disc by each of ``readers`` simulated readers.

    Parameters
    ----------
    features : pandas.DataFrame
        ``participant_id``, ``session``, ``level``, ``np_outer_af_ratio``, ``np_csf_ratio``,
        ``np_fat_ratio``, ``height_loss_pct`` (e.g. :func:`feature_cohort`).
    readers : int
        Readers, each grading every disc once.
    thresholds : mapping
        The readers' boundaries.
    ratio_scatter : float
        SD of the log of the factor a reader misjudges each ratio by (0.1: 10 %).
    loss_scatter : float
        SD of a reader's misjudgement of the height loss (percentage points).
    seed : int
    scale : {"griffith", "pfirrmann"}
        The scale the readers grade on (Pfirrmann grades written I-V).

    Returns
    -------
    pandas.DataFrame
        A reader grades table: ``participant_id``, ``session``, ``level``, ``reader``,
        ``scale``, ``grade``.
    """
    import pandas as pd

    if scale not in ("griffith", "pfirrmann"):
        raise ParameterError(f"scale must be 'griffith' or 'pfirrmann', got {scale!r}")
    roman = ("I", "II", "III", "IV", "V")
    judge = _grade if scale == "griffith" else _pfirrmann

    rng = np.random.default_rng(seed)
    rows = []
    for r in range(readers):
        for disc in features.to_dict("records"):
            seen = {k: float(disc[k]) * float(np.exp(rng.normal(0.0, ratio_scatter)))
                    for k in ("np_outer_af_ratio", "np_csf_ratio", "np_fat_ratio")}
            loss = float(disc["height_loss_pct"]) + float(rng.normal(0.0, loss_scatter))
            grade = judge(seen["np_outer_af_ratio"], seen["np_csf_ratio"],
                          seen["np_fat_ratio"], loss, thresholds)
            rows.append({"participant_id": disc["participant_id"], "session": disc["session"],
                         "level": disc["level"], "reader": f"reader{r + 1}", "scale": scale,
                         "grade": str(grade) if scale == "griffith" else roman[grade - 1]})
    return pd.DataFrame(rows)
