"""Sample size and power of a two-arm trial of change from baseline, closed form and simulated.

The primary analysis assumed is the one DREAM-like trials report: each participant's change
from baseline to the last visit (the mean over their analysed discs), compared between arms by
a two-sample t-test. Its closed form (equal arms, equal variances) uses the noncentral t
distribution: with *n* per arm, change SD σ and effect δ, the noncentrality is
δ / (σ·√(2/n)) on 2n − 2 degrees of freedom. The normal approximation
n = 2·(z₁₋α/₂ + z₁₋β)²·σ² / δ² is given beside it, as textbooks (and REFERENCE.md's worked
example) state it.

Where no closed form exists — several visits with dropout, several discs per participant,
variance at the participant, disc, visit and residual level — :func:`simulate_power` draws
whole trials from the variance components and counts the rejections.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

__all__ = ["VarianceComponents", "detectable_effect", "n_per_arm", "n_per_arm_normal",
           "power_two_arm", "simulate_power"]


@dataclass(frozen=True)
class VarianceComponents:
    """Standard deviations of an endpoint's parts, in its unit.

    The value of disc *l* of participant *i* at visit *t* is
    μ + participant_i + level_il + visit_it + residual_ilt.

    Attributes
    ----------
    participant : float
        Between participants (cancels in change from baseline).
    level : float
        Between a participant's discs (cancels in change from baseline).
    visit : float
        Participant × visit: biology between visits shared by a person's discs (months apart:
        hydration, diurnal timing, ageing).
    residual : float
        Disc × visit: measurement error and the disc's own visit-to-visit variation.
    source : str
        Where the values come from.
    """

    participant: float
    level: float = 0.0
    visit: float = 0.0
    residual: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        values = (self.participant, self.level, self.visit, self.residual)
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise ParameterError(f"variance components {values}: expected SDs ≥ 0")

    def change_sd(self, levels: int = 1) -> float:
        """SD of a participant's change from baseline, averaged over ``levels`` discs."""
        return math.sqrt(2 * self.visit ** 2 + 2 * self.residual ** 2 / max(levels, 1))

    @property
    def icc(self) -> float:
        """Share of a single measurement's variance that lies between discs."""
        between = self.participant ** 2 + self.level ** 2
        total = between + self.visit ** 2 + self.residual ** 2
        return between / total if total else math.nan


def _check(effect: float, sd: float, alpha: float) -> None:
    if not (math.isfinite(effect) and effect != 0):
        raise ParameterError(f"effect {effect}: expected a non-zero difference between arms")
    if not (math.isfinite(sd) and sd > 0):
        raise ParameterError(f"change SD {sd}: expected a positive number")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha {alpha}: expected a level in (0, 1)")


def power_two_arm(n: float, effect: float, sd: float, *, alpha: float = 0.05) -> float:
    """Power of a two-sided two-sample t-test with ``n`` per arm (noncentral t).

    Parameters
    ----------
    n : float
        Participants per arm who complete (≥ 2).
    effect : float
        Difference in mean change between arms (unit of the endpoint).
    sd : float
        SD of a participant's change (:meth:`VarianceComponents.change_sd`).
    alpha : float
        Two-sided level.
    """
    from scipy import stats

    _check(effect, sd, alpha)
    if n < 2:
        return math.nan
    df = 2 * n - 2
    ncp = abs(effect) / (sd * math.sqrt(2.0 / n))
    crit = stats.t.ppf(1 - alpha / 2, df)
    value = float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))
    if not math.isfinite(value):  # far in the tail, where scipy's nct gives NaN
        value = float(stats.norm.sf(crit - ncp))
    return min(value, 1.0)


def n_per_arm_normal(effect: float, sd: float, *, alpha: float = 0.05,
                     power: float = 0.8) -> float:
    """The normal approximation 2·(z₁₋α/₂ + z_power)²·sd² / effect² of n (not rounded)."""
    from scipy import stats

    _check(effect, sd, alpha)
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(2 * z ** 2 * sd ** 2 / effect ** 2)


def n_per_arm(effect: float, sd: float, *, alpha: float = 0.05, power: float = 0.8,
              dropout: float = 0.0) -> int:
    """Smallest number per arm to enrol for ``power`` (t-test; completers ÷ (1 − dropout)).

    Parameters
    ----------
    effect, sd, alpha
        As :func:`power_two_arm`.
    power : float
        Wanted power, in (0, 1).
    dropout : float
        Fraction of participants lost before the last visit, in [0, 1).
    """
    if not 0 < power < 1 or not 0 <= dropout < 1:
        raise ParameterError(f"power {power} and dropout {dropout}: expected power in (0, 1) "
                             "and dropout in [0, 1)")
    n = max(2, math.floor(n_per_arm_normal(effect, sd, alpha=alpha, power=power)))
    while power_two_arm(n, effect, sd, alpha=alpha) < power:
        n += 1
    return math.ceil(n / (1 - dropout) - 1e-9)


