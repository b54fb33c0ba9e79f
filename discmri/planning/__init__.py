"""Trial planning: how precisely discmri measures each endpoint, and what a trial needs.

- :mod:`.repeatability` — within-subject SD, CV, ICC(2,1) / ICC(3,1) with intervals,
  Bland–Altman limits and MDC95 from test–retest sessions or a control arm;
- :mod:`.power` — sample size, power and detectable effect of a two-arm trial of change from
  baseline, in closed form and by simulating whole trials from variance components;
- :mod:`.plan` — both, from a run's disc table (``discmri plan``);
- :mod:`.page` — the plan's files: tables, Bland–Altman figures and a page.
"""

from .plan import Effect, Plan, components_from_trial, parse_effect, plan_trial
from .power import (
    VarianceComponents,
    detectable_effect,
    n_per_arm,
    n_per_arm_normal,
    power_two_arm,
    simulate_power,
)
from .repeatability import ICC, icc, repeatability, retest_pairs

__all__ = ["ICC", "Effect", "Plan", "VarianceComponents", "components_from_trial",
           "detectable_effect", "icc", "n_per_arm", "n_per_arm_normal", "parse_effect",
           "plan_trial", "power_two_arm", "repeatability", "retest_pairs", "simulate_power"]
