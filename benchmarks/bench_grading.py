"""Grading assist benchmark: agreement with the phantom's grades, and its cost.

Phantom spines with one disc of every Griffith grade 1-8 shuffled over the levels (seven
levels: seven of the eight grades per spine), SNR 20-50, a bias field, every other spine
rolled 8° and tilted 5°; severities either near each grade's centre (±0.3) or uniform over
1-8 (a disc may then sit on a boundary, where either grade is right). Prints exact and
within-one agreement with the phantom's Griffith and Pfirrmann grades, the quadratic-weighted
kappa (statsmodels), and the time of the grading against that of discmri.measure on the same
image (issue 12: under 10 %).

The same with another group's contrast model (discmri.phantom.bright_annulus_contrast: outer
annulus 0.33 and fat 0.8 of CSF, nucleus 1.0/0.9/0.66/0.45/0.34 for grades 1-5; normal heights
7 mm at T12-L1 to 11.5 mm at L4-L5 with 4 % scatter): the defaults' agreement and Spearman
correlation with the truth, and --calibrate fitted on half of the spines (truth as the reader)
and graded on the other half.

Calibration (table level, no images): cohorts of disc features spread over the eight grades
of a site whose readers see the boundaries away from the defaults
(discmri.phantom.READER_THRESHOLDS), two simulated readers with 10 % (ratios) and 5-point
(height loss) scatter. Prints the inter-reader kappa, the largest error of each recovered
threshold over the cohorts, the cross-validated agreement against the readers' consensus with
the calibrated thresholds and with the defaults, and the time of a calibration.

SPIDER (``--spider [N]``, the first N slices, all by default; ../shared/data/spider-slices,
not shipped): per mid-sagittal slice, ``segment_spine``, ``measure`` and ``suggest_grades``
as a user runs them, and the suggestions compared by level with the SPIDER radiologists'
Pfirrmann grades (van der Graaf et al., Sci Data 2024; CC-BY 4.0): coverage (graded discs
found and named, and given a grade), exact and within-one agreement, κ unweighted, linear and
quadratic with 95 % bootstrap intervals by patient, the confusion matrix, against a naive
grader that always says the radiologists' most common grade; the Spearman correlation of
each feature with the radiologists' grade; the AUC of ``height_loss_pct`` for SPIDER's disc
narrowing; and, as the ceiling of the best single feature, an ordinal probit of the grade on
log ``np_csf_ratio`` cross-validated by patient (5 folds). ``--features-out TSV`` writes the
joined table.

Height reference (``--height-reference``; ../shared/data/real-lumbar, not shipped): on the nine
healthy real spines (DHI between the manual labels), each disc's expected DHI from every subset
of 2, 3 and 5 of the others, as height loss (0 is right): the shipped reference against the
person's own line alone, the normal rise alone and the others' flat median.

Run: python benchmarks/bench_grading.py [--quick] [--spider [N]] [--features-out TSV]
     [--height-reference]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from discmri.grading import agreement, grade_value, suggest_grades
from discmri.measure import measure
from discmri.phantom import (
    DiscState,
    Pose,
    Protocol,
    bright_annulus_contrast,
    random_anatomy,
    rotation_matrix,
    simulate_session,
)

#: The other group's normal disc heights (issue 23): ~7 mm at T12-L1 rising to ~11.5 mm at
#: L4-L5, with 4 % scatter (their phantom has no T11-T12 or L5-S1 figure: ours are kept).
OTHER_HEIGHTS = {"T12-L1": 7.0, "L1-L2": 8.1, "L2-L3": 9.25, "L3-L4": 10.4, "L4-L5": 11.5}


def _spine(seed: int, spread: str, contrast: str):
    rng = np.random.default_rng(5000 + seed)
    if contrast == "own":
        anatomy = random_anatomy(rng)
    else:
        anatomy = random_anatomy(rng, disc_heights=OTHER_HEIGHTS, disc_height_sd=0.04,
                                 contrast=bright_annulus_contrast())
    if spread == "centre":
        sev = rng.choice(np.arange(1, 9), 7, replace=False) + rng.uniform(-0.3, 0.3, 7)
    else:
        sev = rng.uniform(1, 8, 7)
    anatomy = anatomy.with_states({n: DiscState(float(np.clip(s, 1, 8)))
                                   for n, s in zip(anatomy.disc_names, sev, strict=True)})
    pose = (Pose(rotation_matrix((0, 0, 1), 8.0) @ rotation_matrix((1, 0, 0), 5.0),
                 np.zeros(3)) if seed % 2 else Pose.identity())
    return simulate_session(anatomy, rng=rng, pose=pose, protocol=Protocol(
        t2w_snr=float(rng.choice([20.0, 30.0, 50.0])), mese_voxel_mm=None,
        dwi_voxel_mm=None, bias=0.2, slab_mm=48.0))


def run(spines: int, spread: str, contrast: str = "own") -> None:
    import pandas as pd
    from scipy.stats import spearmanr

    got, true, pf_got, pf_true, who = [], [], [], [], []
    t_measure, t_grade, ungraded, tables = [], [], [], []
    for seed in range(spines):
        sim = _spine(seed, spread, contrast)
        tick = time.perf_counter()
        result = measure(sim.t2w, sim.labels)
        t_measure.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        grades = suggest_grades(result, sim.t2w)
        t_grade.append(time.perf_counter() - tick)
        truth = sim.truth.set_index("level")
        tables.append(grades.assign(participant_id=f"sub-{seed:02d}", session="",
                                    truth=grades.level.map(truth["grade_griffith"]),
                                    true_loss=grades.level.map(
                                        100 * truth["height_loss_fraction"])))
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
    rho = spearmanr(got, true).statistic
    print(f"{contrast + ', ' + spread:>13}: {len(got)} discs; Griffith exact "
          f"{100 * g.exact:.0f} %, within one {100 * g.within_one:.0f} %, quadratic kappa "
          f"{g.kappa_quadratic:.3f} [{g.ci['kappa_quadratic'][0]:.3f}, "
          f"{g.ci['kappa_quadratic'][1]:.3f}], Spearman {rho:.3f}; Pfirrmann exact "
          f"{100 * p.exact:.0f} %, within one {100 * p.within_one:.0f} %, quadratic kappa "
          f"{p.kappa_quadratic:.3f}; not graded: {', '.join(ungraded) or 'none'}")
    loss = pd.concat(tables, ignore_index=True)
    err = (loss.height_loss_pct - loss.true_loss).dropna().abs().to_numpy()
    print(f"               height loss error (points): median {np.median(err):.1f}, p90 "
          f"{np.percentile(err, 90):.1f}, largest {err.max():.1f} ({len(err)} discs)")
    print(f"               grading {1000 * np.median(t_grade):.0f} ms per image, "
          f"{100 * np.median(t_grade) / np.median(t_measure):.1f} % of discmri.measure "
          f"({np.median(t_measure):.2f} s)")
    if contrast != "own":  # the other check: calibrated on other spines of the model
        from discmri.grading import calibrate

        table = pd.concat(tables, ignore_index=True)
        table = table[table.griffith != ""]
        readers = table[["participant_id", "session", "level"]].assign(
            reader="truth", scale="griffith", grade=table.truth.astype(str))
        result = calibrate(table, readers, folds=2, n_boot=0)
        print(f"               --calibrate on half of the spines, graded on the other half: "
              f"exact {100 * result.cross_validated.exact:.0f} % (defaults "
              f"{100 * result.default.exact:.0f} %), within one "
              f"{100 * result.cross_validated.within_one:.0f} %")


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


REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-lumbar"


def height_reference() -> None:
    """The expected DHI of healthy discs from their neighbours, on the real healthy spines."""
    import itertools

    from discmri.grading.features import _reference_dhi
    from discmri.io import load_volume

    spines = {}
    for folder in sorted(p for p in REAL.iterdir() if (p / f"{p.name}_labels.nii.gz").is_file()):
        t2w = load_volume(folder / f"{folder.name}_T2w.nii.gz")
        labels = load_volume(folder / f"{folder.name}_labels.nii.gz")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            table = measure(t2w, labels, scheme="native", edges="labels").table
        table = table[table.dhi_mean_height.notna()]
        spines[folder.name] = (table.level.tolist(), table.dhi_mean_height.to_numpy(float))
        print(f"{folder.name}: " + ", ".join(f"{lv} {d:.3f}" for lv, d in
                                              zip(*spines[folder.name], strict=True)))

    def flat(names, dhi, use):  # naive: the median DHI of the others, whatever the level
        return np.full(len(names), np.median(dhi[use])), None

    methods = {"shipped": _reference_dhi,
               "own line only": lambda n, d, u: _reference_dhi(n, d, u, slope_sd=np.inf),
               "normal rise only": lambda n, d, u: _reference_dhi(n, d, u, slope_sd=0.0),
               "flat median": flat}
    print("\nHealthy discs: |height loss| (%) read against the others (every subset of k "
          "references; the disc is not one of them); median / p90 / largest")
    for k in (2, 3, 5):
        line = []
        for name, method in methods.items():
            err = []
            for names, dhi in spines.values():
                n = len(names)
                for chosen in itertools.combinations(range(n), min(k, n - 1)):
                    use = np.isin(np.arange(n), chosen)
                    ref, _ = method(names, dhi, use)
                    err += list(np.abs(100 * (1 - dhi[~use] / ref[~use])))
            line.append(f"{name} {np.median(err):.1f} / {np.percentile(err, 90):.1f} / "
                        f"{np.max(err):.0f}")
        print(f"  k={k}: " + "; ".join(line))


SPIDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "spider-slices"
FEATURES = ("np_csf_ratio", "np_outer_af_ratio", "np_fat_ratio", "np_inhomogeneity",
            "cleft_depth", "height_loss_pct", "dhi")


def _spider_table(n: int | None):
    """Suggestions for the graded SPIDER slices joined with the radiologists' grades."""
    import pandas as pd

    from discmri.io import load_volume
    from discmri.spine.segmentation import segment_spine

    grades = pd.read_csv(SPIDER / "spider_grades.tsv", sep="\t")
    cases = sorted(grades.case.unique())[:n]
    grades = grades[grades.case.isin(cases)]
    rows, failed, seconds = [], {}, []
    for case in cases:
        image = load_volume(SPIDER / f"{case}_T2w.nii.gz")
        tick = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                m = measure(image, segment_spine(image).labels, scheme="native")
                table = suggest_grades(m, image)
        except ValueError as exc:  # DiscMRIError is one: the slice's reason, not a crash
            failed[case] = f"{type(exc).__name__}: {str(exc)[:90]}"
            continue
        finally:
            seconds.append(time.perf_counter() - tick)
        rows.append(table.assign(case=case))
    ours = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["case",
                                                                                  "level"])
    joined = grades.merge(ours.assign(found=True), on=["case", "level"], how="left",
                          suffixes=("", "_ours"))
    joined["found"] = joined["found"].eq(True)
    joined["ours"] = [grade_value(g, "pfirrmann") if isinstance(g, str) and g else np.nan
                      for g in joined.get("pfirrmann_ours", pd.Series(dtype=object))]
    return joined, failed, seconds, len(cases)


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (the Mann-Whitney U over the product of the group sizes)."""
    from scipy.stats import mannwhitneyu

    pos, neg = score[label == 1], score[label == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    return float(mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg)))


def _ordinal_cv(x: np.ndarray, y: np.ndarray, who: np.ndarray, folds: int = 5) -> np.ndarray:
    """Grades predicted by a probit ordinal model of ``y`` on ``x``, by patient folds."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    names = np.unique(who)
    fold = {n: i % folds for i, n in enumerate(np.random.default_rng(0).permutation(names))}
    k = np.array([fold[w] for w in who])
    out = np.full(len(y), -1)
    for f in range(folds):
        train, test = k != f, k == f
        levels = np.unique(y[train])
        model = OrderedModel(np.searchsorted(levels, y[train]), x[train, None], distr="probit")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(method="bfgs", disp=False, maxiter=2000)
        prob = np.asarray(fit.model.predict(fit.params, exog=x[test, None]))
        out[test] = levels[prob.argmax(axis=1)]
    return out


