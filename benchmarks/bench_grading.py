"""Grading assist benchmark: agreement with the phantom's grades, and its cost.

Phantom spines with one disc of every Griffith grade 1-8 shuffled over the levels (seven
levels: seven of the eight grades per spine), SNR 20-50, a bias field, every other spine
rolled 8° and tilted 5°; severities either near each grade's centre (±0.3) or uniform over
1-8 (a disc may then sit on a boundary, where either grade is right). Prints exact and
within-one agreement with the phantom's Griffith and Pfirrmann grades, the quadratic-weighted
kappa (statsmodels), and the time of the grading against that of discmri.measure on the same
image (issue 12: under 10 %).

Calibration (table level, no images): cohorts of disc features spread over the eight grades
of a site whose readers see the boundaries away from the defaults
(discmri.phantom.READER_THRESHOLDS), two simulated readers with 10 % (ratios) and 5-point
(height loss) scatter. Prints the inter-reader kappa, the largest error of each recovered
threshold over the cohorts, the cross-validated agreement against the readers' consensus with
the calibrated thresholds and with the defaults, and the time of a calibration.

Run: python benchmarks/bench_grading.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from discmri.grading import agreement, grade_value, suggest_grades
from discmri.measure import measure
from discmri.phantom import (
    DiscState,
    Pose,
    Protocol,
    random_anatomy,
    rotation_matrix,
    simulate_session,
)


def run(spines: int, spread: str) -> None:
    got, true, pf_got, pf_true, who = [], [], [], [], []
    t_measure, t_grade, ungraded = [], [], []
    for seed in range(spines):
        rng = np.random.default_rng(5000 + seed)
        anatomy = random_anatomy(rng)
        if spread == "centre":
            sev = rng.choice(np.arange(1, 9), 7, replace=False) + rng.uniform(-0.3, 0.3, 7)
        else:
            sev = rng.uniform(1, 8, 7)
        anatomy = anatomy.with_states({n: DiscState(float(np.clip(s, 1, 8)))
                                       for n, s in zip(anatomy.disc_names, sev, strict=True)})
        pose = (Pose(rotation_matrix((0, 0, 1), 8.0) @ rotation_matrix((1, 0, 0), 5.0),
                     np.zeros(3)) if seed % 2 else Pose.identity())
        sim = simulate_session(anatomy, rng=rng, pose=pose, protocol=Protocol(
            t2w_snr=float(rng.choice([20.0, 30.0, 50.0])), mese_voxel_mm=None,
            dwi_voxel_mm=None, bias=0.2, slab_mm=48.0))
        tick = time.perf_counter()
        result = measure(sim.t2w, sim.labels)
        t_measure.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        grades = suggest_grades(result, sim.t2w)
        t_grade.append(time.perf_counter() - tick)
        truth = sim.truth.set_index("level")
        for row in grades.itertuples():
            if not row.griffith:  # no evidence (e.g. a disc cut by the image)
                ungraded.append(f"{seed}:{row.level}")
                continue
            got.append(grade_value(row.griffith, "griffith"))
            true.append(int(truth.loc[row.level, "grade_griffith"]))
            pf_got.append(grade_value(row.pfirrmann, "pfirrmann"))
            pf_true.append(int(truth.loc[row.level, "grade_pfirrmann"]))
            who.append(seed)
    g = agreement(got, true, who, scale="griffith", n_boot=200)
    p = agreement(pf_got, pf_true, who, scale="pfirrmann", n_boot=200)
    print(f"{spread:>8}: {len(got)} discs; Griffith exact {100 * g.exact:.0f} %, within one "
          f"{100 * g.within_one:.0f} %, quadratic kappa {g.kappa_quadratic:.3f} "
          f"[{g.ci['kappa_quadratic'][0]:.3f}, {g.ci['kappa_quadratic'][1]:.3f}]; Pfirrmann "
          f"exact {100 * p.exact:.0f} %, quadratic kappa {p.kappa_quadratic:.3f}; not graded: "
          f"{', '.join(ungraded) or 'none'}")
    print(f"          grading {1000 * np.median(t_grade):.0f} ms per image, "
          f"{100 * np.median(t_grade) / np.median(t_measure):.1f} % of discmri.measure "
          f"({np.median(t_measure):.2f} s)")


def calibration(cohorts: int, participants: int) -> None:
    from discmri.grading import THRESHOLDS, calibrate
    from discmri.phantom import READER_THRESHOLDS, feature_cohort, reader_grades

    errors: dict[str, list[float]] = {k: [] for k in READER_THRESHOLDS}
    kappa, cv, default, seconds = [], [], [], []
    for seed in range(cohorts):
        features = feature_cohort(participants, seed=seed)
        readers = reader_grades(features, 2, seed=100 + seed)
        values = readers.grade.astype(int).to_numpy().reshape(2, -1)
        kappa.append(agreement(values[0], values[1], features.participant_id, scale="griffith",
                               n_boot=0).kappa)
        tick = time.perf_counter()
        result = calibrate(features, readers, n_boot=0)
        seconds.append(time.perf_counter() - tick)
        for name, true in READER_THRESHOLDS.items():
            got = getattr(result.thresholds, name)
            errors[name].append(got - true if name.startswith("loss") else got / true - 1)
        cv.append((result.cross_validated.exact, result.cross_validated.kappa_quadratic))
        default.append((result.default.exact, result.default.kappa_quadratic))
    print(f"calibration: {cohorts} cohorts of {participants} participants (5 discs each), two "
          f"readers, inter-reader kappa {np.median(kappa):.2f} (median; "
          f"{min(kappa):.2f}-{max(kappa):.2f})")
    for name, e in errors.items():
        unit = "points" if name.startswith("loss") else "%"
        scale = 1 if name.startswith("loss") else 100
        print(f"  {name:>16}: reader {READER_THRESHOLDS[name]:g}, default "
              f"{getattr(THRESHOLDS, name):g}; largest error {scale * np.max(np.abs(e)):.1f} "
              f"{unit}, mean {scale * np.mean(e):+.1f} {unit}")
    cv_, de = np.mean(cv, axis=0), np.mean(default, axis=0)
    print(f"  cross-validated against the consensus: exact {100 * cv_[0]:.0f} %, quadratic "
          f"kappa {cv_[1]:.3f}; default thresholds: exact {100 * de[0]:.0f} %, quadratic kappa "
          f"{de[1]:.3f} (ratio of exact agreement {cv_[0] / de[0]:.2f})")
    print(f"  one calibration with 5-fold cross-validation: {np.median(seconds):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 spines per setting")
    args = parser.parse_args()
    for spread in ("centre", "uniform"):
        run(4 if args.quick else 12, spread)
    calibration(5 if args.quick else 20, 40)


if __name__ == "__main__":
    main()
