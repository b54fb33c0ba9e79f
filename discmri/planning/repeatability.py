"""Repeatability of an endpoint: within-subject SD, CV, ICC(2,1) and ICC(3,1), SEM and MDC95.

From pairs of measurements of the same disc: a test–retest dataset (two sessions days apart,
the second named ``ses-<label>retest``), or a trial's control arm between two visits (which
adds the true change of untreated discs over months, so it is an upper bound of the
measurement's own spread).

Formulas (each pair: first *x₁*, second *x₂*; *n* discs, *k* = 2 sessions):

* bias = mean(x₂ − x₁); Bland–Altman limits of agreement = bias ± 1.96·SD(x₂ − x₁)
  (Bland & Altman, Lancet 1986);
* within-subject SD wSD = √(Σ(x₂ − x₁)² / 2n), the SEM; CV = wSD / grand mean;
* MDC95 = 1.96·√2·SEM, the smallest change of one disc that exceeds measurement noise with
  95 % confidence (Weir, J Strength Cond Res 2005);
* ICC from the two-way ANOVA mean squares MSR (discs), MSC (sessions), MSE (residual):
  ICC(3,1) = (MSR − MSE) / (MSR + (k−1)·MSE) (consistency) and
  ICC(2,1) = (MSR − MSE) / (MSR + (k−1)·MSE + k·(MSC − MSE)/n) (absolute agreement), with the
  F-based intervals of Shrout & Fleiss (Psychol Bull 1979) and McGraw & Wong (Psychol Methods
  1996).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError
from ..table import is_retest, measured

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike

__all__ = ["ICC", "icc", "repeatability", "retest_pairs"]

#: Fewest pairs for which repeatability is reported (an ICC interval from fewer is useless).
MIN_PAIRS = 5


@dataclass(frozen=True)
class ICC:
    """Intraclass correlations of paired measurements, with (1 − α) intervals.

    Attributes
    ----------
    icc21, icc21_ci : float, (float, float)
        ICC(2,1): two-way random effects, absolute agreement, single measurement.
    icc31, icc31_ci : float, (float, float)
        ICC(3,1): two-way mixed effects, consistency, single measurement.
    msr, msc, mse : float
        Mean squares of subjects (discs), sessions and residual.
    n : int
        Subjects.

    The intervals of ICC(2,1) use the approximate degrees of freedom of McGraw & Wong (1996),
    as pingouin and R's ``irr`` do; that of ICC(3,1) is exact under normality.
    """

    icc21: float
    icc21_ci: tuple[float, float]
    icc31: float
    icc31_ci: tuple[float, float]
    msr: float
    msc: float
    mse: float
    n: int


def icc(ratings: ArrayLike, *, alpha: float = 0.05) -> ICC:
    """ICC(2,1) and ICC(3,1) of subjects measured in each of *k* sessions.

    Parameters
    ----------
    ratings : (n, k) array_like
        One row per subject (disc), one column per session (or rater); n ≥ 3, k ≥ 2, finite.
    alpha : float
        1 − the intervals' coverage.

    Returns
    -------
    ICC

    Raises
    ------
    ParameterError
        Fewer than 3 subjects or 2 sessions, or non-finite values.
    """
    from scipy import stats

    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[0] < 3 or x.shape[1] < 2 or not np.isfinite(x).all():
        raise ParameterError(f"an ICC needs a table of at least 3 subjects × 2 sessions of "
                             f"finite values, got shape {x.shape}")
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_err = ((x - grand) ** 2).sum() - ss_rows - ss_cols
    msr, msc = ss_rows / (n - 1), ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    df1, df2 = n - 1, (n - 1) * (k - 1)
    q = 1 - alpha / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        icc31 = (msr - mse) / (msr + (k - 1) * mse)
        f0 = msr / mse
        fl, fu = f0 / stats.f.ppf(q, df1, df2), f0 * stats.f.ppf(q, df2, df1)
        ci31 = ((fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1))
        icc21 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        a = k * icc21 / (n * (1 - icc21))
        b = 1 + k * icc21 * (n - 1) / (n * (1 - icc21))
        v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / df2)
        fl2, fu2 = stats.f.ppf(q, df1, v), stats.f.ppf(q, v, df1)
        low = n * (msr - fl2 * mse) / (fl2 * (k * msc + (k * n - k - n) * mse) + n * msr)
        high = n * (fu2 * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fu2 * msr)
    return ICC(float(icc21), (float(low), float(high)), float(icc31),
               (float(ci31[0]), float(ci31[1])), float(msr), float(msc), float(mse), n)


def retest_pairs(discs: pd.DataFrame, endpoint: str, *, source: str = "retest",
                 control: str | None = None) -> pd.DataFrame:
    """Pairs of one endpoint's values of the same disc: (first, second) per participant × level.

    Parameters
    ----------
    discs : pandas.DataFrame
        A disc table (``discs.tsv``): ``participant_id``, ``session``, ``months``, ``level``,
        ``status`` and the endpoint.
    endpoint : str
        A numeric column.
    source : {"retest", "control"}
        ``retest``: each session labelled ``ses-…retest`` (:data:`discmri.table.RETEST`)
        with the participant's other session at the same ``months``. ``control``: the
        control arm's baseline (smallest months) and first follow-up.
    control : str, optional
        The control arm (``source="control"``).

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``level``, ``first``, ``second``; discs measured in both sessions.
    """
    import pandas as pd

    if endpoint not in discs:
        raise ParameterError(f"{endpoint}: not a column of the disc table")
    rows = measured(discs).copy(deep=False)
    rows.attrs = {}  # run_dataset's table carries its sessions there, which merge cannot compare
    rows = rows[np.isfinite(pd.to_numeric(rows[endpoint], errors="coerce"))]
    session = rows.session.astype(str)
    if source == "retest":
        retest = is_retest(session)
        first = rows[~retest][["participant_id", "months", "level", endpoint]]
        second = rows[retest][["participant_id", "months", "level", endpoint]]
        keys = ["participant_id", "months", "level"]
    elif source == "control":
        if control is None:
            raise ParameterError("pairs from a control arm need its name (control=)")
        arm = rows[(rows.arm.astype(str) == control) & ~is_retest(session)]
        times = sorted(pd.to_numeric(arm.months, errors="coerce").dropna().unique())
        if len(times) < 2:
            return pd.DataFrame(columns=["participant_id", "level", "first", "second"])
        first = arm[arm.months == times[0]][["participant_id", "level", endpoint]]
        second = arm[arm.months == times[1]][["participant_id", "level", endpoint]]
        keys = ["participant_id", "level"]
    else:
        raise ParameterError(f"source {source!r}: expected 'retest' or 'control'")
    pairs = first.merge(second, on=keys, suffixes=("_first", "_second"))
    pairs = pairs.drop_duplicates(["participant_id", "level"])
    return pd.DataFrame({"participant_id": pairs.participant_id, "level": pairs.level,
                         "first": pairs[f"{endpoint}_first"].astype(float),
                         "second": pairs[f"{endpoint}_second"].astype(float)}
                        ).reset_index(drop=True)


def _row(endpoint: str, level: str, pairs: pd.DataFrame, alpha: float) -> dict:
    d = (pairs.second - pairs.first).to_numpy()
    n = len(d)
    mean = float(np.concatenate([pairs.first, pairs.second]).mean())
    wsd = math.sqrt(float((d ** 2).sum()) / (2 * n))
    sd_d = float(d.std(ddof=1))
    bias = float(d.mean())
    stat = icc(pairs[["first", "second"]].to_numpy(float), alpha=alpha)
    return {"endpoint": endpoint, "level": level, "n_pairs": n,
            "participants": int(pairs.participant_id.nunique()), "mean": mean, "bias": bias,
            "loa_low": bias - 1.96 * sd_d, "loa_high": bias + 1.96 * sd_d,
            "within_sd": wsd, "cv_pct": 100.0 * wsd / abs(mean) if mean else math.nan,
            "icc21": stat.icc21, "icc21_low": stat.icc21_ci[0], "icc21_high": stat.icc21_ci[1],
            "icc31": stat.icc31, "icc31_low": stat.icc31_ci[0], "icc31_high": stat.icc31_ci[1],
            "between_sd": math.sqrt(max(stat.msr - stat.mse, 0.0) / 2),  # (MSR − MSE) / k
            "sem": wsd, "mdc95": 1.96 * math.sqrt(2) * wsd}


def repeatability(discs: pd.DataFrame, endpoints: Sequence[str], *, source: str = "retest",
                  control: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Repeatability of each endpoint, per level and over all levels.

    Parameters
    ----------
    discs : pandas.DataFrame
        A disc table with retest sessions (or a control arm, ``source="control"``).
    endpoints : sequence of str
        Numeric columns.
    source, control
        Where the pairs come from (:func:`retest_pairs`).
    alpha : float
        1 − the ICC intervals' coverage.

    Returns
    -------
    pandas.DataFrame
        One row per endpoint and level (``all``: every disc a subject; discs of one person
        are not independent, so its intervals are too narrow: prefer the per-level rows for
        inference), with ``n_pairs``, ``participants``, ``mean``, ``bias``, ``loa_low`` /
        ``loa_high``, ``within_sd`` (= ``sem``), ``cv_pct``, ``icc21`` and ``icc31`` with
        their intervals, ``between_sd``, ``mdc95`` (units of the endpoint; ``cv_pct`` in %),
        and ``source``. Levels with fewer than :data:`MIN_PAIRS` pairs are left out.
    """
    import pandas as pd

    rows = []
    for endpoint in endpoints:
        pairs = retest_pairs(discs, endpoint, source=source, control=control)
        for level, part in sorted(pairs.groupby("level"), key=lambda kv: str(kv[0])):
            if len(part) >= MIN_PAIRS:
                rows.append(_row(endpoint, str(level), part, alpha))
        if len(pairs) >= MIN_PAIRS:
            rows.append(_row(endpoint, "all", pairs, alpha))
    columns = ["endpoint", "level", "n_pairs", "participants", "mean", "bias", "loa_low",
               "loa_high", "within_sd", "cv_pct", "icc21", "icc21_low", "icc21_high", "icc31",
               "icc31_low", "icc31_high", "between_sd", "sem", "mdc95"]
    out = pd.DataFrame(rows, columns=columns)
    out["source"] = ("test-retest sessions" if source == "retest"
                     else f"control arm {control}, baseline to first follow-up")
    return out