def spider(n: int | None, features_out: str | None = None) -> None:
    """Pfirrmann suggestions against the SPIDER radiologists (see the module docstring)."""
    from scipy.stats import spearmanr

    if not SPIDER.is_dir():
        print(f"SPIDER: {SPIDER} not found")
        return
    tick = time.perf_counter()
    joined, failed, seconds, cases = _spider_table(n)
    if features_out:
        joined.to_csv(features_out, sep="\t", index=False, na_rep="n/a")
    graded = len(joined)
    found = int(joined.found.sum())
    ok = joined.ours.notna().to_numpy()
    print(f"\nSPIDER, {cases} mid-sagittal slices ({time.perf_counter() - tick:.0f} s; median "
          f"{np.median(seconds):.1f} s a slice): {len(failed)} slices failed; of {graded} graded "
          f"discs {found} found and named ({100 * found / graded:.0f} %), {ok.sum()} given a "
          f"Pfirrmann grade ({100 * ok.sum() / graded:.0f} %; target 90 %)")
    for case, why in failed.items():
        print(f"  {case}: {why}")
    if ok.sum() == 0:
        return
    truth = joined.pfirrmann.to_numpy(int)[ok]
    who = joined.case.to_numpy()[ok]
    mode = int(np.bincount(joined.pfirrmann.to_numpy(int)).argmax())
    for name, pred in (("discmri defaults", joined.ours.to_numpy()[ok].astype(int)),
                       (f"naive: always {mode}", np.full(ok.sum(), mode))):
        a = agreement(truth, pred, who, scale="pfirrmann", n_boot=1000)
        lo, hi = a.ci["kappa_quadratic"]
        print(f"  {name:22s} exact {a.exact:.2f}, within one {a.within_one:.2f}, kappa "
              f"{a.kappa:+.2f}, linear {a.kappa_linear:+.2f}, quadratic "
              f"{a.kappa_quadratic:+.2f} [{lo:+.2f}, {hi:+.2f}] ({a.n_discs} discs, "
              f"{a.n_participants} patients; targets exact 0.60, within one 0.95, "
              "quadratic 0.75)")
        if name == "discmri defaults":
            print("  confusion (radiologists' grade in rows, discmri's in columns):")
            print("    " + a.confusion.to_string().replace("\n", "\n    "))
    print("  Spearman correlation with the radiologists' grade (found discs):")
    for feature in FEATURES:
        if feature in joined:
            v = joined[feature].to_numpy(float)
            k = np.isfinite(v)
            if k.sum() > 10:
                rho = spearmanr(v[k], joined.pfirrmann.to_numpy(float)[k]).statistic
                print(f"    {feature:20s} {rho:+.2f} (n {k.sum()})")
    if "height_loss_pct" in joined:
        v = joined.height_loss_pct.to_numpy(float)
        k = np.isfinite(v)
        print(f"  height_loss_pct for SPIDER's disc narrowing: AUC "
              f"{_auc(v[k], joined.disc_narrowing.to_numpy(int)[k]):.2f} (n {k.sum()}, "
              f"{int(joined.disc_narrowing[k].sum())} narrowed; target 0.80)")
    x = np.log(joined.np_csf_ratio.to_numpy(float))
    k = np.isfinite(x)
    if k.sum() > 50:
        pred = _ordinal_cv(x[k], joined.pfirrmann.to_numpy(int)[k], joined.case.to_numpy()[k])
        a = agreement(joined.pfirrmann.to_numpy(int)[k], pred, joined.case.to_numpy()[k],
                      scale="pfirrmann", n_boot=1000)
        lo, hi = a.ci["kappa_quadratic"]
        print(f"  ordinal probit on log np_csf_ratio, 5 patient folds: exact {a.exact:.2f}, "
              f"within one {a.within_one:.2f}, quadratic kappa {a.kappa_quadratic:+.2f} "
              f"[{lo:+.2f}, {hi:+.2f}] ({a.n_discs} discs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 spines per setting")
    parser.add_argument("--spider", nargs="?", type=int, const=0, default=None, metavar="N",
                        help="only the SPIDER comparison, on the first N slices (all: no N)")
    parser.add_argument("--features-out", metavar="TSV",
                        help="with --spider: write the joined table of grades and features")
    parser.add_argument("--height-reference", action="store_true",
                        help="only the height-loss reference on the real healthy spines")
    args = parser.parse_args()
    if args.height_reference:
        height_reference()
        return
    if args.spider is not None:
        spider(args.spider or None, args.features_out)
        return
    for contrast in ("own", "other"):
        for spread in ("centre", "uniform"):
            run(4 if args.quick else 12, spread, contrast)
    calibration(5 if args.quick else 20, 40)


if __name__ == "__main__":
    main()