def detectable_effect(n: float, sd: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest difference between arms detected with ``power`` by ``n`` completers per arm."""
    from scipy import optimize

    if n < 2:
        return math.nan
    _check(1.0, sd, alpha)
    hi = 40 * sd * math.sqrt(2.0 / n)
    return float(optimize.brentq(lambda d: power_two_arm(n, d, sd, alpha=alpha) - power,
                                 1e-9 * sd, hi, xtol=1e-10 * sd))


def simulate_power(components: VarianceComponents, effect: float, n: int, *,
                   visits: Sequence[float] = (0.0, 6.0), levels: int = 1, dropout: float = 0.0,
                   alpha: float = 0.05, n_sim: int = 2000, seed: int = 0) -> dict[str, float]:
    """Power of the change-from-baseline t-test by simulating whole trials.

    Each of ``n_sim`` trials has ``n`` participants per arm, ``levels`` analysed discs each,
    the visits given (the first is the baseline), monotone dropout (each follow-up is missed,
    with every later one, with probability ``dropout``), and the effect in the active arm from
    the first follow-up on. A participant's change is the mean over their discs of last visit
    − baseline; completers only.

    Parameters
    ----------
    components : VarianceComponents
    effect : float
        Difference between arms at follow-up (unit of the endpoint).
    n : int
        Participants enrolled per arm.
    visits : sequence of float
        Visit times (months), baseline first.
    levels : int
        Discs analysed per participant.
    dropout, alpha
        As :func:`n_per_arm` and :func:`power_two_arm`.
    n_sim : int
        Trials simulated.
    seed : int

    Returns
    -------
    dict
        ``power``, its Monte-Carlo standard error ``power_se``, the mean number of completers
        per arm ``completers``, and ``closed_form``: the t-test's power at that number of
        completers (exact when there is no dropout; with dropout, at the mean number).
    """
    from scipy import stats

    if n < 2 or len(visits) < 2 or levels < 1 or n_sim < 1 or not 0 <= dropout < 1:
        raise ParameterError(f"n {n}, visits {list(visits)}, levels {levels}, n_sim {n_sim}, "
                             f"dropout {dropout}: expected n ≥ 2, a baseline and a follow-up, "
                             "levels ≥ 1, n_sim ≥ 1, dropout in [0, 1)")
    rng = np.random.default_rng(seed)
    c, follow = components, len(visits) - 1
    # trials in blocks of about two million draws, so memory stays bounded for large n
    block = max(1, int(2e6 // (2 * n * 2 * levels)))
    rejected, completed = [], []
    for start in range(0, n_sim, block):
        shape = (min(block, n_sim - start), 2, n)
        # the participant and disc parts cancel in a change: only visit and residual remain
        visit_part = rng.normal(0.0, c.visit, (*shape, 2))
        residual = rng.normal(0.0, c.residual, (*shape, 2, levels)).mean(axis=-1)
        change = (visit_part[..., 1] - visit_part[..., 0]) + (residual[..., 1]
                                                             - residual[..., 0])
        change[:, 1, :] += effect
        stays = (rng.random((*shape, follow)) >= dropout).all(axis=-1)
        count = stays.sum(axis=-1)  # (trials, 2)
        mean = np.where(stays, change, 0.0).sum(axis=-1) / np.maximum(count, 1)
        sq = np.where(stays, (change - mean[..., None]) ** 2, 0.0).sum(axis=-1)
        df = count.sum(axis=-1) - 2
        pooled = sq.sum(axis=-1) / np.maximum(df, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (mean[:, 1] - mean[:, 0]) / np.sqrt(pooled * (1 / count[:, 0]
                                                              + 1 / count[:, 1]))
        p = 2 * stats.t.sf(np.abs(t), np.maximum(df, 1))
        rejected.append((count >= 2).all(axis=-1) & (p < alpha))
        completed.append(count)
    reject, count = np.concatenate(rejected), np.concatenate(completed)
    power = float(reject.mean())
    completers = float(count.mean())
    return {"power": power, "power_se": math.sqrt(power * (1 - power) / n_sim),
            "completers": completers,
            "closed_form": power_two_arm(completers, effect, c.change_sd(levels), alpha=alpha)}
