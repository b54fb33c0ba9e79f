"""Repeatability: ICC against a published table, and recovered truth on simulated test-retest."""

import math

import numpy as np
import pytest

from discmri.errors import ParameterError
from discmri.phantom import TrialEffect, trial_table
from discmri.phantom.trial import retest_truth
from discmri.planning import icc, repeatability, retest_pairs


def test_icc_reproduces_shrout_and_fleiss_table():
    """Shrout & Fleiss (Psychol Bull 1979) Table 2: 6 targets × 4 judges; their ICC(2,1) .29
    and ICC(3,1) .71 with 95 % intervals .019-.76 and .34-.95."""
    ratings = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
               [6, 2, 4, 7]]
    r = icc(ratings)
    assert r.icc21 == pytest.approx(0.29, abs=0.005)
    assert r.icc31 == pytest.approx(0.71, abs=0.005)
    assert r.icc21_ci == pytest.approx((0.019, 0.76), abs=0.005)
    assert r.icc31_ci == pytest.approx((0.34, 0.95), abs=0.005)


def test_icc_refuses_what_it_cannot_compute():
    with pytest.raises(ParameterError, match="3 subjects"):
        icc([[1, 2], [3, 4]])
    with pytest.raises(ParameterError, match="finite"):
        icc([[1, 2], [3, np.nan], [4, 5]])


def test_a_bias_between_sessions_lowers_absolute_agreement_not_consistency():
    rng = np.random.default_rng(0)
    true = rng.normal(100, 20, 40)
    first = true + rng.normal(0, 3, 40)
    second = true + 15 + rng.normal(0, 3, 40)  # the retest reads 15 higher throughout
    r = icc(np.column_stack([first, second]))
    assert r.icc31 > 0.95 and r.icc21 < r.icc31 - 0.1


def test_recovered_icc_lies_in_its_interval_in_nine_of_ten_cohorts():
    """The issue's target: 200 cohorts of 20 participants with retest sessions of known
    within- and between-disc SD; per level the discs are independent."""
    hits = {"dhi_mean_height": 0, "np_t2_ms": 0}
    ratio = []
    for seed in range(200):
        table = trial_table({"sham": TrialEffect()}, 20, retest=True, seed=seed)
        rep = repeatability(table, list(hits))
        for endpoint in hits:
            truth = retest_truth(endpoint)
            row = rep[(rep.endpoint == endpoint) & (rep.level == "L4-L5")].iloc[0]
            hits[endpoint] += row.icc21_low <= truth["icc"] <= row.icc21_high
            ratio.append(row.mdc95 / truth["mdc95"])
    for endpoint, n in hits.items():
        assert n >= 180, (endpoint, n)  # measured 191 of 200 for both
    # the MDC95 is unbiased up to the small-sample bias of an SD (20 pairs: ~1 %)
    assert np.median(ratio) == pytest.approx(1.0, abs=0.04)


def test_the_table_says_what_a_reader_needs_and_skips_thin_levels():
    table = trial_table({"sham": TrialEffect()}, 20, retest=True, seed=5)
    rep = repeatability(table, ["np_t2_ms"])
    assert set(rep.level) == {"L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1", "all"}
    row = rep[rep.level == "all"].iloc[0]
    assert row.n_pairs == 100 and row.participants == 20
    assert row["sem"] == row.within_sd
    assert row.mdc95 == pytest.approx(1.96 * math.sqrt(2) * row.within_sd)
    assert row.loa_low < row.bias < row.loa_high
    assert row.cv_pct == pytest.approx(100 * row.within_sd / row["mean"])
    # three participants: 3 pairs per level (fewer than 5: left out), 15 discs pooled
    few = table[table.participant_id.isin(["sub-001", "sub-002", "sub-003"])]
    assert list(repeatability(few, ["np_t2_ms"]).level) == ["all"]


def test_pairs_come_from_retest_sessions_or_a_control_arms_first_two_visits():
    table = trial_table({"MSC": TrialEffect(t2_ms=10), "sham": TrialEffect()}, 6, retest=True,
                        seed=2)
    pairs = retest_pairs(table, "np_t2_ms")
    assert len(pairs) == 12 * 5  # every disc of every participant, once
    base = table[table.session == "ses-baseline"].set_index(["participant_id", "level"])
    first = pairs.set_index(["participant_id", "level"])["first"]
    assert np.allclose(first, base.loc[first.index, "np_t2_ms"])
    control = retest_pairs(table, "np_t2_ms", source="control", control="sham")
    assert len(control) == 6 * 5 and control.participant_id.str[-3:].astype(int).min() > 6
    with pytest.raises(ParameterError, match="control"):
        retest_pairs(table, "np_t2_ms", source="control")
    with pytest.raises(ParameterError, match="not a column"):
        retest_pairs(table, "bogus")
