"""The report's precision-and-power section: from retest sessions, or what is lacking."""

import math

import pytest

from discmri.phantom import TrialEffect, trial_table
from discmri.phantom.trial import retest_truth
from discmri.planning import detectable_effect
from discmri.report import build_report


def test_retest_sessions_give_the_precision_and_are_not_visits():
    table = trial_table({"MSC": TrialEffect(t2_ms=10), "sham": TrialEffect()}, 12,
                        retest=True, seed=4)
    report = build_report(table, endpoints=["np_t2_ms", "dhi_mean_height"], levels="all",
                          figures=False)
    precision = report.tables["precision"].set_index("endpoint")
    truth = retest_truth("np_t2_ms")
    assert precision.loc["np_t2_ms", "within_sd"] == pytest.approx(truth["within_sd"], rel=0.2)
    assert precision.loc["np_t2_ms", "n_pairs"] == 24 * 5
    n = int(precision.loc["np_t2_ms", "n_per_arm"])
    assert n == 12  # no dropout: every participant of the smaller arm is followed
    assert precision.loc["np_t2_ms", "detectable_difference"] == pytest.approx(
        detectable_effect(n, math.sqrt(2) * precision.loc["np_t2_ms", "within_sd"]))
    # the retest is not a visit: one baseline row per disc, 12 participants per arm
    summary = report.tables["summary"]
    base = summary[(summary.endpoint == "np_t2_ms") & (summary.months == 0)]
    assert set(base.n_participants) == {12} and set(base.n_discs) == {60}
    assert "Repeatability from the retest sessions" in report.settings["precision"]


def test_without_retest_sessions_the_section_says_what_is_lacking():
    table = trial_table({"MSC": TrialEffect(t2_ms=10), "sham": TrialEffect()}, 12, seed=4)
    report = build_report(table, figures=False)
    assert report.tables["precision"].empty
    assert "no retest sessions" in report.settings["precision"]
