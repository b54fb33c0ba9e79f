"""Image-level retest sessions: the pipeline sees the phantom's repositioning and time of day.

Three participants scanned twice at baseline (``make_cohort(retest=3)``): repositioned, new
noise, each scan at its own time of day (disc heights up to 0.9 mm and nucleus T2 up to 14 %
lower by evening). The truth tables give each scan's heights and T2, so the measured
retest-minus-test differences can be checked against the true ones.
"""

import numpy as np
import pandas as pd
import pytest

from discmri.phantom import make_cohort
from discmri.pipeline import RunOptions, run_dataset
from discmri.planning import parse_effect, plan_trial, retest_pairs


@pytest.fixture(scope="module")
def retest_run(tmp_path_factory, fast_protocol):
    root = tmp_path_factory.mktemp("retest") / "ds"
    cohort = make_cohort(root, participants=3, retest=3, visits_months=(0.0,), seed=5,
                         protocol=fast_protocol)
    discs = run_dataset(root, root.parent / "out", options=RunOptions(adc=False))
    return cohort.truth, discs


def _differences(truth, discs, endpoint):
    measured = retest_pairs(discs, endpoint)
    true = truth.pivot_table(index=["participant", "level"], columns="session", values=endpoint)
    true = (true["ses-baselineretest"] - true["ses-baseline"]).rename("true").reset_index()
    both = measured.merge(true.rename(columns={"participant": "participant_id"}),
                          on=["participant_id", "level"])
    return (both.second - both.first).to_numpy(), both.true.to_numpy()


def test_the_retest_sessions_are_written_and_measured_as_sessions(retest_run):
    truth, discs = retest_run
    assert sorted(truth.session.unique()) == ["ses-baseline", "ses-baselineretest"]
    assert sorted(discs.session.unique()) == ["ses-baseline", "ses-baselineretest"]
    assert (discs.months == 0).all()
    # the retest's change from baseline is its difference from the baseline scan
    retest = discs[discs.session == "ses-baselineretest"].set_index(["participant_id",
                                                                      "level"])
    base = discs[discs.session == "ses-baseline"].set_index(["participant_id", "level"])
    assert np.allclose(retest.height_mean_mm_change,
                       retest.height_mean_mm - base.loc[retest.index, "height_mean_mm"])
    assert (base.height_mean_mm_change == 0).all()


def test_measured_height_differences_follow_the_time_of_day(retest_run):
    """The true differences spread 0.28 mm (one participant's discs lost 0.7 mm between the
    scans); without the diurnal change the correlation would be about 0."""
    measured, true = _differences(*retest_run, "height_mean_mm")
    assert len(measured) == 21
    assert np.corrcoef(measured, true)[0, 1] > 0.85  # measured 0.95
    assert np.std(measured - true, ddof=1) < 0.2  # mm; measured 0.12: repositioning and noise
    assert abs(np.mean(measured - true)) < 0.08  # mm; measured 0.01


def test_measured_nucleus_t2_differences_follow_the_time_of_day(retest_run):
    measured, true = _differences(*retest_run, "np_t2_ms")
    assert np.corrcoef(measured, true)[0, 1] > 0.4  # measured 0.58 (2 mm MESE voxels)
    assert abs(np.mean(measured - true)) < 3.0  # ms; measured 0.4


def test_the_plan_reads_the_runs_retest_pairs(retest_run):
    _, discs = retest_run
    plan = plan_trial(discs, [parse_effect("height_mean_mm=+0.5")], n_sim=200)
    assert plan.repeatability.set_index("level").loc["all", "n_pairs"] == 21
    assert isinstance(plan.table, pd.DataFrame) and plan.table.n_per_arm.iloc[0] >= 2
