"""The report's statistics on simulated trial tables with known effects (issue 13)."""

import numpy as np
import pytest
from scipy import stats as sps

from discmri.errors import ParameterError
from discmri.phantom.trial import TrialEffect, trial_table
from discmri.report import build_report, stats

#: DREAM-like: +10 % DHI and +15 ms nucleus T2 at treated levels in the active arm at 3 and
#: 6 months, a one-grade improvement in half the treated discs at 3 months, gone at 6.
ACTIVE = TrialEffect(dhi_pct=10.0, t2_ms=15.0, improve={3.0: 0.5})


@pytest.fixture(scope="module")
def trial():
    table = trial_table({"MSC": ACTIVE, "sham": TrialEffect()}, 20, seed=1, dropout=0.1)
    return table, build_report(table, endpoints=["dhi_mean_height", "np_t2_ms"],
                               figures=False)


def test_known_effects_are_recovered(trial):
    """Measured over 20 cohorts of 20 per arm: SD of the estimated change 0.9 % (DHI) and
    1.25 ms (T2); the issue's tolerances (2 %, 3 ms) hold here."""
    _, report = trial
    assert report.layout == "two-arm" and (report.active, report.control) == ("MSC", "sham")
    within = report.tables["within"].set_index(["endpoint", "arm", "months"])
    for months in (3.0, 6.0):
        assert within.loc[("dhi_mean_height", "MSC", months), "mean_change_pct"] == \
            pytest.approx(10.0, abs=2.0)
        assert within.loc[("dhi_mean_height", "sham", months), "mean_change_pct"] == \
            pytest.approx(0.0, abs=2.0)
        assert within.loc[("np_t2_ms", "MSC", months), "mean_change"] == pytest.approx(
            15.0, abs=3.0)
        assert within.loc[("np_t2_ms", "sham", months), "mean_change"] == pytest.approx(
            0.0, abs=3.0)
    between = report.tables["between"].set_index(["endpoint", "months"])
    for months in (3.0, 6.0):
        row = between.loc[("np_t2_ms", months)]
        assert row.ci_low < 15.0 < row.ci_high and row.p_value < 1e-4


def test_the_mixed_model_finds_the_arm_by_visit_effect(trial):
    _, report = trial
    mixed = report.tables["mixed"]
    inter = mixed[mixed.term.str.contains(":")]
    assert len(inter) == 4  # two endpoints × two follow-up visits
    assert (inter.p_value < 0.05).all()
    t2 = inter[inter.endpoint == "np_t2_ms"]
    assert t2.estimate.between(12.0, 18.0).all()
    assert all(report.models[e]["converged"] for e in report.endpoints)
    # the visit terms alone (the control arm's change) are near zero
    visits = mixed[(mixed.endpoint == "np_t2_ms") & mixed.term.str.startswith("C(visit")]
    assert (visits.estimate.abs() < 3.0).all()


def test_grade_shifts_show_the_improvement_at_3_months_and_not_at_6(trial):
    _, report = trial
    counts = report.tables["grade_counts"].set_index(["arm", "months"])
    improved = counts.improved / counts.n_discs
    assert improved[("MSC", 3.0)] > 0.35 and improved[("MSC", 6.0)] < 0.1
    assert improved[("sham", 3.0)] < 0.1
    tests = report.tables["grade_tests"]
    between = tests[tests.comparison == "MSC against sham"].set_index("months")
    assert between.loc[3.0, "p_value"] < 0.01 and between.loc[6.0, "p_value"] > 0.05
    # the distributions add up, and the active arm's mean grade is lowest at 3 months (the
    # median of integer grades is too coarse to show it)
    dist = report.tables["grade_distribution"].set_index(["arm", "months"])
    grades = dist[[f"grade_{g}" for g in range(1, 9)]]
    assert (grades.sum(axis=1) == dist.n_discs).all()
    mean = (grades * np.arange(1, 9)).sum(axis=1) / dist.n_discs
    assert mean[("MSC", 3.0)] < min(mean[("MSC", 0.0)], mean[("MSC", 6.0)]) - 0.3


def test_the_cohort_table_counts_treated_levels_per_arm(trial):
    table, report = trial
    levels = report.tables["treated_levels"].set_index("arm")
    first = table[table.months == 0]
    for arm in ("MSC", "sham"):
        for level in levels.columns:
            expected = first[(first.arm == arm) & first.treated & (first.level == level)]
            assert levels.loc[arm, level] == expected.participant_id.nunique()


def test_changes_are_per_participant_over_the_discs_at_both_visits():
    table = trial_table({"A": TrialEffect()}, 3, seed=4)
    # drop one disc's follow-up: its baseline must not enter that visit's change
    gone = (table.participant_id == "sub-001") & (table.level == "L1-L2") & (
        table.months == 3.0)
    table = table[~gone]
    changes = stats.participant_changes(table, "np_t2_ms").set_index(
        ["participant_id", "months"])
    one = table[table.participant_id == "sub-001"].set_index(["level", "months"]).np_t2_ms
    levels = [lv for lv in one.index.get_level_values(0).unique() if lv != "L1-L2"]
    expected = np.mean([one[(lv, 3.0)] - one[(lv, 0.0)] for lv in levels])
    assert changes.loc[("sub-001", 3.0), "change"] == pytest.approx(expected)
    assert changes.loc[("sub-001", 3.0), "n_discs"] == 4


