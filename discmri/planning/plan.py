"""A trial plan from a disc table: repeatability, variance components, sample size and power.

:func:`plan_trial` takes a run's ``discs.tsv`` and, per endpoint, the effect hoped for. It
measures the endpoint's precision where the table has what it takes — retest sessions
(:mod:`~discmri.planning.repeatability`), a control arm followed over visits (a mixed model's
variance components) — and turns each into a sample size (or, for a given size, the power and
the smallest detectable effect), checked by simulating whole trials
(:func:`~discmri.planning.power.simulate_power`).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ParameterError
from ..table import is_retest, measured
from .power import (
    VarianceComponents,
    detectable_effect,
    n_per_arm,
    n_per_arm_normal,
    power_two_arm,
    simulate_power,
)
from .repeatability import repeatability

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Effect", "Plan", "components_from_trial", "parse_effect", "plan_trial"]

#: Fewest control-arm participants with a baseline and a follow-up for a mixed model's
#: variance components to be estimated.
MIN_CONTROL = 6


@dataclass(frozen=True)
class Effect:
    """The difference between arms hoped for in one endpoint's change from baseline.

    Attributes
    ----------
    endpoint : str
        A numeric column of the disc table.
    value : float
        In the endpoint's unit, or in % of its baseline mean when ``relative``.
    relative : bool
    """

    endpoint: str
    value: float
    relative: bool = False

    def absolute(self, baseline_mean: float) -> float:
        """The effect in the endpoint's unit."""
        return self.value / 100.0 * abs(baseline_mean) if self.relative else self.value

    def __str__(self) -> str:
        return f"{self.endpoint}={self.value:+g}{'%' if self.relative else ''}"


def parse_effect(text: str) -> Effect:
    """``"np_t2_ms=+10"`` (unit of the column) or ``"dhi_mean_height=+5%"`` (% of baseline).

    Raises
    ------
    ParameterError
        Not ``COLUMN=NUMBER`` or ``COLUMN=NUMBER%`` with a non-zero number.
    """
    match = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([+-]?[0-9.]+(?:e[+-]?\d+)?)"
                         r"\s*(%?)\s*", str(text))
    if not match:
        raise ParameterError(f"effect {text!r}: expected COLUMN=NUMBER (in the column's unit) "
                             "or COLUMN=NUMBER% (of its baseline mean), e.g. np_t2_ms=+10")
    try:
        value = float(match.group(2))
    except ValueError:
        raise ParameterError(f"effect {text!r}: {match.group(2)!r} is not a number") from None
    if not math.isfinite(value) or value == 0:
        raise ParameterError(f"effect {text!r}: expected a non-zero difference")
    return Effect(match.group(1), value, bool(match.group(3)))


