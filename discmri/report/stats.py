"""The statistics of a trial report, from ``discs.tsv``.

Discs are nested in participants, so every test of a change is made on participant-level
values: the mean of the participant's selected discs (treated levels, or all) at each visit,
and its change from the participant's baseline over the discs measured at both. The linear
mixed model uses every disc, with a random intercept per participant and a variance component
per disc within the participant. Statistics come from SciPy and statsmodels.

* Summary per arm × visit: n discs / n participants, mean ± SD, median [IQR] (disc level).
* Change from baseline per arm × visit: mean change (absolute, and % of the participant's
  baseline) with its 95 % t interval (from :data:`MIN_INTERVAL` participants); within-arm
  test: one-sample t test of the participants' changes (two-arm layout) or the exact Wilcoxon
  signed-rank test (small studies), the latter only where it can reach p < :data:`ALPHA`
  (n ≥ 6; a ``note`` says why not).
* Between arms at each visit: Welch's t test of the participants' changes (difference and its
  95 % interval), with the Mann-Whitney U test beside it.
* Mixed model: ``value ~ C(arm) * C(visit)`` in the two-arm layout, whose arm × visit terms
  are the between-arm differences in change from baseline; otherwise the pooled time model
  ``value ~ C(visit)``, whose visit terms are everyone's mean change (not a comparison of
  arms); random intercept per participant, disc variance component; REML.
* Grade shifts per arm and visit: discs improved / unchanged / worsened by at least one grade;
  the participants' mean shift against no shift within an arm (exact Wilcoxon signed-rank)
  and, in the two-arm layout only, between arms (Mann-Whitney U).
* Treated against untreated levels within each arm: the participants' change at treated levels
  minus that at their untreated levels (paired; t test or exact Wilcoxon).
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ALPHA", "CONTROL_NAMES", "MIN_INTERVAL", "between_arms", "change_from_baseline",
           "completer_means", "control_arm", "grade_distribution", "grade_shifts", "holm",
           "mixed_model", "participant_changes", "signed_rank_floor", "summary",
           "treated_levels", "treated_vs_untreated", "within_arm"]

#: Arm names taken as the control arm when none is named (case-insensitive).
CONTROL_NAMES = ("sham", "placebo", "control", "saline", "vehicle", "standard of care")

_KEYS = ["participant_id", "level"]

#: Significance level below which a test must be able to reach a p-value to be reported.
ALPHA = 0.05

#: Fewest participants for a 95 % t interval of a mean: with two (one degree of freedom) the
#: interval is ±12.7 standard errors and says nothing; none is reported or drawn below this.
MIN_INTERVAL = 3

#: Signals of statsmodels' MixedLM that the fit did not reach a trustworthy optimum. "The MLE
#: may be on the boundary" is not one: a variance component estimated at 0 is a valid REML
#: answer (the data show no spread there); it is shown beside the estimates as a warning.
_NOT_CONVERGED = ("converge", "hessian", "singular")


def control_arm(arms, named: str | None = None) -> str:
    """The control arm: ``named``, else one called sham, placebo, control …, else the first."""
    arms = list(arms)
    if named is not None:
        if named not in arms:
            raise ParameterError(f"control arm {named!r} not among the arms {arms}")
        return named
    for a in arms:
        if str(a).strip().lower() in CONTROL_NAMES:
            return a
    return sorted(arms, key=str)[0]


def _t_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and its 95 % t interval."""
    from scipy import stats

    v = values[np.isfinite(values)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if v.size < MIN_INTERVAL:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, m - half, m + half


def summary(discs: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """Per arm × visit: n discs, n participants, mean, SD, median, quartiles."""
    import pandas as pd

    rows = []
    for (arm, months), part in discs.groupby(["arm", "months"], sort=True):
        v = part[endpoint].to_numpy(float)
        ok = np.isfinite(v)
        v = v[ok]
        q1, med, q3 = (np.percentile(v, [25, 50, 75]) if v.size else (math.nan,) * 3)
        rows.append({"endpoint": endpoint, "arm": arm, "months": months,
                     "n_discs": int(v.size),
                     "n_participants": int(part.loc[ok, "participant_id"].nunique()),
                     "mean": float(v.mean()) if v.size else math.nan,
                     "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
                     "median": float(med), "q1": float(q1), "q3": float(q3)})
    return pd.DataFrame(rows)


def completer_means(discs: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """Per arm × visit: the mean of the completers, with its 95 % t interval.

    A completer has a value of ``endpoint`` (the mean over their analysed discs) at every
    visit of the table. The raw per-visit mean is over whoever came, so it moves when a
    participant drops out though nobody changed; the completers' mean does not.

    Returns
    -------
    pandas.DataFrame
        ``endpoint``, ``arm``, ``months``, ``n_completers``, ``mean``, ``ci_low``,
        ``ci_high`` (no interval below :data:`MIN_INTERVAL` completers).
    """
    import pandas as pd

    per = (discs.groupby(["arm", "participant_id", "months"])[endpoint].mean()
           .reset_index().dropna())
    visits = per.months.nunique()
    rows = []
    for arm, part in per.groupby("arm", sort=True):
        seen = part.groupby("participant_id").months.nunique()
        completers = part[part.participant_id.isin(seen.index[seen == visits])]
        for months, visit in completers.groupby("months", sort=True):
            m, lo, hi = _t_interval(visit[endpoint].to_numpy(float))
            rows.append({"endpoint": endpoint, "arm": arm, "months": months,
                         "n_completers": int(len(visit)), "mean": m, "ci_low": lo,
                         "ci_high": hi})
    return pd.DataFrame(rows, columns=["endpoint", "arm", "months", "n_completers", "mean",
                                       "ci_low", "ci_high"])


def participant_changes(discs: pd.DataFrame, endpoint: str, baseline: float = 0.0
                        ) -> pd.DataFrame:
    """Each participant's change from baseline at each follow-up, over their discs.

    For every disc measured at baseline and at the visit: the change and the baseline value;
    per participant and visit their means, and the change in % of the baseline mean.

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``arm``, ``months``, ``n_discs``, ``baseline``, ``value``,
        ``change``, ``change_pct``.
    """
    import pandas as pd

    data = discs[np.isfinite(discs[endpoint].to_numpy(float))]
    base = data[data.months == baseline].set_index(_KEYS)[endpoint]
    rows = []
    for (pid, months), part in data[data.months != baseline].groupby(
            ["participant_id", "months"], sort=True):
        visit = part.set_index(_KEYS)[endpoint]
        both = pd.concat([base.rename("b"), visit.rename("v")], axis=1, join="inner")
        if both.empty:
            continue
        b, v = float(both.b.mean()), float(both.v.mean())
        rows.append({"participant_id": pid, "arm": part.arm.iat[0], "months": months,
                     "n_discs": len(both), "baseline": b, "value": v, "change": v - b,
                     "change_pct": 100.0 * (v - b) / b if b else math.nan})
    columns = ["participant_id", "arm", "months", "n_discs", "baseline", "value", "change",
               "change_pct"]
    return pd.DataFrame(rows, columns=columns)


def signed_rank_floor(n: int) -> float:
    """Smallest two-sided p-value the exact Wilcoxon signed-rank test can give with ``n``.

    All ``n`` differences of one sign is the most extreme of the 2ⁿ equally likely sign
    patterns, on either side: p = 2 / 2ⁿ (1 for n = 1, 0.5 for n = 2, 0.0625 for n = 5,
    0.03125 for n = 6).
    """
    return min(1.0, 2.0 / 2.0 ** n) if n > 0 else 1.0


def _signed_rank(values: np.ndarray) -> tuple[float, str]:
    """Exact Wilcoxon signed-rank p-value against 0, or n/a with the reason."""
    from scipy import stats

    n = int(values.size)
    floor = signed_rank_floor(n)
    if floor >= ALPHA:
        return math.nan, (f"no test: with n = {n} the exact signed-rank test cannot reach "
                          f"p < {ALPHA:g} (its smallest p is {floor:.3g}; n >= 6 needed)")
    if not np.any(values != 0):
        return 1.0, ""
    return float(stats.wilcoxon(values, method="exact" if n <= 50 else "auto").pvalue), ""


def within_arm(changes: pd.DataFrame, endpoint: str, *, exact: bool) -> pd.DataFrame:
    """Mean change per arm and visit with its interval and the within-arm test.

    ``exact``: the exact Wilcoxon signed-rank test (small studies), reported only where it
    can reach p < :data:`ALPHA` (n ≥ 6; ``note`` says why not); else the one-sample t test
    (n ≥ 2), with the signed-rank test beside it (``p_wilcoxon``). ``n_discs``: the discs
    measured at baseline and at the visit, over the arm's participants.
    """
    import pandas as pd
    from scipy import stats

    rows = []
    for (arm, months), part in changes.groupby(["arm", "months"], sort=True):
        c = part.change.to_numpy(float)
        m, lo, hi = _t_interval(c)
        mp, lop, hip = _t_interval(part.change_pct.to_numpy(float))
        row = {"endpoint": endpoint, "arm": arm, "months": months,
               "n_participants": int(c.size), "n_discs": int(part.n_discs.sum()),
               "mean_change": m, "ci_low": lo, "ci_high": hi, "mean_change_pct": mp,
               "ci_low_pct": lop, "ci_high_pct": hip, "median_change": float(np.median(c))}
        p_w, why = _signed_rank(c)
        if exact:
            row.update(test="Wilcoxon signed-rank (exact)", p_value=p_w, note=why)
        else:
            p_t, note = math.nan, ""
            if c.size < 2:
                note = f"no test: one participant (n = {c.size})"
            elif np.std(c) > 0:
                p_t = float(stats.ttest_1samp(c, 0.0).pvalue)
            row.update(test="one-sample t", p_value=p_t, note=note, p_wilcoxon=p_w)
        rows.append(row)
    return pd.DataFrame(rows)


def between_arms(changes: pd.DataFrame, endpoint: str, active: str, control: str
                 ) -> pd.DataFrame:
    """Active minus control mean change at each visit: Welch's t test and Mann-Whitney U."""
    import pandas as pd
    from scipy import stats

    rows = []
    for months, part in changes.groupby("months", sort=True):
        a = part.loc[part.arm == active, "change"].to_numpy(float)
        c = part.loc[part.arm == control, "change"].to_numpy(float)
        row = {"endpoint": endpoint, "months": months, "active": active, "control": control,
               "n_active": int(a.size), "n_control": int(c.size),
               "difference": float(a.mean() - c.mean()) if a.size and c.size else math.nan,
               "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan,
               "p_mannwhitney": math.nan, "test": "Welch t"}
        if a.size >= 2 and c.size >= 2:
            res = stats.ttest_ind(a, c, equal_var=False)
            ci = res.confidence_interval(0.95)
            row.update(ci_low=float(ci.low), ci_high=float(ci.high),
                       p_value=float(res.pvalue))
            row["p_mannwhitney"] = float(stats.mannwhitneyu(a, c).pvalue)
        rows.append(row)
    return pd.DataFrame(rows)


def mixed_model(discs: pd.DataFrame, endpoint: str, control: str | None,
                baseline: float = 0.0) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Linear mixed model of the endpoint on arm × visit (statsmodels ``MixedLM``).

    Random intercept per participant and a variance component per disc (level) within the
    participant; REML. With two arms the ``arm × visit`` terms estimate the difference between
    arms in the change from baseline at each visit; with one arm, the visit terms estimate the
    change.

    Without a control arm (one arm, or a small study) the arms are pooled: a time model whose
    visit terms are the mean change of everyone, said so in ``model``.

    Returns
    -------
    terms : pandas.DataFrame
        ``endpoint``, ``term``, ``estimate``, ``ci_low``, ``ci_high``, ``p_value``.
    info : dict
        ``formula``, ``model`` (what the terms mean), ``pooled``, ``converged`` (False too when
        statsmodels warns that the optimization failed or the Hessian is not positive
        definite),
        ``warnings``, ``n_observations`` (disc × visit values), ``n_discs`` (distinct discs),
        ``n_participants``, ``groups_variance``, ``residual_variance``, ``method``.
    """
    import pandas as pd
    import statsmodels.formula.api as smf

    data = discs[np.isfinite(discs[endpoint].to_numpy(float))].copy()
    data = data.rename(columns={endpoint: "value"})
    data["visit"] = data.months.map(lambda m: f"{m:g}")
    visit = f"C(visit, Treatment({f'{baseline:g}'!r}))"
    arms = sorted(data.arm.unique(), key=str)
    pooled = not (control is not None and len(arms) > 1)
    if not pooled:
        formula = f"value ~ C(arm, Treatment({str(control)!r})) * {visit}"
        what = (f"arm × visit model: the interaction terms are the differences between "
                f"arms ({', '.join(a for a in arms if a != control)} minus {control}) in "
                "the change from baseline at each visit")
    else:
        formula = f"value ~ {visit}"
        what = ("pooled time model: the arms are pooled, and each visit term is the mean "
                "change from baseline over all participants — not a comparison of arms")
    info: dict[str, Any] = {"formula": formula, "model": what, "pooled": pooled,
                            "groups": "participant_id",
                            "variance_components": "disc (level) within participant",
                            "method": "REML", "n_observations": len(data),
                            "n_discs": int(data[_KEYS].drop_duplicates().shape[0]),
                            "n_participants": int(data.participant_id.nunique())}
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        model = smf.mixedlm(formula, data, groups=data["participant_id"], re_formula="1",
                            vc_formula={"disc": "0 + C(level)"})
        try:
            fit = model.fit(reml=True, method=["lbfgs", "powell"])
        except (np.linalg.LinAlgError, ValueError) as exc:
            info.update(converged=False, warnings=[f"{type(exc).__name__}: {exc}"])
            return pd.DataFrame(columns=["endpoint", "term", "estimate", "ci_low", "ci_high",
                                         "p_value"]), info
    caught = sorted({str(w.message).splitlines()[0] for w in seen})
    ci = fit.conf_int()
    rows = [{"endpoint": endpoint, "term": name, "estimate": float(fit.fe_params[name]),
             "ci_low": float(ci.loc[name, 0]), "ci_high": float(ci.loc[name, 1]),
             "p_value": float(fit.pvalues[name])} for name in fit.fe_params.index]
    # statsmodels may say converged while warning that the optimization failed or that the
    # Hessian is not positive definite: such estimates are not to be relied on either
    doubtful = [w for w in caught if any(k in w.lower() for k in _NOT_CONVERGED)]
    info.update(converged=bool(fit.converged) and not doubtful, warnings=caught,
                groups_variance=float(fit.cov_re.iloc[0, 0]),
                residual_variance=float(fit.scale))
    return pd.DataFrame(rows), info


def _grade_number(grade) -> float:
    text = str(grade).strip()
    if not text or text.lower() == "nan":
        return math.nan
    from ..grading.agreement import grade_value

    return float(grade_value(text, "griffith"))


def grade_shifts(discs: pd.DataFrame, column: str = "griffith", baseline: float = 0.0,
                 active: str | None = None, control: str | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grade changes from baseline per arm and visit, and their tests.

    Returns
    -------
    counts : pandas.DataFrame
        Per arm and visit: discs ``improved`` (grade lower by ≥ 1), ``unchanged``,
        ``worsened``; ``median_grade`` at the visit and at baseline.
    tests : pandas.DataFrame
        Within each arm (participants' mean shift against 0, Wilcoxon signed-rank) and, with
        ``active`` and ``control``, between them (Mann-Whitney U).
    """
    import pandas as pd
    from scipy import stats

    data = discs.assign(grade=discs[column].map(_grade_number))
    data = data[np.isfinite(data.grade)]
    base = data[data.months == baseline].set_index(_KEYS)["grade"]
    rows, per_participant = [], []
    for (arm, months), part in data.groupby(["arm", "months"], sort=True):
        if months == baseline:
            continue
        both = pd.concat([base.rename("b"), part.set_index(_KEYS)["grade"].rename("v")],
                         axis=1, join="inner")
        shift = both.v - both.b
        rows.append({"arm": arm, "months": months, "n_discs": len(both),
                     "improved": int((shift <= -1).sum()), "unchanged": int((shift == 0).sum()),
                     "worsened": int((shift >= 1).sum()),
                     "median_grade": float(np.median(both.v)) if len(both) else math.nan,
                     "median_grade_baseline": float(np.median(both.b)) if len(both)
                     else math.nan})
        by = shift.groupby(level="participant_id").mean()
        per_participant += [{"arm": arm, "months": months, "participant_id": p, "shift": s}
                            for p, s in by.items()]
    counts = pd.DataFrame(rows)
    shifts = pd.DataFrame(per_participant, columns=["arm", "months", "participant_id", "shift"])
    tests = []
    for (arm, months), part in shifts.groupby(["arm", "months"], sort=True):
        s = part["shift"].to_numpy(float)
        p, why = _signed_rank(s)
        tests.append({"comparison": f"{arm}: shift against none", "months": months,
                      "n": int(s.size), "statistic": float(np.mean(s)),
                      "test": "Wilcoxon signed-rank (exact)", "p_value": p, "note": why})
    if active is not None and control is not None:
        for months, part in shifts.groupby("months", sort=True):
            a = part.loc[part.arm == active, "shift"].to_numpy(float)
            c = part.loc[part.arm == control, "shift"].to_numpy(float)
            if a.size and c.size:
                tests.append({"comparison": f"{active} against {control}", "months": months,
                              "n": int(a.size + c.size),
                              "statistic": float(a.mean() - c.mean()),
                              "test": "Mann-Whitney U",
                              "p_value": float(stats.mannwhitneyu(a, c).pvalue), "note": ""})
    return counts, pd.DataFrame(tests, columns=["comparison", "months", "n", "statistic",
                                                "test", "p_value", "note"])


def grade_distribution(discs: pd.DataFrame, column: str = "griffith") -> pd.DataFrame:
    """Per arm and visit: discs of each Griffith grade 1-8 and the median grade.

    A double grade (``4/7``) counts as its height grade.
    """
    import pandas as pd

    data = discs.assign(grade=discs[column].map(_grade_number))
    data = data[np.isfinite(data.grade)]
    rows = []
    for (arm, months), part in data.groupby(["arm", "months"], sort=True):
        counts = part.grade.astype(int).value_counts()
        rows.append({"arm": arm, "months": months, "n_discs": len(part),
                     **{f"grade_{g}": int(counts.get(g, 0)) for g in range(1, 9)},
                     "median_grade": float(np.median(part.grade))})
    return pd.DataFrame(rows)


def treated_levels(discs: pd.DataFrame) -> pd.DataFrame:
    """Per arm: participants treated at each level (at baseline or their first visit)."""
    import pandas as pd

    first = discs[discs.months == discs.groupby("participant_id").months.transform("min")]
    treated = first[first.treated.astype(bool)]
    table = treated.groupby(["arm", "level"]).participant_id.nunique().unstack(fill_value=0)
    return table.reset_index().rename_axis(columns=None) if len(table) else pd.DataFrame()


def treated_vs_untreated(discs: pd.DataFrame, endpoint: str, baseline: float = 0.0, *,
                         exact: bool) -> pd.DataFrame:
    """Per arm and visit: participants' change at treated minus untreated levels (paired)."""
    import pandas as pd
    from scipy import stats

    treated = participant_changes(discs[discs.treated.astype(bool)], endpoint, baseline)
    other = participant_changes(discs[~discs.treated.astype(bool)], endpoint, baseline)
    both = treated.merge(other, on=["participant_id", "arm", "months"],
                         suffixes=("_treated", "_untreated"))
    rows = []
    for (arm, months), part in both.groupby(["arm", "months"], sort=True):
        d = (part.change_treated - part.change_untreated).to_numpy(float)
        m, lo, hi = _t_interval(d)
        p, note = math.nan, ""
        if exact:
            p, note = _signed_rank(d)
        elif d.size < 2:
            note = f"no test: one participant (n = {d.size})"
        elif np.any(d != 0):
            p = float(stats.ttest_1samp(d, 0.0).pvalue)
        rows.append({"endpoint": endpoint, "arm": arm, "months": months,
                     "n_participants": int(d.size), "difference": m, "ci_low": lo,
                     "ci_high": hi, "test": "Wilcoxon signed-rank (exact)" if exact
                     else "paired t", "p_value": p, "note": note})
    return pd.DataFrame(rows)


def holm(p_values) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels ``multipletests``); NaN stays NaN."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, float)
    out = np.full(p.shape, math.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def change_from_baseline(discs: pd.DataFrame, endpoint: str, baseline: float = 0.0
                         ) -> pd.DataFrame:
    """Per participant, level and visit: value, baseline and change (the trajectory table)."""
    import pandas as pd

    data = discs[np.isfinite(discs[endpoint].to_numpy(float))]
    base = data[data.months == baseline][[*_KEYS, endpoint]].rename(
        columns={endpoint: "baseline"})
    out = data.merge(base, on=_KEYS, how="left")
    out = out.assign(change=out[endpoint] - out.baseline)
    session = out.session if "session" in out else pd.Series("", index=out.index)
    return pd.DataFrame({"participant_id": out.participant_id, "arm": out.arm,
                         "level": out.level, "months": out.months, "session": session,
                         "value": out[endpoint], "change": out.change}).sort_values(
        ["arm", "participant_id", "level", "months"]).reset_index(drop=True)
