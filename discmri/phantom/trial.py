"""Trial tables without images: ``discs.tsv`` rows drawn from a cohort model with known effects.

For testing and benchmarking the trial report: many cohorts can be drawn in seconds, so the
rejection rate of a test under no effect can be checked against its nominal level, and an
estimated effect against the effect put in.

The model, per participant *i*, level *l* and visit *t* (months):

* DHI = (level mean + participant effect + disc effect) × (1 + effect at treated levels of the
  arm, from the first follow-up on) + visit noise + measurement noise;
* nucleus T2 (ms) = level mean + participant effect + disc effect + effect + noises;
* Griffith grade = the disc's baseline grade (3-7, as in DREAM's inclusion), at each follow-up
  one grade better with the arm's probability for that visit at treated levels, else one grade
  worse with a small probability (each visit on its own, so an improvement at 3 months can be
  gone at 6, as in DREAM).

The spreads (:data:`SPREADS`) are typical of lumbar discs at 1.5-3 T (REFERENCE.md §2, §4):
between-participant and between-disc SDs several times the measurement SD, which is why trials
analyse change from baseline. These are simulation settings, not normative data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DIURNAL", "LEVEL_MEANS", "SPREADS", "TrialEffect", "retest_truth", "trial_table"]

#: Mean-height DHI and nucleus T2 (ms) by level for a mildly degenerated lumbar spine.
LEVEL_MEANS: dict[str, tuple[float, float]] = {
    "L1-L2": (0.30, 95.0), "L2-L3": (0.33, 92.0), "L3-L4": (0.35, 88.0),
    "L4-L5": (0.36, 80.0), "L5-S1": (0.34, 75.0),
}

#: Standard deviations: (participant, disc, visit, measurement), DHI and T2 (ms).
SPREADS: dict[str, tuple[float, float, float, float]] = {
    "dhi_mean_height": (0.03, 0.03, 0.008, 0.006),
    "np_t2_ms": (10.0, 12.0, 3.0, 3.0),
}

#: SD of a scan's time-of-day effect (DHI and nucleus T2, ms) when a session has a retest: a
#: scan at a uniformly random time between morning and evening lies r/√12 from the middle of
#: a diurnal range r. Ranges: disc height ≈ 0.9 mm (Boos 1996), ≈ 0.033 in DHI over a 27 mm
#: body; nucleus T2 ≈ 15 ms (Zhu et al., Korean J Radiol 2015: −13 to −17 ms, morning to
#: evening). Both scans of a pair get one, so a retest differs by r/√6.
DIURNAL: dict[str, float] = {"dhi_mean_height": 0.033 / math.sqrt(12),
                             "np_t2_ms": 15.0 / math.sqrt(12)}


@dataclass(frozen=True)
class TrialEffect:
    """An arm's effect at its participants' treated levels, from the first follow-up on.

    Attributes
    ----------
    dhi_pct : float
        Relative DHI change, %.
    t2_ms : float
        Nucleus T2 change, ms.
    improve : dict of float to float
        Probability of a one-grade improvement by visit (months); visits not named: 0.
    """

    dhi_pct: float = 0.0
    t2_ms: float = 0.0
    improve: Mapping[float, float] = field(default_factory=dict)


def trial_table(arms: Mapping[str, TrialEffect], participants: int | Sequence[int], *,
                visits: Sequence[float] = (0.0, 3.0, 6.0), dropout: float = 0.0,
                worsen: float = 0.05, spreads: Mapping[str, Sequence[float]] | None = None,
                retest: bool = False, seed: int = 0) -> pd.DataFrame:
    """A ``discs.tsv``-like table of a simulated trial.

    Parameters
    ----------
    arms : mapping of str to TrialEffect
        Arms in order, each with its effect (``TrialEffect()`` for none).
    participants : int or sequence of int
        Participants per arm (one number for all).
    visits : sequence of float
        Visit times, months; the first is the baseline.
    dropout : float
        Probability of missing each follow-up visit and every later one.
    worsen : float
        Probability that a disc worsens by one grade by each follow-up.
    spreads : mapping, optional
        Replaces :data:`SPREADS` entries.
    retest : bool
        Scan every participant twice at baseline, days apart (``ses-baselineretest``, months
        0): both scans see the same disc, each with its own time of day (:data:`DIURNAL`)
        and measurement noise; the truth of the pair is :func:`retest_truth`. Without it the
        table is as before (the same seed gives the same values).
    seed : int

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``session``, ``arm``, ``months``, ``treated``, ``level``,
        ``dhi_mean_height``, ``np_t2_ms``, ``griffith``, ``pfirrmann`` (Griffith 3-4 → III,
        5-6 → IV, 7-8 → V), ``status`` (measured), one row per disc and visit attended.
    """
    import pandas as pd

    names = list(arms)
    counts = [participants] * len(names) if isinstance(participants, int) else list(participants)
    if not names or len(counts) != len(names) or min(counts) < 1:
        raise ParameterError(f"participants {participants!r} for arms {names}; expected one "
                             "count (≥ 1) per arm")
    if len(visits) < 2 or not 0 <= dropout < 1:
        raise ParameterError("expected a baseline and at least one follow-up visit, and a "
                             f"dropout in [0, 1); got visits {list(visits)}, dropout {dropout}")
    sd = {**SPREADS, **(spreads or {})}
    rng = np.random.default_rng(seed)
    levels = list(LEVEL_MEANS)
    rows = []
    number = 0
    for arm, count in zip(names, counts, strict=True):
        effect = arms[arm]
        for _ in range(count):
            number += 1
            pid = f"sub-{number:03d}"
            treated = set(rng.choice(levels[2:], size=int(rng.integers(1, 3)), replace=False))
            person = {k: rng.normal(0.0, s[0]) for k, s in sd.items()}
            disc = {(k, lv): rng.normal(0.0, s[1]) for k, s in sd.items() for lv in levels}
            grade0 = {lv: int(rng.integers(3, 8)) for lv in levels}
            attended = True
            scans = [(k, months, "") for k, months in enumerate(visits)]
            if retest:
                scans.insert(1, (0, visits[0], "retest"))
            state = {}
            for k, months, tag in scans:
                if k and rng.random() < dropout:
                    attended = False
                if not attended:
                    break
                for lv in levels:
                    on = k > 0 and lv in treated
                    if k:
                        if on and rng.random() < float(effect.improve.get(months, 0.0)):
                            step = -1
                        else:
                            step = int(rng.random() < worsen)
                    else:
                        step = 0
                    grade = int(np.clip(grade0[lv] + step, 1, 8))
                    base_dhi = (LEVEL_MEANS[lv][0] + person["dhi_mean_height"]
                                + disc[("dhi_mean_height", lv)])
                    # the retest sees the baseline's disc and visit state in a new scan: its
                    # own time of day and noise (draws in the order of a table without one)
                    day = retest and k == 0
                    noise = {}
                    for key in ("dhi_mean_height", "np_t2_ms"):
                        visit = state[(lv, key)] if tag else rng.normal(0, sd[key][2])
                        state[(lv, key)] = visit
                        noise[key] = (visit + (rng.normal(0, DIURNAL[key]) if day else 0.0)
                                      + rng.normal(0, sd[key][3]))
                    dhi = (base_dhi * (1 + (effect.dhi_pct / 100.0 if on else 0.0))
                           + noise["dhi_mean_height"])
                    t2 = (LEVEL_MEANS[lv][1] + person["np_t2_ms"] + disc[("np_t2_ms", lv)]
                          + (effect.t2_ms if on else 0.0) + noise["np_t2_ms"])
                    name = "ses-baseline" if k == 0 else f"ses-month{months:g}"
                    rows.append({"participant_id": pid, "session": name + tag,
                                 "arm": arm, "months": float(months), "treated": lv in treated,
                                 "level": lv, "dhi_mean_height": dhi, "np_t2_ms": t2,
                                 "griffith": str(grade),
                                 "pfirrmann": {3: "III", 4: "III", 5: "IV", 6: "IV"}.get(
                                     grade, "V" if grade > 6 else "II"),
                                 "status": "measured"})
    return pd.DataFrame(rows)


def retest_truth(endpoint: str, spreads: Mapping[str, Sequence[float]] | None = None
                 ) -> dict[str, float]:
    """The known repeatability of a :func:`trial_table` baseline and its retest, per level.

    Returns
    -------
    dict
        ``within_sd`` (√(diurnal² + measurement²)), ``between_sd`` (√(participant² + disc² +
        visit²) within one level), ``icc`` and ``mdc95`` (1.96·√2·within_sd), in the
        endpoint's unit.
    """
    sd = {**SPREADS, **(spreads or {})}[endpoint]
    within = math.sqrt(DIURNAL[endpoint] ** 2 + sd[3] ** 2)
    between = math.sqrt(sd[0] ** 2 + sd[1] ** 2 + sd[2] ** 2)
    return {"within_sd": within, "between_sd": between,
            "icc": between ** 2 / (between ** 2 + within ** 2),
            "mdc95": 1.96 * math.sqrt(2) * within}