def _trial_rows(discs: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """Measured discs of the trial's visits (retest sessions left out), finite endpoint."""
    import pandas as pd

    rows = measured(discs)
    rows = rows[~is_retest(rows.session)]
    value = pd.to_numeric(rows[endpoint], errors="coerce")
    months = pd.to_numeric(rows.months, errors="coerce")
    return rows[np.isfinite(value) & np.isfinite(months)].assign(value=value, months=months)


def components_from_trial(discs: pd.DataFrame, endpoint: str, control: str | None = None
                          ) -> tuple[VarianceComponents | None, list[str]]:
    """Variance components of an endpoint from a trial's control arm over its visits.

    A linear mixed model (statsmodels ``MixedLM``, REML) of the control arm (every
    participant when ``control`` is None and the table has one arm; with several arms
    a control must be named): fixed visit and level means, a random intercept
    per participant, and variance components for the disc within the participant and the
    visit within the participant; the residual is the disc × visit part.

    Returns
    -------
    components : VarianceComponents or None
        None when fewer than :data:`MIN_CONTROL` participants have a baseline and a
        follow-up, or the fit failed.
    notes : list of str
        Why there are none, or statsmodels' warnings about the fit.
    """
    import statsmodels.formula.api as smf

    rows = _trial_rows(discs, endpoint)
    arms = sorted({str(a) for a in rows.arm}) if "arm" in rows else []
    if control is not None:
        rows = rows[rows.arm.astype(str) == control]
    elif len(arms) > 1:  # pooled, a treatment's effect would pass for visit-to-visit spread
        return None, [f"the table has the arms {', '.join(arms)}: name the control arm "
                      "(--control) for variance components between visits"]
    who = f"the control arm {control}" if control is not None else "the table"
    visits = rows.groupby("participant_id").months.nunique()
    followed = int((visits >= 2).sum())
    if followed < MIN_CONTROL:
        return None, [f"{who} has {followed} participants with a baseline and a follow-up "
                      f"(fewer than {MIN_CONTROL}): no variance components between visits"]
    data = rows.assign(visit=rows.months.map(lambda m: f"{m:g}"))
    several = data.level.nunique() > 1
    formula = "value ~ C(visit)" + (" + C(level)" if several else "")
    vc = {"visit": "0 + C(visit)", **({"disc": "0 + C(level)"} if several else {})}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            fit = smf.mixedlm(formula, data, groups=data["participant_id"], re_formula="1",
                              vc_formula=vc).fit(reml=True, method=["lbfgs", "powell"])
        except (np.linalg.LinAlgError, ValueError) as exc:
            return None, [f"the mixed model of {who} failed: {type(exc).__name__}: {exc}"]
    notes = sorted({str(w.message).splitlines()[0] for w in seen})
    names = list(fit.model.exog_vc.names)
    part = {name: math.sqrt(max(float(v), 0.0)) for name, v in zip(names, fit.vcomp,
                                                                      strict=True)}
    return VarianceComponents(
        participant=math.sqrt(max(float(fit.cov_re.iloc[0, 0]), 0.0)),
        level=part.get("disc", 0.0), visit=part.get("visit", 0.0),
        residual=math.sqrt(float(fit.scale)),
        source=f"mixed model of {who} over its visits ({followed} participants)"), notes


@dataclass
class Plan:
    """What :func:`plan_trial` found.

    Attributes
    ----------
    repeatability : pandas.DataFrame
        :func:`~discmri.planning.repeatability.repeatability` of the endpoints from the retest
        sessions, and from the control arm between its first two visits (``source`` says
        which; the latter includes the true change of untreated discs over months).
    table : pandas.DataFrame
        One row per endpoint and source of precision: the components, the change SD, the
        effect, the sample size (or the power of the given size), the simulated power and the
        smallest detectable effect.
    settings : dict
        Power or n, alpha, dropout, visits, levels per participant, simulations.
    notes : list of str
        What the table lacked, and how the numbers were made.
    pairs : dict of str to pandas.DataFrame
        The retest pairs of each endpoint (for Bland–Altman plots).
    """

    repeatability: pd.DataFrame
    table: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    pairs: dict[str, pd.DataFrame] = field(default_factory=dict)


def plan_trial(discs: pd.DataFrame, effects: Sequence[Effect], *, power: float | None = 0.8,
               n: int | None = None, alpha: float = 0.05, dropout: float = 0.0,
               visits: Sequence[float] | None = None, levels: int = 1,
               control: str | None = None, n_sim: int = 2000, seed: int = 0) -> Plan:
    """Sample size (or power) per endpoint from the precision the disc table shows.

    Parameters
    ----------
    discs : pandas.DataFrame
        A run's disc table (:func:`discmri.table.read_discs`), with retest sessions
        (``ses-…retest``) and/or a trial's visits.
    effects : sequence of Effect
        The difference between arms hoped for, per endpoint (:func:`parse_effect`).
    power : float, optional
        Wanted power: the table gives the number per arm to enrol.
    n : int, optional
        Participants per arm enrolled: the table gives the power and the smallest detectable
        effect instead. Give ``power`` or ``n``.
    alpha : float
        Two-sided level.
    dropout : float
        Fraction lost before the last visit.
    visits : sequence of float, optional
        Visit times (months) of the planned trial; the table's by default, else (0, 6).
    levels : int
        Discs analysed per participant (DREAM: the treated disc, 1).
    control : str, optional
        The control arm whose visits give variance components.
    n_sim, seed
        Trials simulated per row, and their seed.

    Returns
    -------
    Plan

    Raises
    ------
    ParameterError
        An endpoint that is not a numeric column, neither or both of ``power`` and ``n``,
        values out of range.
    """
    import pandas as pd

    from .repeatability import retest_pairs

    if (power is None) == (n is None):
        raise ParameterError("give the power wanted (--power) or the number per arm (--n), "
                             "one of them")
    if n is not None and n < 2:
        raise ParameterError(f"--n {n}: expected at least 2 participants per arm")
    if power is not None and not 0 < power < 1:
        raise ParameterError(f"--power {power}: expected a value in (0, 1)")
    if not effects:
        raise ParameterError("no effect given; expected e.g. --effect np_t2_ms=+10")
    missing = [c for c in ("participant_id", "session", "months", "level") if c not in discs]
    if missing:
        raise ParameterError(f"the disc table has no column {', '.join(missing)}; expected "
                             "the discs.tsv of a discmri run")
    for e in effects:
        if e.endpoint not in discs or not pd.api.types.is_numeric_dtype(discs[e.endpoint]):
            raise ParameterError(f"--effect {e}: {e.endpoint} is not a numeric column of the "
                                 "disc table")
    trial = _trial_rows(discs, effects[0].endpoint)
    if visits is None:
        times = sorted(trial.months.unique())
        visits = tuple(float(t) for t in times) if len(times) >= 2 else (0.0, 6.0)
    endpoints = list(dict.fromkeys(e.endpoint for e in effects))
    rep = repeatability(discs, endpoints, alpha=alpha)
    notes = []
    retest_rows = rep.copy()
    if control is not None:  # the control arm between its first two visits: an upper bound
        between = repeatability(discs, endpoints, source="control", control=control,
                                alpha=alpha)
        if len(between):
            rep = pd.concat([rep, between], ignore_index=True) if len(rep) else between
    if retest_rows.empty:
        notes.append("no retest sessions (ses-…retest) with enough discs: the measurement's "
                     "own precision is not known from this table")
    else:
        notes.append("test-retest rows give the measurement's precision only (days apart); "
                     "a trial's visits months apart add biology, so their sample sizes are "
                     "lower bounds")
    settings = {"power": power, "n": n, "alpha": alpha, "dropout": dropout,
                "visits": list(visits), "levels": levels, "n_sim": n_sim, "seed": seed,
                "control": control,
                "analysis": "two-sample t-test of each participant's change from baseline to "
                            "the last visit (mean over their analysed discs), completers"}
    rows, pairs = [], {}
    for k, effect in enumerate(effects):
        data = _trial_rows(discs, effect.endpoint)
        base = data[data.months == data.months.min()] if len(data) else data
        mean = float(base.value.mean()) if len(base) else math.nan
        size = effect.absolute(mean)
        sources: list[tuple[VarianceComponents, float]] = []
        row_all = retest_rows[(retest_rows.endpoint == effect.endpoint)
                              & (retest_rows.level == "all")]
        if len(row_all):
            r = row_all.iloc[0]
            sources.append((VarianceComponents(
                participant=float(r.between_sd), residual=float(r.within_sd),
                source=f"test-retest, {int(r.n_pairs)} discs of {int(r.participants)} "
                       "participants (measurement only)"), float(r.mdc95)))
            pairs[effect.endpoint] = retest_pairs(discs, effect.endpoint)
        comp, why = components_from_trial(discs, effect.endpoint, control)
        if comp is not None:
            sources.append((comp, math.nan))
        notes.extend(f"{effect.endpoint}: {w}" for w in why)
        if not sources:
            rows.append({"endpoint": effect.endpoint, "effect": str(effect),
                         "effect_abs": size, "baseline_mean": mean,
                         "source": "none: no retest sessions and no control arm over visits"})
            continue
        for j, (c, mdc) in enumerate(sources):
            sd = c.change_sd(levels)
            row = {"endpoint": effect.endpoint, "effect": str(effect), "effect_abs": size,
                   "baseline_mean": mean, "source": c.source,
                   "sd_participant": c.participant, "sd_level": c.level, "sd_visit": c.visit,
                   "sd_residual": c.residual, "icc": c.icc, "change_sd": sd, "mdc95": mdc}
            if not (math.isfinite(size) and size != 0 and sd > 0):
                rows.append(row)
                continue
            if power is not None:
                enrol = n_per_arm(size, sd, alpha=alpha, power=power, dropout=dropout)
                row.update(n_per_arm=enrol,
                           n_per_arm_normal=n_per_arm_normal(size, sd, alpha=alpha,
                                                             power=power))
            else:
                enrol = int(n)
                row.update(n_per_arm=enrol,
                           power=power_two_arm(enrol * (1 - dropout), size, sd, alpha=alpha))
            sim = simulate_power(c, size, enrol, visits=visits, levels=levels, dropout=dropout,
                                 alpha=alpha, n_sim=n_sim, seed=seed + 1000 * k + j)
            row.update(simulated_power=sim["power"], simulated_power_se=sim["power_se"],
                       closed_form_power=sim["closed_form"],
                       detectable_effect=detectable_effect(
                           enrol * (1 - dropout), sd, alpha=alpha,
                           power=power if power is not None else 0.8))
            rows.append(row)
    columns = ["endpoint", "effect", "effect_abs", "baseline_mean", "source", "sd_participant",
               "sd_level", "sd_visit", "sd_residual", "icc", "change_sd", "mdc95",
               "n_per_arm", "n_per_arm_normal", "power", "simulated_power",
               "simulated_power_se", "closed_form_power", "detectable_effect"]
    table = pd.DataFrame(rows).reindex(columns=columns)
    if n is not None:
        table = table.drop(columns=["n_per_arm_normal"])
    else:
        table = table.drop(columns=["power"])
    return Plan(rep, table, settings, notes, pairs)
