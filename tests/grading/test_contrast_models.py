"""The default grades on a phantom of another contrast model (issue 23).

``bright_annulus_contrast``: another group's T2w model (outer annulus 0.33 and fat 0.8 of
CSF, nucleus 1.0 / 0.9 / 0.66 / 0.45 / 0.34 of CSF for Griffith 1-5; normal heights 7 mm at
T12-L1 to 11.5 mm at L4-L5 with 4 % scatter; 18 / 45 / 72 % loss at grades 6-8), against the
phantom's own (annulus 0.125, fat 0.60). The default thresholds are not fitted to it: the
grades keep their order and stay within one, and heights of normal discs read as normal.
Three spines, one disc of seven of the eight grades each (±0.3), SNR 20-50, a bias field.
Figures on 12 spines: ``python benchmarks/bench_grading.py``.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from discmri.grading import grade_value
from discmri.phantom import bright_annulus_contrast

HEIGHTS = {"T12-L1": 7.0, "L1-L2": 8.1, "L2-L3": 9.25, "L3-L4": 10.4, "L4-L5": 11.5}


@pytest.fixture(scope="module")
def graded(graded_spines):
    out = []
    for sim, _, grades in graded_spines(2300, disc_heights=HEIGHTS, disc_height_sd=0.04,
                                        contrast=bright_annulus_contrast()):
        truth = sim.truth.set_index("level")
        out.append(grades.assign(truth=grades.level.map(truth.grade_griffith),
                                 true_loss=grades.level.map(100 * truth.height_loss_fraction)))
    return pd.concat(out, ignore_index=True)


@pytest.mark.slow
def test_the_phantom_states_the_other_models_ratios(graded):
    # the nucleus over CSF as measured, by grade: the model's 1.0, 0.9, 0.66, 0.45, 0.34
    # (partial volume and noise: within 0.1)
    stated = {1: 1.0, 2: 0.9, 3: 0.66, 4: 0.45, 5: 0.34}
    for grade, ratio in stated.items():
        got = graded.loc[graded.truth == grade, "np_csf_ratio"]
        if len(got):
            assert abs(got.median() - ratio) <= 0.1, (grade, got.tolist())


@pytest.mark.slow
def test_the_defaults_keep_the_order_on_another_contrast_model(graded):
    done = graded[graded.griffith != ""]
    got = done.griffith.map(lambda g: grade_value(g, "griffith")).to_numpy()
    true = done.truth.to_numpy(int)
    # measured on these 21 discs: within one 100 %, Spearman 0.99, exact 76 % (the
    # annulus ratios between grades 3, 4 and 5 are the phantom's own; --calibrate fits a
    # site's, see the benchmark). Before CSF and fat settled brightness ahead of the annulus,
    # two grade 2 discs (above fat, NP/annulus 2.2) were called 4: within one 90 %
    assert len(done) >= 20
    assert np.mean(np.abs(got - true) <= 1) >= 0.9, list(zip(got, true, strict=True))
    assert spearmanr(got, true).statistic >= 0.85


@pytest.mark.slow
def test_normal_discs_read_as_normal_height_on_another_height_trend(graded):
    normal = graded[graded.true_loss == 0].height_loss_pct.dropna()
    lost = graded[graded.true_loss > 0]
    # measured: normal discs within ±10 % (the reference from a straight line through the
    # others was off by up to 31 % on this model), lost height within 6 points
    assert len(normal) >= 12 and normal.abs().max() <= 15, normal.round(1).tolist()
    assert np.all(np.abs(lost.height_loss_pct - lost.true_loss) <= 10), lost.round(1)