def test_tests_reject_at_their_nominal_rate_under_no_effect():
    """300 null cohorts (10 per arm, the disc and participant spreads of real spines): each
    test of change rejects at 5 % within the 99 % binomial interval of 0.05 (measured 6-7 %).
    A Welch test that took the discs at 6 months as independent rejected 19 % of them."""
    n = 300
    low, high = sps.binom.ppf([0.005, 0.995], n, 0.05) / n
    rejections = {"welch": 0, "within_t": 0, "wilcoxon": 0}
    for seed in range(n):
        table = trial_table({"A": TrialEffect(), "B": TrialEffect()}, 10, seed=1000 + seed,
                            visits=(0.0, 6.0))
        changes = stats.participant_changes(table[table.treated], "np_t2_ms")
        between = stats.between_arms(changes, "np_t2_ms", "A", "B")
        within = stats.within_arm(changes, "np_t2_ms", exact=False)
        rejections["welch"] += int(between.p_value.iat[0] < 0.05)
        rejections["within_t"] += int(within.p_value.iat[0] < 0.05)
        rejections["wilcoxon"] += int(within.p_wilcoxon.iat[0] < 0.05)
    for name, count in rejections.items():
        assert low <= count / n <= high, (name, count / n, (low, high))


def test_a_small_single_arm_study_gets_the_per_patient_layout():
    table = trial_table({"MSC": ACTIVE}, 6, seed=2, visits=(0.0, 6.0))
    report = build_report(table, endpoints=["dhi_mean_height"], figures=False)
    assert report.layout == "small" and report.control is None
    assert report.tables["between"].empty
    assert "one arm" in report.notes[0] and "no between-arm test" in report.notes[0]
    trajectories = report.tables["trajectories"]
    assert trajectories.participant_id.nunique() == 6
    within = report.tables["within"]
    assert (within.test == "Wilcoxon signed-rank (exact)").all()
    # six participants all improving: the exact two-sided p-value is 2 / 2**6
    assert within.p_value.iat[0] == pytest.approx(2 / 64) and within.note.iat[0] == ""
    # five cannot reach p < 0.05 (their smallest p is 2 / 2**5): no test, and why
    five = build_report(table[table.participant_id != table.participant_id.iat[0]],
                        endpoints=["dhi_mean_height"], figures=False).tables["within"]
    assert np.isnan(five.p_value.iat[0]) and "n = 5" in five.note.iat[0]
    assert "0.0625" in five.note.iat[0]
    # the pooled time model says what it is
    info = report.models["dhi_mean_height"]
    assert info["pooled"] and "not a comparison of arms" in info["model"]


def test_two_small_arms_are_a_small_study_without_between_arm_tests():
    table = trial_table({"MSC": ACTIVE, "sham": TrialEffect()}, 4, seed=3)
    report = build_report(table, endpoints=["np_t2_ms"], figures=False)
    assert report.layout == "small" and "fewer than 10" in report.notes[0]
    assert report.tables["between"].empty


def test_holm_adjusts_across_endpoints_and_baseline_and_control_can_be_named(trial):
    table, _ = trial
    report = build_report(table, endpoints=["dhi_mean_height", "np_t2_ms"], holm=True,
                          baseline="baseline", control="sham", figures=False)
    between = report.tables["between"]
    for _, part in between.groupby("months"):
        expected = np.minimum(1.0, np.maximum.accumulate(np.sort(part.p_value) * [2, 1]))
        assert np.allclose(np.sort(part.p_holm), expected)
    with pytest.raises(ParameterError, match="control arm"):
        build_report(table, control="placebo", figures=False)
    with pytest.raises(ParameterError, match="baseline session"):
        build_report(table, baseline="ses-week2", figures=False)


def test_bad_tables_are_refused_with_what_was_expected():
    table = trial_table({"A": TrialEffect()}, 3, seed=0)
    with pytest.raises(ParameterError, match="no column arm"):
        build_report(table.drop(columns="arm"), figures=False)
    with pytest.raises(ParameterError, match="follow-up"):
        build_report(table[table.months == 0], figures=False)
    with pytest.raises(ParameterError, match="sessions.tsv"):
        build_report(table.assign(months=np.nan), figures=False)
    with pytest.raises(ParameterError, match="no measured disc"):
        build_report(table.assign(status="not measured"), figures=False)
    with pytest.raises(ParameterError, match="not columns"):
        build_report(table, endpoints=["bogus"], figures=False)
    with pytest.raises(ParameterError, match="levels"):
        build_report(table, levels="some", figures=False)


def test_the_completers_mean_does_not_move_when_a_participant_drops_out():
    """Issue 24: the sham arm's raw per-visit mean rose only because a participant left."""
    table = trial_table({"sham": TrialEffect()}, 4, seed=5, visits=(0.0, 6.0), dropout=0.0)
    # the participant with the lowest baseline value (treated levels, as analysed) leaves
    # after baseline
    treated = table[table.treated.astype(bool) & (table.months == 0)]
    base = treated.groupby("participant_id").dhi_mean_height.mean()
    gone = base.idxmin()
    dropped = table[~((table.participant_id == gone) & (table.months > 0))]
    report = build_report(dropped, endpoints=["dhi_mean_height"], figures=False)
    raw = report.tables["summary"].set_index("months")["mean"]
    completers = report.tables["completers"].set_index("months")
    assert (completers.n_completers == 3).all()
    # the completers' mean moves by the completers' own change only (none here beyond
    # measurement noise); the raw mean rises by the dropout's share
    change = completers.loc[6.0, "mean"] - completers.loc[0.0, "mean"]
    assert abs(change) < 0.5 * abs(raw.loc[6.0] - raw.loc[0.0])
    kept = base.drop(gone)
    assert completers.loc[0.0, "mean"] == pytest.approx(kept.mean())
