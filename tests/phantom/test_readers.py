"""Simulated readers and table-level feature cohorts."""

import numpy as np
import pandas as pd
import pytest

from discmri.errors import ParameterError
from discmri.phantom import READER_THRESHOLDS, feature_cohort, reader_grades


def test_feature_cohort_spreads_over_all_grades_and_is_seeded():
    a, b = feature_cohort(20, seed=9), feature_cohort(20, seed=9)
    pd.testing.assert_frame_equal(a, b)
    assert set(a.grade_griffith) == set(range(1, 9))
    # the bands follow the thresholds: grade 4 between af_mild and af_hyperintense
    four = a[a.grade_griffith == 4].np_outer_af_ratio
    assert four.between(READER_THRESHOLDS["af_mild"], READER_THRESHOLDS["af_hyperintense"]).all()
    # noise-free readers give the bands' grades
    exact = reader_grades(a, 1, ratio_scatter=0.0, loss_scatter=0.0)
    assert (exact.grade.astype(int).to_numpy() == a.grade_griffith.to_numpy()).mean() > 0.95
    assert np.isfinite(a.np_fat_ratio).all()


def test_reader_scatter_sets_how_often_two_readers_differ():
    features = feature_cohort(30, seed=1)
    calm = reader_grades(features, 2, ratio_scatter=0.02, loss_scatter=1.0, seed=1)
    loose = reader_grades(features, 2, ratio_scatter=0.2, loss_scatter=10.0, seed=1)

    def differ(r):
        return (r[r.reader == "reader1"].grade.to_numpy()
                != r[r.reader == "reader2"].grade.to_numpy()).mean()

    assert differ(calm) < 0.1 < 0.3 < differ(loose)
    assert set(calm.columns) == {"participant_id", "session", "level", "reader", "scale",
                                 "grade"}


def test_bad_cohort_settings_are_refused():
    with pytest.raises(ParameterError, match="participants"):
        feature_cohort(0)
    with pytest.raises(ParameterError, match="af_mild"):
        feature_cohort(3, thresholds={"csf_equal": 0.8})
