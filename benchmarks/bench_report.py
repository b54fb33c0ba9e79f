"""Trial report benchmark: its speed, and its statistics against known truth.

* Speed: ``discmri.report`` (tables, mixed models, figures, the page) on a 40-participant
  two-arm cohort (20 per arm, visits 0/3/6 months, four endpoints' worth of columns) and on
  the 4-participant small study; issue 13 asks under 30 s for 40 participants.
* Effects: DREAM-like cohorts (+10 % DHI, +15 ms nucleus T2 at treated levels in the active
  arm), 20 per arm: the error of the estimated changes and of the mixed model's arm × visit
  terms over many cohorts, and how often the mixed model finds the effect (power).
* No effect: the rejection rate at 5 % of every test of change, and of the mixed model's
  interaction terms, with its 95 % binomial interval; beside them a naive disc-level test
  (discs taken as independent) for comparison.

Tables are drawn by discmri.phantom.trial (no images). Run:
python benchmarks/bench_report.py [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from scipy import stats as sps

from discmri.phantom.trial import TrialEffect, trial_table
from discmri.report import build_report, stats, write_report

ACTIVE = TrialEffect(dhi_pct=10.0, t2_ms=15.0, improve={3.0: 0.5})


def speed() -> None:
    for label, arms, n in (("40 participants, two arms", {"MSC": ACTIVE, "sham": TrialEffect()},
                            20), ("4 participants, two arms", {"MSC": ACTIVE,
                                                               "sham": TrialEffect()}, 2)):
        table = trial_table(arms, n, seed=0, dropout=0.1)
        table["height_mean_mm"] = table.dhi_mean_height * 27.0
        table["np_adc_mm2_s"] = 1.6e-3 + 1e-5 * (table.np_t2_ms - 80.0)
        tick = time.perf_counter()
        report = build_report(table)
        with tempfile.TemporaryDirectory() as out:
            write_report(report, out)
        seconds = time.perf_counter() - tick
        print(f"report, {label} ({len(table)} disc rows, {len(report.endpoints)} endpoints, "
              f"layout {report.layout}): {seconds:.1f} s")


def effects(cohorts: int) -> None:
    err = {"dhi_pct": [], "t2_ms": [], "mixed_t2": []}
    found = 0
    for seed in range(cohorts):
        table = trial_table({"MSC": ACTIVE, "sham": TrialEffect()}, 20, seed=seed, dropout=0.1)
        sel = table[table.treated]
        for endpoint, key, truth in (("dhi_mean_height", "dhi_pct", 10.0),
                                     ("np_t2_ms", "t2_ms", 15.0)):
            w = stats.within_arm(stats.participant_changes(sel, endpoint), endpoint, exact=False)
            col = "mean_change_pct" if key == "dhi_pct" else "mean_change"
            for r in w.itertuples():
                err[key].append(getattr(r, col) - (truth if r.arm == "MSC" else 0.0))
        terms, _ = stats.mixed_model(sel, "np_t2_ms", "sham")
        inter = terms[terms.term.str.contains(":")]
        err["mixed_t2"] += list(inter.estimate - 15.0)
        found += int((inter.p_value < 0.05).all())
    print(f"effects, {cohorts} cohorts of 20 per arm (truth +10 % DHI, +15 ms T2):")
    for key, unit in (("dhi_pct", "%"), ("t2_ms", "ms"), ("mixed_t2", "ms")):
        e = np.asarray(err[key])
        print(f"  {key:>8}: error mean {e.mean():+.2f} {unit}, SD {e.std():.2f} {unit}, "
              f"largest {np.abs(e).max():.2f} {unit}")
    print(f"  mixed model finds the T2 arm x visit effect at both visits: {found}/{cohorts}")


def null(cohorts: int) -> None:
    counts = {"Welch t (participants)": 0, "one-sample t": 0, "Wilcoxon signed-rank": 0,
              "mixed model arm x visit": 0, "naive disc-level Welch t": 0}
    for seed in range(cohorts):
        table = trial_table({"A": TrialEffect(), "B": TrialEffect()}, 10, seed=10_000 + seed,
                            visits=(0.0, 6.0))
        sel = table[table.treated]
        changes = stats.participant_changes(sel, "np_t2_ms")
        between = stats.between_arms(changes, "np_t2_ms", "A", "B")
        within = stats.within_arm(changes, "np_t2_ms", exact=False)
        terms, _ = stats.mixed_model(sel, "np_t2_ms", "B")
        at = sel[sel.months == 6.0]
        naive = sps.ttest_ind(at[at.arm == "A"].np_t2_ms, at[at.arm == "B"].np_t2_ms,
                              equal_var=False).pvalue
        counts["Welch t (participants)"] += int(between.p_value.iat[0] < 0.05)
        counts["one-sample t"] += int(within.p_value.iat[0] < 0.05)
        counts["Wilcoxon signed-rank"] += int(within.p_wilcoxon.iat[0] < 0.05)
        counts["mixed model arm x visit"] += int(
            terms[terms.term.str.contains(":")].p_value.iat[0] < 0.05)
        counts["naive disc-level Welch t"] += int(naive < 0.05)
    low, high = sps.binom.ppf([0.025, 0.975], cohorts, 0.05) / cohorts
    print(f"no effect, {cohorts} cohorts of 10 per arm: rejections at 5 % (95 % binomial "
          f"interval {100 * low:.1f}-{100 * high:.1f} %)")
    for name, c in counts.items():
        print(f"  {name:>26}: {100 * c / cohorts:.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cohorts")
    args = parser.parse_args()
    speed()
    effects(10 if args.quick else 50)
    null(100 if args.quick else 400)


if __name__ == "__main__":
    main()
