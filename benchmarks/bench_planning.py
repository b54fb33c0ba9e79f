"""Trial planning benchmark: recovered repeatability, power against the closed form, speed.

1. ICC coverage: 200 simulated cohorts of 20 participants scanned twice at baseline
   (discmri.phantom.trial_table(retest=True), known within- and between-disc SDs): how often
   the 95 % intervals of ICC(2,1) and ICC(3,1) at one level hold the true ICC (target ≥ 90 %),
   and the median recovered MDC95 over the true one.
2. ICC against pingouin (the peer; ``pip install "discmri[bench]"``): the same pairs through
   ``pingouin.intraclass_corr``, the largest difference of the point estimates and the time
   of each (pingouin rounds its intervals to two decimals, so those are compared to 0.01).
3. Power: simulated power (4000 trials) against the noncentral-t closed form over a grid of
   sizes and effects without dropout (target within ±5 points), and the worked example of
   issue 26 (ICC 0.62, SD 22.5 ms: about 60 per arm for 10 ms).
4. ``discmri plan`` on a 40-participant two-arm cohort with retest sessions and three visits:
   the wall time of the command (target < 30 s on 2 cores), against a naive planner that fits
   statsmodels' MixedLM to every simulated trial instead of the t-test on change scores
   (timed on 20 trials and scaled to the same number).

Run: ``PYTHONPATH=. python benchmarks/bench_planning.py``.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def coverage(n_cohorts: int = 200) -> None:
    from discmri.phantom import TrialEffect, trial_table
    from discmri.phantom.trial import retest_truth
    from discmri.planning import repeatability

    endpoints = ("dhi_mean_height", "np_t2_ms")
    hits21 = dict.fromkeys(endpoints, 0)
    hits31 = dict.fromkeys(endpoints, 0)
    ratio = {e: [] for e in endpoints}
    tick = time.perf_counter()
    for seed in range(n_cohorts):
        table = trial_table({"sham": TrialEffect()}, 20, retest=True, seed=seed)
        rep = repeatability(table, list(endpoints))
        for e in endpoints:
            truth = retest_truth(e)
            row = rep[(rep.endpoint == e) & (rep.level == "L4-L5")].iloc[0]
            hits21[e] += row.icc21_low <= truth["icc"] <= row.icc21_high
            hits31[e] += row.icc31_low <= truth["icc"] <= row.icc31_high
            ratio[e].append(row.mdc95 / truth["mdc95"])
    seconds = time.perf_counter() - tick
    print(f"1. ICC coverage, {n_cohorts} cohorts of 20 (level L4-L5), {seconds:.1f} s:")
    for e in endpoints:
        t = retest_truth(e)
        print(f"   {e:16s} true ICC {t['icc']:.3f}, MDC95 {t['mdc95']:.4g}: ICC(2,1) interval "
              f"holds it {100 * hits21[e] / n_cohorts:.1f} %, ICC(3,1) "
              f"{100 * hits31[e] / n_cohorts:.1f} %; recovered MDC95 / true: median "
              f"{np.median(ratio[e]):.3f}, 5-95 % {np.percentile(ratio[e], 5):.2f}-"
              f"{np.percentile(ratio[e], 95):.2f}")


def against_pingouin(n_cohorts: int = 50) -> None:
    import pandas as pd

    from discmri.phantom import TrialEffect, trial_table
    from discmri.planning import icc, retest_pairs

    try:
        import pingouin
    except ImportError:
        print('2. pingouin not installed (pip install "discmri[bench]"): comparison skipped')
        return
    worst, worst_ci, ours, theirs = 0.0, 0.0, 0.0, 0.0
    for seed in range(n_cohorts):
        pairs = retest_pairs(trial_table({"sham": TrialEffect()}, 20, retest=True, seed=seed),
                             "np_t2_ms")
        tick = time.perf_counter()
        mine = icc(pairs[["first", "second"]].to_numpy())
        ours += time.perf_counter() - tick
        long = pd.DataFrame({"disc": np.repeat(np.arange(len(pairs)), 2),
                             "session": np.tile([0, 1], len(pairs)),
                             "value": pairs[["first", "second"]].to_numpy().ravel()})
        tick = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer = pingouin.intraclass_corr(long, "disc", "session", "value").set_index("Type")
        theirs += time.perf_counter() - tick
        # pingouin names them ICC2/ICC3 (before 0.6) or ICC(A,1)/ICC(C,1)
        a, c = ("ICC2", "ICC3") if "ICC2" in peer.index else ("ICC(A,1)", "ICC(C,1)")
        ci = "CI95%" if "CI95%" in peer else "CI95"
        worst = max(worst, abs(mine.icc21 - peer.loc[a, "ICC"]),
                    abs(mine.icc31 - peer.loc[c, "ICC"]))
        worst_ci = max(worst_ci, *np.abs(np.round(mine.icc21_ci, 2)
                                         - np.asarray(peer.loc[a, ci], float)),
                       *np.abs(np.round(mine.icc31_ci, 2)
                               - np.asarray(peer.loc[c, ci], float)))
    print(f"2. against pingouin {pingouin.__version__}, {n_cohorts} cohorts of 100 pairs: "
          f"largest ICC difference {worst:.2e}, interval difference after rounding "
          f"{worst_ci:.2f}; time per ICC {1e3 * ours / n_cohorts:.2f} ms vs "
          f"{1e3 * theirs / n_cohorts:.2f} ms (×{theirs / ours:.0f})")


def power() -> None:
    from discmri.planning import (
        VarianceComponents,
        n_per_arm,
        n_per_arm_normal,
        power_two_arm,
        simulate_power,
    )

    worst = 0.0
    tick = time.perf_counter()
    runs = 0
    for n in (8, 20, 40, 80):
        for effect in (2.0, 5.0, 10.0):
            for levels, c in ((1, VarianceComponents(20, residual=10)),
                              (3, VarianceComponents(20, 10, 4, 10))):
                sim = simulate_power(c, effect, n, visits=(0, 3, 6), levels=levels,
                                     n_sim=4000, seed=runs)
                runs += 1
                worst = max(worst, abs(sim["power"]
                                       - power_two_arm(n, effect, c.change_sd(levels))))
    seconds = time.perf_counter() - tick
    print(f"3. simulated against closed-form power, {runs} settings × 4000 trials "
          f"({seconds:.1f} s): largest difference {100 * worst:.1f} points (target ≤ 5)")
    sd = 22.5 * math.sqrt(1 - 0.62)
    change = math.sqrt(2) * sd
    print(f"   worked example: measurement SD {sd:.1f} ms, MDC95 "
          f"{1.96 * math.sqrt(2) * sd:.1f} ms; 10 ms needs {n_per_arm_normal(10, change):.1f} "
          f"per arm (normal), {n_per_arm(10, change)} (t); with 5 ms measurement SD "
          f"{n_per_arm_normal(10, 5 * math.sqrt(2)):.1f} / {n_per_arm(10, 5 * math.sqrt(2))}")


def command(participants: int = 20) -> None:
    import pandas as pd
    import statsmodels.formula.api as smf

    from discmri.io.tables import table_bytes
    from discmri.phantom import TrialEffect, trial_table

    table = trial_table({"MSC": TrialEffect(dhi_pct=5, t2_ms=10), "sham": TrialEffect()},
                        participants, retest=True, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        discs = Path(tmp) / "discs.tsv"
        discs.write_bytes(table_bytes(table))
        tick = time.perf_counter()
        subprocess.run([sys.executable, "-m", "discmri.cli", "plan", str(discs), "--effect",
                        "dhi_mean_height=+5%", "--effect", "np_t2_ms=+10", "--power", "0.8"],
                       check=True, capture_output=True)
        seconds = time.perf_counter() - tick
        rows = pd.read_csv(Path(tmp) / "plan.tsv", sep="\t")
    # the naive planner: a mixed model per simulated trial (20 trials timed)
    rng = np.random.default_rng(0)
    tick = time.perf_counter()
    for _ in range(20):
        n, visits = 30, (0.0, 3.0, 6.0)
        ids = np.repeat(np.arange(2 * n), len(visits))
        frame = pd.DataFrame({"pid": ids, "arm": (ids >= n).astype(int),
                              "months": np.tile(visits, 2 * n)})
        frame["y"] = (rng.normal(0, 20, 2 * n)[ids] + rng.normal(0, 7, len(frame))
                      + 10 * frame.arm * (frame.months > 0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            smf.mixedlm("y ~ C(arm) * C(months)", frame, groups=frame["pid"]).fit(reml=True)
    naive = (time.perf_counter() - tick) / 20 * 2000 * len(rows)
    print(f"4. discmri plan on {2 * participants} participants (two arms, 3 visits, retest "
          f"sessions), {len(rows)} plan rows × 2000 simulated trials: {seconds:.1f} s "
          f"(target < 30 s); a mixed model per simulated trial would take ≈ {naive:.0f} s "
          f"(×{naive / seconds:.0f})")


if __name__ == "__main__":
    coverage()
    against_pingouin()
    power()
    command()
